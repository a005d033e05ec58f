// The only file that knows Python: arrays to views (never copies), shape and
// dtype checks, the GIL released for training, C++ errors to Python exceptions.
#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "sgdtune/metrics.hpp"
#include "sgdtune/predict.hpp"
#include "sgdtune/train.hpp"

namespace py = pybind11;
using namespace sgdtune;

namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

// Equivalent dtypes (numpy's test), not the identical dtype object.
template <class T>
bool has_dtype(const py::array& a) { return py::array_t<T>::check_(a); }

template <class T>
const T* typed(const py::array& a, const char* name, py::ssize_t ndim) {
    if (!has_dtype<T>(a))
        fail(std::string(name) + " must have dtype " + std::string(py::str(py::dtype::of<T>())) +
             ", got " + std::string(py::str(a.dtype())));
    if (a.ndim() != ndim) fail(std::string(name) + " must be " + std::to_string(ndim) + "-dimensional");
    if (!(a.flags() & py::array::c_style)) fail(std::string(name) + " must be C-contiguous");
    return static_cast<const T*>(a.data());
}

template <class T>
T* typed_mut(py::array& a, const char* name, py::ssize_t ndim) {
    typed<T>(a, name, ndim);
    if (!a.writeable()) fail(std::string(name) + " must be writeable");
    return static_cast<T*>(a.mutable_data());
}

void check_len(const py::array& a, py::ssize_t n, const char* name) {
    if (a.shape(0) != n)
        fail(std::string(name) + " has length " + std::to_string(a.shape(0)) + ", expected " + std::to_string(n));
}

// True when every value of p[0..len) lies in [0, end): one pass that vectorises.
template <class I>
bool all_in_range(const I* p, py::ssize_t len, std::int64_t end) {
    I lo = 0, hi = 0;
    for (py::ssize_t r = 0; r < len; ++r) {
        lo = std::min(lo, p[r]);
        hi = std::max(hi, p[r]);
    }
    return lo >= 0 && (len == 0 || static_cast<std::int64_t>(hi) < end);
}

const std::int64_t* row_indices(const py::array& a, std::int64_t n, const char* name) {
    const auto* p = typed<std::int64_t>(a, name, 1);
    if (!all_in_range(p, a.shape(0), n)) fail(std::string(name) + " holds a row index outside [0, n_samples)");
    return p;
}

// A training job as Python hands it over: arrays (kept alive by this object
// while the job runs), the column specs and the block's options.
struct PyJob {
    py::array y;
    py::object sample_weight;
    py::array train_idx, val_idx;
    py::array coef, intercept;
    py::object avg_coef, avg_intercept;
    std::vector<ColumnSpec> specs;
    TrainOptions options;
    bool resumable = false;
    // A resumable job's trainer state, per dtype, made on its first call. Shared:
    // the job lists that calls receive hold copies of this object.
    struct States {
        std::unique_ptr<JobState<float>> f;
        std::unique_ptr<JobState<double>> d;
    };
    std::shared_ptr<States> states;

    template <class T>
    std::unique_ptr<JobState<T>>& state() {
        if constexpr (std::is_same_v<T, float>) return states->f; else return states->d;
    }
    // The column states of whichever dtype this job trained in (null before).
    std::vector<detail::ColumnState>* columns() {
        if (!states) return nullptr;
        if (states->f && states->f->started) return &states->f->cols;
        if (states->d && states->d->started) return &states->d->cols;
        return nullptr;
    }
    std::int64_t epochs_done() const {
        if (!states) return 0;
        if (states->f) return states->f->epochs_done;
        if (states->d) return states->d->epochs_done;
        return 0;
    }
};

