"""sgdtune: fast mini-batch SGD linear models and in-process hyperparameter search."""
from __future__ import annotations

from ._base import DivergenceError
from ._estimators import SGDClassifier, SGDRegressor
from ._search import (
    BayesSearchCV,
    EvolutionarySearchCV,
    GridSearchCV,
    RandomizedSearchCV,
    SearchProgress,
    StopAtScore,
    StopWhenNoImprovement,
    StrategySearchCV,
)
from ._space import Categorical, Integer, Real, Space
from ._strategies import (
    EvolutionStrategy,
    GPStrategy,
    OptunaStrategy,
    RandomStrategy,
    TPEStrategy,
)

__all__ = [
    "BayesSearchCV",
    "Categorical",
    "DivergenceError",
    "EvolutionStrategy",
    "EvolutionarySearchCV",
    "GPStrategy",
    "GridSearchCV",
    "Integer",
    "OptunaStrategy",
    "RandomStrategy",
    "RandomizedSearchCV",
    "Real",
    "SGDClassifier",
    "SGDRegressor",
    "SearchProgress",
    "Space",
    "StopAtScore",
    "StopWhenNoImprovement",
    "StrategySearchCV",
    "TPEStrategy",
]
__version__ = "0.1.0"
