"""sgdtune: fast mini-batch SGD linear models and in-process hyperparameter search."""
from __future__ import annotations

from ._estimators import SGDClassifier, SGDRegressor
from ._search import GridSearchCV, RandomizedSearchCV
from ._space import Categorical, Integer, Real

__all__ = [
    "Categorical",
    "GridSearchCV",
    "Integer",
    "RandomizedSearchCV",
    "Real",
    "SGDClassifier",
    "SGDRegressor",
]
__version__ = "0.1.0"
