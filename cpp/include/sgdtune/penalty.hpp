// Regularisation terms: alpha * ((1 - l1_ratio) / 2 * ||w||^2 + l1_ratio * ||w||_1).
//
// The L2 part is applied as a multiplicative shrink of the column's scale
// (w = scale * v), so it costs O(1) a step whatever the number of features. The
// L1 part uses the cumulative penalty of Tsuruoka, Tsujii and Ananiadou (2009),
// "Stochastic gradient descent training for L1-regularized log-linear models with
// cumulative penalty": each weight receives at most the total penalty it could
// have received so far, and is clipped at zero instead of crossing it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "simd.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sgdtune {

enum class PenaltyKind : int { none = 0, l2, l1, elasticnet };

// The l1 share of the penalty, as the trainer uses it.
inline double effective_l1_ratio(PenaltyKind p, double l1_ratio) {
    switch (p) {
        case PenaltyKind::none: return 0.0;
        case PenaltyKind::l2: return 0.0;
        case PenaltyKind::l1: return 1.0;
        case PenaltyKind::elasticnet: return l1_ratio;
    }
    return 0.0;
}

inline bool has_l2(PenaltyKind p) { return p == PenaltyKind::l2 || p == PenaltyKind::elasticnet; }
inline bool has_l1(PenaltyKind p) { return p == PenaltyKind::l1 || p == PenaltyKind::elasticnet; }

// The cumulative-penalty step of one weight W[q] of a column with scale s (true
// weight s * W[q]). With Z (the averaged iterate's store) it keeps the average
// unchanged, as the trainer's row updates do. Computed in double whatever T is;
// written as selects, so that a contiguous loop of it vectorises.
template <class T, bool Averaging>
inline void l1_weight(T* W, T* Q, T* Z, std::int64_t q, double s, double inv_s, double u, double a) {
    const double v = static_cast<double>(W[q]);
    const double w = s * v;
    const double qv = static_cast<double>(Q[q]);
    const double pos = std::max(0.0, w - (u + qv));
    const double neg = std::min(0.0, w + (u - qv));
    const double nw = w > 0.0 ? pos : (w < 0.0 ? neg : 0.0);
    Q[q] = static_cast<T>(qv + (nw - w));
    const T nv = static_cast<T>(nw * inv_s);
    if constexpr (Averaging) Z[q] -= static_cast<T>(a * (static_cast<double>(nv) - v));
    W[q] = nv;
}

#if defined(__SSE2__)
// The same step for one weight at a time (the sparse, indexed loop, which does
// not vectorise): written with SSE2 min/max and masks, because compilers turn
// std::max and ?: on scalars into jumps, and the signs here are unpredictable.
// It returns exactly the values l1_weight does.
template <class T, bool Averaging>
inline void l1_weight_scalar(T* W, T* Q, T* Z, std::int64_t q, double s, double inv_s, double u, double a) {
    const double v = static_cast<double>(W[q]);
    const double qv = static_cast<double>(Q[q]);
    const __m128d zero = _mm_setzero_pd();
    const __m128d w = _mm_set_sd(s * v);
    const __m128d pos = _mm_max_sd(_mm_sub_sd(w, _mm_set_sd(u + qv)), zero);
    const __m128d neg = _mm_min_sd(_mm_add_sd(w, _mm_set_sd(u - qv)), zero);
    const __m128d nw_v = _mm_or_pd(_mm_and_pd(_mm_cmpgt_sd(w, zero), pos), _mm_and_pd(_mm_cmplt_sd(w, zero), neg));
    const double nw = _mm_cvtsd_f64(nw_v);
    Q[q] = static_cast<T>(qv + (nw - _mm_cvtsd_f64(w)));
    const T nv = static_cast<T>(nw * inv_s);
    if constexpr (Averaging) Z[q] -= static_cast<T>(a * (static_cast<double>(nv) - v));
    W[q] = nv;
}
#else
template <class T, bool Averaging>
inline void l1_weight_scalar(T* W, T* Q, T* Z, std::int64_t q, double s, double inv_s, double u, double a) {
    l1_weight<T, Averaging>(W, Q, Z, q, s, inv_s, u, a);
}
#endif

