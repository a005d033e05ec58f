// Read-only views of the training data and the row kernels the trainer uses.
//
// Every kernel works on a block's weights stored d x K row-major (the K weights
// of feature j are contiguous). The order of every floating-point sum is fixed
// and does not depend on K: a dense dot product keeps eight partial sums
// (feature j goes to lane j mod 8, in increasing j) combined as
// ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)); a sparse one adds the non-zeros in storage
// order. So a column's numbers are the same whichever other columns share its
// block, and the single-column loops can still be vectorised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "simd.hpp"

namespace sgdtune {

template <class T>
struct DenseView {
    const T* data;
    std::int64_t n, d, stride;  // stride: elements between consecutive rows
    const T* row(std::int64_t i) const { return data + i * stride; }
};

template <class T, class I>
struct CsrView {
    const T* data;
    const I* indices;
    const I* indptr;
    std::int64_t n, d;
};

constexpr int kLanes = 8;

// A software prefetch the optimiser cannot drop: GCC treats __builtin_prefetch
// as free of side effects and deletes whole loops made only of prefetches.
// L2: into the second-level cache only, for data wanted a while later, which
// asked into the first-level cache would push out what is in use there (the
// next mini-batch's rows: 50 KB at 64 rows of 100 float64, more than a
// first-level cache of 32 or 48 KB holds beside the current one).
template <bool L2 = false>
inline void prefetch(const void* p) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    if constexpr (L2)
        asm volatile("prefetcht1 %0" : : "m"(*static_cast<const char*>(p)));
    else
        asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__GNUC__)
    __builtin_prefetch(p, 0, L2 ? 2 : 3);
#else
    (void)p;
#endif
}

template <class T>
inline T combine_lanes(const T* l, std::int64_t step) {
    return ((l[0] + l[step]) + (l[2 * step] + l[3 * step])) +
           ((l[4 * step] + l[5 * step]) + (l[6 * step] + l[7 * step]));
}