// A job's views, checked against X's n and d and against T.
template <class T>
Job<T> job_view(PyJob& pj, std::int64_t n, std::int64_t d) {
    if (n > kMaxRows)
        fail("X has " + std::to_string(n) + " rows; the trainer takes at most " +
             std::to_string(kMaxRows) + " (split the data and use partial_fit)");
    Job<T> job{};
    TrainData& td = job.data;
    td.y = typed<double>(pj.y, "y", 1);
    check_len(pj.y, n, "y");
    if (!pj.sample_weight.is_none()) {
        py::array sw = pj.sample_weight.cast<py::array>();
        td.sample_weight = typed<double>(sw, "sample_weight", 1);
        check_len(sw, n, "sample_weight");
    }
    td.train_idx = row_indices(pj.train_idx, n, "train_idx");
    td.n_train = pj.train_idx.shape(0);
    if (td.n_train == 0) fail("train_idx is empty: there is no row to train on");
    td.val_idx = row_indices(pj.val_idx, n, "val_idx");
    td.n_val = pj.val_idx.shape(0);

    const TrainOptions& opt = pj.options;
    if (opt.batch_size < 1) fail("batch_size must be >= 1");
    if (opt.max_iter < 1) fail("max_iter must be >= 1");
    for (const auto& spec : pj.specs)
        if (spec.target_class < -1) fail("target_class must be >= -1");
    job.options = opt;
    job.specs = pj.specs;

    ModelArrays<T>& m = job.model;
    m.coef = typed_mut<T>(pj.coef, "coef", 2);
    const std::int64_t K = pj.coef.shape(0);
    if (pj.coef.shape(1) != d) fail("coef must have shape (n_columns, n_features)");
    if (static_cast<std::size_t>(K) != pj.specs.size()) fail("one column spec is needed per row of coef");
    m.intercept = typed_mut<T>(pj.intercept, "intercept", 1);
    check_len(pj.intercept, K, "intercept");
    if (pj.avg_coef.is_none() != pj.avg_intercept.is_none())
        fail("avg_coef and avg_intercept must both be given or both be None");
    if (!pj.avg_coef.is_none()) {
        py::array ac = pj.avg_coef.cast<py::array>(), ai = pj.avg_intercept.cast<py::array>();
        m.avg_coef = typed_mut<T>(ac, "avg_coef", 2);
        if (ac.shape(0) != K || ac.shape(1) != d) fail("avg_coef must have the shape of coef");
        m.avg_intercept = typed_mut<T>(ai, "avg_intercept", 1);
        check_len(ai, K, "avg_intercept");
    }
    m.K = K;
    m.d = d;
    if (pj.resumable) {
        auto& st = pj.state<T>();
        if (!st) {
            if (pj.states->f || pj.states->d) fail("a resumable job must be trained with X of one dtype");
            st = std::make_unique<JobState<T>>();
        }
        job.state = st.get();
    }
    return job;
}

py::dict results_to_dict(const std::vector<ColumnResult>& res) {
    const auto K = static_cast<py::ssize_t>(res.size());
    py::array_t<std::int64_t> n_iter(K), diverged_epoch(K), status(K);
    py::array_t<double> t(K), objective(K), score(K);
    for (py::ssize_t k = 0; k < K; ++k) {
        n_iter.mutable_at(k) = res[k].n_iter;
        t.mutable_at(k) = res[k].t;
        status.mutable_at(k) = static_cast<std::int64_t>(res[k].status);
        diverged_epoch.mutable_at(k) = res[k].diverged_epoch;
        objective.mutable_at(k) = res[k].objective;
        score.mutable_at(k) = res[k].validation_score;
    }
    py::dict out;
    out["n_iter"] = n_iter;
    out["t"] = t;
    out["status"] = status;
    out["diverged_epoch"] = diverged_epoch;
    out["objective"] = objective;
    out["validation_score"] = score;
    return out;
}

template <class T, class Data>
py::list run(const Data& X, std::vector<PyJob>& pyjobs, int n_threads, const py::object& progress) {
    std::vector<Job<T>> jobs;
    jobs.reserve(pyjobs.size());
    std::unordered_set<const void*> states;
    for (auto& pj : pyjobs) {
        jobs.push_back(job_view<T>(pj, X.n, X.d));
        if (jobs.back().state != nullptr && !states.insert(jobs.back().state).second)
            fail("a resumable job appears twice in one call");
    }
    StopToken stop;
    // Called from this thread with the GIL released: takes it only to look for
    // Ctrl-C and to report progress (at most every 0.2 s). An exception raised by
    // the progress callback stops training and is raised here.
    auto last_report = std::chrono::steady_clock::now();
    stop.poll = [&stop, &progress, &last_report] {
        py::gil_scoped_acquire gil;
        if (PyErr_Occurred()) return true;  // (an earlier poll's: kept as it is)
        if (PyErr_CheckSignals() != 0) return true;
        const auto now = std::chrono::steady_clock::now();
        if (!progress.is_none() && now - last_report >= std::chrono::milliseconds(200)) {
            last_report = now;
            try {
                progress(stop.epochs_done.load(), stop.epochs_total);
            } catch (py::error_already_set& e) {
                e.restore();
                return true;
            }
        }
        return false;
    };
    std::vector<std::vector<ColumnResult>> res;
    bool interrupted = false;
    {
        // Safe: every Python object was converted to a raw view above, and
        // `pyjobs` (held by the caller) keeps the arrays alive during the call.
        py::gil_scoped_release release;
        try {
            res = train_jobs<T>(X, jobs, n_threads, stop);
        } catch (const Interrupted&) {
            interrupted = true;
        }
    }
    // (a Ctrl-C or a callback's error seen by the last poll, after which the
    // training ended before its next check, is raised all the same)
    if (PyErr_Occurred()) throw py::error_already_set();
    if (interrupted) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
    if (!progress.is_none()) progress(stop.epochs_total, stop.epochs_total);
    py::list out;
    for (const auto& r : res) out.append(results_to_dict(r));
    return out;
}

