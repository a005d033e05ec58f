// Scores of fitted models on a fold, computed from their decision values with
// scikit-learn's arithmetic: the same operations on the same numbers in the
// same order (NumPy's pairwise sums, its float32 arithmetic for float32
// models, the C library's exp and log that SciPy calls), so each score equals
// what scikit-learn's scorer returns for the same predictions, bit for bit.
//
// Where scikit-learn would warn, raise or take a path not written out here (a
// division by zero in precision or recall, a class missing from the fold, one
// sample for r2, probabilities that do not sum to one), the score is not
// computed: the model is marked for the caller to score with scikit-learn.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include "predict.hpp"

namespace sgdtune::metrics {

enum class Metric : int {
    accuracy = 0,
    balanced_accuracy,
    precision,
    recall,
    f1,
    roc_auc,      // binary: on the decision values
    roc_auc_ovr,  // on the probabilities (one against the rest for several classes)
    log_loss,
    r2,
    mean_squared_error,
    root_mean_squared_error,
    mean_absolute_error,
};
enum class Average : int { binary = 0, micro, macro, weighted };
// How a model's decision values become probabilities (its predict_proba).
enum class Proba : int { none = 0, logistic, modified_huber };

struct MetricSpec {
    Metric metric = Metric::accuracy;
    Average average = Average::binary;
};

constexpr bool is_regression(Metric m) {
    return m == Metric::r2 || m == Metric::mean_squared_error || m == Metric::root_mean_squared_error ||
           m == Metric::mean_absolute_error;
}
constexpr bool needs_proba(Metric m) { return m == Metric::log_loss || m == Metric::roc_auc_ovr; }

// np.add.reduce over a contiguous array of n values in A, value(i) being
// element i: pairwise, with eight running sums over blocks of up to 128.
template <class A, class F>
A numpy_sum(const F& value, std::int64_t first, std::int64_t n) {
    if (n < 8) {
        A res = A(-0.0);
        for (std::int64_t i = 0; i < n; ++i) res += value(first + i);
        return res;
    }
    if (n <= 128) {
        A r[8];
        for (int j = 0; j < 8; ++j) r[j] = value(first + j);
        std::int64_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; ++j) r[j] += value(first + i + j);
        A res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += value(first + i);
        return res;
    }
    std::int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return numpy_sum<A>(value, first, n2) + numpy_sum<A>(value, first + n2, n - n2);
}

template <class A, class F>
A numpy_sum(const F& value, std::int64_t n) {
    return numpy_sum<A>(value, 0, n);
}

// One model's outputs on the fold's m rows: decision values D (row r, column
// k at D[r * ld + k], Kc columns: one for two classes or a regressor).
template <class T>
struct ModelOutputs {
    const T* D = nullptr;
    std::int64_t ld = 1, Kc = 1, m = 0;
    Proba proba = Proba::none;
};

// What the metrics of one model on one fold share, computed once.
template <class T>
struct Scratch {
    std::vector<T> P;  // probabilities, m x C
    std::vector<std::int64_t> tp, pred, truth;
    std::vector<std::int64_t> order, thresholds;
    std::vector<double> fps, tps, values;
    std::vector<unsigned char> positive;
};

