// Dense mini-batch kernels: the forward pass P = X_B W and the update
// W += X_B^T C of a batch, as small matrix products with register tiles.
//
// They work on a transposed copy of the block's weights (WT, K x d: each
// column's weights contiguous), so that eight consecutive features of a row
// and of a column are one vector each, and a tile of rows x columns keeps its
// partial sums in registers while it walks down the features: every loaded
// row chunk serves several columns and every column chunk several rows.
//
// The arithmetic is that of row_dot and row_add (dataset.hpp), element for
// element: a dot product's eight lanes each sum the features j = lane mod 8 in
// increasing j and are combined as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)); a
// weight takes its rows' updates one by one in batch order. So a block trained
// with these kernels gives the numbers it gives row by row, for any K.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "dataset.hpp"
#include "isa.hpp"
#include "simd.hpp"
#include "spec.hpp"

namespace sgdtune {

// Rows of WT: d features padded to a multiple of eight with zeros (the
// kernels read whole groups of eight; the update never writes the padding).
constexpr std::int64_t padded(std::int64_t d) { return (d + 7) / 8 * 8; }

// p rounded up to a multiple of 64 bytes, a cache line (its storage must hold
// 64 bytes more): where batch_dot's copies of a batch's rows start.
template <class T>
T* align64(T* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return reinterpret_cast<T*>((a + 63) / 64 * 64);
}

#if defined(SGDTUNE_HAVE_VECTORS)
namespace detail {
// The 4 x 4 matrix of rows r[0..4) transposed (c[i] holds element i of each row).
template <class V>
SGDTUNE_ALWAYS_INLINE inline void transpose4(const V* r, V* c) {
    const V t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 2, 6), t1 = __builtin_shufflevector(r[0], r[1], 1, 5, 3, 7);
    const V t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 2, 6), t3 = __builtin_shufflevector(r[2], r[3], 1, 5, 3, 7);
    c[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    c[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    c[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    c[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}
}  // namespace detail
#endif

// W (d x K) into WT (K rows of padded(d)), or back when `back`; features
// j0 <= j < j1 only, when given. Blocks of four features by four columns go
// through registers (a transpose one element at a time, with a store per
// element to a row of its own, took about 7% of a 24-configuration grid's
// training at batch_size 64); the edges one by one.
template <class T>
inline void transpose_weights(T* W, T* WT, std::int64_t d, std::int64_t K, bool back, std::int64_t j0 = 0,
                              std::int64_t j1 = -1) {
    const std::int64_t dp = padded(d);
    if (j1 < 0) j1 = d;
    if (K == 1) {  // the same layout: a copy (one element at a time, it was a fifth of
                   // a one-column block's own time at batch_size 64, rows in cache)
        if (back)
            std::copy(WT + j0, WT + j1, W + j0);
        else
            std::copy(W + j0, W + j1, WT + j0);
        return;
    }
    std::int64_t j4 = j0, k4 = 0;
#if defined(SGDTUNE_HAVE_VECTORS)
    using V = simd::v4<T>;
    j4 = j0 + (j1 - j0) / 4 * 4;
    k4 = K / 4 * 4;
    for (std::int64_t j = j0; j < j4; j += 4)
        for (std::int64_t k = 0; k < k4; k += 4) {
            V r[4], c[4];
            if (back) {  // rows: WT's columns k..k+3 at features j..j+3
                for (int i = 0; i < 4; ++i) r[i] = simd::load(WT + (k + i) * dp + j);
                detail::transpose4(r, c);
                for (int i = 0; i < 4; ++i) simd::store(W + (j + i) * K + k, c[i]);
            } else {
                for (int i = 0; i < 4; ++i) r[i] = simd::load(W + (j + i) * K + k);
                detail::transpose4(r, c);
                for (int i = 0; i < 4; ++i) simd::store(WT + (k + i) * dp + j, c[i]);
            }
        }
#endif
    auto one = [&](std::int64_t j, std::int64_t k) {
        if (back)
            W[j * K + k] = WT[k * dp + j];
        else
            WT[k * dp + j] = W[j * K + k];
    };
    for (std::int64_t j = j0; j < j1; ++j)
        for (std::int64_t k = j < j4 ? k4 : 0; k < K; ++k) one(j, k);
}

#if defined(SGDTUNE_HAVE_VECTORS)
namespace detail {

// A 256-bit vector of T (four doubles or eight floats); the eight lanes of a
// dot product are NV = 8 / L of them.
using v4d = double __attribute__((vector_size(32)));
using v8f = float __attribute__((vector_size(32)));
template <class T>
using vec = std::conditional_t<sizeof(T) == 8, v4d, v8f>;
template <class T>
constexpr int L = 32 / static_cast<int>(sizeof(T));
template <class T>
constexpr int NV = 8 / L<T>;

// A vector V (of any size) loaded from p, and one of x in every lane.
template <class V, class T>
SGDTUNE_ALWAYS_INLINE inline V vload(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
template <class T>
SGDTUNE_ALWAYS_INLINE inline vec<T> vload(const T* p) {
    return vload<vec<T>, T>(p);
}

// (512 bits: lane 0 shuffled into every lane, the indices written out, is one
// broadcast; GCC 12 builds one from a loop over its lanes, a list of them, or
// indices from a parameter pack, with one masked broadcast per lane)
template <class V, class T>
SGDTUNE_ALWAYS_INLINE inline V vsplat(T x) {
    constexpr std::size_t n = sizeof(V) / sizeof(T);
    static_assert(n == 4 || n == 8 || n == 16);
    if constexpr (n == 4) {
        return V{x, x, x, x};
    } else if constexpr (n == 8 && sizeof(V) == 32) {
        return V{x, x, x, x, x, x, x, x};
    } else {
        const V first = {x};
        if constexpr (n == 8)
            return __builtin_shufflevector(first, first, 0, 0, 0, 0, 0, 0, 0, 0);
        else
            return __builtin_shufflevector(first, first, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
}

// The eight lanes of a dot product combined as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)),
// in registers.
SGDTUNE_ALWAYS_INLINE inline double combine8(const v4d* l) {
    // [l0+l1, l4+l5, l2+l3, l6+l7]
    const v4d a = __builtin_shufflevector(l[0], l[1], 0, 4, 2, 6) + __builtin_shufflevector(l[0], l[1], 1, 5, 3, 7);
    // [(l0+l1)+(l2+l3), (l4+l5)+(l6+l7), ...]
    const v4d b = a + __builtin_shufflevector(a, a, 2, 3, 0, 1);
    return b[0] + b[1];
}
SGDTUNE_ALWAYS_INLINE inline double combine8(const v8f* l) {
    using v4f = float __attribute__((vector_size(16)));
    const v4f a = __builtin_shufflevector(l[0], l[0], 0, 2, 4, 6) + __builtin_shufflevector(l[0], l[0], 1, 3, 5, 7);
    const v4f b = a + __builtin_shufflevector(a, a, 1, 0, 3, 2);  // [a0+a1, ., a2+a3, .]
    return static_cast<double>(b[0] + b[2]);
}

#include "tiles.inc"  // dot_tile(s), add_tile(s)

// The kernels' bodies, compiled as functions of their own (register tiles
// want a function's registers to themselves) for each instruction set.
// Tiles whose partial sums fit in sixteen 256-bit registers with room to
// spare; with AVX2 (Wide), float32 blocks of two columns or more take four
// rows by three columns, all sixteen registers (twelve sums, three columns'
// weights and a row's): on a Zen 3, 64 shuffled rows of 100 features from
// memory, 24 columns 7.8-8.2 -> 7.2-7.4 us a forward pass, 2 to 12 columns
// 4-13% faster; one column was slower so (64 rows 1.23 -> 1.31 us, 256
// rows 11.3 -> 14.3) and keeps three rows.
template <class T, bool Wide>
SGDTUNE_ALWAYS_INLINE inline void batch_dot_body(const T* const* x, std::int64_t m, const T* WT, std::int64_t K,
                                                 std::int64_t d, double* P) {
    if constexpr (sizeof(T) == 8)
        dot_tiles<T, 4, 1>(x, m, WT, K, 0, K, d, P);
    else if (Wide && K >= 2)
        dot_tiles<T, 4, 3>(x, m, WT, K, 0, K, d, P);
    else
        dot_tiles<T, 3, 3>(x, m, WT, K, 0, K, d, P);
}

// (Wide: compiled for AVX2, whose 256-bit vectors are one register each.
// float64 there takes two columns of four vectors each (one column of four
// with averaging) rather than eight columns of one vector (four with
// averaging): a row's pass over them takes two coefficients instead of eight
// for the same arithmetic, each a load and shuffles to fill a vector. On a Zen 3 core
// (AVX2 only), 64 rows x 100 float64 features x 24 columns: the update alone,
// rows in the second-level cache, 19.6 -> 12.4 us a batch; forward pass and
// update, shuffled rows from memory, 34-35 -> 29-30 us, with averaging 44.8
// -> 39.3; 3 to 24 columns and 23 to 300 features gained alike. float32's
// eight lanes a vector keep eight columns: two columns of four vectors ran
// 5x slower.)
template <class T, bool Wide>
SGDTUNE_ALWAYS_INLINE inline void batch_add_body(const T* const* x, std::int64_t m, const unsigned char* skip,
                                                 T* WT, T* ZT, std::int64_t K, std::int64_t j0, std::int64_t j1,
                                                 std::int64_t d, const T* cs, const T* a) {
    constexpr bool pairs = Wide && sizeof(T) == 8;
    if (ZT == nullptr)
        add_tiles<T, vec<T>, pairs ? 2 : 8, false, 8>(x, m, skip, WT, ZT, K, 0, j0, j1, d, cs, a);
    else
        add_tiles<T, vec<T>, pairs ? 1 : 4, true, 8>(x, m, skip, WT, ZT, K, 0, j0, j1, d, cs, a);
}

template <class T>
__attribute__((noinline)) void batch_dot_base(const T* const* x, std::int64_t m, const T* WT, std::int64_t K,
                                              std::int64_t d, double* P) {
    batch_dot_body<T, false>(x, m, WT, K, d, P);
}
template <class T>
__attribute__((noinline)) void batch_add_base(const T* const* x, std::int64_t m, const unsigned char* skip, T* WT,
                                              T* ZT, std::int64_t K, std::int64_t j0, std::int64_t j1, std::int64_t d,
                                              const T* cs, const T* a) {
    batch_add_body<T, false>(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
}
#ifdef SGDTUNE_X86_DISPATCH
template <class T>
__attribute__((noinline, target("avx2"))) void batch_dot_avx2(const T* const* x, std::int64_t m, const T* WT,
                                                              std::int64_t K, std::int64_t d, double* P) {
    batch_dot_body<T, true>(x, m, WT, K, d, P);
}
template <class T>
__attribute__((noinline, target("avx2"))) void batch_add_avx2(const T* const* x, std::int64_t m,
                                                              const unsigned char* skip, T* WT, T* ZT,
                                                              std::int64_t K, std::int64_t j0, std::int64_t j1,
                                                              std::int64_t d, const T* cs, const T* a) {
    batch_add_body<T, true>(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
}
#endif

}  // namespace detail
#endif

#if defined(SGDTUNE_HAVE_VECTORS) && defined(SGDTUNE_X86_DISPATCH)
// AVX-512: the same numbers with 512-bit vectors. A float64 dot product's
// eight lanes are one vector; a float32 one's are half of one, so a vector
// holds eight features of two columns (a pair) and a row's eight features
// twice. The tiles' eight-lane sums are combined several columns at a time,
// in the order combine8 uses for each.
SGDTUNE_AVX512_BEGIN
namespace detail::avx512 {

#include "tiles.inc"

using v8d = double __attribute__((vector_size(64)));
using v16f = float __attribute__((vector_size(64)));

// out[c] = combine8 of column c's eight lanes, for the N columns of acc[0..N/2)
// (float32: N = 2 per vector, up to 8) or acc[0..N) (float64, up to 4): the
// lanes summed pairwise across several columns' vectors at once, step by step
// ((l0+l1), then (l0+l1)+(l2+l3), then the two halves), missing operands
// repeated and their sums ignored.
template <int N>
SGDTUNE_ALWAYS_INLINE inline void combine_columns(const v16f* acc, double* out) {
    static_assert(N == 2 || N == 4 || N == 8);
    const v16f a0 = acc[0], a1 = N >= 4 ? acc[1] : acc[0];
    const v16f a2 = N == 8 ? acc[2] : a0, a3 = N == 8 ? acc[3] : a1;
#define SGDTUNE_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define SGDTUNE_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
    // pairs of lanes: columns 0..3 and 4..7, four sums each
    const v16f p0 = __builtin_shufflevector(a0, a1, SGDTUNE_EVEN) + __builtin_shufflevector(a0, a1, SGDTUNE_ODD);
    const v16f p1 = __builtin_shufflevector(a2, a3, SGDTUNE_EVEN) + __builtin_shufflevector(a2, a3, SGDTUNE_ODD);
    // quads: columns 0..7, two sums each
    const v16f q = __builtin_shufflevector(p0, p1, SGDTUNE_EVEN) + __builtin_shufflevector(p0, p1, SGDTUNE_ODD);
#undef SGDTUNE_EVEN
#undef SGDTUNE_ODD
    using v8f = float __attribute__((vector_size(32)));
    const v8f h = __builtin_shufflevector(q, q, 0, 2, 4, 6, 8, 10, 12, 14) +
                  __builtin_shufflevector(q, q, 1, 3, 5, 7, 9, 11, 13, 15);
    for (int c = 0; c < N; ++c) out[c] = static_cast<double>(h[c]);
}
template <int N>
SGDTUNE_ALWAYS_INLINE inline void combine_columns(const v8d* acc, double* out) {
    static_assert(N == 1 || N == 2 || N == 4);
    const v8d a0 = acc[0], a1 = N >= 2 ? acc[1] : a0;
    const v8d a2 = N == 4 ? acc[2] : a0, a3 = N == 4 ? acc[3] : a1;
    // [A01, B01, A23, B23, A45, B45, A67, B67] and the same for C, D
    const v8d p0 = __builtin_shufflevector(a0, a1, 0, 8, 2, 10, 4, 12, 6, 14) +
                   __builtin_shufflevector(a0, a1, 1, 9, 3, 11, 5, 13, 7, 15);
    const v8d p1 = __builtin_shufflevector(a2, a3, 0, 8, 2, 10, 4, 12, 6, 14) +
                   __builtin_shufflevector(a2, a3, 1, 9, 3, 11, 5, 13, 7, 15);
    // [A0123, B0123, C0123, D0123, A4567, B4567, C4567, D4567]
    const v8d q = __builtin_shufflevector(p0, p1, 0, 1, 8, 9, 4, 5, 12, 13) +
                  __builtin_shufflevector(p0, p1, 2, 3, 10, 11, 6, 7, 14, 15);
    const v4d h = __builtin_shufflevector(q, q, 0, 1, 2, 3) + __builtin_shufflevector(q, q, 4, 5, 6, 7);
    for (int c = 0; c < N; ++c) out[c] = h[c];
}

// dot_tile with 512-bit vectors: R rows x C columns of float64 (C <= 4), or
// R rows x C pairs of columns of float32 (C <= 4).
template <class T, int R, int C>
SGDTUNE_ALWAYS_INLINE inline void dot_tile512(const T* const* xr, const T* WT, std::int64_t d, double* P,
                                              std::int64_t ldp) {
    using V = std::conditional_t<sizeof(T) == 8, v8d, v16f>;
    constexpr int N = sizeof(T) == 8 ? C : 2 * C;  // columns
    const std::int64_t dp = padded(d);
    V acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = V{};
    const T* x[R];
    for (int r = 0; r < R; ++r) x[r] = xr[r];
    for (std::int64_t j = 0; j < dp; j += 8) {
        V w[C];
        for (int c = 0; c < C; ++c) {
            if constexpr (sizeof(T) == 8) {
                w[c] = vload<V>(WT + c * dp + j);
            } else {
                const v8f lo = vload<v8f>(WT + 2 * c * dp + j), hi = vload<v8f>(WT + (2 * c + 1) * dp + j);
                w[c] = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            }
        }
        for (int r = 0; r < R; ++r) {
            V xv;
            if constexpr (sizeof(T) == 8) {
                xv = vload<V>(x[r] + j);
            } else {
                const v8f h = vload<v8f>(x[r] + j);
                xv = __builtin_shufflevector(h, h, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
            }
            for (int c = 0; c < C; ++c) acc[r][c] = acc[r][c] + xv * w[c];
        }
    }
    for (int r = 0; r < R; ++r) combine_columns<N>(acc[r], P + r * ldp);
}

// All rows and columns k0..k1 in tiles of R x C (C columns, or pairs of
// columns for float32), then the edges in smaller ones; a last single float32
// column with 256-bit vectors.
template <class T, int R, int C>
SGDTUNE_ALWAYS_INLINE inline void dot_tiles512(const T* const* x, std::int64_t rows, const T* WT, std::int64_t K,
                                               std::int64_t k0, std::int64_t k1, std::int64_t d, double* P) {
    constexpr int N = sizeof(T) == 8 ? C : 2 * C;
    const std::int64_t kN = k0 + (k1 - k0) / N * N;
    auto row_tile = [&](auto rows_in_tile, std::int64_t r) SGDTUNE_ALWAYS_INLINE {
        constexpr int RT = decltype(rows_in_tile)::value;
        for (std::int64_t k = k0; k < kN; k += N)
            dot_tile512<T, RT, C>(x + r, WT + k * padded(d), d, P + r * K + k, K);
    };
    std::int64_t r = 0;
    for (; r + R <= rows; r += R) row_tile(std::integral_constant<int, R>{}, r);
    for (; r < rows; ++r) row_tile(std::integral_constant<int, 1>{}, r);
    if (kN < k1) {
        if constexpr (C > 1)
            dot_tiles512<T, R, C / 2>(x, rows, WT, K, kN, k1, d, P);
        else
            dot_tiles<T, R, 1>(x, rows, WT, K, kN, k1, d, P);
    }
}

template <class T>
__attribute__((noinline)) void batch_dot_avx512(const T* const* x, std::int64_t m, const T* WT, std::int64_t K,
                                                std::int64_t d, double* P) {
    // 16 accumulators, 4 weight vectors and a row's: 21 of the 32 registers.
    // One column: eight rows at a time, whose eight sums keep the adders
    // busy (four left them waiting on each other's latency).
    if (K == 1) return dot_tiles512<T, 8, 1>(x, m, WT, K, 0, K, d, P);
    dot_tiles512<T, 4, 4>(x, m, WT, K, 0, K, d, P);
}

template <class T>
__attribute__((noinline)) void batch_add_avx512(const T* const* x, std::int64_t m, const unsigned char* skip, T* WT,
                                                T* ZT, std::int64_t K, std::int64_t j0, std::int64_t j1, std::int64_t d,
                                                const T* cs, const T* a) {
    using V = std::conditional_t<sizeof(T) == 8, v8d, v16f>;
    constexpr std::int64_t LV = sizeof(V) / sizeof(T);
    // whole 512-bit vectors, then the rest (and a partial last vector) in 256-bit ones
    const std::int64_t jw = j0 + (j1 - j0) / LV * LV;
    if (ZT == nullptr) {
        add_tiles<T, V, 8, false, 16>(x, m, skip, WT, ZT, K, 0, j0, jw, d, cs, a);
        if (jw < j1) add_tiles<T, vec<T>, 8, false, 8>(x, m, skip, WT, ZT, K, 0, jw, j1, d, cs, a);
    } else {
        add_tiles<T, V, 4, true, 16>(x, m, skip, WT, ZT, K, 0, j0, jw, d, cs, a);
        if (jw < j1) add_tiles<T, vec<T>, 4, true, 8>(x, m, skip, WT, ZT, K, 0, jw, j1, d, cs, a);
    }
}

}  // namespace detail::avx512
SGDTUNE_AVX512_END
#endif

// The kernels read rows in whole groups of eight features, up to padded(d):
// for most rows that runs into the rows after them, but not for the last few
// of X, whose copies (padded with zeros) stand in for them.
template <class T>
struct LastRows {
    std::int64_t first = 0, dp = 0;  // rows first.. are copied
    std::vector<T> copy;
    explicit LastRows(const DenseView<T>& X) : dp(padded(X.d)) {
        // rows i whose reads past their end, dp - d elements, pass the end of
        // X: those with (n - 1 - i) stride + (stride - d) elements after them
        const std::int64_t over = dp - X.d;
        first = X.n;
        while (first > 0 && (X.n - first) * X.stride + (X.stride - X.d) < over) --first;
        copy.assign(static_cast<std::size_t>((X.n - first) * dp), T(0));
        for (std::int64_t i = first; i < X.n; ++i) std::copy(X.row(i), X.row(i) + X.d, copy.data() + (i - first) * dp);
    }
    const T* row(const DenseView<T>& X, std::int64_t i) const {
        return i >= first ? copy.data() + (i - first) * dp : X.row(i);
    }
};

// P[r, k] = x_{rows[r]} . WT[k, :] for r < m, k < K (P is m x K): row_dot's
// numbers. `x` is scratch for m row pointers. `isa`: the build to run. With
// `copy` (m rows of padded(d), 64-byte aligned, their padding zero), the
// rows are copied there first and x points to the copies (see gather_rows
// in the trainer).
template <class T>
inline void batch_dot(const DenseView<T>& X, const LastRows<T>& last, const RowIndex* rows, std::int64_t m,
                      const T* WT, std::int64_t K, double* P, const T** x, Isa isa, T* copy = nullptr) {
    const std::int64_t d = X.d;
    if (copy != nullptr) {
        const std::int64_t dp = padded(d);
        for (std::int64_t r = 0; r < m; ++r) {
            T* to = copy + r * dp;
            std::memcpy(to, X.row(rows[r]), static_cast<std::size_t>(d) * sizeof(T));
            x[r] = to;
        }
    } else {
        for (std::int64_t r = 0; r < m; ++r) x[r] = last.row(X, rows[r]);
    }
#if defined(SGDTUNE_HAVE_VECTORS)
#ifdef SGDTUNE_X86_DISPATCH
    if (isa == Isa::avx512) return detail::avx512::batch_dot_avx512<T>(x, m, WT, K, d, P);
    if (isa == Isa::avx2) return detail::batch_dot_avx2<T>(x, m, WT, K, d, P);
#endif
    (void)isa;
    detail::batch_dot_base<T>(x, m, WT, K, d, P);
#else
    (void)isa;
    std::vector<T> acc(static_cast<std::size_t>(kLanes));
    for (std::int64_t r = 0; r < m; ++r)
        for (std::int64_t k = 0; k < K; ++k) row_dot(X, rows[r], WT + k * padded(d), 1, acc.data(), P + r * K + k);
#endif
}

// WT[k, :] += cs[r, k] x_{rows[r]} for r < m in order, rows with skip[r] left
// out (and with ZT, ZT[k, :] -= a[k] (cs[r, k] x_{rows[r]})): row_add's numbers,
// row by row, for the features j0 <= j < j1 (j0 a multiple of eight, j1 one
// too or d: the last vector of a range stops at j1, and so writes no feature
// of another caller's range, nor reads one it may be writing). `x`
// holds the rows' pointers (as batch_dot left them). Each feature's numbers
// are the same for any range that holds it.
template <class T>
inline void batch_add(const DenseView<T>& X, const T* const* x, std::int64_t m, const unsigned char* skip, T* WT,
                      T* ZT, std::int64_t K, const T* cs, const T* a, std::int64_t j0, std::int64_t j1, Isa isa) {
    const std::int64_t d = X.d;
#if defined(SGDTUNE_HAVE_VECTORS)
#ifdef SGDTUNE_X86_DISPATCH
    if (isa == Isa::avx512) return detail::avx512::batch_add_avx512<T>(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
    if (isa == Isa::avx2) return detail::batch_add_avx2<T>(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
#endif
    (void)isa;
    detail::batch_add_base<T>(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
#else
    (void)isa;
    for (std::int64_t r = 0; r < m; ++r) {
        if (skip[r]) continue;
        for (std::int64_t k = 0; k < K; ++k) {
            const T c = cs[r * K + k];
            for (std::int64_t j = j0; j < j1; ++j) {
                const T delta = c * x[r][j];
                WT[k * padded(d) + j] += delta;
                if (ZT != nullptr) ZT[k * padded(d) + j] -= a[k] * delta;
            }
        }
    }
#endif
}

}  // namespace sgdtune
