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

// W (d x K) into WT (K rows of padded(d)), or back when `back`; features
// j0 <= j < j1 only, when given.
template <class T>
inline void transpose_weights(T* W, T* WT, std::int64_t d, std::int64_t K, bool back, std::int64_t j0 = 0,
                              std::int64_t j1 = -1) {
    const std::int64_t dp = padded(d);
    if (j1 < 0) j1 = d;
    for (std::int64_t j = j0; j < j1; ++j)
        for (std::int64_t k = 0; k < K; ++k) {
            if (back)
                W[j * K + k] = WT[k * dp + j];
            else
                WT[k * dp + j] = W[j * K + k];
        }
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

template <class T>
SGDTUNE_ALWAYS_INLINE inline vec<T> vload(const T* p) {
    vec<T> v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

template <class T>
SGDTUNE_ALWAYS_INLINE inline vec<T> vsplat(T x) {
    if constexpr (sizeof(T) == 8)
        return v4d{x, x, x, x};
    else
        return v8f{x, x, x, x, x, x, x, x};
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

// P[r * ldp + c] = x[r] . w_c for R rows and C columns (w_c at WT + c * dp),
// over whole groups of eight features up to padded(d): the padding of WT is
// zero and what x[r] holds there is finite, so its products are zeros, and a
// lane's sum, which starts at +0 and so is never -0, is left as it is by them.
template <class T, int R, int C>
SGDTUNE_ALWAYS_INLINE inline void dot_tile(const T* const* xr, const T* WT, std::int64_t d, double* P,
                                           std::int64_t ldp) {
    constexpr int N = NV<T>;
    const std::int64_t dp = padded(d);
    vec<T> acc[R][C][N];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
            for (int h = 0; h < N; ++h) acc[r][c][h] = vec<T>{};
    const T* x[R];
    for (int r = 0; r < R; ++r) x[r] = xr[r];
    for (std::int64_t j = 0; j < dp; j += 8) {
        vec<T> w[C][N];
        for (int c = 0; c < C; ++c)
            for (int h = 0; h < N; ++h) w[c][h] = vload(WT + c * dp + j + h * L<T>);
        for (int r = 0; r < R; ++r)
            for (int h = 0; h < N; ++h) {
                const vec<T> xv = vload(x[r] + j + h * L<T>);
                for (int c = 0; c < C; ++c) acc[r][c][h] = acc[r][c][h] + xv * w[c][h];
            }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) P[r * ldp + c] = combine8(acc[r][c]);
}

// All rows and columns k0..k1 in tiles of R x C, then the edges in smaller ones.
template <class T, int R, int C>
SGDTUNE_ALWAYS_INLINE inline void dot_tiles(const T* const* x, std::int64_t rows, const T* WT, std::int64_t K,
                                            std::int64_t k0, std::int64_t k1, std::int64_t d, double* P) {
    // rows outside: a tile's rows stay in the first-level cache while the
    // columns (the whole WT, a few tens of kilobytes) go past them
    const std::int64_t kC = k0 + (k1 - k0) / C * C;
    auto row_tile = [&](auto rows_in_tile, std::int64_t r) SGDTUNE_ALWAYS_INLINE {
        constexpr int RT = decltype(rows_in_tile)::value;
        for (std::int64_t k = k0; k < kC; k += C)
            dot_tile<T, RT, C>(x + r, WT + k * padded(d), d, P + r * K + k, K);
    };
    std::int64_t r = 0;
    for (; r + R <= rows; r += R) row_tile(std::integral_constant<int, R>{}, r);
    for (; r < rows; ++r) row_tile(std::integral_constant<int, 1>{}, r);
    if constexpr (C > 1) {
        if (kC < k1) dot_tiles<T, R, C / 2>(x, rows, WT, K, kC, k1, d, P);
    }
}

// WT[k, :] += cs[r, k] x_r for r < rows in order (and ZT[k, :] -= a[k] (cs[r, k] x_r)),
// for C columns (rows of padded(d)), rows with skip[r] left out, over the
// features j0 <= j < j1 (whole vectors from j0; j1 <= d). A weight vector's updates
// are a chain (each add waits for the one before), so a pass keeps JC vectors
// of features of each column in registers and runs C x JC chains side by
// side: one column alone would wait on its adds. The padding of WT and ZT is
// not written: it stays zero.
template <class T, int C, int JC, bool Averaging>
SGDTUNE_ALWAYS_INLINE inline void add_tile(const T* const* x, std::int64_t rows, const unsigned char* skip, T* WT,
                                           T* ZT, std::int64_t j0, std::int64_t j1, std::int64_t d, const T* cs,
                                           std::int64_t K, const T* a) {
    const std::int64_t dp = padded(d);
    constexpr int S = JC * L<T>;  // features a pass covers
    vec<T> va[C];
    if constexpr (Averaging)
        for (int c = 0; c < C; ++c) va[c] = vsplat(a[c]);
    std::int64_t j = j0;
    for (; j + S <= j1 || (j < j1 && JC == 1); j += S) {
        vec<T> w[C][JC], z[C][JC];
        for (int c = 0; c < C; ++c)
            for (int q = 0; q < JC; ++q) {
                w[c][q] = vload(WT + c * dp + j + q * L<T>);
                if constexpr (Averaging) z[c][q] = vload(ZT + c * dp + j + q * L<T>);
            }
        for (std::int64_t r = 0; r < rows; ++r) {
            if (skip[r]) continue;
            vec<T> xv[JC];
            for (int q = 0; q < JC; ++q) xv[q] = vload(x[r] + j + q * L<T>);
            for (int c = 0; c < C; ++c) {
                const vec<T> cv = vsplat(cs[r * K + c]);
                for (int q = 0; q < JC; ++q) {
                    const vec<T> delta = cv * xv[q];
                    w[c][q] = w[c][q] + delta;
                    if constexpr (Averaging) z[c][q] = z[c][q] - va[c] * delta;
                }
            }
        }
        for (int q = 0; q < JC; ++q) {
            const auto bytes = static_cast<std::size_t>(std::min<std::int64_t>(L<T>, j1 - j - q * L<T>)) * sizeof(T);
            for (int c = 0; c < C; ++c) {
                std::memcpy(WT + c * dp + j + q * L<T>, &w[c][q], bytes);
                if constexpr (Averaging) std::memcpy(ZT + c * dp + j + q * L<T>, &z[c][q], bytes);
            }
        }
    }
    if constexpr (JC > 1) {
        if (j < j1) add_tile<T, C, JC / 2, Averaging>(x, rows, skip, WT, ZT, j, j1, d, cs, K, a);
    }
}

// Feature vectors a pass of add_tile keeps per column: eight chains in all
// (four with averaging, whose second set of registers would not fit).
template <int C, bool Averaging>
constexpr int add_chunks() {
    constexpr int chains = Averaging ? 4 : 8;
    return C >= chains ? 1 : chains / C;
}

template <class T, int C, bool Averaging>
SGDTUNE_ALWAYS_INLINE inline void add_tiles(const T* const* x, std::int64_t rows, const unsigned char* skip, T* WT,
                                            T* ZT, std::int64_t K, std::int64_t k0, std::int64_t j0, std::int64_t j1,
                                            std::int64_t d, const T* cs, const T* a) {
    std::int64_t k = k0;
    for (; k + C <= K; k += C)
        add_tile<T, C, add_chunks<C, Averaging>(), Averaging>(
            x, rows, skip, WT + k * padded(d), Averaging ? ZT + k * padded(d) : nullptr, j0, j1, d, cs + k, K, a + k);
    if constexpr (C > 1) {
        if (k < K) add_tiles<T, C / 2, Averaging>(x, rows, skip, WT, ZT, K, k, j0, j1, d, cs, a);
    }
}

// The kernels' bodies, compiled as functions of their own (register tiles
// want a function's registers to themselves) for each instruction set.
template <class T>
SGDTUNE_ALWAYS_INLINE inline void batch_dot_body(const T* const* x, std::int64_t m, const T* WT, std::int64_t K,
                                                 std::int64_t d, double* P) {
    // tiles whose partial sums fit in sixteen 256-bit registers with room to spare
    if constexpr (sizeof(T) == 8)
        dot_tiles<T, 4, 1>(x, m, WT, K, 0, K, d, P);
    else
        dot_tiles<T, 3, 3>(x, m, WT, K, 0, K, d, P);
}

template <class T>
SGDTUNE_ALWAYS_INLINE inline void batch_add_body(const T* const* x, std::int64_t m, const unsigned char* skip,
                                                 T* WT, T* ZT, std::int64_t K, std::int64_t j0, std::int64_t j1,
                                                 std::int64_t d, const T* cs, const T* a) {
    if (ZT == nullptr)
        add_tiles<T, 8, false>(x, m, skip, WT, ZT, K, 0, j0, j1, d, cs, a);
    else
        add_tiles<T, 4, true>(x, m, skip, WT, ZT, K, 0, j0, j1, d, cs, a);
}

template <class T>
__attribute__((noinline)) void batch_dot_base(const T* const* x, std::int64_t m, const T* WT, std::int64_t K,
                                              std::int64_t d, double* P) {
    batch_dot_body(x, m, WT, K, d, P);
}
template <class T>
__attribute__((noinline)) void batch_add_base(const T* const* x, std::int64_t m, const unsigned char* skip, T* WT,
                                              T* ZT, std::int64_t K, std::int64_t j0, std::int64_t j1, std::int64_t d,
                                              const T* cs, const T* a) {
    batch_add_body(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
}
#ifdef SGDTUNE_X86_DISPATCH
template <class T>
__attribute__((noinline, target("avx2"))) void batch_dot_avx2(const T* const* x, std::int64_t m, const T* WT,
                                                              std::int64_t K, std::int64_t d, double* P) {
    batch_dot_body(x, m, WT, K, d, P);
}
template <class T>
__attribute__((noinline, target("avx2"))) void batch_add_avx2(const T* const* x, std::int64_t m,
                                                              const unsigned char* skip, T* WT, T* ZT,
                                                              std::int64_t K, std::int64_t j0, std::int64_t j1,
                                                              std::int64_t d, const T* cs, const T* a) {
    batch_add_body(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
}
#endif

}  // namespace detail
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
// numbers. `x` is scratch for m row pointers. `wide`: run the AVX2 build.
template <class T>
inline void batch_dot(const DenseView<T>& X, const LastRows<T>& last, const RowIndex* rows, std::int64_t m,
                      const T* WT, std::int64_t K, double* P, const T** x, bool wide) {
    const std::int64_t d = X.d;
    for (std::int64_t r = 0; r < m; ++r) x[r] = last.row(X, rows[r]);
#if defined(SGDTUNE_HAVE_VECTORS)
#ifdef SGDTUNE_X86_DISPATCH
    if (wide) return detail::batch_dot_avx2<T>(x, m, WT, K, d, P);
#endif
    (void)wide;
    detail::batch_dot_base<T>(x, m, WT, K, d, P);
#else
    (void)wide;
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
                      T* ZT, std::int64_t K, const T* cs, const T* a, std::int64_t j0, std::int64_t j1, bool wide) {
    const std::int64_t d = X.d;
#if defined(SGDTUNE_HAVE_VECTORS)
#ifdef SGDTUNE_X86_DISPATCH
    if (wide) return detail::batch_add_avx2<T>(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
#endif
    (void)wide;
    detail::batch_add_base<T>(x, m, skip, WT, ZT, K, j0, j1, d, cs, a);
#else
    (void)wide;
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