namespace detail {
// The end of row_dot_narrow from feature j on: the last d % kLanes features,
// lane q taking feature j + q (static lane indices keep the partial sums in
// registers), and each column's sum of its lanes.
template <int KR, class T>
SGDTUNE_ALWAYS_INLINE inline void narrow_finish(T (&l)[kLanes][KR], const T* x, std::int64_t j, std::int64_t d,
                                                const T* W, std::int64_t K, double* out) {
    for (int q = 0; q < kLanes; ++q)
        if (j + q < d)
            for (int k = 0; k < KR; ++k) l[q][k] += x[j + q] * W[(j + q) * K + k];
    for (int k = 0; k < KR; ++k) out[k] = static_cast<double>(combine_lanes(&l[0][k], KR));
}

// row_dot for KR (1 to 3) columns of a row-major W with K columns a row, their
// kLanes partial sums each in registers; the same order of every sum.
template <int KR, class T>
SGDTUNE_ALWAYS_INLINE inline void row_dot_narrow(const T* x, std::int64_t d, const T* W, std::int64_t K,
                                                 double* out) {
    T l[kLanes][KR] = {};
    std::int64_t j = 0;
    for (; j + kLanes <= d; j += kLanes)
        for (int q = 0; q < kLanes; ++q)
            for (int k = 0; k < KR; ++k) l[q][k] += x[j + q] * W[(j + q) * K + k];
    narrow_finish<KR>(l, x, j, d, W, K, out);
}

// row_add's step for KR (1 to 3) columns, their coefficients in registers.
template <int KR, class T>
SGDTUNE_ALWAYS_INLINE inline void row_add_narrow(const T* x, std::int64_t d, T* W, std::int64_t K, const T* c,
                                                 T* Z, const T* a) {
    T cr[KR], ar[KR];
    for (int k = 0; k < KR; ++k) {
        cr[k] = c[k];
        ar[k] = Z == nullptr ? T(0) : a[k];
    }
    for (std::int64_t j = 0; j < d; ++j) {
        const T xj = x[j];
        T* w = W + j * K;
        if (Z == nullptr) {
            for (int k = 0; k < KR; ++k) w[k] += cr[k] * xj;
        } else {
            T* z = Z + j * K;
            for (int k = 0; k < KR; ++k) {
                const T delta = cr[k] * xj;
                w[k] += delta;
                z[k] -= ar[k] * delta;
            }
        }
    }
}

#if defined(SGDTUNE_HAVE_VECTORS)
// A block of KR = 2 or 3 columns in all, whose rows of W hold their KR
// weights side by side: a run of four features' weights is 4 KR values, which
// vectors of four cover whole. Element i = 4 r + p of such a run belongs to
// feature i / KR and column i % KR; spread<KR, r> gives vector r's features
// from the run's four x values.
template <int KR, int r, class V>
SGDTUNE_ALWAYS_INLINE inline V spread(V x4) {
    return __builtin_shufflevector(x4, x4, (4 * r) / KR, (4 * r + 1) / KR, (4 * r + 2) / KR, (4 * r + 3) / KR);
}
template <class F, int... r>
SGDTUNE_ALWAYS_INLINE inline void each_vector(F&& f, std::integer_sequence<int, r...>) {
    (f(std::integral_constant<int, r>{}), ...);
}

// row_dot_narrow for such a block: its lanes l[q][k], in (q, k) order, are
// 2 KR vectors of four (l[q][k] is element q KR + k), each the same chain of
// the same products; the last d % kLanes features and the lanes' sums as
// row_dot_narrow takes them. (A block of two columns at batch_size 1, 100
// float64 features, 2,000 rows in cache, with row_add_side_by_side: 182 ns a
// row; through row_dot_narrow and row_add_narrow, 355-378 ns, as much as four
// columns through the four-column code, 342; three columns 342 -> 222 ns.)
template <int KR, class T>
SGDTUNE_ALWAYS_INLINE inline void row_dot_side_by_side(const T* x, std::int64_t d, const T* W, double* out) {
    using V = simd::v4<T>;
    V acc[2 * KR] = {};
    std::int64_t j = 0;
    for (; j + kLanes <= d; j += kLanes) {
        const T* w = W + j * KR;
        for (int g = 0; g < 2; ++g) {  // features j + 4 g to j + 4 g + 3: vectors g KR + r
            const V x4 = simd::load(x + j + 4 * g);
            each_vector([&](auto r) SGDTUNE_ALWAYS_INLINE {
                constexpr int rv = decltype(r)::value;
                acc[g * KR + rv] += spread<KR, rv>(x4) * simd::load(w + 4 * (g * KR + rv));
            }, std::make_integer_sequence<int, KR>{});
        }
    }
    T l[kLanes][KR];
    for (int m = 0; m < 2 * KR; ++m)
        for (int p = 0; p < 4; ++p) l[(4 * m + p) / KR][(4 * m + p) % KR] = acc[m][p];
    narrow_finish<KR>(l, x, j, d, W, KR, out);
}

// row_add_narrow for such a block: the same products and sums, element by
// element, four features' weights (KR vectors) at a time.
template <int KR, class T>
SGDTUNE_ALWAYS_INLINE inline void row_add_side_by_side(const T* x, std::int64_t d, T* W, const T* c, T* Z,
                                                       const T* a) {
    using V = simd::v4<T>;
    V cv[KR] = {}, av[KR] = {};  // the columns' coefficients in a run's order
    for (int r = 0; r < KR; ++r)
        for (int p = 0; p < 4; ++p) {
            cv[r][p] = c[(4 * r + p) % KR];
            av[r][p] = Z == nullptr ? T(0) : a[(4 * r + p) % KR];
        }
    std::int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        const V x4 = simd::load(x + j);
        T* w = W + j * KR;
        T* z = Z == nullptr ? nullptr : Z + j * KR;
        each_vector([&](auto r) SGDTUNE_ALWAYS_INLINE {
            constexpr int rv = decltype(r)::value;
            const V delta = cv[rv] * spread<KR, rv>(x4);
            simd::store(w + 4 * rv, simd::load(w + 4 * rv) + delta);
            if (z != nullptr) simd::store(z + 4 * rv, simd::load(z + 4 * rv) - av[rv] * delta);
        }, std::make_integer_sequence<int, KR>{});
    }
    if (j < d) row_add_narrow<KR>(x + j, d - j, W + j * KR, KR, c, Z == nullptr ? nullptr : Z + j * KR, a);
}
#endif
}  // namespace detail

