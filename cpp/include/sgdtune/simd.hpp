// Four lanes of T (double or float) as GCC/Clang vector types, for kernels that
// keep a group of four columns of a block in registers. Element for element
// the arithmetic is that of the scalar code: these only say how many elements
// one instruction handles (compiled for SSE2, two instructions per vector; for
// AVX2, one).
#pragma once

#include <cstring>
#include <type_traits>

#if defined(__GNUC__)
#define SGDTUNE_ALWAYS_INLINE __attribute__((always_inline))
#else
#define SGDTUNE_ALWAYS_INLINE
#endif

#if defined(__GNUC__)
#define SGDTUNE_HAVE_VECTORS 1

namespace sgdtune::simd {

using v4d = double __attribute__((vector_size(32)));
using v4f = float __attribute__((vector_size(16)));
using v4l = long long __attribute__((vector_size(32)));

template <class T>
struct vec4_of {
    using type = v4d;
};
template <>
struct vec4_of<float> {
    using type = v4f;
};
// Four T.
template <class T>
using v4 = typename vec4_of<T>::type;

template <class T>
__attribute__((always_inline)) inline v4<T> load(const T* p) {
    v4<T> v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

template <class T>
__attribute__((always_inline)) inline void store(T* p, v4<T> v) {
    std::memcpy(p, &v, sizeof(v));
}

template <class T>
__attribute__((always_inline)) inline v4<T> splat(T x) {
    return v4<T>{x, x, x, x};
}

// Four T widened to double, and four doubles rounded to T. Written element
// by element: GCC lowers __builtin_convertvector where it is defined, without
// AVX, into halves passed through the stack even once inlined into AVX2 code
// (a float block's L1 step ran at half speed); element by element it becomes
// one vcvtps2pd / vcvtpd2ps there.
template <class T>
__attribute__((always_inline)) inline v4d widen(v4<T> v) {
    if constexpr (std::is_same_v<T, double>)
        return v;
    else
        return v4d{static_cast<double>(v[0]), static_cast<double>(v[1]), static_cast<double>(v[2]),
                   static_cast<double>(v[3])};
}
template <class T>
__attribute__((always_inline)) inline v4<T> narrow(v4d v) {
    if constexpr (std::is_same_v<T, double>)
        return v;
    else
        return v4<T>{static_cast<T>(v[0]), static_cast<T>(v[1]), static_cast<T>(v[2]), static_cast<T>(v[3])};
}

// Lane i of a where mask lane i is all ones, else of b (masks as comparisons
// of doubles give them: 64-bit lanes of all ones or zeros).
template <class T>
__attribute__((always_inline)) inline v4<T> select(v4l mask, v4<T> a, v4<T> b) {
    if constexpr (std::is_same_v<T, double>) {
        return mask ? a : b;
    } else {
        using v4i = int __attribute__((vector_size(16)));
        const v4i m = {static_cast<int>(mask[0]), static_cast<int>(mask[1]), static_cast<int>(mask[2]),
                       static_cast<int>(mask[3])};
        return m ? a : b;
    }
}

}  // namespace sgdtune::simd
#endif
