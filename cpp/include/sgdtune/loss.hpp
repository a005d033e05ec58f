// Loss functions of a linear model's prediction p against a target y.
//
// Classification losses take y in {-1, +1}; regression losses take any real y.
// Each loss is a small value type with loss(p, y) and dloss(p, y), the derivative
// with respect to p. The formulas are the standard ones used by scikit-learn's
// SGD (see Bottou, "Stochastic Gradient Descent Tricks", 2012, and Zhang, "Solving
// large scale linear prediction problems using SGD", ICML 2004, for modified Huber).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sgdtune {

// c ? a : b, exactly, without a branch where SSE2 is at hand: the losses'
// branches follow the signs of the margins, which are a coin toss in
// training, and a mispredicted branch costs more than the arithmetic.
inline double select(bool c, double a, double b) {
#if defined(__SSE2__)
    const __m128d m = _mm_castsi128_pd(_mm_set1_epi64x(-static_cast<std::int64_t>(c)));
    return _mm_cvtsd_f64(_mm_or_pd(_mm_and_pd(m, _mm_set_sd(a)), _mm_andnot_pd(m, _mm_set_sd(b))));
#else
    return c ? a : b;
#endif
}

// exp(x) for -746 <= x <= 709 (and NaN to NaN), written out so that the
// trainer's vector code computes it for several lanes at once with the very
// numbers of the scalar code: D is double or a vector of doubles, U the
// unsigned 64-bit integers of D's width. (The C library's exp has no vector
// form with the same numbers; a loss's derivative must not depend on how many
// rows are computed together.) Within one unit in the last place or so.
//
// x = k ln 2 + r with k = round(x / ln 2) and |r| <= ln(2) / 2 (Cody and
// Waite: ln 2 in two parts, the first with trailing zeros, so k times it is
// exact); exp(r) = 1 + (r + r^2 q(r)) with q the rest of its Taylor series, to
// r^13 / 13! (the next term is below 2^-57 of the sum), in Estrin's order (a
// chain of about ten operations, not Horner's 26: a one-row step waits on
// it); then times 2^k as 2^floor(k/2) 2^(k - floor(k/2)), both normal
// numbers, so that results below the smallest normal number are rounded once.
template <class D, class U>
inline D exp_terms(D x) {
    constexpr double shift = 0x1.8p52;  // adding it rounds to an integer, which lands in the low bits
    constexpr double log2e = 0x1.71547652b82fep0;
    constexpr double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    const D t = x * log2e + shift;
    const D kd = t - shift;
    const D r = (x - kd * ln2_hi) - kd * ln2_lo;
    // 1 / n! for n = 2..13
    constexpr double c2 = 0.5, c3 = 1.0 / 6.0, c4 = 1.0 / 24.0, c5 = 1.0 / 120.0, c6 = 1.0 / 720.0,
                     c7 = 1.0 / 5040.0, c8 = 1.0 / 40320.0, c9 = 1.0 / 362880.0, c10 = 1.0 / 3628800.0,
                     c11 = 1.0 / 39916800.0, c12 = 1.0 / 479001600.0, c13 = 1.0 / 6227020800.0;
    const D r2 = r * r, r4 = r2 * r2;
    const D q0 = (c2 + c3 * r) + (c4 + c5 * r) * r2, q1 = (c6 + c7 * r) + (c8 + c9 * r) * r2;
    const D q2 = (c10 + c11 * r) + (c12 + c13 * r) * r2;
    const D q = q0 + (q1 + q2 * r4) * r4;
    const D p = 1.0 + (r + r2 * q);
    U tb;
    std::memcpy(&tb, &t, sizeof(t));
    constexpr std::uint64_t shift_bits = 0x4338000000000000ull;  // bits of `shift`
    const U kk = tb - shift_bits + 2048u;  // k + 2048, positive for x >= -746
    const U half = kk >> 1;                 // floor(k / 2) + 1024
    const U b1 = (half - 1u) << 52, b2 = (kk - half - 1u) << 52;  // 2^floor(k/2), 2^(k - floor(k/2))
    D s1, s2;
    std::memcpy(&s1, &b1, sizeof(s1));
    std::memcpy(&s2, &b2, sizeof(s2));
    return p * s1 * s2;
}

