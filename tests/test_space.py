"""Search-space dimensions."""

from __future__ import annotations

import numpy as np
import pytest
from sgdtune import Categorical, Integer, RandomizedSearchCV, Real, SGDClassifier
from sklearn.datasets import make_classification


def test_real_bounds_and_log_scale():
    lin, log = Real(-1.0, 3.0), Real(1e-6, 1e-1, log=True)
    a = np.array(lin.rvs(size=5000, random_state=0))
    b = np.array(log.rvs(size=5000, random_state=0))
    assert a.min() >= -1.0 and a.max() <= 3.0 and abs(a.mean() - 1.0) < 0.1
    assert b.min() >= 1e-6 and b.max() <= 1e-1
    # log-uniform: each decade about equally likely
    decades = np.histogram(np.log10(b), bins=5, range=(-6, -1))[0]
    assert decades.min() > 0.8 * decades.max()
    for dim, value in ((lin, 2.0), (log, 1e-3)):
        assert dim.from_unit(dim.to_unit(value)) == pytest.approx(value)


def test_integer_covers_its_ends_evenly():
    values = np.array(Integer(1, 4).rvs(size=8000, random_state=1))
    counts = np.bincount(values, minlength=5)[1:]
    assert set(values) == {1, 2, 3, 4} and counts.min() > 0.85 * counts.max()
    logs = np.array(Integer(16, 256, log=True).rvs(size=2000, random_state=2))
    assert logs.min() >= 16 and logs.max() <= 256 and np.median(logs) < 100
    assert all(isinstance(v, int) for v in logs[:10].tolist())


def test_categorical():
    cat = Categorical(["hinge", "log_loss", None])
    draws = cat.rvs(size=3000, random_state=0)
    assert set(draws) == {"hinge", "log_loss", None}
    assert cat.from_unit(cat.to_unit("log_loss")) == "log_loss"


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Real(3, 1), ValueError, r"low <= high must hold, but got \(low=3, high=1\)"),
        (lambda: Real(0, 1, log=True), ValueError, "log=True needs low > 0"),
        (lambda: Real("a", 1), TypeError, "Real low must be a finite number"),
        (lambda: Real(0, float("inf")), TypeError, "Real high must be a finite number"),
        (lambda: Integer(1.5, 3), TypeError, "Integer low must be an int"),
        (lambda: Integer(5, 2), ValueError, "low <= high must hold"),
        (lambda: Integer(0, 9, log=True), ValueError, "log=True needs low > 0"),
        (lambda: Categorical([]), ValueError, "at least one choice"),
        (lambda: Categorical("abc"), TypeError, "must be a list or tuple"),
        (lambda: Categorical(["a", "a"]), ValueError, "must be distinct"),
    ],
)
def test_invalid_dimensions(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_randomized_search_samples_the_dimensions():
    X, y = make_classification(n_samples=300, random_state=0)
    space = {"alpha": Real(1e-5, 1e-1, log=True), "batch_size": Integer(1, 64, log=True),
             "loss": Categorical(["hinge", "log_loss"])}
    search = RandomizedSearchCV(SGDClassifier(random_state=0, max_iter=20), space,
                                n_iter=6, cv=3, random_state=0).fit(X, y)
    params = search.cv_results_["params"]
    assert len(params) == 6
    assert all(1e-5 <= p["alpha"] <= 1e-1 and 1 <= p["batch_size"] <= 64 for p in params)
    assert {p["loss"] for p in params} <= {"hinge", "log_loss"}
    again = RandomizedSearchCV(SGDClassifier(random_state=0, max_iter=20), space,
                               n_iter=6, cv=3, random_state=0).fit(X, y)
    assert again.cv_results_["params"] == params
