// AVX-512 builds of the dense row-by-row kernels (batch_size 1): eight columns
// of a block at a time in the forward pass, the update and the L1 step, and
// eight features at a time in a one-column block's L1 step (with its update
// or alone).
// Each lane's arithmetic is that of the four-column code (dataset.hpp,
// penalty.hpp, trainer.hpp's row_add_l1_one), so the numbers are the same at
// every instruction-set level; the columns or features left over go to that
// code. Compiled in a pragma region (as batch.hpp's AVX-512 tiles are), and
// called from the AVX2 trainer only where the CPU has AVX-512 (isa.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "dataset.hpp"
#include "isa.hpp"
#include "penalty.hpp"
#include "simd.hpp"

#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
SGDTUNE_AVX512_BEGIN
namespace sgdtune::detail::avx512 {

// Eight doubles, eight T, eight 64-bit masks.
using v8d = double __attribute__((vector_size(64)));
using v8f = float __attribute__((vector_size(32)));
using v8l = long long __attribute__((vector_size(64)));
template <class T>
using v8 = std::conditional_t<std::is_same_v<T, double>, v8d, v8f>;

template <class T>
SGDTUNE_ALWAYS_INLINE inline v8<T> load8(const T* p) {
    v8<T> v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
template <class T>
SGDTUNE_ALWAYS_INLINE inline void store8(T* p, v8<T> v) {
    std::memcpy(p, &v, sizeof(v));
}
// (lane 0 shuffled into every lane: one broadcast, see batch.hpp's vsplat)
template <class T>
SGDTUNE_ALWAYS_INLINE inline v8<T> splat8(T x) {
    const v8<T> first = {x};
    return __builtin_shufflevector(first, first, 0, 0, 0, 0, 0, 0, 0, 0);
}
// Eight T widened to double, and eight doubles rounded to T: one conversion
// each. (GCC 12 split __builtin_convertvector's widening into halves; with
// one conversion, 24 float32 L1 columns at batch_size 1 on a Zen 4 took
// 1458-1463 ns a row instead of 1707-1749. Written element by element, GCC
// folded a widening of a rounding into nothing, which changed the numbers
// of averaged float32 columns. The masked forms, all lanes taken, leave no
// lane undefined, which GCC 12 warned of in the plain ones.)
template <class T>
SGDTUNE_ALWAYS_INLINE inline v8d widen8(v8<T> v) {
    if constexpr (std::is_same_v<T, double>)
        return v;
    else
        return (v8d)_mm512_maskz_cvtps_pd(0xff, (__m256)v);
}
template <class T>
SGDTUNE_ALWAYS_INLINE inline v8<T> narrow8(v8d v) {
    if constexpr (std::is_same_v<T, double>)
        return v;
    else
        return (v8f)_mm512_maskz_cvtpd_ps(0xff, (__m512d)v);
}
// Lane i of a where mask lane i is all ones, else of b.
template <class T>
SGDTUNE_ALWAYS_INLINE inline v8<T> select8(v8l mask, v8<T> a, v8<T> b) {
    if constexpr (std::is_same_v<T, double>) {
        return mask ? a : b;
    } else {
        using v8i = int __attribute__((vector_size(32)));
        return __builtin_convertvector(mask, v8i) ? a : b;
    }
}

// out[k] for the columns k0 <= k < k0 + 8 (the four-column code's lanes, sums and order).
template <class T>
SGDTUNE_ALWAYS_INLINE inline void dot8(const T* x, std::int64_t d, const T* w, std::int64_t K, double* out) {
    v8<T> l[kLanes] = {};
    std::int64_t j = 0;
    for (; j + kLanes <= d; j += kLanes)
        for (int q = 0; q < kLanes; ++q) l[q] += splat8(x[j + q]) * load8(w + (j + q) * K);
    for (int q = 0; q < kLanes; ++q)  // the last d % kLanes features, lane q taking j + q
        if (j + q < d) l[q] += splat8(x[j + q]) * load8(w + (j + q) * K);
    const v8<T> r = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (int q = 0; q < 8; ++q) out[q] = static_cast<double>(r[q]);
}

// row_dot of a dense row: the columns in eights, the rest by row_dot.
template <class T>
__attribute__((noinline)) void row_dot8(const DenseView<T>& X, std::int64_t i, const T* W, std::int64_t K, T* acc,
                                        double* out) {
    const T* x = X.row(i);
    std::int64_t k0 = 0;
    for (; k0 + 8 <= K; k0 += 8) dot8(x, X.d, W + k0, K, out + k0);
    if (k0 < K) row_dot(X, i, W, K, acc, out, true, k0);
}

// row_add of a dense row: the columns in eights, the rest by row_add.
template <class T>
__attribute__((noinline)) void row_add8(const DenseView<T>& X, std::int64_t i, T* W, std::int64_t K, const T* c,
                                        T* Z, const T* a) {
    const T* x = X.row(i);
    const std::int64_t d = X.d;
    std::int64_t k0 = 0;
    for (; k0 + 8 <= K; k0 += 8) {
        const v8<T> vc = load8(c + k0);
        if (Z == nullptr) {
            for (std::int64_t j = 0; j < d; ++j) {
                T* w = W + j * K + k0;
                store8(w, load8(w) + vc * splat8(x[j]));
            }
        } else {
            const v8<T> va = load8(a + k0);
            for (std::int64_t j = 0; j < d; ++j) {
                T* w = W + j * K + k0;
                T* z = Z + j * K + k0;
                const v8<T> delta = vc * splat8(x[j]);
                store8(w, load8(w) + delta);
                store8(z, load8(z) - va * delta);
            }
        }
    }
    if (k0 < K) row_add(X, i, W, K, c, Z, a, true, k0);
}

// l1_four_values (penalty.hpp) for eight weights. Scaled = false: every
// lane's scale is 1 (a column without an L2 term), whose products with it
// are left out (x * 1 is x, so the numbers are the same).
template <class T, bool Averaging, bool Masked, bool MaskedQ = false, bool Scaled = true>
SGDTUNE_ALWAYS_INLINE inline v8<T> l1_eight_values(v8<T> old_w, T* q_p, v8<T>& z, v8d vs, v8d vinv, v8d vu, v8d va,
                                                   v8l take, v8l tz) {
    const v8d zero = {};
    const v8d v = widen8<T>(old_w);
    const v8d w = Scaled ? vs * v : v;
    const v8<T> old_q = load8(q_p);
    const v8d qv = widen8<T>(old_q);
    // (a cast between vectors of one size reinterprets the bits)
    const v8l sign = v8l{} + std::numeric_limits<long long>::min(), wb = (v8l)w, sw = wb & sign;
    const v8d t = vu + (v8d)((v8l)qv ^ sw);  // u + q, or u - q where w < 0
    const v8d c = (v8d)(wb ^ sw) - t;       // w - (u + q), or -(w + (u - q))
    const v8d nw = (v8d)(((c > zero) & (w != zero)) & ((v8l)c ^ sw));
    const v8<T> nv = narrow8<T>(Scaled ? nw * vinv : nw);
    const v8<T> nq = narrow8<T>(qv + (nw - w));
    if constexpr (MaskedQ)
        store8(q_p, select8<T>(take, nq, old_q));
    else
        store8(q_p, nq);
    if constexpr (Averaging) {
        const v8<T> nz = z - narrow8<T>(va * (widen8<T>(nv) - v));
        if constexpr (Masked)
            z = select8<T>(tz, nz, z);
        else
            z = nz;
    }
    if constexpr (Masked)
        return select8<T>(take, nv, old_w);
    else
        return nv;
}

// row_dot of a sparse row: the columns in eights (each column's products
// summed in the row's order, as row_dot's four-column lanes), the rest by row_dot.
template <class T, class I>
__attribute__((noinline)) void csr_row_dot8(const CsrView<T, I>& X, std::int64_t i, const T* W, std::int64_t K,
                                            T* acc, double* out) {
    const auto b = static_cast<std::int64_t>(X.indptr[i]), e = static_cast<std::int64_t>(X.indptr[i + 1]);
    std::int64_t k0 = 0;
    for (; k0 + 8 <= K; k0 += 8) {
        v8<T> sum = {};
        for (std::int64_t p = b; p < e; ++p)
            sum += splat8(X.data[p]) * load8(W + static_cast<std::int64_t>(X.indices[p]) * K + k0);
        for (int q = 0; q < 8; ++q) out[k0 + q] = static_cast<double>(sum[q]);
    }
    if (k0 < K) row_dot(X, i, W, K, acc, out, true, k0);
}

// The lanes of columns k0..k0+7 that take an L1 step: on[k] != 0 and l1_lo <= k < l1_hi.
SGDTUNE_ALWAYS_INLINE inline v8l l1_take8(const double* on, std::int64_t k0, std::int64_t l1_lo,
                                          std::int64_t l1_hi) {
    v8l take = load8(on + k0) != v8d{};
    for (int q = 0; q < 8; ++q)
        if (k0 + q < l1_lo || k0 + q >= l1_hi) take[q] = 0;
    return take;
}

// Whether all eight scales are 1 (columns without an L2 term, or lanes
// without an L1 step): the L1 step then leaves out its products with them.
SGDTUNE_ALWAYS_INLINE inline bool unit_scales(v8d vs) {
    const v8l one = vs == v8d{} + 1.0;
    for (int q = 0; q < 8; ++q)
        if (one[q] == 0) return false;
    return true;
}

// A row's update into a block without averaging, the columns in eights, with
// the L1 step of the columns in [l1_lo, l1_hi) with on[k] != 0 on the row's
// features in the same pass (l1_step_block's numbers: each weight takes its
// update, then its step, as when the two passes go one after the other; the Q
// entries of the other columns are written back unchanged). l1_lo >= l1_hi:
// the update alone. `each(f)` calls f(j, x_j, lane) for the row's features,
// which must be distinct; each eight's new weights at feature j go to
// seen(j, lane, w) once stored, and after(k0) follows the eight k0..k0+7.
// Returns the first column left (K % 8 of them) for the four-column code.
template <class T, class Each, class Seen, class After>
SGDTUNE_ALWAYS_INLINE inline std::int64_t add_l1_eights(const Each& each, T* W, T* Q, std::int64_t K, const T* c,
                                                        std::int64_t l1_lo, std::int64_t l1_hi, const double* s,
                                                        const double* inv_s, const double* u, const double* on,
                                                        const Seen& seen, const After& after) {
    std::int64_t k0 = 0;
    for (; k0 + 8 <= K; k0 += 8) {
        const v8<T> vc = load8(c + k0);
        if (k0 + 8 <= l1_lo || k0 >= l1_hi) {  // no L1 step among these eight columns
            each([&](std::int64_t j, T xj, int lane) SGDTUNE_ALWAYS_INLINE {
                T* w = W + j * K + k0;
                const v8<T> nw = load8(w) + vc * splat8(xj);
                store8(w, nw);
                seen(j, lane, nw);
            });
        } else {
            const v8d vs = load8(s + k0), vinv = load8(inv_s + k0), vu = load8(u + k0), zero = {};
            const v8l take = l1_take8(on, k0, l1_lo, l1_hi);
            auto pass = [&](auto scaled) SGDTUNE_ALWAYS_INLINE {
                each([&](std::int64_t j, T xj, int lane) SGDTUNE_ALWAYS_INLINE {
                    const std::int64_t off = j * K + k0;
                    v8<T> z{};
                    const v8<T> nw = l1_eight_values<T, false, true, true, decltype(scaled)::value>(
                        load8(W + off) + vc * splat8(xj), Q + off, z, vs, vinv, vu, zero, take, take);
                    store8(W + off, nw);
                    seen(j, lane, nw);
                });
            };
            if (unit_scales(vs))
                pass(std::false_type{});
            else
                pass(std::true_type{});
        }
        after(k0);
    }
    return k0;
}
template <class T, class Each>
SGDTUNE_ALWAYS_INLINE inline std::int64_t add_l1_eights(const Each& each, T* W, T* Q, std::int64_t K, const T* c,
                                                        std::int64_t l1_lo, std::int64_t l1_hi, const double* s,
                                                        const double* inv_s, const double* u, const double* on) {
    return add_l1_eights(each, W, Q, K, c, l1_lo, l1_hi, s, inv_s, u, on,
                         [](std::int64_t, int, v8<T>) SGDTUNE_ALWAYS_INLINE {},
                         [](std::int64_t) SGDTUNE_ALWAYS_INLINE {});
}

// add_l1_eights for a sparse row (distinct features), the rest by row_add and l1_step_block.
template <class T, class I>
__attribute__((noinline)) void csr_row_add8(const CsrView<T, I>& X, std::int64_t i, T* W, T* Q, std::int64_t K,
                                            const T* c, std::int64_t l1_lo, std::int64_t l1_hi,
                                            const double* s, const double* inv_s, const double* u,
                                            const double* on) {
    const auto b = static_cast<std::int64_t>(X.indptr[i]), e = static_cast<std::int64_t>(X.indptr[i + 1]);
    auto each = [&](auto&& f) SGDTUNE_ALWAYS_INLINE {
        for (std::int64_t p = b; p < e; ++p) f(static_cast<std::int64_t>(X.indices[p]), X.data[p], 0);
    };
    const std::int64_t k0 = add_l1_eights(each, W, Q, K, c, l1_lo, l1_hi, s, inv_s, u, on);
    if (k0 == K) return;
    row_add(X, i, W, K, c, static_cast<T*>(nullptr), static_cast<const T*>(nullptr), true, k0);
    const std::int64_t lo = std::max(k0, l1_lo);
    if (lo < l1_hi)
        l1_step_block<T, false>(W, Q, static_cast<T*>(nullptr), X.indices + b, e - b, K, lo, l1_hi, s, inv_s, u,
                                static_cast<const double*>(nullptr), on, static_cast<const double*>(nullptr));
}

// A dense row's update and L1 step of the columns from k0 on (those left
// after the eights) by row_add and l1_step_block.
template <class T>
SGDTUNE_ALWAYS_INLINE inline void add_l1_rest(const DenseView<T>& X, std::int64_t i, T* W, T* Q, std::int64_t K,
                                              std::int64_t k0, const T* c, std::int64_t l1_lo, std::int64_t l1_hi,
                                              const double* s, const double* inv_s, const double* u,
                                              const double* on) {
    row_add(X, i, W, K, c, static_cast<T*>(nullptr), static_cast<const T*>(nullptr), true, k0);
    const std::int64_t lo = std::max(k0, l1_lo);
    if (lo < l1_hi)
        l1_step_block<T, false>(W, Q, static_cast<T*>(nullptr), static_cast<const std::int64_t*>(nullptr), X.d,
                                K, lo, l1_hi, s, inv_s, u, static_cast<const double*>(nullptr), on,
                                static_cast<const double*>(nullptr));
}

// add_l1_eights for a dense row, the rest by add_l1_rest.
template <class T>
__attribute__((noinline)) void row_add_l1_8(const DenseView<T>& X, std::int64_t i, T* W, T* Q, std::int64_t K,
                                            const T* c, std::int64_t l1_lo, std::int64_t l1_hi, const double* s,
                                            const double* inv_s, const double* u, const double* on) {
    const T* x = X.row(i);
    const std::int64_t d = X.d;
    auto each = [&](auto&& f) SGDTUNE_ALWAYS_INLINE {
        for (std::int64_t j = 0; j < d; ++j) f(j, x[j], 0);
    };
    const std::int64_t k0 = add_l1_eights(each, W, Q, K, c, l1_lo, l1_hi, s, inv_s, u, on);
    if (k0 < K) add_l1_rest(X, i, W, Q, K, k0, c, l1_lo, l1_hi, s, inv_s, u, on);
}

// row_add_l1_8 with the next row's forward pass (row_dot8 of row `next` into
// out) in the same pass over the weights: each weight's update and L1 step,
// then its product with the next row's feature, in dot8's lanes and order, so
// that all numbers are those of the two kernels one after the other.
template <class T>
__attribute__((noinline)) void row_add_l1_dot8(const DenseView<T>& X, std::int64_t i, std::int64_t next, T* W, T* Q,
                                               std::int64_t K, const T* c, std::int64_t l1_lo, std::int64_t l1_hi,
                                               const double* s, const double* inv_s, const double* u,
                                               const double* on, T* acc, double* out) {
    const T *x = X.row(i), *xn = X.row(next);
    const std::int64_t d = X.d;
    // the row's features in order, feature j in dot8's lane j % kLanes
    auto each = [&](auto&& f) SGDTUNE_ALWAYS_INLINE {
        std::int64_t j = 0;
        for (; j + kLanes <= d; j += kLanes)
            for (int q = 0; q < kLanes; ++q) f(j + q, x[j + q], q);
        for (int q = 0; q < kLanes; ++q)
            if (j + q < d) f(j + q, x[j + q], q);
    };
    v8<T> l[kLanes] = {};  // an eight's products with the next row, by lane
    auto seen = [&](std::int64_t j, int q, v8<T> nw) SGDTUNE_ALWAYS_INLINE { l[q] += splat8(xn[j]) * nw; };
    auto after = [&](std::int64_t k0) SGDTUNE_ALWAYS_INLINE {
        const v8<T> r = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        for (int q = 0; q < 8; ++q) out[k0 + q] = static_cast<double>(r[q]);
        for (auto& lane : l) lane = v8<T>{};
    };
    const std::int64_t k0 = add_l1_eights(each, W, Q, K, c, l1_lo, l1_hi, s, inv_s, u, on, seen, after);
    if (k0 == K) return;
    add_l1_rest(X, i, W, Q, K, k0, c, l1_lo, l1_hi, s, inv_s, u, on);
    row_dot(X, next, W, K, acc, out, true, k0);
}

// l1_step_block: the columns in eights, the rest by l1_step_block.
template <class T, bool Averaging, class Idx>
__attribute__((noinline)) void l1_step_block8(T* __restrict W, T* __restrict Q, T* __restrict Z, const Idx* features,
                                              std::int64_t n, std::int64_t K, std::int64_t k_begin,
                                              std::int64_t k_end, const double* __restrict s,
                                              const double* __restrict inv_s, const double* __restrict u,
                                              const double* __restrict a, const double* __restrict on,
                                              const double* __restrict avg) {
    std::int64_t k0 = k_begin;
    for (; k0 + 8 <= k_end; k0 += 8) {
        const v8d vs = load8(s + k0), vinv = load8(inv_s + k0), vu = load8(u + k0), zero = {};
        const v8l take = load8(on + k0) != zero;
        v8d va = zero;
        v8l tz = take;
        if constexpr (Averaging) {
            va = load8(a + k0);
            tz = take & (load8(avg + k0) != zero);  // (as l1_step_block's groups)
        }
        for (std::int64_t f = 0; f < n; ++f) {
            const std::int64_t q = (features ? static_cast<std::int64_t>(features[f]) : f) * K + k0;
            v8<T> z{};
            if constexpr (Averaging) z = load8(Z + q);
            const v8<T> nw = l1_eight_values<T, Averaging, true>(load8(W + q), Q + q, z, vs, vinv, vu, va, take, tz);
            if constexpr (Averaging) store8(Z + q, z);
            store8(W + q, nw);
        }
    }
    if (k0 < k_end) l1_step_block<T, Averaging>(W, Q, Z, features, n, K, k0, k_end, s, inv_s, u, a, on, avg);
}

// row_add_l1_one (trainer.hpp) eight features at a time; the last d % 8 one by one.
template <class T, bool UpdZ, bool L1Z>
__attribute__((noinline)) void row_add_l1_one8(const T* x, std::int64_t d, T* W, T* Q, T* Z, T c, T a_upd, double s,
                                               double u, double a) {
    const double inv_s = 1.0 / s;
    const v8d vs = splat8(s), vinv = splat8(inv_s), vu = splat8(u), va = splat8(a);
    const v8l all = ~v8l{};
    const v8<T> vc = splat8(c), vau = splat8(a_upd);
    std::int64_t j = 0;
    auto eights = [&](auto scaled) SGDTUNE_ALWAYS_INLINE {
        for (; j + 8 <= d; j += 8) {
            const v8<T> delta = vc * load8(x + j);
            v8<T> z{};
            if constexpr (UpdZ) z = load8(Z + j) - vau * delta;
            const v8<T> nw = l1_eight_values<T, L1Z, false, false, decltype(scaled)::value>(
                load8(W + j) + delta, Q + j, z, vs, vinv, vu, va, all, all);
            if constexpr (UpdZ) store8(Z + j, z);
            store8(W + j, nw);
        }
    };
    if (s == 1.0)  // (an L1 column without L2: its scale stays 1)
        eights(std::false_type{});
    else
        eights(std::true_type{});
    for (; j < d; ++j) {
        const T delta = c * x[j];
        W[j] += delta;
        if constexpr (UpdZ) Z[j] -= a_upd * delta;
        l1_weight<T, L1Z>(W, Q, Z, j, s, inv_s, u, a);
    }
}

// l1_step over all d weights of a one-column block (contiguous), eight at a
// time; the last d % 8 one by one.
template <class T, bool Averaging>
__attribute__((noinline)) void l1_step_one8(T* W, T* Q, T* Z, std::int64_t d, double s, double u, double a) {
    const double inv_s = 1.0 / s;
    const v8d vs = splat8(s), vinv = splat8(inv_s), vu = splat8(u), va = splat8(a);
    const v8l all = ~v8l{};
    std::int64_t j = 0;
    auto eights = [&](auto scaled) SGDTUNE_ALWAYS_INLINE {
        for (; j + 8 <= d; j += 8) {
            v8<T> z{};
            if constexpr (Averaging) z = load8(Z + j);
            const v8<T> nw = l1_eight_values<T, Averaging, false, false, decltype(scaled)::value>(
                load8(W + j), Q + j, z, vs, vinv, vu, va, all, all);
            if constexpr (Averaging) store8(Z + j, z);
            store8(W + j, nw);
        }
    };
    if (s == 1.0)  // (as in row_add_l1_one8)
        eights(std::false_type{});
    else
        eights(std::true_type{});
    for (; j < d; ++j) l1_weight<T, Averaging>(W, Q, Z, j, s, inv_s, u, a);
}

}  // namespace sgdtune::detail::avx512
SGDTUNE_AVX512_END
#endif