// out[k] = sum_j x_ij W[j, k] for k < K. `acc` is scratch of kLanes * K. `wide`:
// the caller is compiled for AVX2 (see isa.hpp), so four columns go at a time.
template <class T>
SGDTUNE_ALWAYS_INLINE inline void row_dot(const DenseView<T>& X, std::int64_t i, const T* W, std::int64_t K,
                                           T* acc, double* out, bool wide = false, std::int64_t k_first = 0) {
    const T* x = X.row(i);
    const std::int64_t d = X.d;
    if (K == 1) {
        T l[kLanes] = {};
        std::int64_t j = 0;
        for (; j + kLanes <= d; j += kLanes)
            for (int q = 0; q < kLanes; ++q) l[q] += x[j + q] * W[j + q];
        for (int q = 0; q < kLanes; ++q)  // the last d % kLanes features, lane q taking j + q
            if (j + q < d) l[q] += x[j + q] * W[j + q];
        out[0] = static_cast<double>(combine_lanes(l, 1));
        return;
    }
    std::int64_t k0 = k_first;  // (columns before k_first: another kernel's)
#if defined(SGDTUNE_HAVE_VECTORS)
    if (wide && k_first == 0 && (K == 2 || K == 3))  // a narrow block: its rows of W in vectors
        return K == 2 ? detail::row_dot_side_by_side<2>(x, d, W, out) : detail::row_dot_side_by_side<3>(x, d, W, out);
    // four columns at a time, their eight partial sums in registers
    for (; wide && k0 + 4 <= K; k0 += 4) {
        using V = simd::v4<T>;
        V l[kLanes] = {};
        const T* w = W + k0;
        std::int64_t j = 0;
        for (; j + kLanes <= d; j += kLanes)
            for (int q = 0; q < kLanes; ++q) l[q] += simd::splat(x[j + q]) * simd::load(w + (j + q) * K);
        for (int q = 0; q < kLanes; ++q)  // the last d % kLanes features, lane q taking j + q
            if (j + q < d) l[q] += simd::splat(x[j + q]) * simd::load(w + (j + q) * K);
        const V r = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        for (int q = 0; q < 4; ++q) out[k0 + q] = static_cast<double>(r[q]);
    }
    if (k0 == K) return;
#endif
    const std::int64_t Kr = K - k0;  // the columns left
    // one to three of them (K % 4 with AVX2): their partial sums in registers
    switch (Kr) {
        case 1: return detail::row_dot_narrow<1>(x, d, W + k0, K, out + k0);
        case 2: return detail::row_dot_narrow<2>(x, d, W + k0, K, out + k0);
        case 3: return detail::row_dot_narrow<3>(x, d, W + k0, K, out + k0);
        default: break;
    }
    // more (the baseline build): through `acc`
    for (std::int64_t q = 0; q < kLanes * Kr; ++q) acc[q] = T(0);
    for (std::int64_t j = 0; j < d; ++j) {
        const T xj = x[j];
        T* a = acc + (j % kLanes) * Kr;
        const T* w = W + j * K + k0;
        for (std::int64_t k = 0; k < Kr; ++k) a[k] += xj * w[k];
    }
    for (std::int64_t k = 0; k < Kr; ++k) out[k0 + k] = static_cast<double>(combine_lanes(acc + k, Kr));
}

