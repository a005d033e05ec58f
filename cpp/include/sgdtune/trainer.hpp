// The block trainer: epochs of mini-batch SGD over one shuffled stream of rows,
// updating all K columns of a block from each batch.
//
// One step on a batch B of b rows, for each column k (scikit-learn's per-sample
// algorithm when b = 1):
//   p_i   = w . x_i + intercept                        (weights before the step)
//   g_i   = clip(dloss(p_i, y_i), 1e12) * class_weight(y_i) * sample_weight_i
//   w    <- max(0, 1 - eta (1 - l1_ratio) alpha) w - eta / b * sum_i g_i x_i
//   intercept <- intercept - eta / b * sum_i g_i * intercept_decay
//   average step (from update `average` on), then the cumulative L1 penalty.
// The training objective reported per epoch is the mean loss over the epoch's
// predictions plus the penalty at the epoch's end; training of a column stops
// when it fails to improve by `tol` for `n_iter_no_change` epochs.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <vector>

#include "batch.hpp"
#include "block.hpp"
#include "dataset.hpp"
#include "isa.hpp"
#include "loss.hpp"
#include "penalty.hpp"
#include "rows512.hpp"
#include "random.hpp"
#include "schedule.hpp"
#include "spec.hpp"
#include "stop.hpp"
#include "team.hpp"

namespace sgdtune {

namespace detail {

struct ColumnState {
    ColumnSpec spec;
    Schedule sched;
    double l1_ratio = 0.0;
    double t = 1.0;
    bool active = true;
    double sumloss = 0.0;
    double best_objective = std::numeric_limits<double>::infinity();
    double best_score = -std::numeric_limits<double>::infinity();
    std::int64_t no_improvement = 0;
    ColumnResult result;

