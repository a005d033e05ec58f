"""The registries of losses, penalties and schedules.

One table drives both parameter validation (the allowed strings) and the
construction of the compiled trainer's column specs.
"""

from __future__ import annotations

from . import _core

#: Classification losses: name -> compiled loss.
CLASSIFICATION_LOSSES = {
    "hinge": _core.Loss.hinge,
    "log_loss": _core.Loss.log_loss,
    "modified_huber": _core.Loss.modified_huber,
    "squared_hinge": _core.Loss.squared_hinge,
    "perceptron": _core.Loss.perceptron,
    "squared_error": _core.Loss.squared_error,
    "huber": _core.Loss.huber,
    "epsilon_insensitive": _core.Loss.epsilon_insensitive,
    "squared_epsilon_insensitive": _core.Loss.squared_epsilon_insensitive,
}

#: Regression losses: name -> compiled loss.
REGRESSION_LOSSES = {
    name: CLASSIFICATION_LOSSES[name]
    for name in (
        "squared_error",
        "huber",
        "epsilon_insensitive",
        "squared_epsilon_insensitive",
    )
}

PENALTIES = {
    None: _core.Penalty.none,
    "l2": _core.Penalty.l2,
    "l1": _core.Penalty.l1,
    "elasticnet": _core.Penalty.elasticnet,
}

SCHEDULES = {
    "constant": _core.Schedule.constant,
    "optimal": _core.Schedule.optimal,
    "invscaling": _core.Schedule.invscaling,
    "adaptive": _core.Schedule.adaptive,
    "pa1": _core.Schedule.pa1,
    "pa2": _core.Schedule.pa2,
}

#: Losses whose decision function converts to probabilities.
PROBABILISTIC_LOSSES = ("log_loss", "modified_huber")
