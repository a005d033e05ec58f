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


class _Dimension:
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

    Examples
    --------
    >>> from sgdtune import Real
    >>> alpha = Real(1e-6, 1e-1, log=True)
    >>> 1e-6 <= alpha.rvs(random_state=0) <= 1e-1
    True
    """

    def __init__(self, low, high, log=False):
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
            return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))
        return float(self.low + u * (self.high - self.low))

    def to_unit(self, value):
        if self.high == self.low:
            return 0.0
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def __repr__(self):
        return f"Real({self.low!r}, {self.high!r}, log={self.log})"


class Integer(_Dimension):
    """An integer hyperparameter in [low, high] (both included).

    Parameters
    ----------
    low, high : int
        Bounds, ``low <= high``; both > 0 when ``log=True``.
    log : bool, default=False
        Sample uniformly in log space (for sizes such as ``batch_size``).

    Examples
    --------
    >>> from sgdtune import Integer
    >>> Integer(16, 256, log=True).rvs(random_state=0) in range(16, 257)
    True
    """

    def __init__(self, low, high, log=False):
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
        return f"Integer({self.low!r}, {self.high!r}, log={self.log})"


class Categorical(_Dimension):
    """A hyperparameter taking one of a fixed set of values.

    Parameters
    ----------
    choices : sequence
        The values, at least one, without repeats.

    Examples
    --------
    >>> from sgdtune import Categorical
    >>> Categorical(["hinge", "log_loss"]).rvs(random_state=0)
    'log_loss'
    """

    def __init__(self, choices):
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
        return f"Categorical({self.choices!r})"
