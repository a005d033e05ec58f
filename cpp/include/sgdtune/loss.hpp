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
    double loss(double p, double y) const {
        const double z = p * y;
        if (z > 18.0) return std::exp(-z);
        if (z < -18.0) return -z;
        return std::log1p(std::exp(-z));
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
