// Regularisation terms: alpha * ((1 - l1_ratio) / 2 * ||w||^2 + l1_ratio * ||w||_1).
//
// The L2 part is applied as a multiplicative shrink of the column's scale
// (w = scale * v), so it costs O(1) a step whatever the number of features. The
// L1 part uses the cumulative penalty of Tsuruoka, Tsujii and Ananiadou (2009),
// "Stochastic gradient descent training for L1-regularized log-linear models with
// cumulative penalty": each weight receives at most the total penalty it could
// have received so far, and is clipped at zero instead of crossing it.
#pragma once

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

// One weight's cumulative-penalty step. `w` is the true weight (scale * v),
// `u` the total L1 penalty each weight could have received so far, `q` what
// this weight has received. Returns the new weight and updates q.
inline double l1_clip(double w, double u, double& q) {
    double nw = w;
    if (w > 0.0) {
        nw = w - (u + q);
        if (nw < 0.0) nw = 0.0;
    } else if (w < 0.0) {
        nw = w + (u - q);
        if (nw > 0.0) nw = 0.0;
    }
    q += nw - w;
    return nw;
}

}  // namespace sgdtune
