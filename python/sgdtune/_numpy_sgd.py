"""The references of the benchmarks and of ``sgdtune bench`` written without a
compiled trainer: a plain NumPy mini-batch SGD trainer, and a per-sample loop in
pure Python (:func:`python_sgd_epoch`).

:class:`NumpyMiniBatchSGD` trains a binary linear classifier (hinge or logistic
loss, L2 penalty) by mini-batch SGD, vectorised per batch with NumPy:

* each epoch draws a fresh permutation of the rows;
* each batch gathers its rows ``Xb = X[idx]`` (dense or scipy CSR), computes the
  predictions ``p = Xb @ w + b``, the loss derivative ``g = dL/dp`` per row and
  the mean gradient ``Xb.T @ g / len(idx)``, then takes one step;
* the L2 penalty shrinks the weights by ``1 - eta * alpha`` per step. The
  shrinking is kept as a separate scalar (``w = scale * v``) so that a step costs
  O(batch non-zeros) rather than O(n_features), which matters on wide sparse
  data; ``v`` is folded back into ``scale`` when the scale gets tiny;
* the learning rate is either ``'constant'`` (``eta0``) or ``'optimal'``,
  ``eta = 1 / (alpha * (t0 + t - 1))`` with ``t`` counting updates (batches) and
  ``t0`` chosen from ``alpha`` the way Bottou's SGD heuristic (and scikit-learn)
  does;
* on sparse input the intercept moves ``intercept_decay`` (0.01) times slower,
  as in scikit-learn, since every row touches it.

The arithmetic runs in the input's floating dtype (float32 stays float32).
It is meant to be short and obviously correct, not fast: it is what a user
would write by hand before reaching for a compiled trainer.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

LOSSES = ("hinge", "log_loss")
SCHEDULES = ("constant", "optimal")
# Fold the running L2 scale back into the weights below this value.
_MIN_SCALE = 1e-9


class NumpyMiniBatchSGD:
    """Binary linear classifier trained by mini-batch SGD in plain NumPy.

    Parameters
    ----------
    loss : {'hinge', 'log_loss'}
    alpha : float
        L2 penalty strength (also sets the 'optimal' schedule).
    learning_rate : {'optimal', 'constant'}
    eta0 : float
        Step size of the 'constant' schedule.
    batch_size : int
        Rows per update; the last batch of an epoch may be smaller.
    max_iter : int
        Number of epochs (there is no stopping criterion).
    fit_intercept : bool
    intercept_decay : float or None
        Factor on the intercept's step; None means 0.01 for sparse input and 1
        for dense input.
    random_state : int or None
        Seed of the per-epoch permutations.
    """

    def __init__(
        self,
        loss: str = "hinge",
        alpha: float = 1e-4,
        learning_rate: str = "optimal",
        eta0: float = 0.01,
        batch_size: int = 32,
        max_iter: int = 5,
        fit_intercept: bool = True,
        intercept_decay: float | None = None,
        random_state: int | None = None,
    ) -> None:
        self.loss = loss
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.intercept_decay = intercept_decay
        self.random_state = random_state

    # -- pieces of the update ------------------------------------------------

    def _dloss(self, p: NDArray[np.floating], y: NDArray[np.floating]) -> NDArray:
        """Derivative of the loss with respect to the prediction, per row."""
        z = p * y
        if self.loss == "hinge":
            # max(0, 1 - z): slope -y on and inside the margin, 0 outside.
            return np.where(z <= 1.0, -y, np.zeros_like(y))
        # log(1 + exp(-z)): slope -y * sigmoid(-z).
        return -y * expit(-z)

    def _first_t(self) -> float:
        """Offset t0 of the 'optimal' schedule, so that the first step is ~typw.

        With a typical weight magnitude typw = alpha ** -0.25 the first step size
        is typw (both losses have a slope of at most 1 there), and the schedule
        eta_t = 1 / (alpha * (t0 + t - 1)) starts from it.
        """
        typw = float(self.alpha) ** -0.25
        return 1.0 / (typw * float(self.alpha))

    def _eta(self, t: int, t0: float) -> float:
        if self.learning_rate == "constant":
            return float(self.eta0)
        return 1.0 / (float(self.alpha) * (t0 + t - 1))

    # -- public API ----------------------------------------------------------

    def fit(self, X: ArrayLike | sp.spmatrix, y: ArrayLike) -> NumpyMiniBatchSGD:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.learning_rate not in SCHEDULES:
            raise ValueError(
                f"learning_rate must be one of {SCHEDULES}, got {self.learning_rate!r}"
            )
        if self.learning_rate == "optimal" and self.alpha <= 0:
            raise ValueError("the 'optimal' schedule needs alpha > 0")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")

        sparse = sp.issparse(X)
        if sparse:
            X = sp.csr_matrix(X)
            if X.dtype not in (np.float32, np.float64):
                X = X.astype(np.float64)
        else:
            X = np.asarray(X)
            if X.dtype not in (np.float32, np.float64):
                X = X.astype(np.float64)
            X = np.ascontiguousarray(X)
        dtype = X.dtype
        y = np.asarray(y)
        n_samples, n_features = X.shape
        if y.shape != (n_samples,):
            raise ValueError(f"y has shape {y.shape}, expected ({n_samples},)")
        self.classes_ = np.unique(y)
        if self.classes_.shape[0] != 2:
            raise ValueError(
                f"only binary problems are supported, got {self.classes_.shape[0]} "
                "classes"
            )
        signs = np.where(y == self.classes_[1], 1.0, -1.0).astype(dtype)

        decay = self.intercept_decay
        if decay is None:
            decay = 0.01 if sparse else 1.0

        rng = np.random.default_rng(self.random_state)
        v = np.zeros(n_features, dtype=dtype)  # weights are scale * v
        scale = 1.0
        intercept = 0.0
        t0 = self._first_t()
        t = 1
        bs = int(self.batch_size)
        for _ in range(int(self.max_iter)):
            order = rng.permutation(n_samples)
            for start in range(0, n_samples, bs):
                idx = order[start : start + bs]
                Xb = X[idx]
                yb = signs[idx]
                p = scale * (Xb @ v) + intercept
                g = self._dloss(p.astype(dtype, copy=False), yb)
                eta = self._eta(t, t0)
                # L2 shrinkage first (on the scale), then the loss step on v.
                scale *= max(0.0, 1.0 - eta * self.alpha)
                if scale < _MIN_SCALE:
                    v *= scale
                    scale = 1.0
                grad = Xb.T @ g
                v -= (eta / (scale * idx.shape[0])) * grad
                if self.fit_intercept:
                    intercept -= eta * decay * float(g.mean())
                t += 1
        self.coef_ = (scale * v).reshape(1, -1)
        self.intercept_ = np.array([intercept], dtype=dtype)
        self.t_ = t
        self.n_iter_ = int(self.max_iter)
        return self

    def decision_function(self, X: ArrayLike | sp.spmatrix) -> NDArray[np.floating]:
        scores = X @ self.coef_[0] + self.intercept_[0]
        return np.asarray(scores).reshape(-1)

    def predict(self, X: ArrayLike | sp.spmatrix) -> NDArray:
        return self.classes_[(self.decision_function(X) > 0).astype(np.intp)]

    def score(self, X: ArrayLike | sp.spmatrix, y: ArrayLike) -> float:
        """Mean accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


