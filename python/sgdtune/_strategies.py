"""Search strategies behind one ask/tell interface.

A strategy proposes trials with ``ask(n)`` (a list of up to n parameter dicts,
no two alike and none already asked) and learns their results with
``tell(params, scores)`` (mean CV scores, higher is better, NaN for a failed
trial). The search classes drive a strategy batch by batch, each batch trained
in parallel in the core, so any object with these two methods can drive a
search.

Model-based strategies work on the unit box of ``Space`` (log scales already
applied there). They suggest a whole batch at once by a constant liar: each
point picked is added to the history with the worst score seen so far, so the
next pick moves elsewhere.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
from scipy.special import ndtr
from scipy.stats import norm
from sklearn.utils import check_random_state

from ._space import Categorical, Space

__all__ = ["EvolutionStrategy", "GPStrategy", "OptunaStrategy", "RandomStrategy",
           "Strategy", "TPEStrategy"]


class Strategy:
    """Base of the built-in strategies: a space, a seeded generator, the history.

    Subclasses implement ``_propose_one`` (a new trial given the batch so far)
    and may compute what it needs once a batch in ``_model``; ``n_startup``
    random trials come first.
    """

    def __init__(self, space, random_state=None):
        self.space = space if isinstance(space, Space) else Space(space)
        self.random_state = random_state
        seed = random_state
        if not (seed is None or isinstance(seed, Integral)):
            seed = int(check_random_state(seed).randint(2**31))
        self.rng = np.random.default_rng(seed)
        self.params: list[dict] = []   # told trials
        self.scores: list[float] = []
        self._seen: set = set()        # asked trials

    def ask(self, n):
        """Up to n new trials (fewer when the space has no more distinct ones)."""
        batch = self._propose(int(n))
        for p in batch:
            self._seen.add(self.space.key(p))
        return batch

    def tell(self, params, scores):
        """Learn the results of asked trials."""
        for p, s in zip(params, scores, strict=True):
            self.params.append(dict(p))
            self.scores.append(float(s) if s is not None and np.isfinite(s) else np.nan)

    n_startup = 0  # random trials before a model proposes

    def _propose(self, n):
        """n new trials: random ones until ``n_startup`` trials are told, then
        ``_propose_one`` (which sees the batch so far) for each of the others;
        a random trial where it finds nothing new."""
        keys: set = set()
        out = self._random_batch(max(0, min(n, self.n_startup - len(self.params))), keys)
        model = self._model() if len(out) < n else None
        while len(out) < n:
            pick = self._propose_one(model, out, keys)
            if pick is None:
                fallback = self._random_batch(1, keys)
                if not fallback:
                    break  # the space has no more distinct trials
                pick = fallback[0]
            else:
                keys.add(self.space.key(pick))
            out.append(pick)
        return out

    def _model(self):
        """What ``_propose_one`` needs, computed once a batch."""
        return None

    def _propose_one(self, model, pending, keys):  # pragma: no cover - abstract
        """A new trial given the batch so far (``pending``), or None."""
        raise NotImplementedError

    def _with_liars(self, X, y, pending, lie):
        """The history plus the batch so far, each pending trial scored ``lie``."""
        if not pending:
            return X, y
        return (np.vstack([X] + [self.space.encode(p)[None, :] for p in pending]),
                np.concatenate([y, np.full(len(pending), lie)]))

    def _fresh(self, params, batch_keys):
        key = self.space.key(params)
        return key not in self._seen and key not in batch_keys

    def _random_batch(self, n, batch_keys=None, attempts=50):
        batch_keys = set() if batch_keys is None else batch_keys
        out = []
        for _ in range(n):
            for _ in range(attempts):
                p = self.space.sample(self.rng)
                if self._fresh(p, batch_keys):
                    batch_keys.add(self.space.key(p))
                    out.append(p)
                    break
        return out

    def _history(self):
        """Unit-box points and scores of the told trials; failures score worst."""
        X = np.array([self.space.encode(p) for p in self.params]).reshape(-1, len(self.space))
        y = np.asarray(self.scores, dtype=float)
        if y.size and np.isnan(y).any():
            floor = np.nanmin(y) - 1.0 if np.isfinite(y).any() else 0.0
            y = np.where(np.isnan(y), floor, y)
        return X, y


class RandomStrategy(Strategy):
    """Uniform random trials (on each dimension's scale), without repeats."""

    n_startup = math.inf


_LOG_SQRT_2PI = float(np.log(np.sqrt(2 * np.pi)))


def _truncnorm_logpdf(x, mu, sigma):
    """log density at x (shape m) of each component N(mu_j, sigma_j) truncated
    to [0, 1]; shape (m, k)."""
    z = (x[:, None] - mu[None, :]) / sigma[None, :]
    mass = ndtr((1.0 - mu) / sigma) - ndtr(-mu / sigma)
    # the standard normal's log density, as scipy.stats.norm.logpdf computes it
    # (without its per-call overhead, which dominated TPE's suggestions)
    log_phi = -z**2 / 2.0 - _LOG_SQRT_2PI
    return log_phi - np.log(sigma)[None, :] - np.log(np.maximum(mass, 1e-300))[None, :]


def _choice_index(u, k):
    """Indices of categorical choices from their unit-box coordinates."""
    return np.minimum(k - 1, (np.asarray(u) * k).astype(int))


def _kernel_widths(mu):
    """Widths of the Gaussians at observations mu (on [0, 1]): the larger gap
    to a neighbour, the outermost ones measured inwards only, clipped to
    [1 / min(100, n + 2), 1] (the "magic clip" of Bergstra et al.)."""
    order = np.argsort(mu, kind="stable")
    s = np.concatenate([[0.0], mu[order], [1.0]])
    widths = np.maximum(s[1:-1] - s[:-2], s[2:] - s[1:-1])
    if len(mu) >= 2:
        widths[0] = s[2] - s[1]
        widths[-1] = s[-2] - s[-3]
    out = np.empty_like(widths)
    out[order] = widths
    return np.clip(out, 1.0 / min(100.0, len(mu) + 2.0), 1.0)


class _Parzen:
    """A Parzen estimator on the unit box over some dimensions: one kernel per
    observation (a product of a truncated Gaussian per numeric dimension and a
    smoothed one-hot distribution per categorical one) plus a wide prior
    kernel, all weighted equally. Sampling picks a kernel, then draws every
    dimension from it, so the dimensions are modelled jointly."""

    def __init__(self, obs, choices):
        obs = np.asarray(obs, dtype=float).reshape(-1, len(choices))
        m = obs.shape[0]
        n_kernels = m + 1
        self.choices = choices  # per dimension: 0 numeric, k categorical
        self.log_w = np.full(n_kernels, -math.log(n_kernels))
        self.mu, self.sigma, self.prob = {}, {}, {}
        for d, k in enumerate(choices):
            if k:
                prob = np.full((n_kernels, k), 1.0 / n_kernels)
                prob[np.arange(m), _choice_index(obs[:, d], k)] += 1.0
                prob[m] = 1.0  # the prior: uniform
                self.prob[d] = prob / prob.sum(axis=1, keepdims=True)
            else:
                self.mu[d] = np.append(obs[:, d], 0.5)
                self.sigma[d] = np.append(_kernel_widths(obs[:, d]) if m else [], 1.0)

    def sample(self, rng, n):
        comp = rng.choice(len(self.log_w), size=n, p=np.exp(self.log_w))
        out = np.empty((n, len(self.choices)))
        for d, k in enumerate(self.choices):
            if k:
                cum = np.cumsum(self.prob[d][comp], axis=1)
                idx = np.minimum(k - 1, (rng.uniform(size=(n, 1)) > cum).sum(axis=1))
                out[:, d] = (idx + 0.5) / k
                continue
            mu, sigma = self.mu[d][comp], self.sigma[d][comp]
            v = rng.normal(mu, sigma)
            for _ in range(100):
                bad = (v < 0.0) | (v > 1.0)
                if not bad.any():
                    break
                v[bad] = rng.normal(mu[bad], sigma[bad])
            bad = (v < 0.0) | (v > 1.0)
            v[bad] = rng.uniform(size=int(bad.sum()))
            out[:, d] = v
        return out

    def logpdf(self, x):
        x = np.asarray(x, dtype=float).reshape(-1, len(self.choices))
        lp = np.tile(self.log_w, (x.shape[0], 1))
        for d, k in enumerate(self.choices):
            if k:
                lp += np.log(self.prob[d][:, _choice_index(x[:, d], k)].T)
            else:
                lp += _truncnorm_logpdf(x[:, d], self.mu[d], self.sigma[d])
        return np.logaddexp.reduce(lp, axis=1)


class TPEStrategy(Strategy):
    """Tree-structured Parzen estimator (Bergstra et al., 2011).

    After ``n_startup`` random trials, the told trials are split into the best
    ``gamma(n) = min(ceil(0.1 n), 25)`` ("good") and the rest; a density l(x)
    is fitted on the good trials and g(x) on the rest, and each new trial is
    the one of ``n_candidates`` draws from l with the largest l(x) / g(x). The
    dimensions without a condition are modelled jointly (one kernel per trial
    over all of them, as in multivariate TPE); a conditional dimension is then
    modelled on its own, from the trials where it applies.
    """

    def __init__(self, space, random_state=None, n_startup=10, n_candidates=24):
        super().__init__(space, random_state)
        self.n_startup, self.n_candidates = n_startup, n_candidates

    def _model(self):
        return self._history()

    def _propose_one(self, model, pending, keys):
        X, y = model
        # constant liar: the batch so far counts as the worst trials
        Xl, yl = self._with_liars(X, y, pending, (y.min() if y.size else 0.0) - 1.0)
        for _ in range(10):
            p = self._suggest(Xl, yl)
            if self._fresh(p, keys):
                return p
        return None

    def _suggest(self, X, y):
        n = len(y)
        n_good = max(1, min(math.ceil(0.1 * n), 25))
        good = np.zeros(n, dtype=bool)
        good[np.argsort(-y, kind="stable")[:n_good]] = True
        names = self.space.names
        choices = [len(self.space.dims[name].choices)
                   if isinstance(self.space.dims[name], Categorical) else 0 for name in names]
        # the dimensions every trial has are modelled jointly ...
        joint = [i for i, name in enumerate(names) if self.space.dims[name].when is None]
        u = np.full(len(names), np.nan)
        if joint:
            u[joint] = self._pick(X[np.ix_(good, joint)], X[np.ix_(~good, joint)],
                                  [choices[i] for i in joint])
        # ... the conditional ones each on its own, from the trials that have it
        params = self.space.decode(np.nan_to_num(u, nan=0.5))
        params = {name: params[name] for i, name in enumerate(names) if i in joint}
        for i, name in enumerate(names):
            dim = self.space.dims[name]
            if i in joint or not dim.active(params):
                continue
            known = ~np.isnan(X[:, i])
            u[i] = self._pick(X[known & good, i], X[known & ~good, i], [choices[i]])[0]
            params[name] = dim.from_unit(float(u[i]))
        return self.space.decode(np.nan_to_num(u, nan=0.5))

    def _pick(self, good, bad, choices):
        """The candidate drawn from l (the good trials' density) with the largest
        l(x) / g(x)."""
        l_est, g_est = _Parzen(good, choices), _Parzen(bad, choices)
        cand = l_est.sample(self.rng, self.n_candidates)
        return cand[np.argmax(l_est.logpdf(cand) - g_est.logpdf(cand))]


class GPStrategy(Strategy):
    """Gaussian-process Bayesian optimisation with expected improvement.

    scikit-learn's GaussianProcessRegressor (Matern 5/2 with a noise term,
    normalised targets) is fitted on the told trials in the unit box
    (categorical dimensions one-hot, inactive ones at 0.5); the next trial
    maximises expected improvement over ``n_candidates`` random points and
    local moves around the best trials.
    """

    def __init__(self, space, random_state=None, n_startup=10, n_candidates=2000, xi=0.01):
        super().__init__(space, random_state)
        self.n_startup, self.n_candidates, self.xi = n_startup, n_candidates, xi

    def _features(self, U):
        """Model inputs from unit-box points (n, n_dims)."""
        cols = []
        for i, name in enumerate(self.space.names):
            dim = self.space.dims[name]
            v = U[:, i]
            if isinstance(dim, Categorical):
                k = len(dim.choices)
                idx = np.where(np.isnan(v), -1, _choice_index(np.nan_to_num(v), k))
                cols.extend((idx == j).astype(float) for j in range(k))
            else:
                cols.append(np.where(np.isnan(v), 0.5, v))
        return np.column_stack(cols)

    def _model(self):
        # the kernel's hyperparameters are fitted once a batch; the liar points
        # of the batch reuse them
        X, y = self._history()
        return {"X": X, "y": y, "kernel": None}

    def _propose_one(self, model, pending, keys):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        y = model["y"]
        U, t = self._with_liars(model["X"], y, pending, y.min() if y.size else 0.0)
        if len(t) < 2:
            return None
        F = self._features(U)
        if model["kernel"] is None:
            prior = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
                length_scale=np.full(F.shape[1], 0.5), length_scale_bounds=(1e-2, 1e2),
                nu=2.5) + WhiteKernel(1e-3, (1e-8, 1e-1))
            gp = GaussianProcessRegressor(prior, normalize_y=True, n_restarts_optimizer=1,
                                          random_state=int(self.rng.integers(2**31)))
        else:
            gp = GaussianProcessRegressor(model["kernel"], normalize_y=True, optimizer=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(F, t)
        model["kernel"] = gp.kernel_
        cands = self._candidates(U, t)
        mu, sd = gp.predict(self._features(cands), return_std=True)
        best = t.max()
        sd = np.maximum(sd, 1e-12)
        z = (mu - best - self.xi) / sd
        ei = (mu - best - self.xi) * ndtr(z) + sd * norm.pdf(z)
        for j in np.argsort(-ei, kind="stable")[:50]:
            p = self.space.decode(cands[j])
            if self._fresh(p, keys):
                return p
        return None

    def _candidates(self, U, t):
        """Random points of the box and small moves around the best trials."""
        d = U.shape[1]
        m = self.n_candidates
        rand = self.rng.uniform(size=(m // 2, d))
        top = U[np.argsort(-t, kind="stable")[:10]]
        top = np.where(np.isnan(top), self.rng.uniform(size=top.shape), top)
        local = top[self.rng.integers(len(top), size=m - m // 2)]
        local = np.clip(local + self.rng.normal(0.0, 0.05, size=local.shape), 0.0, 1.0)
        return np.vstack([rand, local])


class EvolutionStrategy(Strategy):
    """A genetic search: tournament selection, uniform crossover, mutation, elitism.

    The population is the ``population_size`` best trials told so far (the
    elite survive by construction). Each asked child takes every parameter from
    one of two parents chosen by tournaments of ``tournament_size``, then each
    unit-box coordinate mutates with probability ``mutation_rate`` (a Gaussian
    step of ``mutation_scale`` for numbers, a new draw for categories). The
    first ``population_size`` trials are random.
    """

    def __init__(self, space, random_state=None, population_size=16, tournament_size=3,
                 mutation_rate=0.2, mutation_scale=0.1):
        super().__init__(space, random_state)
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_rate, self.mutation_scale = mutation_rate, mutation_scale

    @property
    def n_startup(self):
        return self.population_size

    def _model(self):
        X, y = self._history()
        return X, y, np.argsort(-y, kind="stable")[: self.population_size]

    def _propose_one(self, model, pending, keys):
        X, y, pop = model
        for _ in range(20):
            a, b = self._tournament(pop, y), self._tournament(pop, y)
            child = np.where(self.rng.uniform(size=X.shape[1]) < 0.5, X[a], X[b])
            p = self.space.decode(self._mutate(child))
            if self._fresh(p, keys):
                return p
        return None

    def _tournament(self, pop, y):
        entrants = self.rng.choice(pop, size=min(self.tournament_size, len(pop)), replace=False)
        return entrants[np.argmax(y[entrants])]

    def _mutate(self, u):
        u = u.copy()
        # a coordinate a parent lacked (inactive there) gets a fresh value
        missing = np.isnan(u)
        u[missing] = self.rng.uniform(size=int(missing.sum()))
        for i, name in enumerate(self.space.names):
            if self.rng.uniform() >= self.mutation_rate:
                continue
            if isinstance(self.space.dims[name], Categorical):
                u[i] = self.rng.uniform()
            else:
                u[i] = min(1.0, max(0.0, u[i] + self.rng.normal(0.0, self.mutation_scale)))
        return u


class OptunaStrategy:
    """Lets an Optuna sampler drive a search (Optuna is optional).

    Parameters
    ----------
    space : dict or Space
    sampler : optuna.samplers.BaseSampler or None
        None: Optuna's TPESampler seeded with ``random_state``.
    random_state : int or None
    """

    def __init__(self, space, sampler=None, random_state=None):
        try:
            import optuna
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("OptunaStrategy needs optuna: pip install optuna") from exc
        self.space = space if isinstance(space, Space) else Space(space)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if sampler is None:
            sampler = optuna.samplers.TPESampler(seed=random_state)
        self._study = optuna.create_study(direction="maximize", sampler=sampler)
        self._pending: dict = {}

    def ask(self, n):
        from ._space import Integer, Real

        out = []
        for _ in range(n):
            trial = self._study.ask()
            params = {}
            for name in self.space.names:
                dim = self.space.dims[name]
                if not dim.active(params):
                    continue
                if isinstance(dim, Real):
                    params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
                elif isinstance(dim, Integer):
                    params[name] = trial.suggest_int(name, dim.low, dim.high, log=dim.log)
                else:
                    index = trial.suggest_categorical(name, list(range(len(dim.choices))))
                    params[name] = dim.choices[index]
            self._pending[id(params)] = (params, trial)
            out.append(params)
        return out

    def tell(self, params, scores):
        from optuna.trial import TrialState

        for p, s in zip(params, scores, strict=True):
            _, trial = self._pending.pop(id(p))
            if s is None or not np.isfinite(s):
                self._study.tell(trial, state=TrialState.FAIL)
            else:
                self._study.tell(trial, float(s))
