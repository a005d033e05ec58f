"""Drop-in SGD estimators backed by the compiled block trainer.

A multiclass model is one block of ``n_classes`` one-vs-rest columns trained
over one shared stream of mini-batches; see ``_base`` for what they share.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import compute_class_weight
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from ._base import _COMMON_DOC, _BaseSGD
from ._losses import CLASSIFICATION_LOSSES, PROBABILISTIC_LOSSES, REGRESSION_LOSSES


def _label_codes(classes, y, chunk=1 << 20):
    """Each label's index in ``classes`` as float64 (the core's targets), made
    in chunks so no int64 array of every row exists beside the result."""
    codes = np.empty(y.shape[0], dtype=np.float64)
    for lo in range(0, y.shape[0], chunk):
        codes[lo:lo + chunk] = np.searchsorted(classes, y[lo:lo + chunk])
    return codes


def _targets_valid(shared, y):
    """Whether all of y passes check_classification_targets (then so does any
    fold of it), found once per search in ``shared``."""
    if "targets_valid" not in shared:
        try:
            check_classification_targets(y)
            shared["targets_valid"] = True
        except ValueError:
            shared["targets_valid"] = False
    return shared["targets_valid"]


def _fold_classes(shared, y, rows):
    """``np.unique(y[rows])``, from the classes and label codes of all of y,
    made once per search in ``shared``."""
    if "all_classes" not in shared:
        shared["all_classes"] = np.unique(y)
    classes = shared["all_classes"]
    codes_of = shared.setdefault("y_codes", {})
    key = tuple(classes.tolist())
    if key not in codes_of:
        codes_of[key] = _label_codes(classes, y)
    present = np.bincount(codes_of[key][rows].astype(np.intp), minlength=classes.shape[0]) > 0
    return classes[present]


class SGDClassifier(ClassifierMixin, _BaseSGD):
    __doc__ = """Linear classifier (SVM, logistic regression, ...) trained by mini-batch SGD.

    A drop-in replacement for :class:`sklearn.linear_model.SGDClassifier` with
    the same parameters, attributes and methods, plus ``batch_size``. Multiclass
    problems are solved one-vs-rest; all classes train together in one pass over
    each mini-batch, split over ``n_jobs`` threads (a binary model's threads
    share each dense mini-batch step that holds enough work: ``batch_size``
    times ``n_features`` of about 6,400 a thread, 128 rows of 100 features for
    two).

    Parameters
    ----------""" + _COMMON_DOC.replace(
        "loss : str\n        The loss; see the class description for the choices.",
        "loss : {'hinge', 'log_loss', 'modified_huber', 'squared_hinge', "
        "'perceptron', 'squared_error', 'huber', 'epsilon_insensitive', "
        "'squared_epsilon_insensitive'}, default='hinge'",
    ) + """
    n_jobs : int or None, default=None
        Threads over the one-vs-rest columns, or sharing the mini-batch steps of
        a binary model on dense X (-1: all cores). Results do not depend on it.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplying the sample weights.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    n_iter_ : int
        Epochs run (the largest over the one-vs-rest columns).
    t_ : float
        One more than the number of weight updates made.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when X has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sgdtune import SGDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SGDClassifier(batch_size=16, random_state=0).fit(X, y)
    >>> clf.coef_.shape
    (3, 4)
    """

    _is_classifier = True
    _loss_registry = CLASSIFICATION_LOSSES
    _parameter_constraints: dict = {
        **_BaseSGD._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
        "n_jobs": [Integral, None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        batch_size=1,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size

    def _partial_fit(self, X, y, max_iter, classes, sample_weight, coef_init, intercept_init,
                     from_fit=False):
        X, job = self._prepare(X, y, max_iter, classes, sample_weight, coef_init,
                               intercept_init, from_fit)
        self._train(X, job)
        return self

    def _prepare(self, X, y, max_iter, classes, sample_weight, coef_init, intercept_init,
                 from_fit=False, rows=None, fold_cache=None):
        """Check the inputs; return X and the job that fits rows ``rows`` of it.

        Without ``rows`` X and y are validated here and every row is fitted. With
        ``rows`` (a search fitting one fold), X, y and sample_weight are already
        validated arrays of all the data, and the job is exactly the one a fit on
        ``X[rows], y[rows]`` would run, without copying X. ``fold_cache``, a dict
        shared by the estimators fitting the same fold, keeps the fold's labels,
        codes and weights, computed once.
        """
        first_call = not hasattr(self, "classes_")
        fold = rows is not None
        cache = fold_cache if (fold and from_fit and fold_cache is not None) else {}
        if not fold:
            X, y = self._validate_X_y(X, y, reset=first_call)
            rows = np.arange(X.shape[0], dtype=np.int64)
            y_fit = y
        else:
            self.n_features_in_ = X.shape[1]
            y_fit = cache["y_fit"] if "y_fit" in cache else y[rows]
        # (a search's folds: what all of y gives, made once, where all of y passes)
        shared = cache.get("all_folds") if cache is fold_cache else None
        whole_y_ok = shared is not None and _targets_valid(shared, y)
        if "classes" not in cache and not whole_y_ok:
            check_classification_targets(y_fit)
        if from_fit:
            if "classes" in cache:
                classes = cache["classes"]
            else:
                classes = _fold_classes(shared, y, rows) if whole_y_ok else np.unique(y_fit)
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self.classes_ = np.unique(np.asarray(classes))
        elif classes is not None and not np.array_equal(
            self.classes_, np.unique(np.asarray(classes))
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to "
                f"partial_fit, was: {self.classes_!r}"
            )
        # the codes of all rows of y: the same for every fold with these classes
        codes_of = cache.setdefault("all_folds", {}).setdefault("y_codes", {})
        key = tuple(self.classes_.tolist())
        if key not in codes_of:
            codes_of[key] = _label_codes(self.classes_, y)
        y_codes = codes_of[key]
        if not from_fit:
            codes = y_codes[rows].astype(np.intp)
            known = codes < self.classes_.shape[0]
            known[known] = self.classes_[codes[known]] == y_fit[known]
            if not np.all(known):
                raise ValueError(
                    f"y contains labels {np.unique(y_fit[~known]).tolist()} that are not "
                    f"in classes {self.classes_.tolist()}."
                )
        n_classes = self.classes_.shape[0]
        if n_classes < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got "
                f"{n_classes} class"
            )
        # (the check of the weights depends on early_stopping: see _fold_weights)
        sw_key = ("weights", bool(self.early_stopping))
        if sw_key in cache:
            sw_fit, sw_core = cache[sw_key]
        else:
            sw_fit, sw_core = self._fold_weights(sample_weight, rows, X.shape[0], fold)
        if fold_cache is not None and cache is fold_cache:
            cache.update(y_fit=y_fit, classes=self.classes_)
            cache[sw_key] = (sw_fit, sw_core)
        if self.class_weight is None:
            class_weight = np.ones(n_classes)
        else:
            class_weight = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y_fit
            )
        n_columns = 1 if n_classes == 2 else n_classes
        self._continue_or_allocate(n_columns, X, coef_init, intercept_init)
        if not hasattr(self, "t_"):
            self.t_ = 1.0
        if n_classes == 2:
            columns = [(1, class_weight[1], class_weight[0])]
        else:
            columns = [(k, class_weight[k], 1.0) for k in range(n_classes)]
        train_idx, val_idx = self._validation_split(y_fit, sw_fit, rows, from_fit)
        job = self._job(X, y_codes, sw_core, columns, max_iter, train_idx, val_idx)
        return X, job

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of SGD over the given rows, continuing the current model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._more_validate_params(for_partial_fit=True)
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In order "
                "to use 'balanced' weights, use compute_class_weight('balanced', "
                "classes=classes, y=y) on a large enough sample of the targets and "
                "pass the resulting weights as the class_weight parameter."
            )
        return self._partial_fit(X, y, 1, classes, sample_weight, None, None)

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by mini-batch SGD.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 input trains in float32, anything else in float64.
        y : array-like of shape (n_samples,)
        coef_init : ndarray of shape (n_classes, n_features), default=None
        intercept_init : ndarray of shape (n_classes,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._more_validate_params()
        coef_init, intercept_init = self._prepare_warm_start(coef_init, intercept_init)
        for name in ("classes_", "coef_", "intercept_"):
            if hasattr(self, name):
                delattr(self, name)
        self.t_ = 1.0
        self._partial_fit(X, y, self.max_iter, None, sample_weight, coef_init,
                          intercept_init, from_fit=True)
        self._warn_not_converged()
        return self

    def decision_function(self, X):
        """Signed distance to each class's hyperplane.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
        """
        return self._decision_from(self._decision(X))

    def predict(self, X):
        """Predicted class labels."""
        return self._predict_from(self._decision(X))

    # The outputs as functions of the decision values (n_samples, n_columns),
    # shared with a search, which computes those values for many models at once.
    def _decision_from(self, scores):
        return scores.ravel() if scores.shape[1] == 1 else scores

    def _predict_from(self, scores):
        scores = self._decision_from(scores)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]

    def _check_proba(self):
        if self.loss not in PROBABILISTIC_LOSSES:
            raise AttributeError(
                f"probability estimates are not available for loss={self.loss!r}"
            )
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Class probabilities (loss='log_loss' or 'modified_huber').

        log_loss uses the logistic function of each one-vs-rest score;
        modified_huber uses ``(clip(score, -1, 1) + 1) / 2``. With more than two
        classes the one-vs-rest probabilities are normalised to sum to one
        (Zadrozny and Elkan, 2002); rows where all are zero become uniform.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._proba_from(self._decision(X))

    def _proba_from(self, scores):
        if self.loss == "log_loss":
            from scipy.special import expit

            prob = expit(scores)
        else:
            prob = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if prob.shape[1] == 1:
            return np.hstack([1.0 - prob, prob])
        total = prob.sum(axis=1, keepdims=True)
        zero = total[:, 0] == 0
        if np.any(zero):
            prob[zero] = 1.0
            total[zero] = prob.shape[1]
        return prob / total

    @available_if(_check_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (-inf where a probability is 0)."""
        return self._log_proba_from(self._decision(X))

    def _log_proba_from(self, scores):
        with np.errstate(divide="ignore"):
            return np.log(self._proba_from(scores))