template <class T, class I>
SGDTUNE_ALWAYS_INLINE inline void row_dot(const CsrView<T, I>& X, std::int64_t i, const T* W, std::int64_t K,
                                           T* acc, double* out, bool wide = false, std::int64_t k_first = 0) {
    const std::int64_t b = static_cast<std::int64_t>(X.indptr[i]);
    const std::int64_t e = static_cast<std::int64_t>(X.indptr[i + 1]);
    if (K == 1) {
        T s = T(0);
        for (std::int64_t p = b; p < e; ++p) s += X.data[p] * W[X.indices[p]];
        out[0] = static_cast<double>(s);
        return;
    }
    std::int64_t k0 = k_first;  // (columns before k_first: another kernel's)
#if defined(SGDTUNE_HAVE_VECTORS)
    for (; wide && k0 + 4 <= K; k0 += 4) {  // four columns at a time, the sums in a register
        simd::v4<T> sum = {};
        for (std::int64_t p = b; p < e; ++p)
            sum += simd::splat(X.data[p]) * simd::load(W + static_cast<std::int64_t>(X.indices[p]) * K + k0);
        for (int q = 0; q < 4; ++q) out[k0 + q] = static_cast<double>(sum[q]);
    }
    if (k0 == K) return;
#endif
    // one to three columns left (K % 4 with AVX2): their sums in registers
    auto narrow = [&](auto kr) SGDTUNE_ALWAYS_INLINE {
        constexpr int KR = decltype(kr)::value;
        T sum[KR] = {};
        for (std::int64_t p = b; p < e; ++p) {
            const T v = X.data[p];
            const T* w = W + static_cast<std::int64_t>(X.indices[p]) * K + k0;
            for (int k = 0; k < KR; ++k) sum[k] += v * w[k];
        }
        for (int k = 0; k < KR; ++k) out[k0 + k] = static_cast<double>(sum[k]);
    };
    switch (K - k0) {
        case 1: return narrow(std::integral_constant<int, 1>{});
        case 2: return narrow(std::integral_constant<int, 2>{});
        case 3: return narrow(std::integral_constant<int, 3>{});
        default: break;
    }
    for (std::int64_t k = k0; k < K; ++k) acc[k] = T(0);
    for (std::int64_t p = b; p < e; ++p) {
        const T v = X.data[p];
        const T* w = W + static_cast<std::int64_t>(X.indices[p]) * K;
        for (std::int64_t k = k0; k < K; ++k) acc[k] += v * w[k];
    }
    for (std::int64_t k = k0; k < K; ++k) out[k] = static_cast<double>(acc[k]);
}

// W[j, k] += c[k] * x_ij; with Z, also Z[j, k] -= a[k] * (c[k] * x_ij), which keeps
// an averaged iterate stored as (Z + a * W) / b unchanged by the step.
template <class T>
SGDTUNE_ALWAYS_INLINE inline void row_add(const DenseView<T>& X, std::int64_t i, T* W, std::int64_t K,
                                           const T* c, T* Z, const T* a, bool wide = false,
                                           std::int64_t k_first = 0) {
    const T* x = X.row(i);
    const std::int64_t d = X.d;
    if (K == 1) {
        const T c0 = c[0];
        if (Z == nullptr) {
            for (std::int64_t j = 0; j < d; ++j) W[j] += c0 * x[j];
        } else {
            const T a0 = a[0];
            for (std::int64_t j = 0; j < d; ++j) {
                const T delta = c0 * x[j];
                W[j] += delta;
                Z[j] -= a0 * delta;
            }
        }
        return;
    }
    std::int64_t k0 = k_first;  // (columns before k_first: another kernel's)
#if defined(SGDTUNE_HAVE_VECTORS)
    if (wide && k_first == 0 && (K == 2 || K == 3))  // a narrow block: its rows of W in vectors
        return K == 2 ? detail::row_add_side_by_side<2>(x, d, W, c, Z, a)
                      : detail::row_add_side_by_side<3>(x, d, W, c, Z, a);
    // four columns at a time, their coefficients in registers
    for (; wide && k0 + 4 <= K; k0 += 4) {
        const auto vc = simd::load(c + k0);
        if (Z == nullptr) {
            for (std::int64_t j = 0; j < d; ++j) {
                T* w = W + j * K + k0;
                simd::store(w, simd::load(w) + vc * simd::splat(x[j]));
            }
        } else {
            const auto va = simd::load(a + k0);
            for (std::int64_t j = 0; j < d; ++j) {
                T* w = W + j * K + k0;
                T* z = Z + j * K + k0;
                const auto delta = vc * simd::splat(x[j]);
                simd::store(w, simd::load(w) + delta);
                simd::store(z, simd::load(z) - va * delta);
            }
        }
    }
    if (k0 == K) return;
#endif
    switch (K - k0) {  // one to three columns left (K % 4 with AVX2)
        case 1: return detail::row_add_narrow<1>(x, d, W + k0, K, c + k0, Z ? Z + k0 : nullptr, a ? a + k0 : nullptr);
        case 2: return detail::row_add_narrow<2>(x, d, W + k0, K, c + k0, Z ? Z + k0 : nullptr, a ? a + k0 : nullptr);
        case 3: return detail::row_add_narrow<3>(x, d, W + k0, K, c + k0, Z ? Z + k0 : nullptr, a ? a + k0 : nullptr);
        default: break;
    }
    for (std::int64_t j = 0; j < d; ++j) {
        const T xj = x[j];
        T* w = W + j * K;
        if (Z == nullptr) {
            for (std::int64_t k = k0; k < K; ++k) w[k] += c[k] * xj;
        } else {
            T* z = Z + j * K;
            for (std::int64_t k = k0; k < K; ++k) {
                const T delta = c[k] * xj;
                w[k] += delta;
                z[k] -= a[k] * delta;
            }
        }
    }
}

