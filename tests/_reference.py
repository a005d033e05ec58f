"""A NumPy reference of the trainer's mathematics, written from the formulas.

Used to check the compiled trainer step by step: with ``batch_size=n_samples``
and ``shuffle=False`` each epoch is one full-batch gradient step, which this
module computes directly.
"""

from __future__ import annotations

import numpy as np

# Derivatives of each loss with respect to the prediction p, from the formulas.


def dloss(name: str, p: np.ndarray, y: np.ndarray, epsilon: float = 0.1) -> np.ndarray:
    z = p * y
    if name == "hinge":
        return np.where(z <= 1.0, -y, 0.0)
    if name == "perceptron":
        return np.where(z <= 0.0, -y, 0.0)
    if name == "squared_hinge":
        m = 1.0 - z
        return np.where(m > 0, -2.0 * y * m, 0.0)
    if name == "log_loss":
        return -y / (np.exp(z) + 1.0)
    if name == "modified_huber":
        return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * (1.0 - z) * y, -4.0 * y))
    r = p - y
    if name == "squared_error":
        return r
    if name == "huber":
        return np.where(np.abs(r) <= epsilon, r, epsilon * np.sign(r))
    if name == "epsilon_insensitive":
        return np.where(r > epsilon, 1.0, np.where(r < -epsilon, -1.0, 0.0))
    if name == "squared_epsilon_insensitive":
        return np.where(r > epsilon, 2.0 * (r - epsilon), np.where(r < -epsilon, 2.0 * (r + epsilon), 0.0))
    raise ValueError(name)


def loss(name: str, p: np.ndarray, y: np.ndarray, epsilon: float = 0.1) -> np.ndarray:
    z = p * y
    if name == "hinge":
        return np.maximum(0.0, 1.0 - z)
    if name == "perceptron":
        return np.maximum(0.0, -z)
    if name == "squared_hinge":
        return np.maximum(0.0, 1.0 - z) ** 2
    if name == "log_loss":
        return np.logaddexp(0.0, -z)
    if name == "modified_huber":
        return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))
    r = p - y
    if name == "squared_error":
        return 0.5 * r**2
    if name == "huber":
        a = np.abs(r)
        return np.where(a <= epsilon, 0.5 * r**2, epsilon * a - 0.5 * epsilon**2)
    if name == "epsilon_insensitive":
        return np.maximum(0.0, np.abs(r) - epsilon)
    if name == "squared_epsilon_insensitive":
        return np.maximum(0.0, np.abs(r) - epsilon) ** 2
    raise ValueError(name)


def full_batch_gd(
    X,
    y,
    loss_name,
    *,
    steps,
    eta,
    alpha=0.0,
    penalty="l2",
    l1_ratio=0.15,
    sample_weight=None,
    class_weight=(1.0, 1.0),
    w0=None,
    b0=0.0,
    fit_intercept=True,
    epsilon=0.1,
):
    """`steps` full-batch steps with a constant rate, as the trainer defines them.

    y must already be +-1 for classification losses. class_weight is
    (weight of -1, weight of +1). Returns (w, b, iterates) where iterates lists
    (w, b) after every step.
    """
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=float)
    b = float(b0)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    cw = np.where(y > 0, class_weight[1], class_weight[0])
    rho = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio, None: 0.0}[penalty]
    u = 0.0
    q = np.zeros(d)
    iterates = []
    for _ in range(steps):
        p = X @ w + b
        g = np.clip(dloss(loss_name, p, y, epsilon), -1e12, 1e12) * cw * sw
        if penalty in ("l2", "elasticnet"):
            w = max(0.0, 1.0 - eta * alpha * (1.0 - rho)) * w
        w = w - eta * (X.T @ g) / n
        if fit_intercept:
            b = b - eta * g.mean()
        if penalty in ("l1", "elasticnet"):
            # cumulative L1 penalty (Tsuruoka et al., 2009)
            u += rho * eta * alpha
            before = w.copy()
            pos, neg = w > 0, w < 0
            w[pos] = np.maximum(0.0, w[pos] - (u + q[pos]))
            w[neg] = np.minimum(0.0, w[neg] + (u - q[neg]))
            q += w - before
        iterates.append((w.copy(), b))
    return w, b, iterates