    double target(double y) const {
        if (spec.target_class < 0) return y;
        return y == static_cast<double>(spec.target_class) ? 1.0 : -1.0;
    }
    double class_weight(double target_value) const {
        if (spec.target_class < 0) return 1.0;
        return target_value > 0.0 ? spec.weight_pos : spec.weight_neg;
    }
    bool averaging_at(double t_now) const {
        return spec.average > 0 && static_cast<double>(spec.average) <= t_now;
    }
    // The averaging step number of update t_now (Block::average_step's m;
    // the average starts over at m <= 1).
    double average_step_at(double t_now) const { return t_now - static_cast<double>(spec.average) + 1.0; }
    // The L2 scale s after a step at rate eta (of a column with an L2 term).
    double l2_shrunk(double s, double eta) const { return s * std::max(0.0, 1.0 - (1.0 - l1_ratio) * eta * spec.alpha); }
};

constexpr double kMaxDloss = 1e12;
constexpr std::int64_t kPrefetchRowsSingle = 8;
constexpr std::int64_t kPrefetchRowsBatch = 16;
// How far ahead a sparse row's weights are asked for (1, 2 and 4 measured the
// same, within noise, on a 24-configuration grid over 200,000 x 50,000 rows)
constexpr std::int64_t kPrefetchWeightRows = 2;
constexpr std::int64_t kFarRowsBytes = std::int64_t{16} << 20;  // see far_rows in train_block_impl
// A column's weights are renormalised (W scaled, the scale set to 1) when its
// L2 scale falls below this.
constexpr double kRenormaliseBelow = 1e-9;
// Rows of a one-column batch's one pass (see one_pass in train_block_impl):
// their dot products, then their update, while they are in the first-level
// cache (2,000,000 x 100 float32 rows in order: 8 rows 48 ms an epoch, 16
// rows 42, 24 rows 47, 32 rows 49 ms).
constexpr std::int64_t kOnePassRows = 16;
// The largest batch copied for its block (see gather_rows in train_block_impl).
constexpr std::int64_t kGatherBytes = std::int64_t{512} << 10;
// How many bytes of X a one-column fit with rows in order takes before it
// goes in one pass (see one_pass in train_block_impl): about one and a half
// last-level caches of 32 MiB, where the rows stop coming from it. On a Zen
// 4, 100 float32 features at batch_size 256, an epoch with one pass against
// two: 46 MiB 3.19 against 2.99 ms, 57 MiB 3.63 against 3.97, 95 MiB 5.70
// against 7.30. (The cache size the system reports is no guide: 320 MiB on
// that machine, for its host's.) Tests lower it to take that path on small
// data.
inline std::atomic<std::int64_t>& one_pass_bytes_limit() {
    static std::atomic<std::int64_t> bytes{std::int64_t{48} << 20};
    return bytes;
}
inline std::int64_t one_pass_bytes() { return one_pass_bytes_limit().load(std::memory_order_relaxed); }
// How many batches went in one pass, in this process (for tests).
inline std::atomic<std::int64_t>& one_pass_batches() {
    static std::atomic<std::int64_t> count{0};
    return count;
}
// How many one-row steps took their bookkeeping over all columns at once
// (row_fast in train_block_impl), in this process (for tests).
inline std::atomic<std::int64_t>& rows_over_columns() {
    static std::atomic<std::int64_t> count{0};
    return count;
}
constexpr std::int64_t kCacheBytes = std::int64_t{1} << 20;  // a second-level cache, about
// The bytes of a block's d x K weights with their L1 records and averaged
// store, where it has them (against kCacheBytes: whether a sparse step's
// weights come from farther than a second-level cache).
template <class T>
constexpr std::int64_t weight_bytes(std::int64_t d, std::int64_t K, bool l1, bool averaging) {
    return d * K * static_cast<std::int64_t>(sizeof(T)) * (1 + (l1 ? 1 : 0) + (averaging ? 1 : 0));
}
// A team member's least share of a batch's multiply-adds (see train_block_impl)
constexpr std::int64_t kTeamWorkPerMember = 6400;

#if defined(SGDTUNE_HAVE_VECTORS)
// Eight doubles (used in AVX-512 functions only) and the unsigned 64-bit
// integers of a vector of doubles' width.
using v8d = double __attribute__((vector_size(64)));
template <class V>
struct UnsignedLanes;
template <>
struct UnsignedLanes<simd::v4d> {
    using type = unsigned long long __attribute__((vector_size(32)));
};
template <>
struct UnsignedLanes<v8d> {
    using type = unsigned long long __attribute__((vector_size(64)));
};
template <class V>
constexpr int kLanesOf = static_cast<int>(sizeof(V) / sizeof(double));
template <class V>
SGDTUNE_ALWAYS_INLINE inline V lanes(double x) {  // x in every lane
    V v;
    for (int q = 0; q < kLanesOf<V>; ++q) v[q] = x;
    return v;
}
template <class V>
SGDTUNE_ALWAYS_INLINE inline V load_lanes(const double* p) {
    V v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
template <class V>
SGDTUNE_ALWAYS_INLINE inline void store_lanes(double* p, V v) {
    std::memcpy(p, &v, sizeof(v));
}

// f(p[q], y[q]) in each lane q.
template <class V, class F>
SGDTUNE_ALWAYS_INLINE inline V lane_by_lane(V p, V y, const F& f) {
    V out;
    for (int q = 0; q < kLanesOf<V>; ++q) out[q] = f(p[q], y[q]);
    return out;
}

// A loss's derivative for the (prediction, target) pairs of V's lanes (four
// or eight): lane by lane the scalar dloss's numbers. Losses written out
// here take vector instructions; the others (Huber's branches) go lane by lane.
template <class Loss, class V>
SGDTUNE_ALWAYS_INLINE inline V dloss_lanes(const Loss& loss, V p, V y) {
    const V zero = {};
    if constexpr (std::is_same_v<Loss, Hinge>) {
        return p * y <= lanes<V>(loss.threshold) ? -y : zero;
    } else if constexpr (std::is_same_v<Loss, SquaredHinge>) {
        const V z = lanes<V>(loss.threshold) - p * y;
        return z > zero ? lanes<V>(-2.0) * y * z : zero;
    } else if constexpr (std::is_same_v<Loss, ModifiedHuber>) {
        const V z = p * y;
        return z >= lanes<V>(1.0) ? zero
                                  : (z >= lanes<V>(-1.0) ? lanes<V>(2.0) * (lanes<V>(1.0) - z) * -y
                                                         : lanes<V>(-4.0) * y);
    } else if constexpr (std::is_same_v<Loss, SquaredError>) {
        return p - y;
    } else if constexpr (std::is_same_v<Loss, LogLoss>) {
        // LogLoss::dloss lane by lane: every lane computes one exp, of -z
        // above 18 (0 beyond 746) and of z otherwise, kept within exp_terms' range
        const V z = p * y;
        const V above = lanes<V>(18.0), neg_y = -y;
        V arg = z > above ? -z : z;
        arg = arg < lanes<V>(-746.0) ? lanes<V>(-746.0) : arg;
        const V e = exp_terms<V, typename UnsignedLanes<V>::type>(arg);
        const V big = neg_y * (z > lanes<V>(746.0) ? zero : e);
        const V mid = neg_y / (e + lanes<V>(1.0));
        return z > above ? big : (z < -above ? neg_y : mid);
    } else {
        return lane_by_lane(p, y, [&](double pq, double yq) { return loss.dloss(pq, yq); });
    }
}

// A loss's values for V's lanes, lane by lane the scalar loss's numbers
// (dloss_lanes' counterpart, for the loss sums of the tol criterion).
template <class Loss, class V>
SGDTUNE_ALWAYS_INLINE inline V loss_lanes(const Loss& loss, V p, V y) {
    const V zero = {};
    if constexpr (std::is_same_v<Loss, Hinge>) {
        const V z = lanes<V>(loss.threshold) - p * y;
        return z > zero ? z : zero;
    } else if constexpr (std::is_same_v<Loss, SquaredHinge>) {
        const V z = lanes<V>(loss.threshold) - p * y;
        return z > zero ? z * z : zero;
    } else if constexpr (std::is_same_v<Loss, ModifiedHuber>) {
        const V z = p * y;
        return z >= lanes<V>(1.0) ? zero
                                  : (z >= lanes<V>(-1.0) ? (lanes<V>(1.0) - z) * (lanes<V>(1.0) - z)
                                                         : lanes<V>(-4.0) * z);
    } else if constexpr (std::is_same_v<Loss, SquaredError>) {
        return lanes<V>(0.5) * (p - y) * (p - y);
    } else if constexpr (std::is_same_v<Loss, LogLoss>) {
        // LogLoss::loss lane by lane: one exp a lane, of -z within [-746, 18]
        // (the lanes beyond take exp's value, or -z, or 0), and log1p of it
        using U = typename UnsignedLanes<V>::type;
        const V z = p * y, above = lanes<V>(18.0);
        V arg = -z;
        arg = arg < lanes<V>(-746.0) ? lanes<V>(-746.0) : arg;
        arg = arg > above ? above : arg;
        const V e = exp_terms<V, U>(arg);
        const V mid = log1p_terms<V, U>(e);
        return z > above ? (z > lanes<V>(746.0) ? zero : e) : (z < -above ? -z : mid);
    } else {
        return lane_by_lane(p, y, [&](double pq, double yq) { return loss.loss(pq, yq); });
    }
}
#endif

// Per-row step coefficients of one column for a batch, and its loss sum.
// P[r * stride] is the row's raw dot product (its prediction is
// scale * P + intercept); coef[r * stride] is the multiplier of x_r in the
// step (before dividing by the scale). `rows` of the batch's `bsz` rows.
// The loss values are summed only when `with_loss_sum` (the stopping criterion
// or a report needs them); passive-aggressive steps always need them. With
// `loss_out`, they are written to loss_out[r * stride] instead (for the caller
// to sum in row order: a team's members each take some of the rows). Inlined
// into the loss dispatch (with_loss_isa), compiled for the trainer's
// instruction set; a batch of four rows or more takes four at a time.
template <class Loss>
SGDTUNE_ALWAYS_INLINE inline bool column_coefficients(const Loss& loss, const ColumnState& c, double eta,
                                                      const double* P, double scale, double intercept,
                                                      std::int64_t stride, const double* targets,
                                                      const double* weights, const double* sqnorms, std::int64_t rows,
                                                      std::int64_t bsz, double* coef, double& sumloss,
                                                      double* loss_out, bool with_loss_sum) {
    const ScheduleKind kind = c.spec.schedule;
    const bool pa = is_passive_aggressive(kind);
    const double inv_b = 1.0 / static_cast<double>(bsz);
    if (!pa) {
        // Steps along the loss's derivative (every schedule but the
        // passive-aggressive ones), with the label and class weight chosen
        // without branches on the data (a margin's sign is a coin toss:
        // mispredicted branches cost more than the arithmetic), and the loss
        // values where they are summed, four rows at a time too (in the
        // scalar loop's branches, the 24-configuration grid at tol=1e-3 and
        // batch_size 64 took 1.8x as long). A row's loss value goes to
        // loss_out, or is added to sumloss in row order.
        auto add_loss = [&](std::int64_t r, double lv) SGDTUNE_ALWAYS_INLINE {
            if (loss_out != nullptr)
                loss_out[r * stride] = lv;
            else
                sumloss += lv;
        };
        const bool clf = c.spec.target_class >= 0;
        const double tc = static_cast<double>(c.spec.target_class);
        const double wpos = c.spec.weight_pos, wneg = c.spec.weight_neg;
        int finite = 1;
        std::int64_t r = 0;
#if defined(SGDTUNE_HAVE_VECTORS)
        // four rows at a time, each lane the scalar loop's numbers
        if (rows >= 4) {
            using simd::v4d;
            using simd::v4l;
            const v4d vscale = simd::splat(scale), vintercept = simd::splat(intercept), zero = {};
            const v4d one = simd::splat(1.0), minus_one = simd::splat(-1.0), vtc = simd::splat(tc);
            const v4d lo = simd::splat(-kMaxDloss), hi = simd::splat(kMaxDloss);
            const v4d vwpos = simd::splat(wpos), vwneg = simd::splat(wneg);
            const v4d neg_eta = simd::splat(-eta), vinv_b = simd::splat(inv_b);
            v4l all_finite = {-1, -1, -1, -1};
            for (; r + 4 <= rows; r += 4) {
                const v4d raw = {P[r * stride], P[(r + 1) * stride], P[(r + 2) * stride], P[(r + 3) * stride]};
                const v4d p = vscale * raw + vintercept;
                all_finite &= (p - p == zero);  // false for infinities and NaN
                const v4d t = simd::load(targets + r);
                const v4d y = clf ? (t == vtc ? one : minus_one) : t;
                const v4d d = dloss_lanes(loss, p, y);
                const v4d g = d < lo ? lo : (hi < d ? hi : d);  // std::clamp's choice
                const v4d cw = clf ? (y > zero ? vwpos : vwneg) : one;
                const v4d out = neg_eta * g * cw * simd::load(weights + r) * vinv_b;
                for (int q = 0; q < 4; ++q) coef[(r + q) * stride] = out[q];
                if (with_loss_sum) {
                    const v4d lv = loss_lanes(loss, p, y);
                    for (int q = 0; q < 4; ++q) add_loss(r + q, lv[q]);
                }
            }
            finite = (all_finite[0] & all_finite[1] & all_finite[2] & all_finite[3]) != 0 ? 1 : 0;
        }
#endif
        for (; r < rows; ++r) {
            const double p = scale * P[r * stride] + intercept;
            finite &= static_cast<int>(std::isfinite(p));
            const double t = targets[r];
            const double y = clf ? select(t == tc, 1.0, -1.0) : t;
            const double g = std::clamp(loss.dloss(p, y), -kMaxDloss, kMaxDloss);
            const double cw = clf ? select(y > 0.0, wpos, wneg) : 1.0;
            coef[r * stride] = -eta * g * cw * weights[r] * inv_b;
            if (with_loss_sum) add_loss(r, loss.loss(p, y));
        }
        return finite != 0;
    }
    // Passive-aggressive steps, whose sizes take the loss values (always
    // summed, as the scalar loss computes them).
    bool finite = true;
    for (std::int64_t r = 0; r < rows; ++r) {
        const double p = scale * P[r * stride] + intercept;
        if (!std::isfinite(p)) finite = false;
        const double y = c.target(targets[r]);
        const double lv = loss.loss(p, y);
        if (loss_out != nullptr)
            loss_out[r * stride] = lv;
        else
            sumloss += lv;
        const double sq = sqnorms[r];
        double update = kind == ScheduleKind::pa1 ? (sq == 0.0 ? 0.0 : std::min(c.spec.eta0, lv / sq))
                                                  : lv / (sq + 0.5 / c.spec.eta0);
        if (c.spec.target_class >= 0)
            update *= y;
        else if (y - p < 0.0)
            update = -update;
        coef[r * stride] = update * c.class_weight(y) * weights[r] * inv_b;
    }
    return finite;
}

// The step coefficients of one row (a batch of one) for the columns
// k0 <= k < k1 of a block, which share their loss: column_coefficients' numbers
// for each (no passive-aggressive step), V's lanes (four or eight columns) at
// a time, then four, then one by one (V void: four). Per-column
// parameters in arrays: eta, scale, intercept, the target class (tc < 0:
// regression) and class weights; finite[k] is 0 where the prediction is not
// finite (the result: whether every one is); loss[k] the column's loss
// value, where `loss` is given (for the loss sums). Inactive columns get
// numbers too (the caller zeroes them).
struct RowColumns {
    const double *P, *scale, *intercept, *eta, *tc, *wpos, *wneg;
    double target, weight;
    double* coef;
    unsigned char* finite;
    double* loss;
};
template <class V = void, class Loss>
SGDTUNE_ALWAYS_INLINE inline bool row_coefficients(const Loss& loss, const RowColumns& a, std::int64_t k0,
                                                   std::int64_t k1) {
    std::int64_t k = k0;
    bool all = true;  // (every prediction finite: the result)
#if defined(SGDTUNE_HAVE_VECTORS)
    if constexpr (std::is_void_v<V>) {
        return row_coefficients<simd::v4d>(loss, a, k0, k1);
    } else {
        constexpr int L = kLanesOf<V>;
        const V zero = {}, one = lanes<V>(1.0), minus_one = lanes<V>(-1.0), t = lanes<V>(a.target);
        const V lo = lanes<V>(-kMaxDloss), hi = lanes<V>(kMaxDloss), w = lanes<V>(a.weight);
        auto all_fin = zero == zero;
        for (; k + L <= k1; k += L) {
            const V p = load_lanes<V>(a.scale + k) * load_lanes<V>(a.P + k) + load_lanes<V>(a.intercept + k);
            const auto fin = p - p == zero;  // false for infinities and NaN
            all_fin &= fin;
            const V tc = load_lanes<V>(a.tc + k);
            const auto clf = tc >= zero;
            const V y = clf ? (t == tc ? one : minus_one) : t;
            const V d = dloss_lanes(loss, p, y);
            const V g = d < lo ? lo : (hi < d ? hi : d);  // std::clamp's choice
            const V cw = clf ? (y > zero ? load_lanes<V>(a.wpos + k) : load_lanes<V>(a.wneg + k)) : one;
            store_lanes(a.coef + k, -load_lanes<V>(a.eta + k) * g * cw * w);  // (column_coefficients' 1 / bsz is 1)
            for (int q = 0; q < L; ++q) a.finite[k + q] = fin[q] != 0 ? 1 : 0;
            if (a.loss != nullptr) store_lanes(a.loss + k, loss_lanes(loss, p, y));
        }
        for (int q = 0; q < L; ++q) all = all && all_fin[q] != 0;
        if constexpr (L > 4)  // (four columns left or more: four at a time)
            if (k + 4 <= k1) {
                const bool rest = row_coefficients<simd::v4d>(loss, a, k, k1);
                return all && rest;
            }
    }
#endif
    for (; k < k1; ++k) {
        const double p = a.scale[k] * a.P[k] + a.intercept[k];
        a.finite[k] = std::isfinite(p) ? 1 : 0;
        all = all && a.finite[k] != 0;
        const bool clf = a.tc[k] >= 0.0;
        const double y = clf ? select(a.target == a.tc[k], 1.0, -1.0) : a.target;
        const double g = std::clamp(loss.dloss(p, y), -kMaxDloss, kMaxDloss);
        const double cw = clf ? select(y > 0.0, a.wpos[k], a.wneg[k]) : 1.0;
        a.coef[k] = -a.eta[k] * g * cw * a.weight;
        if (a.loss != nullptr) a.loss[k] = loss.loss(p, y);
    }
    return all;
}

#if defined(SGDTUNE_HAVE_VECTORS)
// The step coefficients of a batch of `rows` rows (row-major rows x K: P, C)
// for the columns k0 <= k < k1 of a block, which share their loss:
// column_coefficients' numbers for each column (no passive-aggressive step),
// V's lanes (four or eight columns) at a time along each row, with a.target
// and a.weight taken per row from targets[] and weights[]. finite[k] becomes
// 0 where a row's prediction is not finite; where `sums` is given, each row's
// loss value is added to sums[k], in row order. (column_coefficients gathers
// four rows of a column, K apart, and scatters their coefficients; and a
// row's log loss derivative is a chain of some twenty operations, which
// eight lanes take as quickly as four.)
template <class V, class Loss>
SGDTUNE_ALWAYS_INLINE inline bool batch_coefficients(const Loss& loss, const RowColumns& a, const double* targets,
                                                     const double* weights, std::int64_t rows, std::int64_t K,
                                                     std::int64_t k0, std::int64_t k1, double* sums) {
    const double inv_b = 1.0 / static_cast<double>(rows);
    std::int64_t k = k0;
    constexpr int L = kLanesOf<V>;
    const V zero = {}, one = lanes<V>(1.0), minus_one = lanes<V>(-1.0);
    const V lo = lanes<V>(-kMaxDloss), hi = lanes<V>(kMaxDloss), vinv_b = lanes<V>(inv_b);
    for (; k + L <= k1; k += L) {
        const V scale = load_lanes<V>(a.scale + k), intercept = load_lanes<V>(a.intercept + k);
        const V tc = load_lanes<V>(a.tc + k), neg_eta = -load_lanes<V>(a.eta + k);
        const V wpos = load_lanes<V>(a.wpos + k), wneg = load_lanes<V>(a.wneg + k);
        const auto clf = tc >= zero;
        auto fin = zero == zero;
        V sum = sums != nullptr ? load_lanes<V>(sums + k) : zero;
        for (std::int64_t r = 0; r < rows; ++r) {
            const V p = scale * load_lanes<V>(a.P + r * K + k) + intercept;
            fin &= p - p == zero;  // false for infinities and NaN
            const V t = lanes<V>(targets[r]);
            const V y = clf ? (t == tc ? one : minus_one) : t;
            const V d = dloss_lanes(loss, p, y);
            const V g = d < lo ? lo : (hi < d ? hi : d);  // std::clamp's choice
            const V cw = clf ? (y > zero ? wpos : wneg) : one;
            store_lanes(a.coef + r * K + k, neg_eta * g * cw * lanes<V>(weights[r]) * vinv_b);
            if (sums != nullptr) sum += loss_lanes(loss, p, y);
        }
        for (int q = 0; q < L; ++q)
            if (fin[q] == 0) a.finite[k + q] = 0;
        if (sums != nullptr) store_lanes(sums + k, sum);
    }
    if constexpr (L > 4)  // (four columns left or more: four at a time)
        if (k + 4 <= k1)
            return batch_coefficients<simd::v4d>(loss, a, targets, weights, rows, K, k, k1, sums);
    for (; k < k1; ++k) {
        const bool clf = a.tc[k] >= 0.0;
        int finite = 1;
        for (std::int64_t r = 0; r < rows; ++r) {
            const double p = a.scale[k] * a.P[r * K + k] + a.intercept[k];
            finite &= static_cast<int>(std::isfinite(p));
            const double y = clf ? select(targets[r] == a.tc[k], 1.0, -1.0) : targets[r];
            const double g = std::clamp(loss.dloss(p, y), -kMaxDloss, kMaxDloss);
            const double cw = clf ? select(y > 0.0, a.wpos[k], a.wneg[k]) : 1.0;
            a.coef[r * K + k] = -a.eta[k] * g * cw * weights[r] * inv_b;
            if (sums != nullptr) sums[k] += loss.loss(p, y);
        }
        if (finite == 0) a.finite[k] = 0;
    }
    return true;  // (finiteness is in a.finite)
}
#endif

// with_loss(kind, epsilon, f) out of line, compiled for the baseline
// instruction set or AVX2 (`wide`): f (a lambda, which does not take the
// instruction set of the function it is written in) must be
// SGDTUNE_ALWAYS_INLINE. Out of line: the loss dispatch inlined into the
// trainer made batch_size 1 blocks slower.
template <class F>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
bool with_loss_base(LossKind kind, double epsilon, F& f) {
    return with_loss(kind, epsilon, f);
}
#ifdef SGDTUNE_X86_DISPATCH
template <class F>
__attribute__((noinline, target("avx2"))) bool with_loss_avx2(LossKind kind, double epsilon, F& f) {
    return with_loss(kind, epsilon, f);
}
#endif
#ifdef SGDTUNE_X86_DISPATCH
template <class F>
__attribute__((noinline, target("avx512f,avx512vl,avx512dq,avx512bw"))) bool with_loss_avx512(LossKind kind,
                                                                                          double epsilon, F& f) {
    return with_loss(kind, epsilon, f);
}
#endif
template <class F>
SGDTUNE_ALWAYS_INLINE inline bool with_loss_isa(bool wide, LossKind kind, double epsilon, F&& f) {
#ifdef SGDTUNE_X86_DISPATCH
    if (wide) return with_loss_avx2(kind, epsilon, f);
#endif
    (void)wide;
    return with_loss_base(kind, epsilon, f);
}

inline double column_penalty(const ColumnState& c, double sq, double l1) {
    if (c.spec.penalty == PenaltyKind::none) return 0.0;
    return c.spec.alpha * ((1.0 - c.l1_ratio) * 0.5 * sq + c.l1_ratio * l1);
}

// out[k] = C[0, k] + C[1, k] + ... over `rows` rows of a row-major rows x K
// matrix: each column's sum in row order, as a chain of its own (the same
// number whatever K is), with the running sums in registers. Summing into
// out[] row by row made every add wait for the last one's store (a K = 1
// block at batch_size 256 spent a tenth of its time there).
SGDTUNE_ALWAYS_INLINE inline void column_sums(const double* C, std::int64_t rows, std::int64_t K, double* out) {
    std::int64_t k = 0;
#if defined(SGDTUNE_HAVE_VECTORS)
    for (; k + 8 <= K; k += 8) {
        simd::v4d a = {}, b = {};
        for (std::int64_t r = 0; r < rows; ++r) {
            a += simd::load(C + r * K + k);
            b += simd::load(C + r * K + k + 4);
        }
        simd::store(out + k, a);
        simd::store(out + k + 4, b);
    }
    for (; k + 4 <= K; k += 4) {
        simd::v4d a = {};
        for (std::int64_t r = 0; r < rows; ++r) a += simd::load(C + r * K + k);
        simd::store(out + k, a);
    }
#endif
    for (; k < K; ++k) {
        double s = 0.0;
        for (std::int64_t r = 0; r < rows; ++r) s += C[r * K + k];
        out[k] = s;
    }
}

#if defined(SGDTUNE_HAVE_VECTORS)
// row_add of a dense row x into a one-column block (W[j] += c x[j], and with
// UpdZ, Z[j] -= a_upd (c x[j])) and then its L1 step (l1_step, with the
// averaged store when L1Z), in one pass over the weights: four features at a
// time updated and clipped in registers with the arithmetic of the two
// passes, so the numbers are theirs. AVX2 code only (see isa.hpp).
template <class T, bool UpdZ, bool L1Z>
SGDTUNE_ALWAYS_INLINE inline void row_add_l1_one(const T* x, std::int64_t d, T* W, T* Q, T* Z, T c, T a_upd,
                                                 double s, double u, double a) {
    const double inv_s = 1.0 / s;
    const simd::v4d vs = simd::splat(s), vinv = simd::splat(inv_s), vu = simd::splat(u), va = simd::splat(a);
    const simd::v4l all = {-1, -1, -1, -1};
    const simd::v4<T> vc = simd::splat(c), vau = simd::splat(a_upd);
    std::int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        const simd::v4<T> delta = vc * simd::load(x + j);
        simd::v4<T> z{};
        if constexpr (UpdZ) z = simd::load(Z + j) - vau * delta;
        const simd::v4<T> nw =
            l1_four_values<T, L1Z, false>(simd::load(W + j) + delta, Q + j, z, vs, vinv, vu, va, all, all);
        if constexpr (UpdZ) simd::store(Z + j, z);
        simd::store(W + j, nw);
    }
    for (; j < d; ++j) {
        const T delta = c * x[j];
        W[j] += delta;
        if constexpr (UpdZ) Z[j] -= a_upd * delta;
        l1_weight<T, L1Z>(W, Q, Z, j, s, inv_s, u, a);
    }
}
#endif

// row_add of a sparse row i whose features are distinct into a one-column
// block, and then its L1 step over those features (l1_step), in one pass over
// them: each weight takes the update's arithmetic and then the step's, so
// the numbers are those of the two passes.
template <bool UpdZ, bool L1Z, class T, class I>
SGDTUNE_ALWAYS_INLINE inline void csr_row_add_l1_one(const CsrView<T, I>& X, std::int64_t i, T* W, T* Q, T* Z, T c,
                                                     T a_upd, double s, double u, double a) {
    const double inv_s = 1.0 / s;
    const auto b = static_cast<std::int64_t>(X.indptr[i]), e = static_cast<std::int64_t>(X.indptr[i + 1]);
    for (std::int64_t p = b; p < e; ++p) {
        const auto q = static_cast<std::int64_t>(X.indices[p]);
        const T delta = c * X.data[p];
        W[q] += delta;
        if constexpr (UpdZ) Z[q] -= a_upd * delta;
        l1_weight_scalar<T, L1Z>(W, Q, Z, q, s, inv_s, u, a);
    }
}

}  // namespace detail

// What a job keeps between calls when it is resumable (successive halving
// trains survivors on from where they stopped): every column's trainer state
// and raw block storage, and the job's shuffle stream. Training a resumable job
// for e1 epochs and then e2 more gives the numbers of one call of e1 + e2 epochs,
// bit for bit. Per-column arrays are stored K x d (the layout of coef), so any
// split of the columns into chunks can load and save its range.
template <class T>
struct JobState {
    bool started = false;
    std::int64_t epochs_done = 0;  // epochs run by earlier calls
    Rng rng{0};
    std::vector<RowIndex> order;  // the row order the next shuffle starts from
    std::vector<detail::ColumnState> cols;
    ZeroedArray<T> W, Z;  // raw block storage, K x d
    // the L1 records of the columns with an L1 term only, column k's in row
    // q_row[k] (-1: none; such a column's records stay zero in a block). The
    // sparse halving search above: 122 -> 116 MiB (a third of its columns
    // are L2 ones).
    ZeroedArray<T> Q;
    std::vector<std::int64_t> q_row;
    std::vector<double> scale, intercept, avg_a, avg_b, avg_intercept, u;
    // Written by the job's first chunk during a call, committed after it
    // (other chunks of the same call still read the values above).
    Rng next_rng{0};
    std::vector<RowIndex> next_order;