// Checks a CSR matrix's arrays: dtypes, lengths, row pointers, column range.
template <class T, class I>
void check_csr(const py::array& data, const py::array& indices, const py::array& indptr, std::int64_t n,
               std::int64_t d) {
    typed<T>(data, "X.data", 1);
    const I* idx = typed<I>(indices, "X.indices", 1);
    const I* ptr = typed<I>(indptr, "X.indptr", 1);
    if (indptr.shape(0) != n + 1) fail("X.indptr must have n_samples + 1 entries");
    if (ptr[0] != 0 || static_cast<py::ssize_t>(ptr[n]) != data.shape(0) || indices.shape(0) != data.shape(0))
        fail("X.indptr does not match X.data and X.indices");
    bool sorted = true;
    for (std::int64_t i = 0; i < n; ++i) sorted &= ptr[i + 1] >= ptr[i];
    if (!sorted) fail("X.indptr must be non-decreasing");
    if (!all_in_range(idx, indices.shape(0), d)) fail("X.indices holds a column outside [0, n_features)");
}

bool csr_is_f32(const py::array& data) {
    const bool f32 = has_dtype<float>(data);
    if (!f32 && !has_dtype<double>(data))
        fail("X.data must have dtype float32 or float64, got " + std::string(py::str(data.dtype())));
    return f32;
}

bool csr_is_i32(const py::array& indices) {
    const bool i32 = has_dtype<std::int32_t>(indices);
    if (!i32 && !has_dtype<std::int64_t>(indices))
        fail("X.indices must have dtype int32 or int64, got " + std::string(py::str(indices.dtype())));
    return i32;
}

// Calls f with X's typed view: dense C-contiguous float32/float64, or CSR
// (float32/float64 values, int32/int64 indices, checked).
template <class F>
auto with_dense_view(const py::array& X, F&& f) {
    if (X.ndim() != 2) fail("X must be 2-dimensional");
    const std::int64_t n = X.shape(0), d = X.shape(1);
    if (has_dtype<float>(X)) return f(DenseView<float>{typed<float>(X, "X", 2), n, d, d});
    if (!has_dtype<double>(X)) fail("X must have dtype float32 or float64, got " + std::string(py::str(X.dtype())));
    return f(DenseView<double>{typed<double>(X, "X", 2), n, d, d});
}

template <class T, class I>
CsrView<T, I> csr_view(const py::array& data, const py::array& indices, const py::array& indptr, std::int64_t n,
                       std::int64_t d) {
    check_csr<T, I>(data, indices, indptr, n, d);
    return CsrView<T, I>{typed<T>(data, "X.data", 1), typed<I>(indices, "X.indices", 1),
                         typed<I>(indptr, "X.indptr", 1), n, d};
}

template <class F>
auto with_csr_view(const py::array& data, const py::array& indices, const py::array& indptr, std::int64_t n,
                   std::int64_t d, F&& f) {
    const bool f32 = csr_is_f32(data), i32 = csr_is_i32(indices);
    if (f32 && i32) return f(csr_view<float, std::int32_t>(data, indices, indptr, n, d));
    if (f32) return f(csr_view<float, std::int64_t>(data, indices, indptr, n, d));
    if (i32) return f(csr_view<double, std::int32_t>(data, indices, indptr, n, d));
    return f(csr_view<double, std::int64_t>(data, indices, indptr, n, d));
}

// The value type of a data view.
template <class Data>
using value_of = std::remove_const_t<std::remove_pointer_t<decltype(Data::data)>>;

py::list train_dense(const py::array& X, std::vector<PyJob>& jobs, int n_threads, const py::object& progress) {
    return with_dense_view(X, [&](const auto& view) {
        return run<value_of<std::decay_t<decltype(view)>>>(view, jobs, n_threads, progress);
    });
}

py::list train_csr(const py::array& data, const py::array& indices, const py::array& indptr, std::int64_t n,
                   std::int64_t d, std::vector<PyJob>& jobs, int n_threads, const py::object& progress) {
    return with_csr_view(data, indices, indptr, n, d, [&](const auto& view) {
        return run<value_of<std::decay_t<decltype(view)>>>(view, jobs, n_threads, progress);
    });
}