#if defined(SGDTUNE_HAVE_VECTORS)
namespace detail {
// l1_weight's step for four weights old_w (in a register) with their Q
// entries at q_p and averaged store z, under per-lane parameters: returns
// the new weights and updates z; `take` and `tz` select the lanes whose
// weight (and averaged store) change, unless every lane does (!Masked: the
// new values are taken as they are, with no round trip through double).
// MaskedQ: the Q entries of the lanes not taken are left as they are too.
template <class T, bool Averaging, bool Masked = true, bool MaskedQ = false>
SGDTUNE_ALWAYS_INLINE inline simd::v4<T> l1_four_values(simd::v4<T> old_w, T* q_p, simd::v4<T>& z, simd::v4d vs,
                                                        simd::v4d vinv, simd::v4d vu, simd::v4d va, simd::v4l take,
                                                        simd::v4l tz) {
    using simd::v4d;
    const v4d zero = simd::splat(0.0);
    const v4d v = simd::widen<T>(old_w);
    const v4d w = vs * v;
    const simd::v4<T> old_q = simd::load(q_p);
    const v4d qv = simd::widen<T>(old_q);
    // l1_weight's new weight, w > 0 ? max(0, w - (u + q)) : w < 0 ?
    // min(0, w + (u - q)) : +0 (NaN too), bit for bit with fewer operations:
    // with m = sign(w) applied by flipping sign bits, both branches are
    // m max(0, |w| - (u + m q)); u + (-q) is u - q exactly, and |w| - (u - q)
    // is -(w + (u - q)) exactly (rounding to nearest is symmetric), so the
    // weight and the Q step that follows from it are unchanged (checked
    // against the two-branch form on 32 million lanes, zeros, NaN, infinities
    // and |q| beyond u among them). Two additions instead of four and no sum
    // of the branches: the additions were where the step waited. A
    // 24-configuration grid's 24-column block (16 columns with L1) at
    // batch_size 1, 50,000 x 100 float64, one thread: 82.4-84.7 -> 71.0-72.4
    // ms an epoch with these four-column vectors (AVX2), 62.5-64.9 ->
    // 60.6-62.1 with rows512.hpp's eight. (A cast between vectors of one
    // size reinterprets the bits.)
    using simd::v4l;
    const v4l sign = v4l{} + std::numeric_limits<long long>::min(), wb = (v4l)w, sw = wb & sign;
    const v4d t = vu + (v4d)((v4l)qv ^ sw);  // u + q, or u - q where w < 0
    const v4d c = (v4d)(wb ^ sw) - t;       // w - (u + q), or -(w + (u - q))
    const v4d nw = (v4d)(((c > zero) & (w != zero)) & ((v4l)c ^ sw));
    const simd::v4<T> nv = simd::narrow<T>(nw * vinv);
    const simd::v4<T> nq = simd::narrow<T>(qv + (nw - w));
    if constexpr (MaskedQ)
        simd::store(q_p, simd::select<T>(take, nq, old_q));
    else
        simd::store(q_p, nq);
    if constexpr (Averaging) {
        const simd::v4<T> nz = z - simd::narrow<T>(va * (simd::widen<T>(nv) - v));
        if constexpr (Masked)
            z = simd::select<T>(tz, nz, z);
        else
            z = nz;
    }
    if constexpr (Masked)
        return simd::select<T>(take, nv, old_w);
    else
        return nv;
}

// The same for four weights in memory at w_p (and z_p).
template <class T, bool Averaging, bool Masked = true, bool MaskedQ = false>
SGDTUNE_ALWAYS_INLINE inline void l1_four(T* w_p, T* q_p, T* z_p, simd::v4d vs, simd::v4d vinv, simd::v4d vu,
                                          simd::v4d va, simd::v4l take, simd::v4l tz) {
    simd::v4<T> z{};
    if constexpr (Averaging) z = simd::load(z_p);
    const simd::v4<T> nw =
        l1_four_values<T, Averaging, Masked, MaskedQ>(simd::load(w_p), q_p, z, vs, vinv, vu, va, take, tz);
    if constexpr (Averaging) simd::store(z_p, z);
    simd::store(w_p, nw);
}
}  // namespace detail
#endif