    bool broken = false;  // a call failed or was interrupted part way: no resuming
    // false: a state that only carries a block's columns from one call to the
    // next within one training call (train_jobs' narrowing of a block whose
    // columns stopped): no stream to advance once every column has stopped
    bool advance_stream = true;
    // set by the trainer in a chunk's own state (!advance_stream): the last
    // call ended early (TrainOptions::pause_at_live, pause_when_waiting)
    // after `epochs_run` epochs
    bool paused = false;
    std::int64_t epochs_run = 0;

    // Sizes a new state for K columns over d features; l1[k]: column k has an L1 term.
    void allocate(std::int64_t K, std::int64_t d, bool averaging, const std::vector<bool>& l1) {
        const auto n = static_cast<std::size_t>(K * d), k = static_cast<std::size_t>(K);
        cols.resize(k);
        W.reset(n);
        Z.reset(averaging ? n : 0);
        q_row.assign(k, -1);
        std::int64_t rows = 0;
        for (std::size_t c = 0; c < k; ++c)
            if (l1[c]) q_row[c] = rows++;
        Q.reset(static_cast<std::size_t>(rows * d));
        for (auto* v : {&scale, &intercept, &avg_a, &avg_b, &avg_intercept, &u}) v->assign(k, 0.0);
    }

    // Copies the storage of columns idx[0..block.K) between this state and a
    // block holding them: into the block (resume) or out of it (save).
    void transfer(Block<T>& block, const std::int64_t* idx, bool into_block) {
        auto move = [into_block](auto& in_block, auto& in_state) {
            if (into_block)
                in_block = in_state;
            else
                in_state = in_block;
        };
        const std::int64_t K = block.K, d = block.d;
        for (std::int64_t k = 0; k < K; ++k) {
            const auto g = static_cast<std::size_t>(idx[k]);
            const std::int64_t qr = block.Q.empty() ? -1 : q_row[g];
            move(block.scale[k], scale[g]);
            move(block.intercept[k], intercept[g]);
            move(block.avg_a[k], avg_a[g]);
            move(block.avg_b[k], avg_b[g]);
            move(block.avg_intercept[k], avg_intercept[g]);
            move(block.u[k], u[g]);
            for (std::int64_t j = 0; j < d; ++j) {
                const auto q = static_cast<std::size_t>(idx[k] * d + j);
                move(block.W[j * K + k], W[q]);
                if (block.averaging) move(block.Z[j * K + k], Z[q]);
                if (qr >= 0) move(block.Q[j * K + k], Q[static_cast<std::size_t>(qr * d + j)]);
            }
        }
    }

    // A copy of a state between calls (o committed): the same resumption
    // (a chunk's own state: advance_stream is its user's to set).
    void copy_from(const JobState& o) {
        started = o.started;
        epochs_done = o.epochs_done;
        rng = o.rng;
        order = o.order;
        cols = o.cols;
        W.copy_from(o.W);
        Z.copy_from(o.Z);
        Q.copy_from(o.Q);
        q_row = o.q_row;
        scale = o.scale;
        intercept = o.intercept;
        avg_a = o.avg_a;
        avg_b = o.avg_b;
        avg_intercept = o.avg_intercept;
        u = o.u;
    }