inline double exp_terms(double x) { return exp_terms<double, std::uint64_t>(x); }

// log(1 + u) for 0 <= u < 2^53 (and NaN to NaN), written out for the same
// reason as exp_terms (log loss's values, summed for the tol criterion, four
// rows or columns at a time). Within 2 units in the last place of the exact
// value (measured against an extended-precision log1p of exp_terms' values).
//
// v = 1 + u rounded, v = 2^k m with m in [sqrt(2)/2, sqrt(2)) taken from v's
// bits; log(1 + u) = k ln 2 + log(m) + c / v, where c = (1 + u) - v is the
// rounding error of v (exact: both of its forms below subtract numbers
// within a factor of two of each other) and c / v its first-order effect
// (the next term, c^2 / 2 v^2, is below 2^-105). With f = m - 1 (exact) and
// s = f / (2 + f), log(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R), R =
// sum over n >= 1 of 2 s^(2n) / (2n + 1) (since 2s = f - s f); |s| <=
// 0.1716, so ten terms leave less than 2^-55 of the sum (Estrin's order).
template <class D, class U>
inline D log1p_terms(D u) {
    const D v = 1.0 + u;
    U vb;
    std::memcpy(&vb, &v, sizeof(v));
    // adding this moves the exponent up by one where the mantissa is sqrt(2) or more
    constexpr std::uint64_t sqrt_half = 0x3fe6a09e667f3bcdull, one = 0x3ff0000000000000ull;
    const U hx = vb + (one - sqrt_half);
    const U mb = (hx & 0x000fffffffffffffull) + sqrt_half;  // m's bits
    // k as a double: (hx >> 52) in a double's low bits, minus the bias
    const U kb = (hx >> 52) | 0x4330000000000000ull;
    D m, kbig;
    std::memcpy(&m, &mb, sizeof(m));
    std::memcpy(&kbig, &kb, sizeof(kbig));
    const D k = (kbig - 0x1p52) - 1023.0;
    // c / v: for k >= 2, u is within a factor of two of v; below, v - 1 is exact
    const D c_hi = 1.0 - (v - u), c_lo = u - (v - 1.0);
    D c;
    if constexpr (std::is_same_v<D, double>)
        c = select(k >= 2.0, c_hi, c_lo) / v;
    else
        c = (k >= 2.0 ? c_hi : c_lo) / v;
    const D f = m - 1.0;
    const D s = f / (2.0 + f);
    const D z = s * s, z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    // 2 / (2n + 1) for n = 1..10
    constexpr double a1 = 2.0 / 3.0, a2 = 2.0 / 5.0, a3 = 2.0 / 7.0, a4 = 2.0 / 9.0, a5 = 2.0 / 11.0,
                     a6 = 2.0 / 13.0, a7 = 2.0 / 15.0, a8 = 2.0 / 17.0, a9 = 2.0 / 19.0, a10 = 2.0 / 21.0;
    const D p = ((a1 + a2 * z) + (a3 + a4 * z) * z2) + ((a5 + a6 * z) + (a7 + a8 * z) * z2) * z4 +
                (a9 + a10 * z) * z8;
    const D R = z * p;
    const D hfsq = 0.5 * f * f;
    constexpr double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    return k * ln2_hi + (f - (hfsq - (s * (hfsq + R) + (k * ln2_lo + c))));
}

inline double log1p_terms(double u) { return log1p_terms<double, std::uint64_t>(u); }

enum class LossKind : int {
    hinge = 0,
    log_loss,
    modified_huber,
    squared_hinge,
    perceptron,
    squared_error,
    huber,
    epsilon_insensitive,
    squared_epsilon_insensitive,
};

inline bool is_classification_loss(LossKind k) { return static_cast<int>(k) <= 4; }

// max(0, threshold - y p). threshold 1 is the SVM hinge, 0 the perceptron.
struct Hinge {
    double threshold;
    double loss(double p, double y) const {
        const double z = threshold - p * y;
        return z > 0.0 ? z : 0.0;
    }
    double dloss(double p, double y) const { return select(p * y <= threshold, -y, 0.0); }
};

// max(0, threshold - y p)^2
struct SquaredHinge {
    double threshold;
    double loss(double p, double y) const {
        const double z = threshold - p * y;
        return z > 0.0 ? z * z : 0.0;
    }
    double dloss(double p, double y) const {
        const double z = threshold - p * y;
        return select(z > 0.0, -2.0 * y * z, 0.0);
    }
};