// The step over features features[0..n) of column k (features 0..n when
// `features` is null: dense rows; for a one-column block that loop is
// contiguous, and takes four features at a time when `wide`, see isa.hpp).
template <class T, class Idx>
SGDTUNE_ALWAYS_INLINE  // into the trainer's body, compiled for its instruction set
inline void l1_step(T* W, T* Q, T* Z, std::int64_t K, std::int64_t k, double s, double u, double a,
                    const Idx* features, std::int64_t n, bool wide = false) {
    const double inv_s = 1.0 / s;
    auto run = [&](auto averaging) SGDTUNE_ALWAYS_INLINE {
        constexpr bool avg = decltype(averaging)::value;
        if (features == nullptr) {
            std::int64_t j = 0;
#if defined(SGDTUNE_HAVE_VECTORS)
            if (wide && K == 1) {  // contiguous: four features at a time
                const simd::v4l all = {-1, -1, -1, -1};
                for (; j + 4 <= n; j += 4)
                    detail::l1_four<T, avg, false>(W + j, Q + j, avg ? Z + j : nullptr, simd::splat(s),
                                                   simd::splat(inv_s), simd::splat(u), simd::splat(a), all, all);
            }
#endif
            for (; j < n; ++j) l1_weight<T, avg>(W, Q, Z, j * K + k, s, inv_s, u, a);
        } else {
            for (std::int64_t f = 0; f < n; ++f) {
                const std::int64_t q = static_cast<std::int64_t>(features[f]) * K + k;
                // no branch on W[q] == 0 (a zero weight stays zero and keeps its
                // q anyway): with L1 about half the weights are zero, and the
                // mispredicted branch cost more than the load of Q it saved
                l1_weight_scalar<T, avg>(W, Q, Z, q, s, inv_s, u, a);
            }
        }
    };
    if (Z)
        run(std::true_type{});
    else
        run(std::false_type{});
}