template <class T, class Data>
py::array decision_t(const Data& X, const py::array& coef, const py::array& intercept, const py::object& rows,
                     int n_threads) {
    const T* c = typed<T>(coef, "coef", 2);
    const std::int64_t K = coef.shape(0);
    if (coef.shape(1) != X.d) fail("coef must have shape (n_columns, n_features)");
    const double* b = typed<double>(intercept, "intercept", 1);
    check_len(intercept, K, "intercept");
    const std::int64_t* idx = nullptr;
    std::int64_t m = X.n;
    py::array rows_arr;
    if (!rows.is_none()) {
        rows_arr = rows.cast<py::array>();
        idx = row_indices(rows_arr, X.n, "rows");
        m = rows_arr.shape(0);
    }
    py::array_t<T> out({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(K)});
    T* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        decision_rows<T>(X, c, b, K, idx, m, o, n_threads);
    }
    return std::move(out);
}

py::array decision_dense(const py::array& X, const py::array& coef, const py::array& intercept,
                         const py::object& rows, int n_threads) {
    return with_dense_view(X, [&](const auto& view) {
        return decision_t<value_of<std::decay_t<decltype(view)>>>(view, coef, intercept, rows, n_threads);
    });
}

py::array decision_csr(const py::array& data, const py::array& indices, const py::array& indptr, std::int64_t n,
                       std::int64_t d, const py::array& coef, const py::array& intercept, const py::object& rows,
                       int n_threads) {
    return with_csr_view(data, indices, indptr, n, d, [&](const auto& view) {
        return decision_t<value_of<std::decay_t<decltype(view)>>>(view, coef, intercept, rows, n_threads);
    });
}

// Scores of many models on rows of X (metrics::score_models). The models
// come stacked: coef (columns x features) and intercepts, offsets[i] the first
// column of model i (n_models + 1 entries), proba[i] how model i makes
// probabilities; metrics holds (metric, average) pairs; a classifier's fold
// comes as class codes in [0, n_classes), a regressor's (n_classes 0) as
// float64 targets. Returns (scores: n_models x n_metrics, ok: n_models,
// clipped: n_models x n_rows, empty without log_loss; see metrics.hpp).
template <class Data>
py::tuple score_t(const Data& X, const py::array& coef, const py::array& intercept, const py::array& offsets,
                  const py::array& proba, const py::array& rows, const py::array& metrics, std::int64_t n_classes,
                  const py::object& codes, const py::object& y, std::int64_t pos, bool float32_targets,
                  int n_threads, std::int64_t max_bytes) {
    using T = value_of<Data>;
    if (max_bytes < 0) fail("max_bytes must be non-negative");
    const T* c = typed<T>(coef, "coef", 2);
    const std::int64_t cols = coef.shape(0);
    if (coef.shape(1) != X.d) fail("coef must have shape (n_columns, n_features)");
    const double* b = typed<double>(intercept, "intercept", 1);
    check_len(intercept, cols, "intercept");
    const auto* off = typed<std::int64_t>(offsets, "offsets", 1);
    const std::int64_t n_models = offsets.shape(0) - 1;
    if (n_models < 0 || off[0] != 0 || off[n_models] != cols) fail("offsets must run from 0 to the number of columns");
    const std::int64_t width = n_classes > 2 ? n_classes : 1;
    for (std::int64_t i = 0; i < n_models; ++i)
        if (off[i + 1] - off[i] != width)
            fail("each model must have " + std::to_string(width) + " decision column(s)");
    const auto* pk = typed<std::int8_t>(proba, "proba", 1);
    check_len(proba, n_models, "proba");
    for (std::int64_t i = 0; i < n_models; ++i)
        if (pk[i] < 0 || pk[i] > 2) fail("proba holds an unknown kind");
    const std::int64_t* idx = row_indices(rows, X.n, "rows");
    const std::int64_t m = rows.shape(0);
    const auto* mq = typed<std::int32_t>(metrics, "metrics", 2);
    if (metrics.shape(1) != 2) fail("metrics must have shape (n_metrics, 2)");
    std::vector<metrics::MetricSpec> specs;
    for (py::ssize_t q = 0; q < metrics.shape(0); ++q) {
        if (mq[2 * q] < 0 || mq[2 * q] > static_cast<int>(metrics::Metric::mean_absolute_error) ||
            mq[2 * q + 1] < 0 || mq[2 * q + 1] > static_cast<int>(metrics::Average::weighted))
            fail("metrics holds an unknown metric or average");
        specs.push_back({static_cast<metrics::Metric>(mq[2 * q]), static_cast<metrics::Average>(mq[2 * q + 1])});
    }
    if (n_classes < 0 || n_classes == 1) fail("n_classes must be 0 (a regressor) or at least 2");
    if (pos < -1 || pos >= std::max<std::int64_t>(n_classes, 1)) fail("pos must be -1 or a class code");
    py::array codes_arr, y_arr;
    const std::int32_t* cd = nullptr;
    const double* yv = nullptr;
    if (n_classes > 0) {
        if (codes.is_none()) fail("codes are needed for a classifier (n_classes > 0)");
        codes_arr = codes.cast<py::array>();
        cd = typed<std::int32_t>(codes_arr, "codes", 1);
        check_len(codes_arr, m, "codes");
        if (!all_in_range(cd, m, n_classes)) fail("codes holds a value outside [0, n_classes)");
    } else {
        if (y.is_none()) fail("y is needed for a regressor (n_classes 0)");
        y_arr = y.cast<py::array>();
        yv = typed<double>(y_arr, "y", 1);
        check_len(y_arr, m, "y");
    }
    py::array_t<double> scores({static_cast<py::ssize_t>(n_models), static_cast<py::ssize_t>(specs.size())});
    py::array_t<std::uint8_t> ok(static_cast<py::ssize_t>(n_models));
    double* out = scores.mutable_data();
    std::uint8_t* okp = ok.mutable_data();
    const bool with_log_loss = std::any_of(specs.begin(), specs.end(), [](const metrics::MetricSpec& q) {
        return q.metric == metrics::Metric::log_loss;
    });
    py::array_t<T> clipped(std::vector<py::ssize_t>{with_log_loss ? static_cast<py::ssize_t>(n_models) : 0,
                                                    static_cast<py::ssize_t>(m)});
    T* cl = with_log_loss ? clipped.mutable_data() : nullptr;
    std::vector<metrics::Proba> kinds(static_cast<std::size_t>(n_models));
    for (std::int64_t i = 0; i < n_models; ++i) kinds[static_cast<std::size_t>(i)] = static_cast<metrics::Proba>(pk[i]);
    const metrics::Models<T> models{c, b, off, kinds.data(), n_models};
    {
        py::gil_scoped_release release;
        if (float32_targets && std::is_same_v<T, float>)
            metrics::score_models<T, float>(X, models, idx, m, specs, n_classes, cd, yv, pos, n_threads, out, okp, cl, max_bytes);
        else
            metrics::score_models<T, double>(X, models, idx, m, specs, n_classes, cd, yv, pos, n_threads, out, okp, cl, max_bytes);
    }
    return py::make_tuple(std::move(scores), std::move(ok), std::move(clipped));
}