    // Takes in a completed call of `epochs` epochs.
    void commit(std::int64_t epochs) {
        rng = next_rng;
        order.swap(next_order);
        std::vector<RowIndex>().swap(next_order);  // the old order: not kept between calls
        epochs_done += epochs;
        started = true;
    }
};

namespace detail {

// The trainer's body; compiled once for the baseline instruction set and, on
// x86, once more inlined into an AVX2 entry point (see train_block).
template <class T, class Data>
SGDTUNE_INLINE_INTO_ISA std::vector<ColumnResult> train_block_impl(
    const Data& X, const TrainData& td, Block<T>& block, const std::vector<ColumnSpec>& specs,
    const TrainOptions& opt, StopToken& stop, bool may_poll, JobState<T>* state, const std::int64_t* idx,
    bool writes_stream, int team_members, Isa isa) {
    using detail::ColumnState;
    // Training runs with subnormal numbers flushed to zero, on this thread
    // and its team's (FlushSubnormals). A log-loss column whose margins pass
    // about 87 (float) or 708 (double), weights grown large at a small
    // alpha, has step coefficients below the type's smallest normal number,
    // and each multiply or add that takes or makes a subnormal number takes a
    // microcode assist on Intel cores (a hundred cycles or more). On a Xeon
    // with AVX-512, the 24-configuration block (33,333 x 100 normal features,
    // labels of a noisy linear model with unit weights, whose margins grow
    // large; 10 epochs, one thread), medians of 3-5 runs: batch_size 1,
    // float64 521-537 -> 353-368 ms (its twelve log-loss columns alone 490 ->
    // 349), float32 1012-1037 -> 495; batch_size 64, float32 137-140 ->
    // 93-94 (log loss alone 199-201 -> 109-112); float64 at batch_size 64 and
    // hinge columns did not change, nor did the benchmarks' grid search
    // (make_classification's data, standardised: 0.69 s either way).
    // An update below the smallest normal number (1.2e-38 in float, 2.2e-308
    // in double) moves no weight above it; the features of X below it read as
    // zero. Every block, team member and thread count flushes alike, so a
    // column's numbers still do not depend on them. On a Zen 4 the same block
    // gained less: batch_size 1 float64 400-407 -> 379-387 ms, float32
    // 522-538 -> 493-494; batch_size 64 float32 95-98 -> 91-92, float64 the
    // same (131-132 against 133-135).
    const FlushSubnormals flush;
    // the four-column code paths: compiled for AVX2 (this body is inlined into an AVX2 entry point)
    const bool avx2_body = isa != Isa::baseline;
    // dense rows at batch_size 1: eight columns (or features) at a time, rows512.hpp
    [[maybe_unused]] const bool rows512 = isa == Isa::avx512;
    const std::int64_t K = block.K, d = block.d;
    if (static_cast<std::int64_t>(specs.size()) != K) throw std::invalid_argument("one spec per column");
    const std::int64_t n_train = td.n_train;
    const std::int64_t b = std::max<std::int64_t>(1, std::min(opt.batch_size, n_train));

    std::vector<ColumnState> cols(static_cast<std::size_t>(K));
    bool any_l1 = false, any_pa = false;
    for (std::int64_t k = 0; k < K; ++k) {
        auto& c = cols[k];
        c.spec = specs[k];
        c.l1_ratio = effective_l1_ratio(c.spec.penalty, c.spec.l1_ratio);
        c.t = opt.t_start;
        const double t0 = c.spec.schedule == ScheduleKind::optimal
                              ? optimal_t0(c.spec.loss, c.spec.epsilon, c.spec.alpha)
                              : 0.0;
        c.sched = Schedule{c.spec.schedule, c.spec.eta0, c.spec.power_t, c.spec.alpha, t0, c.spec.eta0};
        any_l1 = any_l1 || has_l1(c.spec.penalty);
        any_pa = any_pa || is_passive_aggressive(c.spec.schedule);
        c.result.t = c.t;
    }
    if (any_l1 && block.Q.empty()) block.Q.assign(static_cast<std::size_t>(d * K), T(0));

    // the epoch's row order, 32-bit (half the memory of the 64-bit indices; the
    // bindings refuse data with more rows); the shuffle does not depend on it
    std::vector<RowIndex> order(td.train_idx, td.train_idx + n_train);
    Rng rng(opt.seed);
    std::int64_t first_epoch = 0;
    if (state != nullptr && state->started) {
        // Resume: the columns' states, the raw block and the shuffle stream.
        for (std::int64_t k = 0; k < K; ++k) cols[k] = state->cols[static_cast<std::size_t>(idx[k])];
        state->transfer(block, idx, true);
        order = state->order;
        rng = state->rng;
        first_epoch = state->epochs_done;
    }

    // Scratch, allocated once.
    std::vector<double> P(static_cast<std::size_t>(b * K)), C(static_cast<std::size_t>(b * K));
    std::vector<double> targets(b), weights(b), sqnorms(any_pa ? b : 0), etas(K), isum(K);
    std::vector<T> acc(static_cast<std::size_t>(kLanes * K)), cscaled(K), ascaled(K);
    const bool dedupe = !(b == 1 && opt.unique_row_indices);
    // The tol criterion on the training objective needs the loss sum.
    const bool loss_sum = opt.compute_objective || (opt.use_tol && !opt.early_stopping);
    // Batches of one row into a block of several columns: the step
    // coefficients of each run of columns with the same loss in one call,
    // four or eight columns at a time (row_coefficients; eight with AVX-512
    // in a run of eight or more), with their loss values where
    // they are summed, where no passive-aggressive step asks for more (the
    // planner puts columns of a loss side by side). Per-column constants for
    // it, and the runs.
    const bool row_runs = b == 1 && K >= 4 && avx2_body && !any_pa;
    // Dense mini-batches into such a block, on one thread: the batch's
    // coefficients of each run in one call, row by row, four or eight
    // columns at a time (batch_coefficients; with AVX-512, in a function
    // compiled for it, whose 32 vector registers hold the loop's constants:
    // 24 log-loss columns at batch_size 64, 5,000 x 100 rows in cache, one
    // thread of a Zen 4, float32 281-283 -> 270-271 ns a row, float64
    // 401-406 -> 390-399), with the same per-column constants and runs.
#if defined(SGDTUNE_HAVE_VECTORS)
    const bool batch_runs = std::is_same_v<Data, DenseView<T>> && b > 1 && K >= 4 && avx2_body && !any_pa;
#else
    const bool batch_runs = false;
#endif
    std::vector<double> col_tc, col_wpos, col_wneg;
    // Where every column takes the "optimal" schedule, its constants and the
    // columns' t for one loop over the columns (Schedule::optimal_eta), whose
    // divisions vectorise (one at a time, they were a tenth of the trainer's
    // own time in a 24-column block at batch_size 1).
    std::vector<double> col_alpha, col_t0, col_t;
    bool all_optimal = false;
    // A row's own bookkeeping, over all columns in loops that vectorise, where
    // every column is still training and takes the "optimal" schedule, no
    // averaging, and the row's predictions are finite (row_fast below): the
    // L2 shrink, intercepts, L1 totals and counters, each column's numbers
    // those of the loops over the columns' states. On a Zen 4 with AVX-512,
    // one thread: 24 columns over 5,000 x 100 float64 rows in cache, hinge/L2
    // 437-463 -> 357-363 ns a row, hinge/L1 1186-1195 -> 1091-1108; the
    // 24-configuration grid's trials (3 folds of 50,000 x 100, batch_size 1)
    // 1149-1182 -> 1025-1046 ms, 640-707 -> 568-579 on two threads.
    // Per-column constants: 1 - l1_ratio, l1_ratio, whether the column has an
    // L2 term and an L1 term (1 or 0), and the epoch's loss sums (every row
    // of the epoch adds to them, in row order).
    std::vector<double> col_om, col_l1r, col_l2m, col_l1m, col_sumloss;
    std::vector<unsigned char> row_finite;
    std::vector<double> row_loss_values;  // (row_coefficients' loss values, where summed)
    struct LossRun {
        std::int64_t k0, k1;
        LossKind kind;
        double epsilon;
    };
    std::vector<LossRun> loss_runs;
    if (row_runs || batch_runs) {
        row_finite.assign(static_cast<std::size_t>(K), 1);
        if (loss_sum) row_loss_values.assign(static_cast<std::size_t>(K), 0.0);
        all_optimal = true;
        for (std::int64_t k = 0; k < K; ++k) {
            const Schedule& sc = cols[k].sched;
            all_optimal = all_optimal && sc.kind == ScheduleKind::optimal;
            col_alpha.push_back(sc.alpha);
            col_t0.push_back(sc.t0);
        }
        col_t.resize(static_cast<std::size_t>(K));
        for (std::int64_t k = 0; k < K; ++k) {
            const ColumnState& c = cols[k];
            col_om.push_back(1.0 - c.l1_ratio);
            col_l1r.push_back(c.l1_ratio);
            col_l2m.push_back(has_l2(c.spec.penalty) ? 1.0 : 0.0);
            col_l1m.push_back(has_l1(c.spec.penalty) ? 1.0 : 0.0);
        }
        col_sumloss.assign(static_cast<std::size_t>(K), 0.0);
        for (std::int64_t k = 0; k < K; ++k) {
            const ColumnSpec& sp = cols[k].spec;
            col_tc.push_back(static_cast<double>(sp.target_class));
            col_wpos.push_back(sp.weight_pos);
            col_wneg.push_back(sp.weight_neg);
            if (!loss_runs.empty() && loss_runs.back().kind == sp.loss && loss_runs.back().epsilon == sp.epsilon)
                loss_runs.back().k1 = k + 1;
            else
                loss_runs.push_back({k, k + 1, sp.loss, sp.epsilon});
        }
    }
    std::vector<std::int64_t> stamp(!is_dense(X) && any_l1 && dedupe ? d : 0, -1), touched;
    // Dense batches of two rows or more take the matrix-product kernels
    // (batch.hpp) on a transposed copy of the weights.
    constexpr bool dense = std::is_same_v<Data, DenseView<T>>;
    const bool tiled = dense && b > 1;
    std::vector<T> WT(tiled ? static_cast<std::size_t>(padded(d) * K) : 0);
    std::vector<T> ZT(tiled && block.averaging ? static_cast<std::size_t>(padded(d) * K) : 0);
    std::optional<LastRows<T>> last_rows;
    if constexpr (dense)
        if (tiled) last_rows.emplace(X);
    std::vector<T> cs(tiled ? static_cast<std::size_t>(b * K) : 0);
    std::vector<const T*> xrows(tiled ? static_cast<std::size_t>(b) : 0);
    // A batch for a block of eight columns or more is copied into a buffer
    // of its own (rows 64-byte aligned, zero-padded to whole vectors) as its
    // forward pass goes: the kernels then read aligned rows, where a NumPy
    // array's rows start anywhere (its data 16 bytes into a page, rows of
    // 100 float64 800 bytes apart: half of the 256-bit loads crossed a cache
    // line), and the update reads the copy. On a Zen 3 (AVX2), 64 shuffled
    // rows from memory, forward pass and update with the copy against
    // without: 24 columns of 100 float64 features 35.8 -> 29.6 us, 12 columns
    // 19.5 -> 17.3, 300 features 99 -> 87, float32 18.5 -> 16.2; 8 columns
    // 15.2 -> 14.3; fewer lose (4: 9.3 -> 11.7, one: 6.1 -> 11.3), as the
    // copy's cost is the same for fewer dot products. Rows aligned already
    // (832 bytes apart from a line's start) cost the copy little: 24 float64
    // columns 30.3 -> 30.6 us, 8 columns 12.9 -> 13.4, float32 17.6 -> 15.8.
    // On a Xeon with AVX-512 the copy was about even: the kernels alone, 24
    // float64 columns 16.7 -> 16.0 us, float32 9.2 -> 9.8, 8 columns 6.9 ->
    // 7.5 and 3.5 -> 4.1; the 24-column block's 10 epochs at batch_size 64
    // (33,333 x 100, one thread) 140-146 -> 133-142 ms in float64, float32
    // within noise. Batches over 512 KiB (a second-level cache) read X as they are.
    const bool gather_rows = tiled && K >= 8 &&
                             b * padded(d) * static_cast<std::int64_t>(sizeof(T)) <= detail::kGatherBytes;
    std::vector<T> gather_store(gather_rows ? static_cast<std::size_t>(b * padded(d) + 64 / sizeof(T)) : 0);
    T* const gather = gather_rows ? align64(gather_store.data()) : nullptr;
    std::vector<unsigned char> skip(tiled ? static_cast<std::size_t>(b) : 0);
    // More threads than blocks: a one-column block's steps are shared by a
    // team, the forward pass and step coefficients by rows and the update
    // and L1 step by features (each row's and each feature's numbers are the
    // same for any split). Only mini-batches of dense rows are shared: a
    // single row's step is too short to split. (train_jobs gives spare
    // threads to one-column blocks only.)
    // A member wants enough of a batch's work to outweigh handing it out: 100
    // features x 1 column, 20,000 rows in cache, two threads: batches of 64
    // rows ran no faster, 128 rows 1.12x, 256 rows 1.29x as fast as one thread.
    //
    // One column in mini-batches of rows in order from memory (one model,
    // shuffle=False, X well beyond the last-level cache): each few rows' dot
    // products, step coefficients and update in one pass, while they are in
    // the first-level cache, on one thread. The dot products read the
    // weights' copy WT, taken at the batch's start, and the update goes to W
    // row by row in batch order: the numbers of the two passes below, whose
    // update reads the batch again from the second-level cache (a batch of
    // 256 rows of 100 float32 is 100 KB). The next batch's rows are asked for
    // half before a few rows' dot products and half before their update (all
    // before the dot products, the core waited on its prefetches). 2,000,000
    // x 100 float32 at batch_size 256 on a Zen 4, one thread: 48.7-52.1 ->
    // 34.7-40.9 ms an epoch (a NumPy read of X: 31 ms); a team of two
    // threads had taken 58 ms. Shuffled rows keep the two passes (115-123
    // against 110-118 ms with one pass), as do rows in cache (2,048 rows:
    // 4.0 -> 4.6 us a batch with one pass; 80,000 rows, 31 MiB, 1.85 ->
    // 2.12 ms an epoch; see one_pass_bytes) and float64 (no difference).
    // A step that renormalises the weights (which changes them between the
    // passes) takes the two passes.
    const bool one_pass = tiled && K == 1 && !opt.shuffle && std::is_same_v<T, float> &&
                          n_train * d * static_cast<std::int64_t>(sizeof(T)) > detail::one_pass_bytes();
    std::int64_t one_pass_count = 0;  // (for one_pass_batches)
    std::int64_t row_fast_count = 0;  // (for rows_over_columns)
    std::optional<Team> team;
    const std::int64_t team_size = one_pass ? 1 : std::min<std::int64_t>(
        {team_members, b / 4, b * d * K / detail::kTeamWorkPerMember});
    if (tiled && K == 1 && team_size > 1) {
        try {
            team.emplace(static_cast<int>(team_size));
        } catch (const std::system_error&) {  // no thread to spare: the same numbers on one
            team.reset();
        }
    }
    const int members = team ? team->size() : 1;
    // what the members hand back: per member and column, whether its
    // predictions were finite; the rows' loss values, where they are summed
    const bool row_losses = members > 1 && (loss_sum || any_pa);
    std::vector<unsigned char> team_finite(members > 1 ? static_cast<std::size_t>(members * K) : 0);
    std::vector<double> row_loss(row_losses ? static_cast<std::size_t>(b * K) : 0);
    // features are split at multiples of 64 bytes of T from the row's start
    const std::int64_t feature_grain = 64 / static_cast<std::int64_t>(sizeof(T));
    std::int64_t batch_no = 0;
    // Look at the clock every batch of 64 rows or more, else every 64 batches,
    // so an interruption is seen within ~4,000 rows of work or one batch.
    const std::int64_t poll_mask = b >= 64 ? 0 : 63;
    // How many rows ahead to prefetch: a row's full step takes a while at
    // batch_size 1; the forward pass of a batch only takes its dot products;
    // the matrix kernels read a whole batch at once, so the next batch's rows
    // are asked for while this one trains, into the second-level cache (the
    // first-level one holds the batch in use and the weights: asked into it,
    // the next batch's rows pushed them out. One column, 100 float64
    // features, batch_size 64, on a Zen 4: 39.8 -> 28.4 ns a row with X in
    // the second-level cache, 90 -> 74 shuffled from memory; the 24-config
    // grid search at batch_size 64 7-20% faster in interleaved runs).
    // Sparse rows too (the sparse grid at batch_size 1: 4.0-4.4 -> 3.8-4.0
    // s); a dense row at batch_size 1 goes to the first-level cache (its
    // step comes soon, and the second-level cache made the dense grid 3%
    // slower).
    const std::int64_t pf = tiled ? b : b == 1 ? detail::kPrefetchRowsSingle : detail::kPrefetchRowsBatch;
    // Dense rows one at a time from memory (more rows than the last-level
    // cache holds, about): each row is asked into the second-level cache
    // 2 pf rows ahead as well, so that the first-level prefetch pf rows ahead
    // finds it near. The first-level cache takes few misses at a time, and a
    // one-column step is short: one model, 80,000 x 100 float64 (64 MB) at
    // batch_size 1 on a Zen 4, hinge/L2 127-134 -> 98-114 ns a row,
    // log/elastic-net 163-178 -> 145-149; with 5,000 rows in cache the extra
    // prefetches cost 5-15%, hence the size test.
    const bool far_rows =
        dense && !tiled && n_train * d * static_cast<std::int64_t>(sizeof(T)) > detail::kFarRowsBytes;
    // A sparse block whose weights (W, Q, Z) outgrow a second-level cache asks
    // for a coming row's weights ahead of use; a smaller one mostly has them
    // in cache already, and the prefetches would only cost (one column over
    // 50,000 features: 24 -> 30 ms an epoch with them). Into the second-level
    // cache: into the first, a row's hundreds of prefetches waited on each
    // other (the first-level cache takes few misses at a time; the sparse
    // grid at batch_size 1 on a Zen 4: 4.6-5.3 -> 4.1-4.4 s).
    const bool far_weights = !dense && detail::weight_bytes<T>(d, K, any_l1, block.averaging) > detail::kCacheBytes;

    auto validation_score = [&](std::int64_t k, std::vector<double>& pbuf) -> double {
        // Scores the averaged weights when averaging has started, else the current ones.
        ColumnState& c = cols[k];
        const bool avg = block.averaging && c.averaging_at(c.t - 1.0);
        double num = 0.0, den = 0.0, ysum = 0.0;
        const bool clf = c.spec.target_class >= 0;
        for (std::int64_t r = 0; r < td.n_val; ++r) {
            const std::int64_t i = td.val_idx[r];
            row_dot(X, i, avg ? block.Z.data() : block.W.data(), K, acc.data(), pbuf.data(), avx2_body);
            const double p = avg ? pbuf[k] + block.avg_intercept[k]
                                 : block.scale[k] * pbuf[k] + block.intercept[k];
            const double y = c.target(td.y[i]);
            const double w = td.sample_weight ? td.sample_weight[i] : 1.0;
            den += w;
            if (clf) {
                num += w * (((p > 0.0) ? 1.0 : -1.0) == y ? 1.0 : 0.0);
            } else {
                num += w * (y - p) * (y - p);
                ysum += w * y;
            }
        }
        if (clf) return den > 0.0 ? num / den : 0.0;
        const double ymean = den > 0.0 ? ysum / den : 0.0;
        double tot = 0.0;
        for (std::int64_t r = 0; r < td.n_val; ++r) {
            const std::int64_t i = td.val_idx[r];
            const double y = td.y[i];
            const double w = td.sample_weight ? td.sample_weight[i] : 1.0;
            tot += w * (y - ymean) * (y - ymean);
        }
        if (tot == 0.0) return num == 0.0 ? 1.0 : 0.0;
        return 1.0 - num / tot;
    };
    std::vector<double> pval(K);
    // Each step's L1 parameters per column, for one pass over all columns of the
    // features the step visits (every feature of a dense block; a sparse
    // step's touched ones).
    std::vector<double> l1_s(K, 1.0), l1_inv_s(K, 1.0), l1_u(K), l1_a(K), l1_on(K), l1_avg(K);
    bool any_l1_step = false;
    // The fused pass vectorises only with AVX2's blends; either way gives the
    // same numbers.
    const bool fused_l1 = K > 1 && avx2_body;
    // the fused step visits columns [l1_lo, l1_hi), those with an L1 term and
    // any between them (train_jobs puts a chunk's L1 columns last)
    std::int64_t l1_lo = K, l1_hi = 0;
    for (std::int64_t k = 0; k < K; ++k)
        if (has_l1(specs[static_cast<std::size_t>(k)].penalty)) {
            l1_lo = std::min(l1_lo, k);
            l1_hi = k + 1;
        }
    // Sparse rows into a block of eight columns or more without averaging
    // (AVX-512): the update eight columns at a time; and one row at a time
    // whose features are distinct, the update with the L1 step in one pass
    // (rows512.hpp's csr_row_add8). The 24-configuration grid over 200,000 x
    // 50,000 float64 CSR rows in 8-column chunks (see plan_chunks), whole
    // search: 3.09-3.17 s with the four-column code, 2.54-2.68 s with these.
    [[maybe_unused]] const bool sparse_rows8 = !dense && rows512 && K >= 8 && !block.averaging;
    [[maybe_unused]] const bool sparse_fused_l1 = sparse_rows8 && !dedupe && fused_l1 && l1_lo < l1_hi;
    // The same one pass for a dense row (AVX-512, batch_size 1, no averaging),
    // where the columns with L1 fill whole eights of the block's columns (the
    // rest of them, K % 8, with the four-column code either way): an eight
    // with some columns without L1 takes the step's operations for all eight
    // lanes, which cost more than the second pass saves (the 24-column block
    // on two threads, in two 12-column chunks of four columns without L1 and
    // eight with, 50,000 x 100 float64: 35 -> 41 ms an epoch). On a Zen 4,
    // whose first-level cache (32 KiB) does not hold a 24-column block's W
    // and Q (19 KiB each at 100 float64 features), the second pass read and
    // wrote them from the second-level cache: the
    // 24-configuration grid's 24-column block (8 columns without L1, then 16
    // with), 50,000 x 100 float64, one thread, 62.2-63.1 -> 57.8-58.4 ms an
    // epoch; the whole grid search at batch_size 1, two threads, 705-766 ->
    // 687-714 ms in interleaved runs. (On a Zen 5, with 48 KiB, the one pass
    // had been slower: 499-508 -> 526-566 ms for that search. On a Zen 3,
    // AVX2 only, 32 KiB, a four-column version of this pass, one row's
    // update and L1 step in registers, was slower too: that 24-column
    // block's 10 epochs on 33,333 rows, one thread, 675-709 -> 704-735 ms,
    // inlined into the trainer or compiled on its own.)
    const std::int64_t whole_eights = K / 8 * 8;
    [[maybe_unused]] const bool dense_fused_l1 = dense && !tiled && rows512 && K >= 8 && !block.averaging &&
                                                 fused_l1 && l1_lo < l1_hi && l1_lo % 8 == 0 &&
                                                 (l1_hi % 8 == 0 || l1_hi >= whole_eights);

    bool all_active = false;  // (every column trains: see row_fast)
    // A dense row's update into a block of eight columns or more without
    // averaging (AVX-512), with its L1 step where the block has L1 columns
    // and takes it in the same pass (dense_fused_l1), takes the next row's
    // forward pass in that pass over the weights too (rows512.hpp's
    // row_add_l1_dot8); next_ready: P holds it. The weights are read once a
    // row instead of twice; the arithmetic is the same. On a Zen 4, one
    // thread, 24 columns over 5,000 x 100 float64 rows in cache: hinge/L2
    // 355-357 -> 334-338 ns a row; hinge/L1 the same (1091-1097 against
    // 1083-1113: an L1 step is bound by its arithmetic, which the products
    // add to); the 24-configuration grid's trials at batch_size 1 1034-1036
    // -> 971-978 ms, 553-554 -> 536-545 on two threads.
    [[maybe_unused]] const bool dot_with_update =
        dense && !tiled && rows512 && K >= 8 && !block.averaging && (l1_lo >= l1_hi || dense_fused_l1);
    bool next_ready = false;
    auto diverge = [&](ColumnState& c, std::int64_t epoch) {
        all_active = false;
        c.active = false;
        c.result.status = ColumnStatus::diverged;
        c.result.diverged_epoch = epoch + 1;
        c.result.n_iter = epoch + 1;
    };

    // The features a sparse step's L1 step visits where rows may repeat a
    // column: the distinct non-zero columns of its n rows, into `touched`.
    [[maybe_unused]] auto distinct_features = [&](const RowIndex* rows, std::int64_t n) {
        touched.clear();
        if constexpr (!dense)
            for (std::int64_t r = 0; r < n; ++r)
                row_features(X, rows[r], [&](std::int64_t j) {
                    if (stamp[j] != batch_no) {
                        stamp[j] = batch_no;
                        touched.push_back(j);
                    }
                });
    };

    // One column, rows one at a time, no averaging, no passive-aggressive
    // step (a model fitted alone, a search's refit): an epoch's rows in a
    // loop of their own (solo_epoch), the loss chosen once an epoch instead
    // of once a row and the block's general bookkeeping left out. Each row
    // takes the calls and arithmetic the loop over batches below takes for
    // such a block (the same prefetches, row_dot, column_coefficients,
    // shrink, update and L1 step), so the numbers are the same.
#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
    const bool solo = b == 1 && K == 1 && members == 1 && avx2_body && !any_pa && !block.averaging;
    // Trains the epoch's rows; false where the column diverged (at the row
    // whose prediction is not finite, as below).
    auto solo_epoch = [&]() SGDTUNE_ALWAYS_INLINE {
        ColumnState& c = cols[0];
        const bool l2 = has_l2(c.spec.penalty), l1 = has_l1(c.spec.penalty);
        T* const W = block.W.data();
        T* const Q = l1 ? block.Q.data() : nullptr;
        // the column's numbers in registers through the epoch (the kernels'
        // stores might otherwise change them, for all the compiler knows)
        double scale = block.scale[0], intercept = block.intercept[0], u = block.u[0], t = c.t;
        double sumloss = c.sumloss;
        auto keep = [&]() SGDTUNE_ALWAYS_INLINE {
            block.scale[0] = scale;
            block.intercept[0] = intercept;
            block.u[0] = u;
            c.t = t;
            c.sumloss = sumloss;
        };
        return with_loss_isa(avx2_body, c.spec.loss, c.spec.epsilon, [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
            for (std::int64_t r = 0; r < n_train; ++r, ++batch_no) {
                if (stop.stop_requested()) {
                    keep();
                    throw Interrupted();
                }
                if (may_poll && (batch_no & poll_mask) == 0) {
                    stop.maybe_poll();
                    if (stop.stop_requested()) {
                        keep();
                        throw Interrupted();
                    }
                }
                const RowIndex* rows = order.data() + r;
                if (r + 2 * pf < n_train) row_prefetch_index(X, rows[2 * pf]);
                if (r + pf < n_train) {  // (row_start's prefetches)
                    const std::int64_t ahead = rows[pf];
                    if (far_rows && r + 2 * pf < n_train) row_prefetch<true>(X, rows[2 * pf]);
                    if constexpr (dense)
                        row_prefetch(X, ahead);
                    else
                        row_prefetch<true>(X, ahead);
                    prefetch(td.y + ahead);
                    if (td.sample_weight) prefetch(td.sample_weight + ahead);
                }
                if (far_weights && r + detail::kPrefetchWeightRows < n_train)  // a row ahead: its weights
                    weights_prefetch(X, rows[detail::kPrefetchWeightRows], W, Q, static_cast<const T*>(nullptr),
                                     1);
                const std::int64_t i = rows[0];
                const double target = td.y[i], weight = td.sample_weight ? td.sample_weight[i] : 1.0;
                double p;
                row_dot(X, i, W, 1, acc.data(), &p, true);
                const double eta = c.sched.eta(t);
                double coef;
                if (!detail::column_coefficients(loss, c, eta, &p, scale, intercept, 1, &target, &weight, nullptr,
                                                 1, 1, &coef, sumloss, nullptr, loss_sum)) {
                    keep();
                    return false;
                }
                if (l2) {
                    scale = c.l2_shrunk(scale, eta);
                    if (scale < detail::kRenormaliseBelow) {
                        block.scale[0] = scale;
                        block.renormalise(0);
                        scale = block.scale[0];
                    }
                }
                const T cs = static_cast<T>(coef / scale);
                const bool nonzero = cs != T(0);
                if (opt.fit_intercept) intercept += (0.0 + coef) * opt.intercept_decay;  // (column_sums')
                if constexpr (!dense) {  // (the loop below's choices for a sparse row)
                    if (l1) {
                        u += c.l1_ratio * eta * c.spec.alpha;
                        const auto b0 = X.indptr[i], e0 = X.indptr[i + 1];
                        if (nonzero && !dedupe) {  // a canonical row: the update and the step in one pass
                            detail::csr_row_add_l1_one<false, false>(X, i, W, Q, static_cast<T*>(nullptr), cs,
                                                                     T(0), scale, u, 0.0);
                        } else if (dedupe) {  // the row's distinct features
                            if (nonzero)
                                row_add(X, i, W, 1, &cs, static_cast<T*>(nullptr), static_cast<const T*>(nullptr),
                                        true);
                            distinct_features(rows, 1);
                            l1_step(W, Q, static_cast<T*>(nullptr), 1, 0, scale, u, 0.0, touched.data(),
                                    static_cast<std::int64_t>(touched.size()));
                        } else {
                            l1_step(W, Q, static_cast<T*>(nullptr), 1, 0, scale, u, 0.0, X.indices + b0,
                                    static_cast<std::int64_t>(e0 - b0));
                        }
                    } else if (nonzero) {
                        row_add(X, i, W, 1, &cs, static_cast<T*>(nullptr), static_cast<const T*>(nullptr), true);
                    }
                } else if (l1) {
                    u += c.l1_ratio * eta * c.spec.alpha;
                    if (nonzero) {  // the update and the step in one pass
                        if (rows512)
                            detail::avx512::row_add_l1_one8<T, false, false>(X.row(i), d, W, Q, nullptr, cs, T(0),
                                                                             scale, u, 0.0);
                        else
                            detail::row_add_l1_one<T, false, false>(X.row(i), d, W, Q, nullptr, cs, T(0), scale,
                                                                    u, 0.0);
                    } else if (rows512) {
                        detail::avx512::l1_step_one8<T, false>(W, Q, nullptr, d, scale, u, 0.0);
                    } else {
                        l1_step(W, Q, static_cast<T*>(nullptr), 1, 0, scale, u, 0.0,
                                static_cast<const std::int64_t*>(nullptr), d, true);
                    }
                } else if (nonzero) {
                    row_add(X, i, W, 1, &cs, static_cast<T*>(nullptr), static_cast<const T*>(nullptr), true);
                }
                t += 1.0;
            }
            keep();
            return true;
        });
    };
#else
    const bool solo = false;
    auto solo_epoch = []() { return true; };
#endif

    std::int64_t epochs_trained = 0, epochs_run = 0;
    bool paused = false;
    for (std::int64_t epoch = first_epoch; epoch < first_epoch + opt.max_iter && !paused; ++epoch) {
        ++epochs_run;
        bool any_active = false;
        for (auto& c : cols) any_active = any_active || c.active;
        if (!any_active) {
            // A resumable job's stream advances as if trained, so that any
            // split of its columns into chunks leaves the same stream behind.
            if (state == nullptr || !state->advance_stream) break;
            if (opt.shuffle) shuffle(order.data(), n_train, rng);
            continue;
        }
        ++epochs_trained;
        if (opt.shuffle) shuffle(order.data(), n_train, rng);
        for (auto& c : cols) c.sumloss = 0.0;
        all_active = true;
        for (const auto& c : cols) all_active = all_active && c.active;
        std::fill(col_sumloss.begin(), col_sumloss.end(), 0.0);
        // (col_t holds the columns' t where col_t_fresh, their states' t behind
        // until sync_t; a row that takes the loops over the columns' states
        // leaves it to be read again)
        bool col_t_fresh = false;
        auto sync_t = [&]() SGDTUNE_ALWAYS_INLINE {
            if (col_t_fresh)
                for (std::int64_t k = 0; k < K; ++k) cols[k].t = col_t[k];
        };
        next_ready = false;

        bool rows_done = false;
        if (solo) {  // (its one column trains: the epoch goes on)
            if (!solo_epoch()) diverge(cols[0], epoch);
            rows_done = true;
        }
        for (std::int64_t start = 0; start < n_train && !rows_done; start += b, ++batch_no) {
            if (stop.stop_requested()) throw Interrupted();
            if (may_poll && (batch_no & poll_mask) == 0) {
                stop.maybe_poll();
                if (stop.stop_requested()) throw Interrupted();
            }
            const std::int64_t bsz = std::min(b, n_train - start);
            const RowIndex* rows = order.data() + start;
            // (one_pass: this batch's update done with its forward pass)
            bool one_pass_now = false, one_pass_finite = true;
            // the next batch's rows lo <= q < hi asked for, into the second-level cache
            auto prefetch_next = [&](std::int64_t lo, std::int64_t hi) SGDTUNE_ALWAYS_INLINE {
                for (std::int64_t q = lo; q < hi; ++q)
                    if (start + q + pf < n_train) row_prefetch<true>(X, rows[q + pf]);
            };
            // a one-column block's step coefficients of rows lo <= r < hi over
            // the step's scale s, and which of them are zero (the
            // same divisions, over the rows in vectors: one row's division at
            // a time was a fifth of the trainer's own time in a one-column
            // epoch from memory)
            auto one_column_scaled = [&](std::int64_t lo, std::int64_t hi, double s) SGDTUNE_ALWAYS_INLINE {
                for (std::int64_t r = lo; r < hi; ++r) cs[r] = static_cast<T>(C[r] / s);
                for (std::int64_t r = lo; r < hi; ++r) skip[r] = cs[r] != T(0) ? 0 : 1;
            };

            // Forward pass: P[r, k] = W[:, k] . x_r, the stored weights (the
            // prediction, scale_k P + intercept_k, is taken in the coefficients).
            // A row's targets and prefetches of the rows ahead (a team's
            // members each take their own rows, and ask for the rows they take
            // in the next batch):
            auto row_start = [&](std::int64_t r, bool row_ahead = true) SGDTUNE_ALWAYS_INLINE {
                if (start + r + 2 * pf < n_train) row_prefetch_index(X, rows[r + 2 * pf]);
                if (start + r + pf < n_train) {
                    const std::int64_t ahead = rows[r + pf];
                    // (into the second-level cache, except a dense row at
                    // batch_size 1: see pf and far_rows above)
                    if (row_ahead) {
                        if (far_rows && start + r + 2 * pf < n_train) row_prefetch<true>(X, rows[r + 2 * pf]);
                        dense && !tiled ? row_prefetch(X, ahead) : row_prefetch<true>(X, ahead);
                    }
                    // a batch's targets, a batch ahead, into the second-level
                    // cache like its rows: in the first, the batch in use
                    // pushed them out before their turn (one column,
                    // 2,000,000 x 100 float32 at batch_size 256, with the
                    // divisions below: 60-68 -> 48-54 ms an epoch in order,
                    // 131-135 -> 119-125 shuffled)
                    if (tiled) {
                        prefetch<true>(td.y + ahead);
                        if (td.sample_weight) prefetch<true>(td.sample_weight + ahead);
                    } else {
                        prefetch(td.y + ahead);
                        if (td.sample_weight) prefetch(td.sample_weight + ahead);
                    }
                }
                const std::int64_t i = rows[r];
                targets[r] = td.y[i];
                weights[r] = td.sample_weight ? td.sample_weight[i] : 1.0;
                if (any_pa) sqnorms[r] = row_sqnorm(X, i);
            };
            if (members == 1) {
                for (std::int64_t r = 0; r < bsz; ++r) {
                    row_start(r, !tiled);  // (tiled: the rows ahead are asked for between the tiles below)
                    if (far_weights && start + r + detail::kPrefetchWeightRows < n_train)  // a row ahead: its weights
                        weights_prefetch(X, rows[r + detail::kPrefetchWeightRows], block.W.data(),
                                         block.Q.empty() ? nullptr : block.Q.data(),
                                         block.averaging ? block.Z.data() : nullptr, K);
                    if (!tiled) {
                        if (next_ready) {  // (taken with the last row's update)
                            next_ready = false;
                            continue;
                        }
#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
                        if (rows512 && K >= 8) {
                            if constexpr (dense)
                                detail::avx512::row_dot8(X, rows[r], block.W.data(), K, acc.data(), P.data() + r * K);
                            else
                                detail::avx512::csr_row_dot8(X, rows[r], block.W.data(), K, acc.data(),
                                                             P.data() + r * K);
                            continue;
                        }
#endif
                        row_dot(X, rows[r], block.W.data(), K, acc.data(), P.data() + r * K, avx2_body);
                    }
                }
            }
            if constexpr (dense) {
                if (tiled) {
                    transpose_weights(block.W.data(), WT.data(), d, K, false);
                    if (one_pass && cols[0].active) {
                        // (the step's scale, as the coefficients' loop below takes it)
                        ColumnState& c = cols[0];
                        const double eta = c.sched.eta(c.t);
                        const double s_new = has_l2(c.spec.penalty) ? c.l2_shrunk(block.scale[0], eta) : block.scale[0];
                        one_pass_now = !(s_new < detail::kRenormaliseBelow);
                        if (one_pass_now) {
                            etas[0] = eta;
                            const bool avg = block.averaging;
                            ascaled[0] = static_cast<T>(avg ? block.avg_a[0] : 0.0);
                            constexpr std::int64_t step = detail::kOnePassRows;
                            for (std::int64_t r = 0; r < bsz; r += step) {
                                const std::int64_t hi = std::min(bsz, r + step);
                                const std::int64_t mid = (r + hi) / 2;
                                prefetch_next(r, mid);
                                batch_dot(X, *last_rows, rows + r, hi - r, WT.data(), K, P.data() + r,
                                          xrows.data() + r, isa);
                                const bool fin = with_loss_isa(avx2_body, c.spec.loss, c.spec.epsilon,
                                                               [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
                                    return detail::column_coefficients(
                                        loss, c, eta, P.data() + r, block.scale[0], block.intercept[0], K,
                                        targets.data() + r, weights.data() + r,
                                        any_pa ? sqnorms.data() + r : nullptr, hi - r, bsz,
                                        C.data() + r, c.sumloss, nullptr, loss_sum);
                                });
                                one_pass_finite = one_pass_finite && fin;
                                // (the column diverges below: its weights are not read again)
                                if (!one_pass_finite) continue;
                                one_column_scaled(r, hi, s_new);
                                prefetch_next(mid, hi);
                                batch_add(X, xrows.data() + r, hi - r, skip.data() + r, block.W.data(),
                                          avg ? block.Z.data() : nullptr, K, cs.data() + r, ascaled.data(), 0, d,
                                          isa);
                            }
                            ++one_pass_count;
                        }
                    }
                    if (!one_pass_now && members == 1) {
                        // The next batch's rows asked for a few at a time between
                        // the dot products: all at once, the prefetches waited
                        // on each other (the memory system takes only so many
                        // misses at a time), a quarter of the trainer's own time
                        // at 24 columns, 100 features.
                        constexpr std::int64_t step = 8;
                        for (std::int64_t r = 0; r < bsz; r += step) {
                            const std::int64_t hi = std::min(bsz, r + step);
                            prefetch_next(r, hi);
                            batch_dot(X, *last_rows, rows + r, hi - r, WT.data(), K, P.data() + r * K,
                                      xrows.data() + r, isa, gather ? gather + r * padded(d) : nullptr);
                        }
                    } else if (!one_pass_now) {
                        // each member its rows' dot products and step coefficients
                        for (std::int64_t k = 0; k < K; ++k)
                            if (cols[k].active) etas[k] = cols[k].sched.eta(cols[k].t);
                        auto forward = [&](int m) SGDTUNE_ALWAYS_INLINE {
                            std::int64_t lo, hi;
                            team_share(bsz, members, m, 4, lo, hi);
                            for (std::int64_t r = lo; r < hi; ++r) row_start(r);
                            batch_dot(X, *last_rows, rows + lo, hi - lo, WT.data(), K, P.data() + lo * K,
                                      xrows.data() + lo, isa);
                            for (std::int64_t k = 0; k < K; ++k) {
                                const ColumnState& c = cols[k];
                                if (!c.active) continue;
                                double unused = 0.0;
                                team_finite[m * K + k] = with_loss_isa(
                                    avx2_body, c.spec.loss, c.spec.epsilon,
                                    [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
                                    return detail::column_coefficients(
                                        loss, c, etas[k], P.data() + lo * K + k, block.scale[k], block.intercept[k], K,
                                        targets.data() + lo, weights.data() + lo,
                                        any_pa ? sqnorms.data() + lo : nullptr, hi - lo, bsz, C.data() + lo * K + k,
                                        unused, row_losses ? row_loss.data() + lo * K + k : nullptr, loss_sum);
                                });
                            }
                        };
                        team->run(forward, avx2_body);
                    }
                }
            }

            // Per-column coefficients, rates and the L2 shrink.
            bool any_update = false, renormalised = false, fuse_update = false, add_after = false;
            // a row's update eight columns at a time, with the L1 step of
            // columns [lo, hi) (none where lo >= hi)
            [[maybe_unused]] auto add8 = [&](std::int64_t r, std::int64_t lo, std::int64_t hi) {
#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
                T* Q = lo < hi ? block.Q.data() : nullptr;
                if constexpr (dense) {
                    if (dot_with_update && start + 1 < n_train) {
                        detail::avx512::row_add_l1_dot8(X, rows[0], rows[1], block.W.data(), Q, K, cscaled.data(),
                                                        lo, hi, l1_s.data(), l1_inv_s.data(), l1_u.data(),
                                                        l1_on.data(), acc.data(), P.data());
                        next_ready = true;
                    } else {
                        detail::avx512::row_add_l1_8(X, rows[r], block.W.data(), Q, K, cscaled.data(), lo, hi,
                                                     l1_s.data(), l1_inv_s.data(), l1_u.data(), l1_on.data());
                    }
                }
                else
                    detail::avx512::csr_row_add8(X, rows[r], block.W.data(), Q, K, cscaled.data(), lo, hi,
                                                 l1_s.data(), l1_inv_s.data(), l1_u.data(), l1_on.data());
#endif
            };
            bool row_all_finite = true;  // (row_runs: every column's prediction)
            if (row_runs) {
                if (all_optimal) {
                    if (!col_t_fresh)
                        for (std::int64_t k = 0; k < K; ++k) col_t[k] = cols[k].active ? cols[k].t : 0.0;
                    const double *alpha = col_alpha.data(), *t0 = col_t0.data(), *t = col_t.data();
                    double* eta = etas.data();
                    for (std::int64_t k = 0; k < K; ++k) eta[k] = Schedule::optimal_eta(alpha[k], t0[k], t[k]);
                    if (!all_active)
                        for (std::int64_t k = 0; k < K; ++k)
                            if (!cols[k].active) eta[k] = 0.0;
                } else {
                    for (std::int64_t k = 0; k < K; ++k)
                        etas[k] = cols[k].active ? cols[k].sched.eta(cols[k].t) : 0.0;
                }
                const detail::RowColumns rc{P.data(),       block.scale.data(), block.intercept.data(),
                                            etas.data(),    col_tc.data(),      col_wpos.data(),
                                            col_wneg.data(), targets[0],        weights[0],
                                            C.data(),       row_finite.data(),
                                            loss_sum ? row_loss_values.data() : nullptr};
                for (const LossRun& run : loss_runs) {
#ifdef SGDTUNE_X86_DISPATCH
                    if (rows512 && run.k1 - run.k0 >= 8) {  // eight columns at a time
                        auto eights = [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
                            return detail::row_coefficients<detail::v8d>(loss, rc, run.k0, run.k1);
                        };
                        row_all_finite = detail::with_loss_avx512(run.kind, run.epsilon, eights) && row_all_finite;
                        continue;
                    }
#endif
                    row_all_finite = with_loss_isa(avx2_body, run.kind, run.epsilon,
                                                   [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
                        return detail::row_coefficients(loss, rc, run.k0, run.k1);
                    }) && row_all_finite;
                }
            }
            const bool row_fast = row_runs && all_optimal && all_active && !block.averaging && row_all_finite;
            if (row_fast) {  // (the loop below's numbers)
                double* __restrict sc = block.scale.data();
                const double *__restrict om = col_om.data(), *__restrict et = etas.data(),
                                         *__restrict al = col_alpha.data(), *__restrict l2 = col_l2m.data();
                int low = 0;
                for (std::int64_t k = 0; k < K; ++k) {  // ColumnState::l2_shrunk
                    const double f = 1.0 - om[k] * et[k] * al[k];
                    const double m = 0.0 < f ? f : 0.0;  // (std::max(0.0, f))
                    sc[k] = l2[k] != 0.0 ? sc[k] * m : sc[k];
                    low |= static_cast<int>(l2[k] != 0.0) & static_cast<int>(sc[k] < detail::kRenormaliseBelow);
                }
                if (loss_sum)
                    for (std::int64_t k = 0; k < K; ++k) col_sumloss[k] += row_loss_values[k];
                if (low != 0)
                    for (std::int64_t k = 0; k < K; ++k)
                        if (l2[k] != 0.0 && sc[k] < detail::kRenormaliseBelow) {
                            block.renormalise(k);
                            renormalised = true;
                        }
                any_update = true;
                ++row_fast_count;
            } else {
                sync_t();  // (the loops over the columns' states take their t)
                col_t_fresh = false;
            }
            // (a batch's coefficients, the columns' finiteness in row_finite
            // and their loss sums so far, with this batch's, in row_loss_values)
            const bool batch_now = batch_runs && members == 1 && !one_pass_now;
#if defined(SGDTUNE_HAVE_VECTORS)
            if (batch_now) {
                for (std::int64_t k = 0; k < K; ++k) etas[k] = cols[k].active ? cols[k].sched.eta(cols[k].t) : 0.0;
                std::fill(row_finite.begin(), row_finite.end(), static_cast<unsigned char>(1));
                if (loss_sum)
                    for (std::int64_t k = 0; k < K; ++k) row_loss_values[k] = cols[k].sumloss;
                const detail::RowColumns rc{P.data(),       block.scale.data(), block.intercept.data(),
                                            etas.data(),    col_tc.data(),      col_wpos.data(),
                                            col_wneg.data(), 0.0,               0.0,
                                            C.data(),       row_finite.data(),  nullptr};
                double* sums = loss_sum ? row_loss_values.data() : nullptr;
                for (const LossRun& run : loss_runs) {
#ifdef SGDTUNE_X86_DISPATCH
                    if (rows512) {  // eight columns at a time
                        auto eights = [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
                            return detail::batch_coefficients<detail::v8d>(loss, rc, targets.data(), weights.data(),
                                                                           bsz, K, run.k0, run.k1, sums);
                        };
                        detail::with_loss_avx512(run.kind, run.epsilon, eights);
                        continue;
                    }
#endif
                    with_loss_isa(avx2_body, run.kind, run.epsilon, [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
                        return detail::batch_coefficients<simd::v4d>(loss, rc, targets.data(), weights.data(), bsz,
                                                                     K, run.k0, run.k1, sums);
                    });
                }
            }
#endif
            for (std::int64_t k = 0; k < K && !row_fast; ++k) {
                ColumnState& c = cols[k];
                if (!c.active) {
                    for (std::int64_t r = 0; r < bsz; ++r) C[r * K + k] = 0.0;
                    continue;
                }
                bool finite = true;
                if (row_runs) {
                    finite = row_finite[k] != 0;
                    if (loss_sum) col_sumloss[k] += row_loss_values[k];
                } else if (one_pass_now) {
                    finite = one_pass_finite;  // (etas[0] and C taken with the forward pass)
                } else if (batch_now) {
                    finite = row_finite[k] != 0;
                    if (loss_sum) c.sumloss = row_loss_values[k];
                } else if (members == 1) {
                    etas[k] = c.sched.eta(c.t);
                    finite = with_loss_isa(avx2_body, c.spec.loss, c.spec.epsilon,
                                           [&](const auto& loss) SGDTUNE_ALWAYS_INLINE {
                        return detail::column_coefficients(loss, c, etas[k], P.data() + k, block.scale[k],
                                                           block.intercept[k], K, targets.data(), weights.data(),
                                                           sqnorms.data(), bsz, bsz, C.data() + k, c.sumloss,
                                                           nullptr, loss_sum);
                    });
                } else {  // the members' coefficients; their loss values summed here in row order
                    if (row_losses)
                        for (std::int64_t r = 0; r < bsz; ++r) c.sumloss += row_loss[r * K + k];
                    for (int m = 0; m < members; ++m) finite = finite && team_finite[m * K + k] != 0;
                }
                const double eta = etas[k];
                if (!finite) {
                    diverge(c, epoch);
                    for (std::int64_t r = 0; r < bsz; ++r) C[r * K + k] = 0.0;
                    continue;
                }
                if (has_l2(c.spec.penalty)) {
                    block.scale[k] = c.l2_shrunk(block.scale[k], eta);
                    if (block.scale[k] < detail::kRenormaliseBelow) {
                        block.renormalise(k);
                        renormalised = true;
                    }
                }
                any_update = true;
            }
            if (!any_update) continue;

            // W += x_r c_r / scale for each row; the averaged iterate is kept fixed.
            const bool avg_now = block.averaging;
            if (!row_fast)  // (without averaging they stay 0)
                for (std::int64_t k = 0; k < K; ++k)
                    ascaled[k] = static_cast<T>(avg_now && cols[k].active ? block.avg_a[k] : 0.0);
            if (one_pass_now) {
                // (done with the forward pass)
            } else if (tiled) {
                if constexpr (dense) {
                    const double* scale = block.scale.data();
                    if (K == 1) {
                        one_column_scaled(0, bsz, scale[0]);
                    } else {
                        for (std::int64_t r = 0; r < bsz; ++r) {
                            // two plain loops over the columns, so that both vectorise
                            const double* Cr = C.data() + r * K;
                            T* csr = cs.data() + r * K;
                            for (std::int64_t k = 0; k < K; ++k) csr[k] = static_cast<T>(Cr[k] / scale[k]);
                            int nonzero = 0;
                            for (std::int64_t k = 0; k < K; ++k) nonzero |= static_cast<int>(csr[k] != T(0));
                            skip[r] = nonzero ? 0 : 1;
                        }
                    }
                    // (a renormalised column has new weights since the forward pass)
                    if (renormalised) transpose_weights(block.W.data(), WT.data(), d, K, false);
                    if (avg_now) transpose_weights(block.Z.data(), ZT.data(), d, K, false);
                    auto update = [&](int m) SGDTUNE_ALWAYS_INLINE {
                        std::int64_t lo, hi;
                        team_share(d, members, m, feature_grain, lo, hi);
                        batch_add(X, xrows.data(), bsz, skip.data(), WT.data(), avg_now ? ZT.data() : nullptr, K,
                                  cs.data(), ascaled.data(), lo, hi, isa);
                        transpose_weights(block.W.data(), WT.data(), d, K, true, lo, hi);
                        if (avg_now) transpose_weights(block.Z.data(), ZT.data(), d, K, true, lo, hi);
                    };
                    if (members == 1)
                        update(0);
                    else
                        team->run(update, avx2_body);
                }
            } else {
                // A row into a one-column block with an L1 term takes its
                // update with the column's L1 step below, in one pass, unless
                // the column's average starts at this step (which zeroes its
                // store in between): a dense row with AVX2, a sparse one
                // whose features are distinct (a binary model over 200,000
                // x 50,000 CSR rows, 50 non-zeros a row, log loss with
                // elastic-net, on a Zen 4: 296-298 -> 255-261 ns a row in
                // order, 345-360 -> 318-336 shuffled).
                {
                    const ColumnState& c0 = cols[0];
                    fuse_update = K == 1 && bsz == 1 && c0.active && has_l1(c0.spec.penalty) &&
                                  !(block.averaging && c0.averaging_at(c0.t) && c0.average_step_at(c0.t) <= 1.0);
#if defined(SGDTUNE_HAVE_VECTORS)
                    if constexpr (dense) fuse_update = fuse_update && avx2_body;
#else
                    if constexpr (dense) fuse_update = false;
#endif
                    if constexpr (!dense) fuse_update = fuse_update && !dedupe;
                }
                // row by row, in one loop (the tiled path's two loops, shared
                // here, made a 3-class sparse fit 3-5% slower)
                for (std::int64_t r = 0; r < bsz; ++r) {
                    bool nonzero = false;
                    if (K >= 8) {  // two loops that vectorise (a division a column was 3% of a 24-column block's time)
                        for (std::int64_t k = 0; k < K; ++k)
                            cscaled[k] = static_cast<T>(C[r * K + k] / block.scale[k]);
                        int any = 0;
                        for (std::int64_t k = 0; k < K; ++k) any |= static_cast<int>(cscaled[k] != T(0));
                        nonzero = any != 0;
                    } else {
                        for (std::int64_t k = 0; k < K; ++k) {
                            cscaled[k] = static_cast<T>(C[r * K + k] / block.scale[k]);
                            nonzero = nonzero || cscaled[k] != T(0);
                        }
                    }
                    if (!nonzero)
                        fuse_update = false;  // no update: the L1 step alone
                    else if (!fuse_update) {
#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
                        if constexpr (dense) {
                            if (dense_fused_l1) {
                                add_after = true;  // with the L1 step below
                                continue;
                            }
                            if (rows512 && K >= 8) {
                                if (dot_with_update)  // (no L1 column: the update, with the next row's products)
                                    add8(r, K, 0);
                                else
                                    detail::avx512::row_add8(X, rows[r], block.W.data(), K, cscaled.data(),
                                                             avg_now ? block.Z.data() : nullptr, ascaled.data());
                                continue;
                            }
                        } else if (sparse_rows8) {
                            if (sparse_fused_l1)
                                add_after = true;  // with the L1 step below
                            else
                                add8(r, K, 0);
                            continue;
                        }
#endif
                        row_add(X, rows[r], block.W.data(), K, cscaled.data(), avg_now ? block.Z.data() : nullptr,
                                ascaled.data(), avx2_body);
                    }
                }
            }

            // Intercepts, averaging, L1, counters.
            if constexpr (!std::is_same_v<Data, DenseView<T>>) {
                // The features the L1 step visits: the batch's distinct non-zero
                // columns (a single row's own, when rows hold no duplicates).
                if (any_l1 && dedupe) {
                    distinct_features(rows, bsz);
                }
            }
            if (opt.fit_intercept && !row_fast) detail::column_sums(C.data(), bsz, K, isum.data());
            bool inv_s_ready = false;  // (l1_inv_s taken with the L1 parameters)
            if (row_fast) {  // (the loop below's numbers; fused_l1 holds, as K >= 4 with AVX2)
                double *__restrict ic = block.intercept.data(), *__restrict u = block.u.data();
                const double *__restrict sc = block.scale.data(), *__restrict et = etas.data(),
                                         *__restrict al = col_alpha.data(), *__restrict l1r = col_l1r.data(),
                                         *__restrict l1 = col_l1m.data(), *__restrict c0 = C.data();
                if (opt.fit_intercept) {
                    const double decay = opt.intercept_decay;
                    for (std::int64_t k = 0; k < K; ++k) ic[k] += (0.0 + c0[k]) * decay;  // (column_sums' sum)
                }
                if (l1_lo < l1_hi) {
                    double *__restrict ls = l1_s.data(), *__restrict lu = l1_u.data(), *__restrict lon = l1_on.data(),
                                       *__restrict linv = l1_inv_s.data();
                    for (std::int64_t k = l1_lo; k < l1_hi; ++k) {
                        const bool on = l1[k] != 0.0;
                        u[k] = on ? u[k] + l1r[k] * et[k] * al[k] : u[k];
                        ls[k] = on ? sc[k] : 1.0;
                        lu[k] = on ? u[k] : 0.0;
                        lon[k] = on ? 1.0 : 0.0;
                        linv[k] = 1.0 / ls[k];
                    }
                    any_l1_step = true;
                    inv_s_ready = true;
                }
                for (std::int64_t k = 0; k < K; ++k) col_t[k] += 1.0;
                col_t_fresh = true;  // (and the columns' own t behind it)
            }
            for (std::int64_t k = 0; k < K && !row_fast; ++k) {
                ColumnState& c = cols[k];
                if (!c.active) continue;
                if (opt.fit_intercept) block.intercept[k] += isum[k] * opt.intercept_decay;
                const bool avg_col = block.averaging && c.averaging_at(c.t);
                if (avg_col) block.average_step(k, c.average_step_at(c.t));
                if (has_l1(c.spec.penalty)) {
                    block.u[k] += c.l1_ratio * etas[k] * c.spec.alpha;
                    T* Zk = avg_col ? block.Z.data() : nullptr;
                    const double s = block.scale[k], u = block.u[k], a = avg_col ? block.avg_a[k] : 0.0;
                    // (a fused update and step: fused(the update keeps an
                    // averaged store, the step keeps the column's))
                    [[maybe_unused]] auto with_stores = [&](auto&& fused) SGDTUNE_ALWAYS_INLINE {
                        if (avg_now && avg_col)
                            fused(std::true_type{}, std::true_type{});
                        else if (avg_now)
                            fused(std::true_type{}, std::false_type{});
                        else
                            fused(std::false_type{}, std::false_type{});
                    };
                    if (fused_l1 || members > 1) {  // all columns in one pass below
                        l1_s[k] = s;  // (l1_inv_s below, all columns in one loop)
                        l1_u[k] = u;
                        l1_a[k] = a;
                        l1_on[k] = 1.0;
                        l1_avg[k] = avg_col ? 1.0 : 0.0;
                        any_l1_step = true;
                    } else if constexpr (std::is_same_v<Data, DenseView<T>>) {
#if defined(SGDTUNE_HAVE_VECTORS)
                        if (fuse_update) {  // the update and this step together
                            with_stores([&](auto upd_z, auto l1_z) SGDTUNE_ALWAYS_INLINE {
                                constexpr bool uz = decltype(upd_z)::value, lz = decltype(l1_z)::value;
#if defined(SGDTUNE_X86_DISPATCH)
                                if (rows512)
                                    return detail::avx512::row_add_l1_one8<T, uz, lz>(
                                        X.row(rows[0]), d, block.W.data(), block.Q.data(), block.Z.data(),
                                        cscaled[0], ascaled[0], s, u, a);
#endif
                                detail::row_add_l1_one<T, uz, lz>(X.row(rows[0]), d, block.W.data(), block.Q.data(),
                                                                  block.Z.data(), cscaled[0], ascaled[0], s, u, a);
                            });
                        } else
#endif
                        // one column at a time (contiguous when K == 1)
#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
                        if (rows512 && K == 1) {
                            if (Zk != nullptr)
                                detail::avx512::l1_step_one8<T, true>(block.W.data(), block.Q.data(), Zk, d, s, u, a);
                            else
                                detail::avx512::l1_step_one8<T, false>(block.W.data(), block.Q.data(), Zk, d, s, u,
                                                                       a);
                        } else
#endif
                        l1_step(block.W.data(), block.Q.data(), Zk, K, k, s, u, a,
                                static_cast<const std::int64_t*>(nullptr), d, avx2_body);
                    } else if (fuse_update) {  // a canonical sparse row: the update and this step together
                        with_stores([&](auto upd_z, auto l1_z) SGDTUNE_ALWAYS_INLINE {
                            detail::csr_row_add_l1_one<decltype(upd_z)::value, decltype(l1_z)::value>(
                                X, rows[0], block.W.data(), block.Q.data(), block.Z.data(), cscaled[0], ascaled[0],
                                s, u, a);
                        });
                    } else if (dedupe) {
                        l1_step(block.W.data(), block.Q.data(), Zk, K, k, s, u, a, touched.data(),
                                static_cast<std::int64_t>(touched.size()));
                    } else {  // one canonical row: its own column indices
                        const auto b0 = X.indptr[rows[0]], e0 = X.indptr[rows[0] + 1];
                        l1_step(block.W.data(), block.Q.data(), Zk, K, k, s, u, a, X.indices + b0,
                                static_cast<std::int64_t>(e0 - b0));
                    }
                }
                c.t += 1.0;
            }
            if (any_l1_step) {
                // (a loop that vectorises: its divisions one column at a time
                // took 2% of a 24-column block's time at batch_size 1; the
                // columns without a step keep s = 1)
                if (!inv_s_ready)
                    for (std::int64_t k = l1_lo; k < l1_hi; ++k) l1_inv_s[k] = 1.0 / l1_s[k];
                // (lambdas inlined: their vector code must be compiled for AVX2)
                auto pass = [&](auto averaging, const auto* features, std::int64_t n) SGDTUNE_ALWAYS_INLINE {
                    constexpr bool avg = decltype(averaging)::value;
#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
                    if (rows512 && l1_hi - l1_lo >= 8)
                        return detail::avx512::l1_step_block8<T, avg>(
                            block.W.data(), block.Q.data(), avg ? block.Z.data() : nullptr, features, n, K, l1_lo,
                            l1_hi, l1_s.data(), l1_inv_s.data(), l1_u.data(), l1_a.data(), l1_on.data(),
                            l1_avg.data());
#endif
                    l1_step_block<T, avg>(block.W.data(), block.Q.data(), avg ? block.Z.data() : nullptr, features,
                                          n, K, l1_lo, l1_hi, l1_s.data(), l1_inv_s.data(), l1_u.data(),
                                          l1_a.data(), l1_on.data(), l1_avg.data());
                };
                auto over = [&](const auto* features, std::int64_t n) SGDTUNE_ALWAYS_INLINE {
                    if (block.averaging)
                        pass(std::true_type{}, features, n);
                    else
                        pass(std::false_type{}, features, n);
                };
                if constexpr (std::is_same_v<Data, DenseView<T>>) {
                    if (add_after) {  // the row's update and this step in one pass
                        add8(0, l1_lo, l1_hi);
                        add_after = false;
                    } else if (members == 1) {
                        over(static_cast<const std::int64_t*>(nullptr), d);
                    } else {
                        // each member its features
                        auto l1 = [&](int m) SGDTUNE_ALWAYS_INLINE {
                            std::int64_t lo, hi;
                            team_share(d, members, m, feature_grain, lo, hi);
                            if (l1_on[0] != 0.0)
                                l1_step(block.W.data() + lo, block.Q.data() + lo,
                                        l1_avg[0] != 0.0 ? block.Z.data() + lo : nullptr, 1, 0, l1_s[0], l1_u[0],
                                        l1_a[0], static_cast<const std::int64_t*>(nullptr), hi - lo, avx2_body);
                        };
                        team->run(l1, avx2_body);
                    }
                } else if (dedupe) {  // the batch's distinct features
                    over(touched.data(), static_cast<std::int64_t>(touched.size()));
                } else if (add_after) {  // the row's update and this step in one pass
                    add8(0, l1_lo, l1_hi);
                    add_after = false;
                } else {  // one canonical row: its own column indices
                    const auto b0 = X.indptr[rows[0]], e0 = X.indptr[rows[0] + 1];
                    over(X.indices + b0, static_cast<std::int64_t>(e0 - b0));
                }
                // the next step's columns without it: s = 1, u = 0 leave them be
                std::fill(l1_on.begin(), l1_on.end(), 0.0);
                std::fill(l1_avg.begin(), l1_avg.end(), 0.0);
                std::fill(l1_s.begin(), l1_s.end(), 1.0);
                std::fill(l1_inv_s.begin(), l1_inv_s.end(), 1.0);
                std::fill(l1_u.begin(), l1_u.end(), 0.0);
                std::fill(l1_a.begin(), l1_a.end(), 0.0);
                any_l1_step = false;
            }
            if (add_after) add8(0, K, 0);  // (no column took an L1 step)
        }

        sync_t();
        if (row_runs)
            for (std::int64_t k = 0; k < K; ++k) cols[k].sumloss = col_sumloss[k];
        if (opt.count_progress) stop.epochs_done.fetch_add(1, std::memory_order_relaxed);

        // End of epoch: divergence check, stopping criterion.
        for (std::int64_t k = 0; k < K; ++k) {
            ColumnState& c = cols[k];
            if (!c.active) continue;
            c.result.n_iter = epoch + 1;
            c.result.t = c.t;
            block.fold_average(k);
            if (!block.column_finite(k)) {
                diverge(c, epoch);
                continue;
            }
            double sq = 0.0, l1 = 0.0;
            if (c.spec.penalty != PenaltyKind::none) {
                for (std::int64_t j = 0; j < d; ++j) {
                    const double w = block.weight(j, k);
                    sq += w * w;
                    l1 += std::fabs(w);
                }
            }
            const double objective = loss_sum
                                         ? c.sumloss / static_cast<double>(n_train) + detail::column_penalty(c, sq, l1)
                                         : std::numeric_limits<double>::quiet_NaN();
            c.result.objective = objective;
            bool improved;
            if (opt.early_stopping) {
                const double score = validation_score(k, pval);
                c.result.validation_score = score;
                improved = !(opt.use_tol && score < c.best_score + opt.tol);
                c.best_score = std::max(c.best_score, score);
            } else {
                improved = !(opt.use_tol && objective > c.best_objective - opt.tol);
                c.best_objective = std::min(c.best_objective, objective);
            }
            c.no_improvement = improved ? 0 : c.no_improvement + 1;
            if (c.no_improvement >= opt.n_iter_no_change) {
                if (c.spec.schedule == ScheduleKind::adaptive && c.sched.eta_adaptive > 1e-6) {
                    c.sched.eta_adaptive /= 5.0;
                    c.no_improvement = 0;
                } else {
                    c.active = false;
                }
            }
        }
        if ((opt.pause_at_live > 0 || opt.pause_when_waiting != nullptr) && state != nullptr &&
            epoch + 1 < first_epoch + opt.max_iter) {
            std::int64_t live = 0;
            for (const auto& c : cols) live += c.active ? 1 : 0;
            const bool share = live > 1 && opt.pause_when_waiting != nullptr &&
                               opt.pause_when_waiting->load(std::memory_order_relaxed) > 0;
            paused = live > 0 && (live <= opt.pause_at_live || share);
        }
    }
    // (a paused call's remaining epochs are counted by the call that trains them)
    if (!paused && opt.count_progress)
        stop.epochs_done.fetch_add(opt.max_iter - epochs_trained, std::memory_order_relaxed);
    if (paused && state->cols.empty()) {  // (a chunk's own state: sized at its first pause; paused implies a state)
        std::vector<bool> l1;
        for (const auto& spec : specs) l1.push_back(has_l1(spec.penalty));
        state->allocate(K, d, block.averaging, l1);
    }
    if (state != nullptr && !state->cols.empty()) {
        if (!state->advance_stream) {  // (a chunk's own state: a resumable job's is shared by its chunks)
            state->paused = paused;
            state->epochs_run = epochs_run;
        }
        for (std::int64_t k = 0; k < K; ++k) state->cols[static_cast<std::size_t>(idx[k])] = cols[k];
        state->transfer(block, idx, false);
        if (writes_stream) {
            state->next_rng = rng;
            state->next_order = std::move(order);  // not read below
        }
    }
    if (one_pass_count > 0) detail::one_pass_batches().fetch_add(one_pass_count, std::memory_order_relaxed);
    if (row_fast_count > 0) detail::rows_over_columns().fetch_add(row_fast_count, std::memory_order_relaxed);
    std::vector<ColumnResult> out(static_cast<std::size_t>(K));
    for (std::int64_t k = 0; k < K; ++k) {
        out[k] = cols[k].result;
        out[k].t = cols[k].t;
    }
    return out;
}

#ifdef SGDTUNE_X86_DISPATCH
template <class T, class Data>
__attribute__((target("avx2"))) std::vector<ColumnResult> train_block_avx2(
    const Data& X, const TrainData& td, Block<T>& block, const std::vector<ColumnSpec>& specs,
    const TrainOptions& opt, StopToken& stop, bool may_poll, JobState<T>* state, const std::int64_t* idx,
    bool writes_stream, int team_members, Isa isa) {
    return train_block_impl<T, Data>(X, td, block, specs, opt, stop, may_poll, state, idx, writes_stream,
                                     team_members, isa);
}
#endif

}  // namespace detail

// Trains every column of `block`, on the calling thread and, for dense
// mini-batches, `team_members` - 1 helper threads. Returns one result per
// column. Throws Interrupted when `stop` is requested. With `state`, the block
// holds columns idx[0..K) of a resumable job: a started state is resumed, and
// the state is updated at the end (see JobState); exactly one block of each
// call `writes_stream` (the shuffle stream the next call starts from).
template <class T, class Data>
std::vector<ColumnResult> train_block(const Data& X, const TrainData& td, Block<T>& block,
                                      const std::vector<ColumnSpec>& specs, const TrainOptions& opt,
                                      StopToken& stop, bool may_poll, JobState<T>* state,
                                      const std::int64_t* idx, bool writes_stream, int team_members = 1) {
#ifdef SGDTUNE_X86_DISPATCH
    const Isa isa = isa_level();  // (the mini-batch and row kernels have AVX-512 builds of their own)
    if (isa != Isa::baseline)
        return detail::train_block_avx2<T, Data>(X, td, block, specs, opt, stop, may_poll, state, idx,
                                                 writes_stream, team_members, isa);
#endif
    return detail::train_block_impl<T, Data>(X, td, block, specs, opt, stop, may_poll, state, idx, writes_stream,
                                             team_members, Isa::baseline);
}

}  // namespace sgdtune