def python_sgd_epoch(rows: list[list[float]], y: list[float], alpha: float = 1e-4,
                     seed: int = 0) -> tuple[list[float], float]:
    """One epoch of per-sample SGD written in plain Python (no NumPy): hinge
    loss, L2 penalty, scikit-learn's 'optimal' learning rate, rows in a shuffled
    order. ``rows`` is a list of feature lists and ``y`` holds +1 / -1 labels.
    Returns the weights and the intercept.

    This is the loop a user would write first; ``sgdtune bench`` times it on a
    subset to place the compiled trainers against it.
    """
    import random

    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    d = len(rows[0]) if rows else 0
    w, b, scale = [0.0] * d, 0.0, 1.0
    t0 = 1.0 / (alpha ** -0.25 * alpha)  # as NumpyMiniBatchSGD._first_t
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    for t, i in enumerate(order, start=1):
        x = rows[i]
        p = scale * sum(wj * xj for wj, xj in zip(w, x, strict=True)) + b
        eta = 1.0 / (alpha * (t0 + t - 1))
        scale *= max(0.0, 1.0 - eta * alpha)
        if y[i] * p < 1.0:  # the hinge loss's step
            c = eta * y[i] / scale
            for j in range(d):
                w[j] += c * x[j]
            b += eta * y[i]
        if scale < 1e-9:
            w, scale = [scale * wj for wj in w], 1.0
    return [scale * wj for wj in w], b