template <class T, class I>
SGDTUNE_ALWAYS_INLINE inline void row_add(const CsrView<T, I>& X, std::int64_t i, T* W, std::int64_t K,
                                           const T* c, T* Z, const T* a, bool wide = false,
                                           std::int64_t k_first = 0) {
    const std::int64_t b = static_cast<std::int64_t>(X.indptr[i]);
    const std::int64_t e = static_cast<std::int64_t>(X.indptr[i + 1]);
    std::int64_t k0 = k_first;  // (columns before k_first: another kernel's)
#if defined(SGDTUNE_HAVE_VECTORS)
    for (; wide && k0 + 4 <= K; k0 += 4) {  // four columns at a time, their coefficients in registers
        const auto vc = simd::load(c + k0);
        const auto va = Z == nullptr ? simd::v4<T>{} : simd::load(a + k0);
        for (std::int64_t p = b; p < e; ++p) {
            const std::int64_t off = static_cast<std::int64_t>(X.indices[p]) * K + k0;
            const auto delta = vc * simd::splat(X.data[p]);
            simd::store(W + off, simd::load(W + off) + delta);
            if (Z != nullptr) simd::store(Z + off, simd::load(Z + off) - va * delta);
        }
    }
    if (k0 == K) return;
#endif
    // one to three columns left (a binary model, K % 4 with AVX2): their
    // coefficients in registers. The loop below reads c[k] (and a[k]) for
    // each non-zero, behind a check that they do not overlap W: a binary
    // model over 200,000 x 50,000 float64 CSR rows (50 non-zeros a row, in
    // order) took 208 ns a row on a Zen 4, its update 42% of that, and
    // three classes took longer than four.
    auto narrow = [&](auto kr) SGDTUNE_ALWAYS_INLINE {
        constexpr int KR = decltype(kr)::value;
        T cr[KR], ar[KR];
        for (int k = 0; k < KR; ++k) {
            cr[k] = c[k0 + k];
            ar[k] = Z == nullptr ? T(0) : a[k0 + k];
        }
        for (std::int64_t p = b; p < e; ++p) {
            const T v = X.data[p];
            const std::int64_t off = static_cast<std::int64_t>(X.indices[p]) * K + k0;
            for (int k = 0; k < KR; ++k) {
                const T delta = cr[k] * v;
                W[off + k] += delta;
                if (Z != nullptr) Z[off + k] -= ar[k] * delta;
            }
        }
    };
    switch (K - k0) {
        case 1: return narrow(std::integral_constant<int, 1>{});
        case 2: return narrow(std::integral_constant<int, 2>{});
        case 3: return narrow(std::integral_constant<int, 3>{});
        default: break;
    }
    for (std::int64_t p = b; p < e; ++p) {
        const T v = X.data[p];
        const std::int64_t off = static_cast<std::int64_t>(X.indices[p]) * K;
        T* w = W + off;
        if (Z == nullptr) {
            for (std::int64_t k = k0; k < K; ++k) w[k] += c[k] * v;
        } else {
            T* z = Z + off;
            for (std::int64_t k = k0; k < K; ++k) {
                const T delta = c[k] * v;
                w[k] += delta;
                z[k] -= a[k] * delta;
            }
        }
    }
}

template <class T>
inline double row_sqnorm(const DenseView<T>& X, std::int64_t i) {
    const T* x = X.row(i);
    double s = 0.0;
    for (std::int64_t j = 0; j < X.d; ++j) s += static_cast<double>(x[j]) * x[j];
    return s;
}

