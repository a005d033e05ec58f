"""Search-space dimensions: Real, Integer and Categorical.

Each has ``rvs(random_state=None)`` like a scipy.stats distribution, so
RandomizedSearchCV (sgdtune's or scikit-learn's) samples from it, and
``to_unit``/``from_unit`` maps values to and from [0, 1] (on the log scale
when ``log=True``), for model-based strategies to work on a unit box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from numbers import Real as RealNumber

import numpy as np
from sklearn.utils import check_random_state


def _check_when(when):
    """A condition {parameter: value or list of values}, or None."""
    if when is None:
        return None
    if not isinstance(when, dict) or not when:
        raise TypeError(f"when must be a non-empty dict {{parameter: values}}, got {when!r}")
    return {str(k): (list(v) if isinstance(v, (list, tuple, set)) else [v])
            for k, v in when.items()}


class _Dimension:
    when = None

    def active(self, params):
        """Whether the dimension applies, given the other parameters' values."""
        if self.when is None:
            return True
        return all(name in params and params[name] in values
                   for name, values in self.when.items())

    def _when_repr(self):
        return "" if self.when is None else f", when={self.when!r}"

    def rvs(self, size=None, random_state=None):
        """Draw values uniformly on the dimension's (log) scale."""
        rng = check_random_state(random_state)
        u = rng.uniform(size=size)
        if size is None:
            return self.from_unit(float(u))
        return [self.from_unit(float(v)) for v in np.ravel(u)]


class Real(_Dimension):
    """A real hyperparameter in [low, high], uniform or log-uniform.

    Parameters
    ----------
    low, high : float
        Bounds, ``low <= high``; both > 0 when ``log=True``.
    log : bool, default=False
        Sample uniformly in log space (for scales such as ``alpha`` or ``eta0``).
    when : dict or None, default=None
        A condition on other parameters, ``{name: value or list of values}``:
        the dimension is searched only when each named parameter takes one of
        its values (e.g. ``l1_ratio`` with ``when={"penalty": "elasticnet"}``).
        Model-based searches use it; RandomizedSearchCV ignores it.

    Examples
    --------
    >>> from sgdtune import Real
    >>> alpha = Real(1e-6, 1e-1, log=True)
    >>> 1e-6 <= alpha.rvs(random_state=0) <= 1e-1
    True
    """

    def __init__(self, low, high, log=False, when=None):
        self.when = _check_when(when)
        for name, value in (("low", low), ("high", high)):
            if not isinstance(value, RealNumber) or isinstance(value, bool) or not math.isfinite(value):
                raise TypeError(f"Real {name} must be a finite number, got {value!r}")
        if low > high:
            raise ValueError(f"Real: low <= high must hold, but got (low={low}, high={high})")
        if log and low <= 0:
            raise ValueError(f"Real with log=True needs low > 0, but got low={low}")
        self.low, self.high, self.log = float(low), float(high), bool(log)

    def from_unit(self, u):
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        # exp(log(x)) and low + 1 * (high - low) may round past a bound
        return float(min(self.high, max(self.low, value)))

    def to_unit(self, value):
        if self.log:
            span = math.log(self.high) - math.log(self.low)  # 0 for bounds a few ulps apart
            return 0.0 if span == 0 else (math.log(value) - math.log(self.low)) / span
        if self.high == self.low:
            return 0.0
        return (value - self.low) / (self.high - self.low)

    def __repr__(self):
        return f"Real({self.low!r}, {self.high!r}, log={self.log}{self._when_repr()})"


class Integer(_Dimension):
    """An integer hyperparameter in [low, high] (both included).

    Parameters
    ----------
    low, high : int
        Bounds, ``low <= high``; both > 0 when ``log=True``.
    log : bool, default=False
        Sample uniformly in log space (for sizes such as ``batch_size``).
    when : dict or None, default=None
        A condition on other parameters, as for :class:`Real`.

    Examples
    --------
    >>> from sgdtune import Integer
    >>> Integer(16, 256, log=True).rvs(random_state=0) in range(16, 257)
    True
    """

    def __init__(self, low, high, log=False, when=None):
        self.when = _check_when(when)
        for name, value in (("low", low), ("high", high)):
            if not isinstance(value, Integral) or isinstance(value, bool):
                raise TypeError(f"Integer {name} must be an int, got {value!r}")
        if low > high:
            raise ValueError(f"Integer: low <= high must hold, but got (low={low}, high={high})")
        if log and low <= 0:
            raise ValueError(f"Integer with log=True needs low > 0, but got low={low}")
        self.low, self.high, self.log = int(low), int(high), bool(log)
        # integers are drawn from [low - 0.5, high + 0.5] and rounded, so that
        # the end values are as likely as the others
        self._real = Real(self.low - 0.5, self.high + 0.5, log=log)

    def from_unit(self, u):
        return int(min(self.high, max(self.low, round(self._real.from_unit(u)))))

    def to_unit(self, value):
        return self._real.to_unit(float(value))

    def __repr__(self):
        return f"Integer({self.low!r}, {self.high!r}, log={self.log}{self._when_repr()})"