// Binary ROC AUC as scikit-learn's roc_curve (drop_intermediate) and auc give
// it: score(i) of row i, s.positive[i] whether row i is of the positive
// class; both classes must be present.
template <class T, class Score>
double roc_auc_binary(const Score& score, std::int64_t m, Scratch<T>& s) {
    const std::vector<unsigned char>& positive = s.positive;
    // descending scores; the order within ties does not change the counts below
    s.order.resize(static_cast<std::size_t>(m));
    std::iota(s.order.begin(), s.order.end(), std::int64_t{0});
    std::stable_sort(s.order.begin(), s.order.end(),
                     [&](std::int64_t a, std::int64_t b) { return score(a) > score(b); });
    s.thresholds.clear();
    for (std::int64_t i = 0; i + 1 < m; ++i)
        if (score(s.order[i + 1]) - score(s.order[i]) != T(0)) s.thresholds.push_back(i);
    s.thresholds.push_back(m - 1);
    s.tps.clear();
    s.fps.clear();
    double cum = 0.0;
    std::size_t t = 0;
    for (std::int64_t i = 0; i < m && t < s.thresholds.size(); ++i) {
        cum += positive[static_cast<std::size_t>(s.order[i])] ? 1.0 : 0.0;
        if (i == s.thresholds[t]) {
            s.tps.push_back(cum);
            s.fps.push_back(static_cast<double>(1 + i) - cum);
            ++t;
        }
    }
    // drop the points collinear with their neighbours (second differences zero)
    std::vector<double>& fx = s.fps;
    std::vector<double>& ty = s.tps;
    const std::size_t P = fx.size();
    std::size_t kept = P;
    if (P > 2) {
        std::vector<double> f2{fx[0]}, t2{ty[0]};
        for (std::size_t i = 1; i + 1 < P; ++i) {
            const double df = (fx[i + 1] - fx[i]) - (fx[i] - fx[i - 1]);
            const double dt = (ty[i + 1] - ty[i]) - (ty[i] - ty[i - 1]);
            if (df != 0.0 || dt != 0.0) {
                f2.push_back(fx[i]);
                t2.push_back(ty[i]);
            }
        }
        f2.push_back(fx[P - 1]);
        t2.push_back(ty[P - 1]);
        fx.swap(f2);
        ty.swap(t2);
        kept = fx.size();
    }
    // the curve from (0, 0); rates; the trapezoidal rule summed as NumPy sums
    const double f_last = fx[kept - 1], t_last = ty[kept - 1];
    s.values.resize(kept);  // the kept + 1 points' segments: kept of them
    for (std::size_t i = 0; i < kept; ++i) {
        const double x0 = i == 0 ? 0.0 : fx[i - 1] / f_last, x1 = fx[i] / f_last;
        const double y0 = i == 0 ? 0.0 : ty[i - 1] / t_last, y1 = ty[i] / t_last;
        s.values[i] = (x1 - x0) * (y1 + y0) / 2.0;
    }
    return numpy_sum<double>([&](std::int64_t i) { return s.values[static_cast<std::size_t>(i)]; },
                             static_cast<std::int64_t>(kept));
}

// The model's predict_proba on the fold into s.P (m x C), in T (NumPy's and
// SciPy's float32 arithmetic for float32 models; SciPy's expit is the C
// library's exp in the formula below).
template <class T>
void fill_probabilities(const ModelOutputs<T>& o, std::int64_t C, Scratch<T>& s) {
    auto one = [&](T d) -> T {
        if (o.proba == Proba::logistic) return T(1) / (T(1) + std::exp(-d));
        return (std::clamp(d, T(-1), T(1)) + T(1)) / T(2);
    };
    s.P.resize(static_cast<std::size_t>(o.m * C));
    for (std::int64_t r = 0; r < o.m; ++r) {
        const T* row = o.D + r * o.ld;
        T* p = s.P.data() + r * C;
        if (C == 2) {
            p[1] = one(row[0]);
            p[0] = T(1) - p[1];
            continue;
        }
        for (std::int64_t c = 0; c < C; ++c) p[c] = one(row[c]);
        const T total = numpy_sum<T>([&](std::int64_t c) { return p[c]; }, C);
        if (total == T(0)) {
            for (std::int64_t c = 0; c < C; ++c) p[c] = T(1) / static_cast<T>(C);
        } else {
            for (std::int64_t c = 0; c < C; ++c) p[c] = p[c] / total;
        }
    }
}

