// Learning-rate schedules. `t` counts weight updates, starting at 1, so with
// batch_size b one epoch over n rows advances t by ceil(n / b) (not by n):
//   constant    eta = eta0
//   optimal     eta = 1 / (alpha * (t0 + t - 1)), t0 chosen so that the first
//               step is Bottou's heuristic typw / max(1, dloss(-typw, 1)) with
//               typw = sqrt(1 / sqrt(alpha))
//   invscaling  eta = eta0 / t^power_t
//   adaptive    eta = eta0, divided by 5 each time the stopping criterion fails
//               n_iter_no_change epochs in a row; training stops at eta < 1e-6
//   pa1, pa2    passive-aggressive steps (Crammer et al., 2006) bounded by eta0
// A step's gradient is the mean over its batch, so a larger batch takes fewer,
// less noisy steps per epoch under the same formula.
#pragma once

#include <algorithm>
#include <cmath>

#include "loss.hpp"

namespace sgdtune {

enum class ScheduleKind : int { constant = 0, optimal, invscaling, adaptive, pa1, pa2 };

inline bool is_passive_aggressive(ScheduleKind s) {
    return s == ScheduleKind::pa1 || s == ScheduleKind::pa2;
}

// t0 of the optimal schedule for a column's loss and alpha.
inline double optimal_t0(LossKind loss, double epsilon, double alpha) {
    const double typw = std::sqrt(1.0 / std::sqrt(alpha));
    const double d = with_loss(loss, epsilon, [&](const auto& l) { return l.dloss(-typw, 1.0); });
    const double initial_eta = typw / std::max(1.0, d);
    return 1.0 / (initial_eta * alpha);
}

struct Schedule {
    ScheduleKind kind;
    double eta0, power_t, alpha, t0;
    double eta_adaptive;  // current rate of the adaptive schedule

    // The optimal schedule's rate at update t (the trainer also computes it
    // for a block's columns in one loop, with this function's numbers).
    static double optimal_eta(double alpha, double t0, double t) { return 1.0 / (alpha * (t0 + t - 1.0)); }

    double eta(double t) const {
        switch (kind) {
            case ScheduleKind::optimal: return optimal_eta(alpha, t0, t);
            case ScheduleKind::invscaling: return eta0 / std::pow(t, power_t);
            case ScheduleKind::adaptive: return eta_adaptive;
            default: return eta0;
        }
    }
};

}  // namespace sgdtune
