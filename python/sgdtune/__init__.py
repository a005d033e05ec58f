"""sgdtune: fast mini-batch SGD linear models and in-process hyperparameter search."""
from __future__ import annotations

import os as _os
import warnings as _warnings

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

# SGDTUNE_ISA caps the instruction set of the C++ kernels (read there once);
# a value it does not know is ignored, so say so here.
if _os.environ.get("SGDTUNE_ISA", "baseline") not in ("baseline", "avx2", "avx512"):
    _warnings.warn(f"SGDTUNE_ISA must be 'baseline', 'avx2' or 'avx512', got "
                   f"{_os.environ['SGDTUNE_ISA']!r}; it is ignored", RuntimeWarning, stacklevel=2)