// Scores model `o` on the fold (class codes `codes` of the C classes, or the
// targets `y` of a regressor) for each metric, into out[0..specs.size()).
// Returns false when some score is left to scikit-learn (see the top). `pos`
// is the code of the positive label (1) for binary averages, -1 if none. For
// log_loss the score is left NaN and `clipped` (m values) receives what the
// caller needs to finish it (see there).
// A is the regression arithmetic's type (float when the targets and the
// model are float32).
template <class T, class A = double>
bool score_model(const ModelOutputs<T>& o, const std::vector<MetricSpec>& specs, std::int64_t C,
                 const std::int32_t* codes, const double* y, std::int64_t pos, double* out, T* clipped,
                 Scratch<T>& s) {
    const std::int64_t m = o.m;
    if (m == 0) return false;
    const bool classifier = C > 0;
    bool counted = false;
    std::int64_t hits = 0;
    auto count = [&] {
        if (counted) return;
        counted = true;
        s.tp.assign(static_cast<std::size_t>(C), 0);
        s.pred.assign(static_cast<std::size_t>(C), 0);
        s.truth.assign(static_cast<std::size_t>(C), 0);
        if (o.Kc == 1) {  // two classes: the counts in registers, not through memory
            std::int64_t pred1 = 0, truth1 = 0, tp1 = 0;
            for (std::int64_t r = 0; r < m; ++r) {
                const std::int64_t p = o.D[r * o.ld] > T(0) ? 1 : 0, t = codes[r];
                pred1 += p;
                truth1 += t;
                tp1 += p & t;
            }
            const std::int64_t tp0 = m - pred1 - truth1 + tp1;  // rows with p = t = 0
            s.pred = {m - pred1, pred1};
            s.truth = {m - truth1, truth1};
            s.tp = {tp0, tp1};
            hits = tp0 + tp1;
            return;
        }
        for (std::int64_t r = 0; r < m; ++r) {
            const T* row = o.D + r * o.ld;
            std::int64_t p = 0;
            if (o.Kc == 1) {
                p = row[0] > T(0) ? 1 : 0;
            } else {
                for (std::int64_t k = 1; k < o.Kc; ++k)
                    if (row[k] > row[p]) p = k;
            }
            const std::int64_t t = codes[r];
            ++s.pred[static_cast<std::size_t>(p)];
            ++s.truth[static_cast<std::size_t>(t)];
            if (p == t) {
                ++s.tp[static_cast<std::size_t>(p)];
                ++hits;
            }
        }
    };
    bool with_proba = false;
    auto proba = [&](std::int64_t r, std::int64_t c) {
        if (!with_proba) {
            with_proba = true;
            fill_probabilities(o, C, s);
        }
        return s.P[static_cast<std::size_t>(r * C + c)];
    };
    auto all_classes_present = [&] {
        count();
        return std::all_of(s.truth.begin(), s.truth.end(), [](std::int64_t v) { return v > 0; });
    };
    for (std::size_t q = 0; q < specs.size(); ++q) {
        const Metric metric = specs[q].metric;
        const Average avg = specs[q].average;
        if (is_regression(metric) == classifier) return false;
        if (needs_proba(metric) && o.proba == Proba::none) return false;
        double v = 0.0;
        switch (metric) {
            case Metric::accuracy:
                count();
                v = static_cast<double>(hits) / static_cast<double>(m);
                break;
            case Metric::balanced_accuracy: {
                count();
                // classes predicted but absent from the fold: scikit-learn warns
                s.values.clear();
                for (std::int64_t c = 0; c < C; ++c) {
                    const auto i = static_cast<std::size_t>(c);
                    if (s.truth[i] == 0 && s.pred[i] > 0) return false;
                    if (s.truth[i] > 0)
                        s.values.push_back(static_cast<double>(s.tp[i]) / static_cast<double>(s.truth[i]));
                }
                const auto n = static_cast<std::int64_t>(s.values.size());
                v = numpy_sum<double>([&](std::int64_t i) { return s.values[static_cast<std::size_t>(i)]; }, n) /
                    static_cast<double>(n);
                break;
            }
            case Metric::precision:
            case Metric::recall:
            case Metric::f1: {
                count();
                // the value for one label; false on a division by zero
                auto value = [&](std::int64_t tp, std::int64_t pred, std::int64_t truth, double& out_v) {
                    double num, den;
                    if (metric == Metric::precision) {
                        num = static_cast<double>(tp);
                        den = static_cast<double>(pred);
                    } else if (metric == Metric::recall) {
                        num = static_cast<double>(tp);
                        den = static_cast<double>(truth);
                    } else {
                        num = 2.0 * static_cast<double>(tp);
                        den = 1.0 * static_cast<double>(truth) + static_cast<double>(pred);
                    }
                    if (den == 0.0) return false;
                    out_v = num / den;
                    return true;
                };
                if (avg == Average::binary) {
                    if (C != 2 || pos < 0) return false;
                    const auto i = static_cast<std::size_t>(pos);
                    if (!value(s.tp[i], s.pred[i], s.truth[i], v)) return false;
                } else if (avg == Average::micro) {
                    if (!value(hits, m, m, v)) return false;
                } else {
                    // the labels of the fold's targets and predictions
                    s.values.clear();
                    std::vector<double> weights;
                    for (std::int64_t c = 0; c < C; ++c) {
                        const auto i = static_cast<std::size_t>(c);
                        if (s.truth[i] == 0 && s.pred[i] == 0) continue;
                        double x;
                        if (!value(s.tp[i], s.pred[i], s.truth[i], x)) return false;
                        s.values.push_back(x);
                        weights.push_back(static_cast<double>(s.truth[i]));
                    }
                    const auto n = static_cast<std::int64_t>(s.values.size());
                    auto at = [&](std::int64_t i) { return s.values[static_cast<std::size_t>(i)]; };
                    if (avg == Average::macro) {
                        v = numpy_sum<double>(at, n) / static_cast<double>(n);
                    } else {
                        auto w = [&](std::int64_t i) { return weights[static_cast<std::size_t>(i)]; };
                        const double scale = numpy_sum<double>(w, n);
                        if (scale == 0.0) return false;
                        v = numpy_sum<double>([&](std::int64_t i) { return at(i) * w(i); }, n) / scale;
                    }
                }
                break;
            }
            case Metric::roc_auc: {
                if (C != 2 || o.Kc != 1 || !all_classes_present()) return false;
                s.positive.resize(static_cast<std::size_t>(m));
                for (std::int64_t r = 0; r < m; ++r) s.positive[static_cast<std::size_t>(r)] = codes[r] == 1;
                v = roc_auc_binary<T>([&](std::int64_t r) { return o.D[r * o.ld]; }, m, s);
                break;
            }
            case Metric::roc_auc_ovr: {
                if (!all_classes_present()) return false;
                s.positive.resize(static_cast<std::size_t>(m));
                if (C == 2) {  // the positive class's probabilities
                    for (std::int64_t r = 0; r < m; ++r) s.positive[static_cast<std::size_t>(r)] = codes[r] == 1;
                    v = roc_auc_binary<T>([&](std::int64_t r) { return proba(r, 1); }, m, s);
                    break;
                }
                // scikit-learn refuses rows whose probabilities do not sum to 1
                for (std::int64_t r = 0; r < m; ++r) {
                    const T total = numpy_sum<T>([&](std::int64_t c) { return proba(r, c); }, C);
                    if (!(std::fabs(1.0 - static_cast<double>(total)) <= 1e-8 + 1e-5 * std::fabs(total)))
                        return false;
                }
                std::vector<double> per_class(static_cast<std::size_t>(C));
                for (std::int64_t c = 0; c < C; ++c) {
                    for (std::int64_t r = 0; r < m; ++r) s.positive[static_cast<std::size_t>(r)] = codes[r] == c;
                    per_class[static_cast<std::size_t>(c)] =
                        roc_auc_binary<T>([&](std::int64_t r) { return proba(r, c); }, m, s);
                }
                auto at = [&](std::int64_t c) { return per_class[static_cast<std::size_t>(c)]; };
                if (avg == Average::weighted) {
                    auto w = [&](std::int64_t c) { return static_cast<double>(s.truth[static_cast<std::size_t>(c)]); };
                    v = numpy_sum<double>([&](std::int64_t c) { return at(c) * w(c); }, C) / numpy_sum<double>(w, C);
                } else {
                    v = numpy_sum<double>(at, C) / static_cast<double>(C);
                }
                break;
            }
            case Metric::log_loss: {
                // Here the core stops at each row's clipped probability of its
                // class: scikit-learn takes NumPy's log of it, whose SIMD code
                // differs from the C library's in the last bit; the caller
                // finishes (minus the mean of the logs).
                if (!all_classes_present() || clipped == nullptr) return false;
                const T eps = std::numeric_limits<T>::epsilon();
                const T hi = T(1) - eps;
                for (std::int64_t r = 0; r < m; ++r) clipped[r] = std::clamp(proba(r, codes[r]), eps, hi);
                v = std::numeric_limits<double>::quiet_NaN();
                break;
            }
            case Metric::r2:
            case Metric::mean_squared_error:
            case Metric::root_mean_squared_error:
            case Metric::mean_absolute_error: {
                auto target = [&](std::int64_t r) { return static_cast<A>(y[r]); };
                auto predicted = [&](std::int64_t r) { return static_cast<A>(o.D[r * o.ld]); };
                auto squared = [&](std::int64_t r) {
                    const A e = target(r) - predicted(r);
                    return e * e;
                };
                if (metric == Metric::mean_absolute_error) {
                    v = static_cast<double>(numpy_sum<A>([&](std::int64_t r) { return std::fabs(predicted(r) - target(r)); }, m) /
                                            static_cast<A>(m));
                } else if (metric != Metric::r2) {
                    const A mse = numpy_sum<A>(squared, m) / static_cast<A>(m);
                    v = static_cast<double>(metric == Metric::mean_squared_error ? mse : std::sqrt(mse));
                } else {
                    if (m < 2) return false;  // scikit-learn warns and returns NaN
                    const A num = numpy_sum<A>(squared, m);
                    const A mean = numpy_sum<A>(target, m) / static_cast<A>(m);
                    const A den = numpy_sum<A>(
                        [&](std::int64_t r) {
                            const A e = target(r) - mean;
                            return e * e;
                        },
                        m);
                    if (num == A(0))
                        v = 1.0;
                    else if (den == A(0))
                        v = 0.0;
                    else
                        v = static_cast<double>(A(1) - num / den);
                }
                break;
            }
        }
        out[q] = v;
    }
    return true;
}

