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
    double dloss(double p, double y) const {
        const double z = p * y;
        // (exp(-z) is +0 beyond z = 745.2; the C library's slow underflow path is skipped)
        if (z > 18.0) return -y * (z > 746.0 ? 0.0 : std::exp(-z));
        if (z < -18.0) return -y;
        return -y / (std::exp(z) + 1.0);
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