// The step of l1_step for every column of a block at once, over the rows
// features[0..n) of W (d x K, row-major; all n rows when features is null: a
// dense block), so that the columns [k_begin, k_end) of a row are contiguous
// and vectorise (with AVX2; the build uses -fno-trapping-math so that
// l1_four's selects become blends, which changes no value); columns
// outside that range are not visited. Column k takes part when
// on[k] != 0, with scale s[k], total penalty u[k] and, where avg[k] != 0, the
// averaged store updated with a[k]. The weights and averaged store of the
// other columns are left exactly as they are; within a group of four their Q
// entries are rewritten, and keep their value when the caller passes s = 1,
// u = 0 for them and they have no L1 term (their Q is zero and stays zero).
// Each weight gets the arithmetic of l1_weight, so every column ends as
// column-by-column l1_step calls leave it.
//
// Four columns at a time where it can: each group of four keeps its
// parameters in registers while it walks down the rows of W, so the work per
// row is a few vector operations with no loop set-up; the one to three
// columns left over go as a group of four too where the rows allow (see
// below), else take l1_weight one by one. The trainer calls it only inside
// its AVX2 entry point (see isa.hpp).
template <class T, bool Averaging, class Idx>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void l1_step_block(T* __restrict W, T* __restrict Q, T* __restrict Z, const Idx* features, std::int64_t n,
                          std::int64_t K, std::int64_t k_begin, std::int64_t k_end, const double* __restrict s,
                          const double* __restrict inv_s, const double* __restrict u, const double* __restrict a,
                          const double* __restrict on, const double* __restrict avg) {
    // the rows of W visited: features[0..n), or all n when features is null
    auto row = [features](std::int64_t f) SGDTUNE_ALWAYS_INLINE {
        return features ? static_cast<std::int64_t>(features[f]) : f;
    };
    std::int64_t k0 = k_begin;
#if defined(SGDTUNE_HAVE_VECTORS)
    using simd::v4d;
    using simd::v4l;
    // columns g0..g0+3 (within the row), those in [lo, k_end) with on[k] != 0 taken
    auto group = [&](std::int64_t g0, std::int64_t lo, auto masked_q) SGDTUNE_ALWAYS_INLINE {
        const v4d vs = simd::load(s + g0), vinv = simd::load(inv_s + g0), vu = simd::load(u + g0);
        const v4d zero = simd::splat(0.0);
        v4l take = simd::load(on + g0) != zero;
        if constexpr (decltype(masked_q)::value)
            for (int i = 0; i < 4; ++i)
                if (g0 + i < lo || g0 + i >= k_end) take[i] = 0;
        [[maybe_unused]] v4d va = zero;
        [[maybe_unused]] v4l tz = take;
        if constexpr (Averaging) {
            va = simd::load(a + g0);
            tz = take & (simd::load(avg + g0) != zero);
        }
        for (std::int64_t f = 0; f < n; ++f) {
            const std::int64_t q = row(f) * K + g0;
            detail::l1_four<T, Averaging, true, decltype(masked_q)::value>(
                W + q, Q + q, Averaging ? Z + q : nullptr, vs, vinv, vu, va, take, tz);
        }
    };
    for (; k0 + 4 <= k_end; k0 += 4) group(k0, k0, std::false_type{});
    // One to three columns left. They used to go one weight at a time (the
    // loop at the end), where a halving search's few surviving L1 columns
    // spent most of their time. In a row of four columns or more: a group of
    // the last four columns of [0, k_end) (or the first four of the row), its
    // other columns' weights, Q entries and averaged stores written back
    // unchanged.
    if (k0 < k_end && K >= 4) {
        group(std::max<std::int64_t>(0, k_end - 4), k0, std::true_type{});
        return;
    }
    // In a row of two or three (dense rows, all of them): the rows as one
    // array of n K weights, four at a time, element e being column e % K, so
    // that lane i of the v-th vector of every run of K vectors is column
    // (4 v + i) % K (the columns outside [k0, k_end) and those without a step
    // written back unchanged); the last elements, fewer than 4 K, go one by
    // one. (Groups of four from each row's first column, reaching into the
    // next row, ran at half the speed of the loop at the end: each vector's
    // load waited on the store of the one before, which it overlapped.)
    if (k0 < k_end && (K == 2 || K == 3) && features == nullptr) {
        v4d vs[3], vinv[3], vu[3], va[3];
        v4l take[3], tz[3];
        for (int v = 0; v < K; ++v)
            for (int i = 0; i < 4; ++i) {
                const auto c = static_cast<std::int64_t>((4 * v + i) % K);
                const bool on_c = c >= k0 && c < k_end && on[c] != 0.0;
                vs[v][i] = s[c];
                vinv[v][i] = inv_s[c];
                vu[v][i] = u[c];
                va[v][i] = Averaging ? a[c] : 0.0;
                take[v][i] = on_c ? -1 : 0;
                tz[v][i] = on_c && Averaging && avg[c] != 0.0 ? -1 : 0;
            }
        const std::int64_t total = n * K, run = 4 * K;
        std::int64_t e = 0;
        for (; e + run <= total; e += run)
            for (int v = 0; v < K; ++v) {
                const std::int64_t q = e + 4 * v;
                detail::l1_four<T, Averaging, true, true>(W + q, Q + q, Averaging ? Z + q : nullptr, vs[v], vinv[v],
                                                          vu[v], va[v], take[v], tz[v]);
            }
        for (; e < total; ++e) {
            const std::int64_t c = e % K;
            if (c < k0 || c >= k_end || on[c] == 0.0) continue;
            if (Averaging && avg[c] != 0.0)
                l1_weight_scalar<T, true>(W, Q, Z, e, s[c], inv_s[c], u[c], a[c]);
            else
                l1_weight_scalar<T, false>(W, Q, Z, e, s[c], inv_s[c], u[c], a[c]);
        }
        return;
    }
#endif
    if (k0 == k_end) return;
    // the columns left over, one by one (l1_weight's arithmetic, branch-free)
    for (std::int64_t f = 0; f < n; ++f) {
        const std::int64_t off = row(f) * K;
        for (std::int64_t k = k0; k < k_end; ++k) {
            if (on[k] == 0.0) continue;
            if (Averaging && avg[k] != 0.0)
                l1_weight_scalar<T, true>(W, Q, Z, off + k, s[k], inv_s[k], u[k], a[k]);
            else
                l1_weight_scalar<T, false>(W, Q, Z, off + k, s[k], inv_s[k], u[k], a[k]);
        }
    }
}

}  // namespace sgdtune