class SGDRegressor(RegressorMixin, _BaseSGD):
    __doc__ = """Linear regression model trained by mini-batch SGD.

    A drop-in replacement for :class:`sklearn.linear_model.SGDRegressor` with
    the same parameters, attributes and methods, plus ``batch_size``.

    Parameters
    ----------""" + _COMMON_DOC.replace(
        "loss : str\n        The loss; see the class description for the choices.",
        "loss : {'squared_error', 'huber', 'epsilon_insensitive', "
        "'squared_epsilon_insensitive'}, default='squared_error'",
    ) + """

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int
    t_ : float
        One more than the number of weight updates made.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import numpy as np
    >>> from sgdtune import SGDRegressor
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> y = X @ [1.0, 2.0, 3.0]
    >>> reg = SGDRegressor(batch_size=8, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.99)
    True
    """

    _is_classifier = False
    _loss_registry = REGRESSION_LOSSES
    _parameter_constraints: dict = {
        **_BaseSGD._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        batch_size=1,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size

    def _partial_fit(self, X, y, max_iter, sample_weight, coef_init, intercept_init, reset,
                     from_fit=False):
        X, job = self._prepare(X, y, max_iter, sample_weight, coef_init, intercept_init,
                               reset, from_fit=from_fit)
        self._train(X, job)
        return self

    def _prepare(self, X, y, max_iter, sample_weight, coef_init, intercept_init, reset,
                 rows=None, fold_cache=None, from_fit=False):
        """Check the inputs; return X and the job that fits rows ``rows`` of it.

        As :meth:`SGDClassifier._prepare`: with ``rows``, X, y and sample_weight
        are validated arrays of all the data and only those rows are fitted.
        """
        fold = rows is not None
        if not fold:
            X, y = self._validate_X_y(X, y, reset=reset)
            rows = np.arange(X.shape[0], dtype=np.int64)
        else:
            self.n_features_in_ = X.shape[1]
        cache = fold_cache if (fold and fold_cache is not None) else {}
        if "y" in cache:
            y, y_fit = cache["y"], cache["y_fit"]
        else:
            y = np.asarray(y, dtype=np.float64)
            y_fit = y[rows] if fold else y
            if not np.all(np.isfinite(y_fit)):
                raise ValueError("Input y contains NaN or infinity.")
            if fold_cache is not None and cache is fold_cache:
                cache.update(y=y, y_fit=y_fit)
        # (the check of the weights depends on early_stopping: see _fold_weights)
        sw_key = ("weights", bool(self.early_stopping))
        if sw_key in cache:
            sw_fit, sw_core = cache[sw_key]
        else:
            sw_fit, sw_core = self._fold_weights(sample_weight, rows, X.shape[0], fold)
            if fold_cache is not None and cache is fold_cache:
                cache[sw_key] = (sw_fit, sw_core)
        self._continue_or_allocate(1, X, coef_init, intercept_init)
        if not hasattr(self, "t_"):
            self.t_ = 1.0
        train_idx, val_idx = self._validation_split(y_fit, sw_fit, rows, from_fit)
        job = self._job(X, y, sw_core, [(-1, 1.0, 1.0)], max_iter, train_idx, val_idx)
        return X, job

    def _publish_weights(self, share=False):
        super()._publish_weights(share)
        self.coef_ = self.coef_.reshape(-1)

    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch of SGD over the given rows, continuing the current model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._more_validate_params(for_partial_fit=True)
        first_call = getattr(self, "coef_", None) is None
        return self._partial_fit(X, y, 1, sample_weight, None, None, reset=first_call)

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by mini-batch SGD.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 input trains in float32, anything else in float64.
        y : array-like of shape (n_samples,)
        coef_init : ndarray of shape (n_features,), default=None
        intercept_init : ndarray of shape (1,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._more_validate_params()
        coef_init, intercept_init = self._prepare_warm_start(coef_init, intercept_init)
        self.coef_ = None
        self.intercept_ = None
        self.t_ = 1.0
        self._partial_fit(X, y, self.max_iter, sample_weight, coef_init, intercept_init,
                          reset=True, from_fit=True)
        self._warn_not_converged()
        return self

    def predict(self, X):
        """Predicted values, shape (n_samples,)."""
        return self._predict_from(self._decision(X))

    def _predict_from(self, scores):
        return scores.ravel()