template <class T, class I>
inline double row_sqnorm(const CsrView<T, I>& X, std::int64_t i) {
    double s = 0.0;
    for (auto p = X.indptr[i]; p < X.indptr[i + 1]; ++p) s += static_cast<double>(X.data[p]) * X.data[p];
    return s;
}

// Every cache line that holds a byte of [p, p + bytes), at most the first
// 2048 bytes' lines (the hardware streams the rest of a long row). The lines
// are counted from p's own line: a row that does not start on a line
// boundary ends in one line more than its size in lines (a float64 row of
// 100 features whose start is 48 bytes into a line has its last two values
// in a fourteenth line, which stepping from p by 64 never reaches).
template <bool L2 = false>
inline void prefetch_span(const void* p, std::int64_t bytes) {
    if (bytes <= 0) return;
    if (bytes > 2048) bytes = 2048;
    const char* c = static_cast<const char*>(p);
    for (std::int64_t off = 0; off < bytes; off += 64) prefetch<L2>(c + off);
    prefetch<L2>(c + bytes - 1);  // (always: a branch on p's alignment would be a coin toss)
}

// Asks the memory system for row i ahead of its use (shuffled rows are otherwise
// limited by memory latency).
template <bool L2 = false, class T>
inline void row_prefetch(const DenseView<T>& X, std::int64_t i) {
    prefetch_span<L2>(X.row(i), X.d * static_cast<std::int64_t>(sizeof(T)));
}

template <bool L2 = false, class T, class I>
inline void row_prefetch(const CsrView<T, I>& X, std::int64_t i) {
    // The row's values and indices; its indptr entry was asked for earlier
    // (row_prefetch_index), so reading it here does not stall.
    const auto b = static_cast<std::int64_t>(X.indptr[i]);
    const auto e = static_cast<std::int64_t>(X.indptr[i + 1]);
    prefetch_span<L2>(X.data + b, (e - b) * static_cast<std::int64_t>(sizeof(T)));
    prefetch_span<L2>(X.indices + b, (e - b) * static_cast<std::int64_t>(sizeof(I)));
}

// Asks for the block rows of W (d x K, and of the same-shaped Q and Z when
// given) that row i's non-zeros will touch: with many features they live in
// the last-level cache or memory, and a sparse row's step waits on them. A
// no-op for dense rows, whose weights are all read by every row. Into the
// second-level cache (see trainer.hpp's far_weights).
template <class T>
inline void weights_prefetch(const DenseView<T>&, std::int64_t, const T*, const T*, const T*, std::int64_t) {}

template <class T, class I>
inline void weights_prefetch(const CsrView<T, I>& X, std::int64_t i, const T* W, const T* Q, const T* Z,
                             std::int64_t K) {
    const auto b = static_cast<std::int64_t>(X.indptr[i]);
    const auto e = static_cast<std::int64_t>(X.indptr[i + 1]);
    const std::int64_t last = (K - 1) * static_cast<std::int64_t>(sizeof(T));  // a block row's last byte
    for (std::int64_t p = b; p < e; ++p) {
        const std::int64_t off = static_cast<std::int64_t>(X.indices[p]) * K;
        for (const T* A : {W, Q, Z}) {
            if (A == nullptr) continue;
            const char* a = reinterpret_cast<const char*>(A + off);
            prefetch<true>(a);
            prefetch<true>(a + last);  // the row may cross into the next cache line
        }
    }
}

// Asks for what row_prefetch will read first (a no-op for dense rows).
template <class T>
inline void row_prefetch_index(const DenseView<T>&, std::int64_t) {}

template <class T, class I>
inline void row_prefetch_index(const CsrView<T, I>& X, std::int64_t i) {
    prefetch(X.indptr + i);
}

// Calls f(j) for each feature stored in row i (every feature for dense rows).
template <class T, class I, class F>
inline void row_features(const CsrView<T, I>& X, std::int64_t i, F&& f) {
    for (auto p = X.indptr[i]; p < X.indptr[i + 1]; ++p) f(static_cast<std::int64_t>(X.indices[p]));
}

template <class T>
constexpr bool is_dense(const DenseView<T>&) { return true; }
template <class T, class I>
constexpr bool is_dense(const CsrView<T, I>&) { return false; }

}  // namespace sgdtune