class Categorical(_Dimension):
    """A hyperparameter taking one of a fixed set of values.

    Parameters
    ----------
    choices : sequence
        The values, at least one, without repeats.
    when : dict or None, default=None
        A condition on other parameters, as for :class:`Real`.

    Examples
    --------
    >>> from sgdtune import Categorical
    >>> Categorical(["hinge", "log_loss"]).rvs(random_state=0)
    'log_loss'
    """

    def __init__(self, choices, when=None):
        self.when = _check_when(when)
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            raise TypeError(f"Categorical choices must be a list or tuple, got {choices!r}")
        choices = list(choices)
        if not choices:
            raise ValueError("Categorical needs at least one choice, got none")
        for i, c in enumerate(choices):
            if any(c is o or (type(c) is type(o) and c == o) for o in choices[:i]):
                raise ValueError(f"Categorical choices must be distinct; {c!r} repeats")
        self.choices = choices

    def from_unit(self, u):
        return self.choices[min(len(self.choices) - 1, int(u * len(self.choices)))]

    def to_unit(self, value):
        index = next(i for i, c in enumerate(self.choices) if c is value or c == value)
        return (index + 0.5) / len(self.choices)

    def __repr__(self):
        return f"Categorical({self.choices!r}{self._when_repr()})"


def _is_number(value):
    return isinstance(value, RealNumber) and not isinstance(value, bool)


def _is_range(dim):
    """Whether a tuple is scikit-optimize's ``(low, high[, prior])``."""
    return (len(dim) in (2, 3) and _is_number(dim[0]) and _is_number(dim[1])
            and (len(dim) == 2 or isinstance(dim[2], str)))


def _range(name, dim):
    prior = dim[2] if len(dim) == 3 else "uniform"
    if prior not in ("uniform", "log-uniform"):
        raise ValueError(f"search space entry {name!r}: the prior of a (low, high, prior) "
                         f"range must be 'uniform' or 'log-uniform', got {prior!r}")
    both_ints = all(isinstance(v, Integral) for v in dim[:2])
    return (Integer if both_ints else Real)(dim[0], dim[1], log=prior == "log-uniform")


class Space:
    """A search space: named dimensions, some of them conditional.

    ``search_spaces`` maps names to ``Real``, ``Integer`` or ``Categorical``, to
    a list of values (a Categorical), or, as scikit-optimize writes ranges, to a
    tuple ``(low, high)`` or ``(low, high, "log-uniform")``: an Integer when both
    bounds are ints, else a Real. Model-based strategies see a trial as a
    point of the unit box, one coordinate per dimension (NaN where a conditional
    dimension is inactive).
    """

    def __init__(self, search_spaces):
        if not isinstance(search_spaces, dict) or not search_spaces:
            raise TypeError(
                "search_spaces must be a non-empty dict {name: Real, Integer, Categorical "
                f"or list of values}}, got {search_spaces!r}"
            )
        dims = {}
        for name, dim in search_spaces.items():
            if isinstance(dim, tuple) and _is_range(dim):
                dim = _range(name, dim)
            elif isinstance(dim, (list, tuple)):
                dim = Categorical(list(dim))
            if not isinstance(dim, _Dimension):
                raise TypeError(
                    f"search space entry {name!r} must be Real, Integer, Categorical or a "
                    f"list of values, got {dim!r}"
                )
            dims[str(name)] = dim
        for name, dim in dims.items():
            for parent in (dim.when or {}):
                if parent not in dims:
                    raise ValueError(f"{name!r} is conditional on {parent!r}, which is not in "
                                     "the search space")
        # conditions resolve in this order (a parent before its children)
        order, placed = [], set()
        while len(order) < len(dims):
            ready = [n for n in dims if n not in placed
                     and all(p in placed for p in (dims[n].when or {}))]
            if not ready:
                raise ValueError("the conditions of the search space form a cycle")
            order.extend(ready)
            placed.update(ready)
        self.dims, self.names = dims, order

    def __len__(self):
        return len(self.names)

    def decode(self, u):
        """Parameters from a point of the unit box (inactive coordinates ignored)."""
        params = {}
        for i, name in enumerate(self.names):
            dim = self.dims[name]
            if dim.active(params):
                params[name] = dim.from_unit(float(min(1.0, max(0.0, u[i]))))
        return params

    def encode(self, params):
        """The point of the unit box of a trial's parameters (NaN: inactive)."""
        u = np.full(len(self.names), np.nan)
        for i, name in enumerate(self.names):
            if name in params:
                u[i] = self.dims[name].to_unit(params[name])
        return u

    def sample(self, rng):
        """A uniform random trial."""
        return self.decode(rng.uniform(size=len(self.names)))

    def key(self, params):
        """A hashable identity of a trial, to spot duplicates."""
        return tuple((name, repr(params[name])) for name in self.names if name in params)