template <class F>
py::array_t<double> map_loss(LossKind kind, double epsilon, const py::array_t<double>& p,
                             const py::array_t<double>& y, F f) {
    if (p.size() != y.size()) fail("p and y must have the same size");
    py::array_t<double> out(p.size());
    auto pp = p.unchecked(), yy = y.unchecked();
    auto o = out.mutable_unchecked<1>();
    if (p.ndim() != 1 || y.ndim() != 1) fail("p and y must be 1-dimensional");
    with_loss(kind, epsilon, [&](const auto& loss) {
        for (py::ssize_t i = 0; i < p.size(); ++i) o(i) = f(loss, pp(i), yy(i));
    });
    return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "sgdtune's compiled core (private; use the sgdtune package)";

    py::enum_<LossKind>(m, "Loss")
        .value("hinge", LossKind::hinge)
        .value("log_loss", LossKind::log_loss)
        .value("modified_huber", LossKind::modified_huber)
        .value("squared_hinge", LossKind::squared_hinge)
        .value("perceptron", LossKind::perceptron)
        .value("squared_error", LossKind::squared_error)
        .value("huber", LossKind::huber)
        .value("epsilon_insensitive", LossKind::epsilon_insensitive)
        .value("squared_epsilon_insensitive", LossKind::squared_epsilon_insensitive);
    py::enum_<PenaltyKind>(m, "Penalty")
        .value("none", PenaltyKind::none)
        .value("l2", PenaltyKind::l2)
        .value("l1", PenaltyKind::l1)
        .value("elasticnet", PenaltyKind::elasticnet);
    py::enum_<ScheduleKind>(m, "Schedule")
        .value("constant", ScheduleKind::constant)
        .value("optimal", ScheduleKind::optimal)
        .value("invscaling", ScheduleKind::invscaling)
        .value("adaptive", ScheduleKind::adaptive)
        .value("pa1", ScheduleKind::pa1)
        .value("pa2", ScheduleKind::pa2);

    py::class_<ColumnSpec>(m, "ColumnSpec")
        .def(py::init<>())
        .def_readwrite("loss", &ColumnSpec::loss)
        .def_readwrite("epsilon", &ColumnSpec::epsilon)
        .def_readwrite("penalty", &ColumnSpec::penalty)
        .def_readwrite("alpha", &ColumnSpec::alpha)
        .def_readwrite("l1_ratio", &ColumnSpec::l1_ratio)
        .def_readwrite("schedule", &ColumnSpec::schedule)
        .def_readwrite("eta0", &ColumnSpec::eta0)
        .def_readwrite("power_t", &ColumnSpec::power_t)
        .def_readwrite("weight_pos", &ColumnSpec::weight_pos)
        .def_readwrite("weight_neg", &ColumnSpec::weight_neg)
        .def_readwrite("target_class", &ColumnSpec::target_class)
        .def_readwrite("average", &ColumnSpec::average);

    py::class_<TrainOptions>(m, "TrainOptions")
        .def(py::init<>())
        .def_readwrite("max_iter", &TrainOptions::max_iter)
        .def_readwrite("tol", &TrainOptions::tol)
        .def_readwrite("use_tol", &TrainOptions::use_tol)
        .def_readwrite("n_iter_no_change", &TrainOptions::n_iter_no_change)
        .def_readwrite("early_stopping", &TrainOptions::early_stopping)
        .def_readwrite("batch_size", &TrainOptions::batch_size)
        .def_readwrite("shuffle", &TrainOptions::shuffle)
        .def_readwrite("seed", &TrainOptions::seed)
        .def_readwrite("intercept_decay", &TrainOptions::intercept_decay)
        .def_readwrite("fit_intercept", &TrainOptions::fit_intercept)
        .def_readwrite("t_start", &TrainOptions::t_start)
        .def_readwrite("unique_row_indices", &TrainOptions::unique_row_indices)
        .def_readwrite("compute_objective", &TrainOptions::compute_objective);

    py::class_<PyJob>(m, "Job", "One block of columns to train: a model, or a group of trials on one fold.")
        .def(py::init([](py::array y, py::object sample_weight, py::array train_idx, py::array val_idx,
                         py::array coef, py::array intercept, py::object avg_coef, py::object avg_intercept,
                         std::vector<ColumnSpec> specs, TrainOptions options, bool resumable) {
                 PyJob job{std::move(y),       std::move(sample_weight), std::move(train_idx),
                           std::move(val_idx), std::move(coef),          std::move(intercept),
                           std::move(avg_coef), std::move(avg_intercept), std::move(specs),
                           options, resumable,
                           resumable ? std::make_shared<PyJob::States>() : nullptr};
                 return job;
             }),
             py::arg("y"), py::arg("sample_weight"), py::arg("train_idx"), py::arg("val_idx"), py::arg("coef"),
             py::arg("intercept"), py::arg("avg_coef"), py::arg("avg_intercept"), py::arg("specs"),
             py::arg("options"), py::arg("resumable") = false)
        .def_readonly("resumable", &PyJob::resumable)
        .def_property_readonly("epochs_done", &PyJob::epochs_done,
                               "Epochs a resumable job has trained so far (each call adds options.max_iter).")
        .def_property_readonly(
            "active",
            [](PyJob& pj) {
                auto* cols = pj.columns();
                if (cols == nullptr) fail("the job has not trained yet (or is not resumable)");
                std::vector<bool> out;
                for (const auto& c : *cols) out.push_back(c.active);
                return out;
            },
            "Which columns of a resumable job still train.")
        .def(
            "deactivate",
            [](PyJob& pj, std::int64_t k) {
                auto* cols = pj.columns();
                if (cols == nullptr) fail("the job has not trained yet (or is not resumable)");
                if (k < 0 || k >= static_cast<std::int64_t>(cols->size())) fail("column index out of range");
                (*cols)[static_cast<std::size_t>(k)].active = false;
            },
            py::arg("k"), "Stops column k of a resumable job (pruned): later calls leave it as it is.")
        .def_readwrite("options", &PyJob::options)
        .def_readonly("y", &PyJob::y)
        .def_readonly("sample_weight", &PyJob::sample_weight)
        .def_readonly("train_idx", &PyJob::train_idx)
        .def_readonly("val_idx", &PyJob::val_idx)
        .def_readonly("coef", &PyJob::coef)
        .def_readonly("intercept", &PyJob::intercept)
        .def_readonly("avg_coef", &PyJob::avg_coef)
        .def_readonly("avg_intercept", &PyJob::avg_intercept)
        .def_readonly("specs", &PyJob::specs);

    m.def("train_dense", &train_dense, py::arg("X"), py::arg("jobs"), py::arg("n_threads") = 1,
          py::arg("progress") = py::none(),
          "Train each job's coef (in place) on dense C-contiguous X; one result dict per job. "
          "progress(epochs_done, epochs_total), if given, is called every 0.2 s or so and at the end.");
    m.def("train_csr", &train_csr, py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("n_samples"),
          py::arg("n_features"), py::arg("jobs"), py::arg("n_threads") = 1, py::arg("progress") = py::none(),
          "Train each job's coef (in place) on CSR X; one result dict per job (progress as train_dense).");

    m.def("decision_dense", &decision_dense, py::arg("X"), py::arg("coef"), py::arg("intercept"),
          py::arg("rows") = py::none(), py::arg("n_threads") = 1,
          "Decision values coef . x + intercept of the given rows (all when None) of dense X, "
          "shape (n_rows, n_columns), in X's dtype. intercept is float64.");
    m.def("decision_csr", &decision_csr, py::arg("data"), py::arg("indices"), py::arg("indptr"),
          py::arg("n_samples"), py::arg("n_features"), py::arg("coef"), py::arg("intercept"),
          py::arg("rows") = py::none(), py::arg("n_threads") = 1, "decision_dense for CSR X.");
    m.def(
        "score_dense",
        [](const py::array& X, const py::array& coef, const py::array& intercept, const py::array& offsets,
           const py::array& proba, const py::array& rows, const py::array& metrics, std::int64_t n_classes,
           const py::object& codes, const py::object& y, std::int64_t pos, bool float32_targets, int n_threads,
           std::int64_t max_bytes) {
            return with_dense_view(X, [&](const auto& view) {
                return score_t(view, coef, intercept, offsets, proba, rows, metrics, n_classes, codes, y, pos,
                               float32_targets, n_threads, max_bytes);
            });
        },
        py::arg("X"), py::arg("coef"), py::arg("intercept"), py::arg("offsets"), py::arg("proba"), py::arg("rows"),
        py::arg("metrics"), py::arg("n_classes"), py::arg("codes"), py::arg("y"), py::arg("pos"),
        py::arg("float32_targets"), py::arg("n_threads") = 1, py::arg("max_bytes") = std::int64_t{32} << 20,
        "Scores of stacked models on rows of dense X: (scores, ok); see score_t in bindings.cpp.");
    m.def(
        "score_csr",
        [](const py::array& data, const py::array& indices, const py::array& indptr, std::int64_t n, std::int64_t d,
           const py::array& coef, const py::array& intercept, const py::array& offsets, const py::array& proba,
           const py::array& rows, const py::array& metrics, std::int64_t n_classes, const py::object& codes,
           const py::object& y, std::int64_t pos, bool float32_targets, int n_threads, std::int64_t max_bytes) {
            return with_csr_view(data, indices, indptr, n, d, [&](const auto& view) {
                return score_t(view, coef, intercept, offsets, proba, rows, metrics, n_classes, codes, y, pos,
                               float32_targets, n_threads, max_bytes);
            });
        },
        py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("n_samples"), py::arg("n_features"),
        py::arg("coef"), py::arg("intercept"), py::arg("offsets"), py::arg("proba"), py::arg("rows"),
        py::arg("metrics"), py::arg("n_classes"), py::arg("codes"), py::arg("y"), py::arg("pos"),
        py::arg("float32_targets"), py::arg("n_threads") = 1, py::arg("max_bytes") = std::int64_t{32} << 20,
        "score_dense for CSR X.");
    m.def(
        "loss_value",
        [](LossKind kind, double epsilon, const py::array_t<double>& p, const py::array_t<double>& y) {
            return map_loss(kind, epsilon, p, y, [](const auto& l, double a, double b) { return l.loss(a, b); });
        },
        py::arg("loss"), py::arg("epsilon"), py::arg("p"), py::arg("y"));
    m.def(
        "loss_derivative",
        [](LossKind kind, double epsilon, const py::array_t<double>& p, const py::array_t<double>& y) {
            return map_loss(kind, epsilon, p, y, [](const auto& l, double a, double b) { return l.dloss(a, b); });
        },
        py::arg("loss"), py::arg("epsilon"), py::arg("p"), py::arg("y"));
    m.def(
        "loss_forms",
        [](LossKind kind, double epsilon, const py::array_t<double>& p, const py::array_t<double>& y) {
            py::dict out;
            out["scalar"] = py::make_tuple(
                map_loss(kind, epsilon, p, y, [](const auto& l, double a, double b) { return l.loss(a, b); }),
                map_loss(kind, epsilon, p, y, [](const auto& l, double a, double b) { return l.dloss(a, b); }));
#if defined(SGDTUNE_HAVE_VECTORS)
            // four and eight pairs at a time (the last ones padded with copies
            // of the first; map_loss above checked the shapes)
            const py::ssize_t n = p.size();
            auto pp = p.unchecked<1>(), yy = y.unchecked<1>();
            auto in_lanes = [&](auto lanes_tag) {
                using V = decltype(lanes_tag);
                constexpr int L = detail::kLanesOf<V>;
                py::array_t<double> values(n), derivs(n);
                auto v = values.mutable_unchecked<1>(), dv = derivs.mutable_unchecked<1>();
                with_loss(kind, epsilon, [&](const auto& loss) {
                    for (py::ssize_t i = 0; i < n; i += L) {
                        V a{}, b{};
                        for (int q = 0; q < L; ++q) {
                            const py::ssize_t j = i + q < n ? i + q : 0;
                            a[q] = pp(j);
                            b[q] = yy(j);
                        }
                        const V lv = detail::loss_lanes(loss, a, b), dl = detail::dloss_lanes(loss, a, b);
                        for (int q = 0; q < L && i + q < n; ++q) {
                            v(i + q) = lv[q];
                            dv(i + q) = dl[q];
                        }
                    }
                });
                return py::make_tuple(values, derivs);
            };
            out["four"] = in_lanes(simd::v4d{});
            out["eight"] = in_lanes(detail::v8d{});
#endif
            return out;
        },
        py::arg("loss"), py::arg("epsilon"), py::arg("p"), py::arg("y"),
        "A loss's values and derivatives by the scalar loss and by the trainer's four-lane forms, where this "
        "build has them: {name: (values, derivatives)} (tests).");
    m.def("optimal_t0", &optimal_t0, py::arg("loss"), py::arg("epsilon"), py::arg("alpha"));
    m.def("isa", &isa_in_use, "The instruction set the trainer runs with on this CPU.");
    m.def(
        "limit_isa",
        [](const std::string& level) {
            for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512})
                if (level == isa_name(isa)) {
                    isa_limit().store(static_cast<int>(isa));
                    return;
                }
            throw py::value_error("level must be 'baseline', 'avx2' or 'avx512', got '" + level + "'");
        },
        py::arg("level"),
        "Run the kernels with at most this instruction set ('baseline', 'avx2' or 'avx512'; tests).");
    m.def(
        "l1_step_forms",
        [](const py::array_t<double, py::array::c_style | py::array::forcecast>& w,
           const py::array_t<double, py::array::c_style | py::array::forcecast>& q, double s, double u) {
            if (w.ndim() != 1 || q.ndim() != 1 || w.shape(0) != q.shape(0))
                throw py::value_error("w and q must be 1-d arrays of one length");
            const std::int64_t n = w.shape(0);
            py::dict out;
            auto run = [&](const char* name, auto&& step) {
                py::array_t<double> nw(n), nq(n);
                std::copy(w.data(), w.data() + n, nw.mutable_data());
                std::copy(q.data(), q.data() + n, nq.mutable_data());
                step(nw.mutable_data(), nq.mutable_data());
                out[name] = py::make_tuple(nw, nq);
            };
            run("scalar", [&](double* W, double* Q) {
                for (std::int64_t j = 0; j < n; ++j) l1_weight<double, false>(W, Q, nullptr, j, s, 1.0 / s, u, 0.0);
            });
#if defined(SGDTUNE_HAVE_VECTORS)
            run("four", [&](double* W, double* Q) {
                l1_step(W, Q, static_cast<double*>(nullptr), 1, 0, s, u, 0.0, static_cast<const std::int64_t*>(nullptr),
                        n, true);
            });
#if defined(SGDTUNE_X86_DISPATCH)
            if (isa_level() == Isa::avx512)
                run("eight", [&](double* W, double* Q) {
                    detail::avx512::l1_step_one8<double, false>(W, Q, nullptr, n, s, u, 0.0);
                });
#endif
#endif
            return out;
        },
        py::arg("w"), py::arg("q"), py::arg("s"), py::arg("u"),
        "One L1 step of a one-column block's weights w (scale s) and records q, by the scalar step and each "
        "vector form this build and CPU have: {name: (new w, new q)} (tests).");
    m.def(
        "one_pass_bytes",
        [](std::int64_t bytes) {
            if (bytes < 0) throw py::value_error("bytes must be >= 0, got " + std::to_string(bytes));
            return detail::one_pass_bytes_limit().exchange(bytes);
        },
        py::arg("bytes"),
        "Set how many bytes of X a one-column fit with rows in order needs before its batches go in one pass; "
        "returns the previous limit (tests).");
    m.def(
        "one_pass_batches", [] { return detail::one_pass_batches().load(); },
        "How many one-column batches went in one pass (dot products, coefficients and update) in this process "
        "(tests).");
    m.def(
        "rows_over_columns", [] { return detail::rows_over_columns().load(); },
        "How many one-row steps of blocks of four columns or more took their bookkeeping (L2 shrink, "
        "intercepts, L1 totals) over all columns at once in this process (tests).");
    m.def(
        "team_helpers_started", [] { return team_helpers_started().load(); },
        "How many helper threads of teams sharing a block's steps were started in this process (tests).");
    m.def(
        "columns_left_blocks", [] { return columns_left_blocks().load(); },
        "How many stopped columns left their blocks part way through training calls (tests).");
    m.def(
        "blocks_shared", [] { return blocks_shared().load(); },
        "How many times a paused block handed some of its live columns to a waiting thread (tests).");
    m.def(
        "l1_columns_split", [] { return l1_columns_split().load(); },
        "How many L1 columns of dense batch_size=1 blocks went on in blocks of their own (tests).");
}
