"""Behaviour users rely on: quality against scikit-learn, determinism, options."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from numpy.testing import assert_allclose, assert_array_equal
from sgdtune import SGDClassifier, SGDRegressor
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._interrupt import assert_interrupted_quickly
from ._memory import traced_peak


def _median_test_score(make_est, X, y, seeds=range(5)):
    scores = []
    for seed in seeds:
        Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=seed)
        model = make_pipeline(StandardScaler(), make_est(seed)).fit(Xtr, ytr)
        scores.append(model.score(Xte, yte))
    return float(np.median(scores))


CLASSIFICATION_SETS = {
    "digits": lambda: load_digits(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "make_classification": lambda: make_classification(
        n_samples=3000, n_features=20, n_informative=10, n_classes=3, random_state=0
    ),
}


@pytest.mark.parametrize("dataset", list(CLASSIFICATION_SETS))
def test_classifier_accuracy_matches_scikit_learn(dataset):
    X, y = CLASSIFICATION_SETS[dataset]()
    ours = _median_test_score(lambda s: SGDClassifier(random_state=s), X, y)
    theirs = _median_test_score(lambda s: sk.SGDClassifier(random_state=s), X, y)
    assert ours >= theirs - 0.01, (ours, theirs)


def test_regressor_r2_matches_scikit_learn():
    X, y = make_regression(n_samples=2000, n_features=20, noise=10.0, random_state=0)
    y = y / y.std()
    ours = _median_test_score(lambda s: SGDRegressor(random_state=s), X, y)
    theirs = _median_test_score(lambda s: sk.SGDRegressor(random_state=s), X, y)
    assert ours >= theirs - 0.01, (ours, theirs)


@pytest.mark.parametrize("batch_size, average", [(8, False), (64, True), (256, True)])
def test_minibatch_classifier_reaches_scikit_learn_accuracy(batch_size, average):
    # With large batches the 'optimal' schedule's early large steps last
    # batch_size times more epochs; averaging the iterates (documented advice)
    # makes the tol-based stop land on a good model.
    X, y = load_digits(return_X_y=True)
    theirs = _median_test_score(lambda s: sk.SGDClassifier(random_state=s), X, y)
    ours = _median_test_score(
        lambda s: SGDClassifier(random_state=s, batch_size=batch_size, average=average), X, y
    )
    assert ours >= theirs - 0.01, (ours, theirs)


def test_same_seed_same_model_and_thread_count_does_not_matter():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(random_state=7, max_iter=5, tol=None, batch_size=4, average=3, penalty="elasticnet")
    a = SGDClassifier(n_jobs=1, **kw).fit(X, y)
    b = SGDClassifier(n_jobs=1, **kw).fit(X, y)
    c = SGDClassifier(n_jobs=2, **kw).fit(X, y)
    d = SGDClassifier(n_jobs=-1, **kw).fit(X.astype(np.float64), y)
    for other in (b, c, d):
        assert_array_equal(a.coef_, other.coef_)
        assert_array_equal(a.intercept_, other.intercept_)
    e = SGDClassifier(n_jobs=1, **{**kw, "random_state": 8}).fit(X, y)
    assert not np.array_equal(a.coef_, e.coef_)


def test_each_ovr_column_equals_its_binary_fit():
    # A column's arithmetic does not depend on the other columns of its block.
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(random_state=3, max_iter=3, tol=None, batch_size=5)
    multi = SGDClassifier(**kw).fit(X, y)
    for k in (0, 4, 9):
        single = SGDClassifier(**kw).fit(X, (y == k).astype(int))
        assert_array_equal(multi.coef_[k], single.coef_[0])


def test_early_stopping_stops_and_uses_a_validation_split():
    X, y = make_classification(n_samples=2000, random_state=0)
    clf = SGDClassifier(early_stopping=True, random_state=0, max_iter=1000).fit(X, y)
    assert clf.n_iter_ < 100
    assert clf.score(X, y) > 0.8
    reg = SGDRegressor(early_stopping=True, random_state=0).fit(X, y.astype(float))
    assert reg.n_iter_ < 1000


def test_adaptive_schedule_and_tol():
    X, y = make_classification(n_samples=1000, random_state=1)
    clf = SGDClassifier(learning_rate="adaptive", eta0=0.1, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert clf.n_iter_ > 5


@pytest.mark.parametrize("lr", ["constant", "optimal", "invscaling", "adaptive", "pa1", "pa2"])
def test_every_schedule_trains(lr):
    X, y = make_classification(n_samples=600, random_state=2)
    clf = SGDClassifier(learning_rate=lr, eta0=0.05, random_state=0, batch_size=4).fit(X, y)
    assert clf.score(X, y) > 0.75


def test_class_weight_moves_the_boundary_to_the_minority_class():
    X, y = make_classification(n_samples=2000, weights=[0.9, 0.1], random_state=0)
    plain = SGDClassifier(random_state=0).fit(X, y)
    balanced = SGDClassifier(random_state=0, class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    as_dict = SGDClassifier(random_state=0, class_weight={0: 1.0, 1: 8.0}).fit(X, y)
    assert (as_dict.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_zero_sample_weight_equals_dropping_rows_at_full_batch():
    X, y = make_classification(n_samples=200, random_state=0)
    sw = np.ones(200)
    sw[:50] = 0.0
    kw = dict(learning_rate="constant", eta0=0.1, max_iter=3, tol=None, shuffle=False)
    weighted = SGDClassifier(batch_size=200, **kw).fit(X, y, sample_weight=sw)
    # the batch mean divides by the batch's row count, so scale the weights
    dropped = SGDClassifier(batch_size=150, **kw).fit(
        X[50:], y[50:], sample_weight=np.full(150, 150 / 200)
    )
    assert_allclose(weighted.coef_, dropped.coef_, rtol=1e-10)


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_predict_proba(loss):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = SGDClassifier(loss=loss, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 10)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(clf.classes_[proba.argmax(axis=1)] == clf.predict(X)) > 0.95
    assert_allclose(np.exp(clf.predict_log_proba(X[:5])), proba[:5])
    binary = SGDClassifier(loss=loss, random_state=0).fit(X, y > 4)
    p2 = binary.predict_proba(X)
    assert p2.shape == (len(y), 2)
    assert_array_equal(p2.argmax(axis=1) == 1, binary.predict(X))


def test_predict_proba_unavailable_for_hinge():
    clf = SGDClassifier()
    assert not hasattr(clf, "predict_proba")


def test_warm_start_and_coef_init_continue_from_weights():
    X, y = make_classification(n_samples=500, random_state=0)
    clf = SGDClassifier(warm_start=True, max_iter=2, tol=None, random_state=0,
                        learning_rate="constant", eta0=0.01)
    clf.fit(X, y)
    first, first_intercept = clf.coef_.copy(), clf.intercept_.copy()
    clf.fit(X, y)
    assert not np.allclose(clf.coef_, first)
    # a warm start is a fit from the previous weights, as coef_init gives them
    cold = SGDClassifier(max_iter=2, tol=None, random_state=0, learning_rate="constant",
                         eta0=0.01).fit(X, y, coef_init=first, intercept_init=first_intercept)
    assert_array_equal(clf.coef_, cold.coef_)
    assert_array_equal(clf.intercept_, cold.intercept_)


def test_partial_fit_classes_and_labels():
    X, y = make_classification(n_samples=300, n_classes=3, n_informative=5, random_state=0)
    clf = SGDClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    assert clf.coef_.shape == (3, 20)
    with pytest.raises(ValueError, match=r"y contains labels \[5\]"):
        clf.partial_fit(X[:10], np.full(10, 5))
    with pytest.raises(ValueError, match="n_features|features"):
        clf.partial_fit(X[:10, :5], y[:10])
    with pytest.raises(ValueError, match="balanced"):
        SGDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="early_stopping should be False"):
        SGDClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_sparsify_and_densify_keep_predictions():
    X, y = load_digits(return_X_y=True)
    clf = SGDClassifier(penalty="l1", alpha=0.001, random_state=0).fit(X / 16, y)
    dense_pred = clf.predict(X / 16)
    clf.sparsify()
    assert sp.issparse(clf.coef_)
    assert_array_equal(clf.predict(X / 16), dense_pred)
    clf.densify()
    assert isinstance(clf.coef_, np.ndarray)
    # refitting a sparsified model with warm_start works
    clf.sparsify().set_params(warm_start=True).fit(X / 16, y)


def test_pickle_clone_and_pipeline():
    X, y = make_classification(n_samples=300, random_state=0)
    clf = SGDClassifier(random_state=0, batch_size=16).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert_array_equal(again.predict(X), clf.predict(X))
    c = clone(clf)
    assert c.get_params() == clf.get_params() and not hasattr(c, "coef_")
    pipe = make_pipeline(StandardScaler(), SGDRegressor(batch_size=8)).fit(X, y.astype(float))
    assert pipe.predict(X).shape == (300,)


def test_pandas_input_sets_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = SGDClassifier(random_state=0).fit(df, pd.Series(y))
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    assert clf.n_features_in_ == 4
    assert_array_equal(clf.predict(df), SGDClassifier(random_state=0).fit(X, y).predict(X))


def test_divergence_raises_with_the_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5)) * 1e150
    y = rng.normal(size=100) * 1e150
    with pytest.raises(ValueError, match=r"epoch #\d+.*(StandardScaler|eta0)"):
        SGDRegressor(learning_rate="constant", eta0=1.0, max_iter=50).fit(X, y)


def test_ctrl_c_interrupts_fit_quickly():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 50))
    y = (X[:, 0] > 0).astype(int)
    clf = SGDClassifier(max_iter=100000, tol=None)
    assert_interrupted_quickly(lambda: clf.fit(X, y))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"batch_size": 0}, "batch_size"),
        ({"loss": "foo"}, "loss"),
        ({"penalty": "l3"}, "penalty"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"l1_ratio": 1.5}, "l1_ratio"),
        ({"max_iter": 0}, "max_iter"),
        ({"eta0": 0.0}, "eta0"),
        ({"alpha": 0.0}, "alpha must be > 0 since learning_rate is 'optimal'"),
        ({"learning_rate": "pa1", "loss": "log_loss"}, "only works with loss 'hinge'"),
        ({"penalty": "elasticnet", "l1_ratio": None}, "l1_ratio must be set"),
    ],
)
def test_invalid_parameters_name_the_parameter(params, match):
    X, y = make_classification(n_samples=50, random_state=0)
    with pytest.raises(ValueError, match=match):
        SGDClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sample_weight": -np.ones(50)}, "sample_weight must be non-negative"),
        ({"sample_weight": np.ones(49)}, r"sample_weight.shape == \(49,\), expected \(50,\)"),
        ({"sample_weight": np.full(50, np.nan)}, "sample_weight must be finite"),
        ({"coef_init": np.ones(3)}, "coef_init has shape"),
        ({"intercept_init": np.ones(3)}, "intercept_init has shape"),
    ],
)
def test_invalid_fit_arguments(kwargs, match):
    X, y = make_classification(n_samples=50, random_state=0)
    with pytest.raises(ValueError, match=match):
        SGDClassifier().fit(X, y, **kwargs)


def test_invalid_data():
    X, y = make_classification(n_samples=50, random_state=0)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SGDClassifier().fit(Xn, y)
    with pytest.raises(ValueError, match="one class|greater than one"):
        SGDClassifier().fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SGDClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type|continuous"):
        SGDClassifier().fit(X, np.linspace(0, 1, 50))


def test_verbose_reports_epochs(capsys):
    X, y = make_classification(n_samples=200, random_state=0)
    clf = SGDClassifier(verbose=1, random_state=0, max_iter=7, tol=None).fit(X, y)
    out = capsys.readouterr().out
    assert "7 epochs" in out and f"T: {int(clf.t_) - 1}" in out


def test_partial_fit_can_switch_on_averaging_and_change_dtype():
    X, y = make_classification(n_samples=200, random_state=0)
    clf = SGDClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    before = clf.coef_.copy()
    clf.set_params(average=True).partial_fit(X.astype(np.float32), y)
    assert clf.coef_.dtype == np.float32
    # the average starts from the weights at the switch, then moves towards
    # the new iterates: it lies between the two, near the start
    after = clf._standard_coef
    assert np.linalg.norm(clf.coef_ - before) < np.linalg.norm(after - before)
    assert clf.score(X, y) > 0.8


def test_reporting_does_not_change_the_model(capsys):
    # With tol=None the training loss is only summed for reports (verbose).
    X, y = make_classification(n_samples=300, random_state=0)
    kw = {"loss": "log_loss", "max_iter": 4, "tol": None, "random_state": 0}
    quiet = SGDClassifier(**kw).fit(X, y)
    loud = SGDClassifier(verbose=1, **kw).fit(X, y)
    assert "objective" in capsys.readouterr().out
    assert_array_equal(quiet.coef_, loud.coef_)


def test_ctrl_c_interrupts_a_threaded_fit():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 30))
    y = rng.integers(0, 4, size=20000)
    clf = SGDClassifier(max_iter=100000, tol=None, n_jobs=2)
    assert_interrupted_quickly(lambda: clf.fit(X, y))


def test_ctrl_c_interrupts_a_fit_shared_by_threads():
    # one binary model whose mini-batch steps a team of threads shares
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 100))
    y = rng.integers(0, 2, size=20000)
    clf = SGDClassifier(max_iter=100000, tol=None, n_jobs=2, batch_size=512)
    assert_interrupted_quickly(lambda: clf.fit(X, y))
    # the process is fine after it: the same fit runs on
    clf.set_params(max_iter=2).fit(X, y)


def test_fits_from_several_python_threads_equal_serial_fits():
    X, y = make_classification(n_samples=2000, n_classes=3, n_informative=6, random_state=0)
    params = [{"alpha": a, "batch_size": b} for a in (1e-4, 1e-3) for b in (1, 16)]
    serial = [SGDClassifier(random_state=0, **p).fit(X, y).coef_ for p in params]
    results = [None] * len(params)

    def work(i):
        results[i] = SGDClassifier(random_state=0, **params[i]).fit(X, y).coef_

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(params))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, serial, strict=True):
        assert_array_equal(got, want)


@pytest.mark.parametrize("sparse", [False, True])
def test_fit_makes_no_copy_of_X(sparse):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40000, 100))  # 32 MB
    if sparse:
        X = sp.random(40000, 2000, density=0.05, format="csr", random_state=0)  # 48 MB
    y = rng.integers(0, 2, size=40000)
    size = X.data.nbytes if sparse else X.nbytes
    clf = SGDClassifier(max_iter=2, tol=None, random_state=0, penalty="elasticnet")
    peak = traced_peak(lambda: clf.fit(X, y))
    # tracemalloc sees every NumPy allocation: labels, weights and row indices
    # are a few bytes a row, and X itself is not copied (the core reads views)
    assert peak < 0.25 * size, (peak, size)


@pytest.mark.parametrize("corrupt", ["column too large", "negative column", "indptr decreasing"])
def test_malformed_csr_is_refused_not_read_out_of_bounds(corrupt):
    X = sp.random(50, 10, density=0.3, format="csr", random_state=0)
    y = np.arange(50) % 2
    indices, indptr = X.indices.copy(), X.indptr.copy()
    if corrupt == "column too large":
        indices[3] = 12
    elif corrupt == "negative column":
        indices[3] = -1
    else:
        indptr[5], indptr[6] = indptr[6], indptr[5]
    bad = sp.csr_matrix((X.data, indices, indptr), shape=X.shape)
    with pytest.raises(ValueError, match=r"X\.ind"):
        SGDClassifier().fit(bad, y)


def test_docstrings_and_their_examples():
    import doctest

    import sgdtune._estimators
    import sgdtune._search
    import sgdtune._space

    for cls in (SGDClassifier, SGDRegressor):
        assert cls.__doc__ and "batch_size" in cls.__doc__
    for module in (sgdtune._estimators, sgdtune._search, sgdtune._space):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