// log(1 + exp(-y p)), evaluated without overflow for large |y p|.
struct LogLoss {
    // (exp_terms and log1p_terms: the trainer computes it four rows or
    // columns at a time when the loss is summed)
    double loss(double p, double y) const {
        const double z = p * y;
        if (z > 18.0) return z > 746.0 ? 0.0 : exp_terms(-z);
        if (z < -18.0) return -z;
        return log1p_terms(exp_terms(-z));
    }
    // (exp_terms: the trainer computes it four rows at a time; exp(-z) is +0
    // beyond z = 745.2)
    double dloss(double p, double y) const {
        const double z = p * y;
        if (z > 18.0) return -y * (z > 746.0 ? 0.0 : exp_terms(-z));
        if (z < -18.0) return -y;
        return -y / (exp_terms(z) + 1.0);
    }
};

// Quadratically smoothed hinge: 0 for yp >= 1, (1 - yp)^2 for -1 <= yp < 1,
// -4 yp below.
struct ModifiedHuber {
    double loss(double p, double y) const {
        const double z = p * y;
        if (z >= 1.0) return 0.0;
        if (z >= -1.0) return (1.0 - z) * (1.0 - z);
        return -4.0 * z;
    }
    double dloss(double p, double y) const {
        const double z = p * y;
        return select(z >= 1.0, 0.0, select(z >= -1.0, 2.0 * (1.0 - z) * -y, -4.0 * y));
    }
};

// (p - y)^2 / 2
struct SquaredError {
    double loss(double p, double y) const { return 0.5 * (p - y) * (p - y); }
    double dloss(double p, double y) const { return p - y; }
};

// Quadratic within epsilon of the target, linear beyond.
struct Huber {
    double epsilon;
    double loss(double p, double y) const {
        const double r = p - y, a = std::fabs(r);
        return a <= epsilon ? 0.5 * r * r : epsilon * a - 0.5 * epsilon * epsilon;
    }
    double dloss(double p, double y) const {
        const double r = p - y;
        if (std::fabs(r) <= epsilon) return r;
        return r > 0.0 ? epsilon : -epsilon;
    }
};

// max(0, |y - p| - epsilon)
struct EpsilonInsensitive {
    double epsilon;
    double loss(double p, double y) const {
        const double z = std::fabs(y - p) - epsilon;
        return z > 0.0 ? z : 0.0;
    }
    double dloss(double p, double y) const {
        if (y - p > epsilon) return -1.0;
        if (p - y > epsilon) return 1.0;
        return 0.0;
    }
};

// max(0, |y - p| - epsilon)^2
struct SquaredEpsilonInsensitive {
    double epsilon;
    double loss(double p, double y) const {
        const double z = std::fabs(y - p) - epsilon;
        return z > 0.0 ? z * z : 0.0;
    }
    double dloss(double p, double y) const {
        const double z = y - p;
        if (z > epsilon) return -2.0 * (z - epsilon);
        if (z < -epsilon) return 2.0 * (-z - epsilon);
        return 0.0;
    }
};

// Calls f with the concrete loss object for `kind`. The switch runs once per
// mini-batch and column; f's loop over the batch is compiled for that loss
// (inlined, so that it takes the instruction set of its caller).
template <class F>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline decltype(auto) with_loss(LossKind kind, double epsilon, F&& f) {
    switch (kind) {
        case LossKind::hinge: return f(Hinge{1.0});
        case LossKind::perceptron: return f(Hinge{0.0});
        case LossKind::squared_hinge: return f(SquaredHinge{1.0});
        case LossKind::log_loss: return f(LogLoss{});
        case LossKind::modified_huber: return f(ModifiedHuber{});
        case LossKind::squared_error: return f(SquaredError{});
        case LossKind::huber: return f(Huber{epsilon});
        case LossKind::epsilon_insensitive: return f(EpsilonInsensitive{epsilon});
        case LossKind::squared_epsilon_insensitive:
            return f(SquaredEpsilonInsensitive{epsilon});
    }
    throw std::invalid_argument("unknown loss");
}

}  // namespace sgdtune