// Models for score_models: their stacked weights (columns x features, model i
// holding columns offsets[i]..offsets[i + 1]), intercepts and probabilities.
template <class T>
struct Models {
    const T* coef = nullptr;
    const double* intercept = nullptr;
    const std::int64_t* offsets = nullptr;
    const Proba* proba = nullptr;
    std::int64_t n = 0;
};

// Scores every model on rows[0..m) of X: out[i * n_metrics + q], ok[i] false
// where model i is left to scikit-learn; with a log_loss metric, clipped
// (n_models x m) receives each model's rows for it (see score_model).
// Decision values are made for groups of models at a time (at most
// `max_bytes` of them), then scored on n_threads threads; the numbers do not
// depend on the grouping or the threads.
template <class T, class A, class Data>
void score_models(const Data& X, const Models<T>& models, const std::int64_t* rows, std::int64_t m,
                  const std::vector<MetricSpec>& specs, std::int64_t C, const std::int32_t* codes, const double* y,
                  std::int64_t pos, int n_threads, double* out, unsigned char* ok, T* clipped,
                  std::int64_t max_bytes) {
    const std::int64_t d = X.d, nq = static_cast<std::int64_t>(specs.size());
    std::int64_t first = 0;
    // The decision values: 4 MiB or more (wide groups of sparse data's models)
    // in a mapping of their own, given back when done, else from the heap,
    // whose pages the next call reuses (a mapping would take its page faults
    // again each call).
    std::vector<T> small;
    ZeroedArray<T> large;
    while (first < models.n) {
        // the group: models [first, last), at least one
        std::int64_t last = first + 1;
        while (last < models.n &&
               (models.offsets[last + 1] - models.offsets[first]) * m * static_cast<std::int64_t>(sizeof(T)) <=
                   max_bytes)
            ++last;
        const std::int64_t c0 = models.offsets[first], K = models.offsets[last] - c0;
        const auto n_values = static_cast<std::size_t>(m * K);
        T* D = nullptr;
        if (n_values * sizeof(T) >= (std::size_t{4} << 20)) {
            if (large.size() < n_values) large.reset(n_values);
            D = &large[0];
        } else {
            small.resize(n_values);
            D = small.data();
        }
        decision_rows<T>(X, models.coef + c0 * d, models.intercept + c0, K, rows, m, D, n_threads);
        std::atomic<std::int64_t> next{first};
        // an exception in a worker (memory) is carried to this thread, never
        // out of a std::thread (which would end the process)
        std::exception_ptr failure;
        std::mutex failure_lock;
        auto work = [&] {
            try {
                Scratch<T> s;
                for (std::int64_t i = next.fetch_add(1); i < last; i = next.fetch_add(1)) {
                    ModelOutputs<T> o;
                    o.D = D + (models.offsets[i] - c0);
                    o.ld = K;
                    o.Kc = models.offsets[i + 1] - models.offsets[i];
                    o.m = m;
                    o.proba = models.proba[i];
                    T* rows_out = clipped ? clipped + i * m : nullptr;
                    ok[i] = score_model<T, A>(o, specs, C, codes, y, pos, out + i * nq, rows_out, s) ? 1 : 0;
                }
            } catch (...) {
                const std::lock_guard<std::mutex> hold(failure_lock);
                if (!failure) failure = std::current_exception();
                next.store(last);  // the others stop taking models
            }
        };
        const std::int64_t threads = std::clamp<std::int64_t>(n_threads, 1, last - first);
        std::vector<std::thread> pool;
        try {
            for (std::int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
        } catch (...) {  // no more threads: the ones started and this one do the work
        }
        work();
        for (auto& t : pool) t.join();
        if (failure) std::rethrow_exception(failure);
        first = last;
    }
}

}  // namespace sgdtune::metrics
