"""Model-based and evolutionary search, pruning, budgets and user strategies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sgdtune import (
    BayesSearchCV,
    Categorical,
    EvolutionarySearchCV,
    EvolutionStrategy,
    GPStrategy,
    GridSearchCV,
    Integer,
    RandomizedSearchCV,
    RandomStrategy,
    Real,
    SGDClassifier,
    Space,
    StopAtScore,
    StopWhenNoImprovement,
    StrategySearchCV,
    TPEStrategy,
)
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

SPACE = {
    "alpha": Real(1e-6, 1.0, log=True),
    "x": Real(-2.0, 2.0),
    "n": Integer(1, 64, log=True),
    "kind": Categorical(["a", "b", "c"]),
    "extra": Real(0.0, 1.0, when={"kind": ["c"]}),
}


def objective(p):
    """Best at alpha = 1e-3, x = 0.5, n = 8, kind = 'c', extra = 0.2 (value 0)."""
    value = -((math.log10(p["alpha"]) + 3.0) ** 2) - (p["x"] - 0.5) ** 2
    value -= (math.log2(p["n"]) - 3.0) ** 2 / 4.0
    value -= {"a": 1.0, "b": 0.5, "c": 0.0}[p["kind"]]
    if p["kind"] == "c":
        value -= (p["extra"] - 0.2) ** 2
    return value


def run(strategy, n_trials, batch=4):
    while len(strategy.scores) < n_trials:
        params = strategy.ask(min(batch, n_trials - len(strategy.scores)))
        strategy.tell(params, [objective(p) for p in params])
    return strategy


def check_suggestion(p):
    assert set(p) == {"alpha", "x", "n", "kind"} | ({"extra"} if p["kind"] == "c" else set())
    assert 1e-6 <= p["alpha"] <= 1.0 and -2.0 <= p["x"] <= 2.0
    assert isinstance(p["n"], int) and 1 <= p["n"] <= 64
    assert p["kind"] in ("a", "b", "c")
    if "extra" in p:
        assert 0.0 <= p["extra"] <= 1.0


STRATEGIES = [TPEStrategy, GPStrategy, EvolutionStrategy]


@pytest.mark.parametrize("cls", STRATEGIES + [RandomStrategy])
def test_suggestions_respect_the_space_and_never_repeat(cls):
    strategy = run(cls(SPACE, random_state=0), 40, batch=8)
    keys = [strategy.space.key(p) for p in strategy.params]
    assert len(set(keys)) == len(keys)
    for p in strategy.params:
        check_suggestion(p)


@pytest.mark.parametrize("cls", STRATEGIES)
def test_model_based_strategies_find_the_optimum_and_beat_random(cls):
    found, random_found = [], []
    for seed in range(3):
        found.append(max(run(cls(SPACE, random_state=seed), 60).scores))
        random_found.append(max(run(RandomStrategy(SPACE, random_state=seed), 60).scores))
    # near the optimum (0): e.g. alpha within about a third of a decade
    assert np.median(found) > -0.3, found
    assert np.median(found) > np.median(random_found), (found, random_found)


def test_log_scale_is_sampled_per_decade():
    alphas = [p["alpha"] for p in RandomStrategy(SPACE, random_state=0).ask(400)]
    decades = np.histogram(np.log10(alphas), bins=6, range=(-6, 0))[0]
    assert decades.min() > 0.5 * decades.max()


def test_same_seed_same_suggestions():
    a = run(TPEStrategy(SPACE, random_state=3), 20)
    b = run(TPEStrategy(SPACE, random_state=3), 20)
    assert a.params == b.params


def test_space_checks_conditions():
    with pytest.raises(ValueError, match="not in the search space"):
        Space({"a": Real(0, 1, when={"b": 1})})
    with pytest.raises(ValueError, match="cycle"):
        Space({"a": Categorical([1, 2], when={"b": 1}), "b": Categorical([1, 2], when={"a": 1})})
    with pytest.raises(TypeError, match="search space entry 'a'"):
        Space({"a": 3})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


ALPHAS = list(np.logspace(-6, -1, 16))


@pytest.fixture(scope="module")
def grid_best(digits):
    X, y = digits
    grid = GridSearchCV(SGDClassifier(max_iter=10, tol=None, random_state=0),
                        {"alpha": ALPHAS}, cv=3, n_jobs=2).fit(X, y)
    return grid.best_score_


@pytest.mark.parametrize("method", ["tpe", "gp"])
def test_bayes_search_finds_the_best_alpha_of_a_fine_grid(digits, grid_best, method):
    X, y = digits
    search = BayesSearchCV(SGDClassifier(max_iter=10, tol=None, random_state=0),
                           {"alpha": Real(1e-6, 1e-1, log=True)}, n_iter=16, method=method,
                           cv=3, random_state=0, n_jobs=2).fit(X, y)
    assert search.best_score_ >= grid_best - 0.005
    assert len(search.cv_results_["params"]) == 16
    assert set(search.cv_results_["status"]) == {"ok"}


def test_evolutionary_search_and_reproducibility_across_threads(digits, grid_best):
    X, y = digits
    space = {"alpha": Real(1e-6, 1e-1, log=True), "loss": ["hinge", "log_loss"],
             "penalty": ["l2", "elasticnet"],
             "l1_ratio": Real(0.0, 1.0, when={"penalty": "elasticnet"})}
    runs = [EvolutionarySearchCV(SGDClassifier(max_iter=5, tol=None, random_state=0), space,
                                 population_size=6, generations=3, cv=3, random_state=1,
                                 n_jobs=n_jobs).fit(X, y) for n_jobs in (1, 2)]
    a, b = (r.cv_results_ for r in runs)
    assert a["params"] == b["params"] and len(a["params"]) == 18
    assert_array_equal(a["mean_test_score"], b["mean_test_score"])
    for p in a["params"]:
        assert ("l1_ratio" in p) == (p["penalty"] == "elasticnet")
    assert runs[0].best_score_ >= grid_best - 0.02


def test_halving_keeps_the_best_and_trains_them_on_exactly(digits):
    X, y = digits
    est = SGDClassifier(max_iter=9, tol=None, random_state=0)
    grid = {"alpha": ALPHAS[::2], "loss": ["hinge", "log_loss"]}  # 16 candidates
    pruned = GridSearchCV(est, grid, cv=3, pruner="halving", factor=3, n_jobs=2).fit(X, y)
    full = GridSearchCV(est, grid, cv=3, n_jobs=2).fit(X, y)
    r, f = pruned.cv_results_, full.cv_results_
    # rungs of 1, 3 and 9 epochs: 16 -> 5 -> 1
    assert sorted(np.bincount(r["n_epochs"]).nonzero()[0]) == [1, 3, 9]
    assert list(np.bincount(r["n_epochs"])[[1, 3, 9]]) == [11, 4, 1]
    assert (r["status"] == "pruned").sum() == 15
    # each rung keeps the best third of the candidates scored at it
    for rung, nxt in ((1, 3), (3, 9)):
        at = {h["candidate"]: h["score"] for h in pruned.history_ if h["epochs"] == rung}
        kept = {h["candidate"] for h in pruned.history_ if h["epochs"] == nxt}
        ranked = sorted(at, key=lambda c: (-at[c], c))
        assert kept == set(ranked[: len(kept)])
    # a survivor trained 1 + 2 + 6 epochs scores exactly as a 9-epoch fit
    best = pruned.best_index_
    assert r["n_epochs"][best] == 9 and r["rank_test_score"][best] == 1
    for s in range(3):
        key = f"split{s}_test_score"
        assert r[key][best] == f[key][best]
    assert pruned.best_estimator_.n_iter_ == 9
    # every candidate's learning curve: its mean score after each epoch it trained
    for curve, epochs in zip(r["learning_curve"], r["n_epochs"], strict=True):
        assert [e for e, _ in curve] == list(range(1, epochs + 1))
    assert r["learning_curve"][best][-1][1] == r["mean_test_score"][best]


def test_hyperband_spreads_candidates_over_brackets(digits):
    X, y = digits
    search = RandomizedSearchCV(SGDClassifier(max_iter=9, tol=None, random_state=0),
                                {"alpha": Real(1e-6, 1e-1, log=True)}, n_iter=20, cv=3,
                                pruner="hyperband", random_state=0, n_jobs=2).fit(X, y)
    r = search.cv_results_
    epochs = np.asarray(r["n_epochs"])
    # brackets starting at 1, 3 and 9 epochs: some candidates train 9 from the start
    assert set(epochs) == {1, 3, 9}
    assert epochs.sum() < 20 * 9 / 2
    assert r["n_epochs"][search.best_index_] == 9


def test_budgets_and_callbacks(digits):
    X, y = digits
    est = SGDClassifier(max_iter=3, tol=None, random_state=0)
    space = {"alpha": Real(1e-6, 1e-1, log=True)}
    timed = BayesSearchCV(est, space, n_iter=40, n_points=4, max_time=1e-9, cv=2,
                          random_state=0).fit(X, y)
    assert len(timed.cv_results_["params"]) == 4  # one batch, then out of time
    target = BayesSearchCV(est, space, n_iter=40, n_points=4, cv=2, random_state=0,
                           callbacks=[StopAtScore(0.5)]).fit(X, y)
    assert len(target.cv_results_["params"]) == 4
    stale = BayesSearchCV(est, space, n_iter=400, n_points=4, cv=2, random_state=0,
                          callbacks=[StopWhenNoImprovement(2)]).fit(X, y)
    assert 12 <= len(stale.cv_results_["params"]) < 400


class GoldenSection:
    """A user strategy: scans alpha on a log grid, coarse to fine, around the best."""

    def __init__(self):
        self.told = []

    def ask(self, n):
        if not self.told:
            return [{"alpha": float(a)} for a in np.logspace(-6, -1, n)]
        if len(self.told) >= 12:
            return []
        best = max(self.told, key=lambda t: t[1])[0]["alpha"]
        return [{"alpha": float(best * f)} for f in np.logspace(-0.5, 0.5, n + 2)[1:-1]]

    def tell(self, params, scores):
        self.told.extend(zip(params, scores, strict=True))


def test_every_batch_scores_as_cross_validation_does(digits):
    # later batches reuse the data, labels and weights the first one prepared
    X, y = digits
    X, y = X[:600], y[:600]
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    space = {"alpha": Real(1e-5, 1e-1, log=True), "penalty": ["l2", "l1"],
             "class_weight": [None, "balanced"]}
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    est = SGDClassifier(max_iter=4, tol=None, random_state=np.random.RandomState(1))
    search = BayesSearchCV(est, space, n_iter=9, n_points=3, cv=cv, random_state=0,
                           n_jobs=2).fit(X, y, sample_weight=sw)
    for params, got in zip(search.cv_results_["params"],
                           search.cv_results_["mean_test_score"], strict=True):
        model = clone(est).set_params(**params)
        # (as in scikit-learn's searches, the weights go to the scorer too)
        want = np.mean([clone(model).fit(X[tr], y[tr], sample_weight=sw[tr])
                        .score(X[te], y[te], sample_weight=sw[te]) for tr, te in cv])
        assert got == want


def test_user_strategy_drives_the_search(digits):
    X, y = digits
    strategy = GoldenSection()
    search = StrategySearchCV(SGDClassifier(max_iter=5, tol=None, random_state=0), strategy,
                              n_iter=100, n_points=4, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 12  # the strategy ran out of trials
    assert strategy.told == []  # the search worked on a copy
    assert len(search.strategy_.told) == 12


def test_other_estimators_take_the_thread_path_and_pruning_needs_sgdtune(digits):
    X, y = digits
    X, y = X[:300], y[:300]
    search = BayesSearchCV(LogisticRegression(max_iter=200), {"C": Real(1e-2, 10, log=True)},
                           n_iter=6, n_points=3, cv=2, random_state=0, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 6 and search.best_score_ > 0.8
    with pytest.raises(ValueError, match="pruner='halving' needs an sgdtune"):
        GridSearchCV(LogisticRegression(), {"C": [1.0]}, pruner="halving").fit(X, y)


def test_optuna_sampler_drives_the_engine(digits):
    optuna = pytest.importorskip("optuna")
    from sgdtune import OptunaStrategy

    X, y = digits
    strategy = OptunaStrategy({"alpha": Real(1e-6, 1e-1, log=True)},
                              sampler=optuna.samplers.RandomSampler(seed=0))
    search = StrategySearchCV(SGDClassifier(max_iter=3, tol=None, random_state=0), strategy,
                              n_iter=6, n_points=3, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 6


def test_trials_dataframe_and_progress_lines(digits, capsys):
    pytest.importorskip("pandas")
    X, y = digits
    search = BayesSearchCV(SGDClassifier(max_iter=4, tol=None, random_state=0),
                           {"alpha": Real(1e-6, 1e-1, log=True),
                            "penalty": ["l2", "elasticnet"],
                            "l1_ratio": Real(0.0, 1.0, when={"penalty": "elasticnet"})},
                           n_iter=8, n_points=4, cv=2, random_state=0, verbose=1,
                           pruner="halving", max_epochs=4, factor=2).fit(X, y)
    frame = search.trials_dataframe()
    assert list(frame["number"]) == list(range(8))
    assert {"param_alpha", "mean_test_score", "status", "n_epochs"} <= set(frame.columns)
    # l1_ratio is absent (None) exactly where the penalty is not elastic-net
    assert list(frame["param_l1_ratio"].isna()) == list(frame["param_penalty"] == "l2")
    err = capsys.readouterr().err  # not a terminal: log lines
    assert "[sgdtune] 8/8 trials, best 0." in err


def test_curves_without_pruning_record_every_epoch_and_stop_at_tol(digits):
    X, y = digits
    grid = {"alpha": [1e-4, 1e-2]}
    est = SGDClassifier(max_iter=40, tol=1e-3, n_iter_no_change=2, random_state=0)
    curved = GridSearchCV(est, grid, cv=2, curves=True).fit(X, y)
    plain = GridSearchCV(est, grid, cv=2).fit(X, y)
    r, p = curved.cv_results_, plain.cv_results_
    assert_array_equal(r["mean_test_score"], p["mean_test_score"])  # the same models
    assert list(r["rank_test_score"]) == list(p["rank_test_score"])
    for c, curve in enumerate(r["learning_curve"]):
        epochs = [e for e, _ in curve]
        # every epoch until the trial stopped by itself (before max_iter)
        assert epochs == list(range(1, epochs[-1] + 1)) and epochs[-1] < 40
        assert epochs[-1] == r["n_epochs"][c] and curve[-1][1] == r["mean_test_score"][c]
    assert set(r["status"]) == {"ok"}


class _BadStrategy:
    def ask(self, n):
        return [("alpha", 1e-3)] * n

    def tell(self, params, scores):
        pass


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda est: BayesSearchCV(est, {"alpha": Real(1e-4, 1e-2)}, n_iter=2,
                                   callbacks=[3]), TypeError, "callbacks must be callables"),
        (lambda est: StrategySearchCV(est, _BadStrategy(), n_iter=2), TypeError,
         "_BadStrategy.ask must return a list of parameter dicts"),
        (lambda est: BayesSearchCV(est, {"alpha": Real(1e-4, 1e-2)}, pruner="halving",
                                   min_epochs=9, max_epochs=3),
         ValueError, "min_epochs=9 must be <= max_epochs=3"),
        (lambda est: BayesSearchCV(est, {"alpha": Real(1e-4, 1e-2)}, factor=1),
         ValueError, "'factor' parameter"),
        (lambda est: BayesSearchCV(est, {}, n_iter=2), TypeError, "non-empty dict"),
        (lambda est: BayesSearchCV(est, {"alpha": 1e-3}, n_iter=2), TypeError,
         "search space entry 'alpha'"),
        (lambda est: StrategySearchCV(est, object()), ValueError, "'strategy' parameter"),
    ],
)
def test_bad_search_arguments_are_clear_errors(digits, make, error, message):
    X, y = digits
    with pytest.raises(error, match=message):
        make(SGDClassifier(max_iter=2, tol=None)).fit(X[:200], y[:200])
