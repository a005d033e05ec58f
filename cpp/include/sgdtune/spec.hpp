// What a training call is given and gives back: each column's hyperparameters
// and target, the options its block shares, the rows it trains on, and the
// per-column results.
#pragma once

#include <atomic>
#include <cstdint>

#include "loss.hpp"
#include "penalty.hpp"
#include "schedule.hpp"

namespace sgdtune {

// A row of X in the trainer's shuffled row order: 32 bits, so the order a job
// keeps costs half the memory of the 64-bit indices it is given. X may have
// at most kMaxRows rows (checked at the boundary).
using RowIndex = std::uint32_t;
inline constexpr std::int64_t kMaxRows = std::int64_t{1} << 32;

// Hyperparameters and target of one column.
struct ColumnSpec {
    LossKind loss = LossKind::hinge;
    double epsilon = 0.1;
    PenaltyKind penalty = PenaltyKind::l2;
    double alpha = 1e-4, l1_ratio = 0.15;
    ScheduleKind schedule = ScheduleKind::optimal;
    double eta0 = 0.01, power_t = 0.5;
    double weight_pos = 1.0, weight_neg = 1.0;  // class weights of the +1 and -1 targets
    int target_class = -1;  // >= 0: target is +1 where y == target_class, else -1; -1: regression
    std::int64_t average = 0;  // 0: no averaging; else the update from which to average
};

// Options shared by the columns of a block.
struct TrainOptions {
    std::int64_t max_iter = 1000;
    double tol = 1e-3;
    bool use_tol = true;
    std::int64_t n_iter_no_change = 5;
    bool early_stopping = false;
    std::int64_t batch_size = 1;
    bool shuffle = true;
    std::uint64_t seed = 0;
    double intercept_decay = 1.0;
    bool fit_intercept = true;
    double t_start = 1.0;  // update counter at the start (continues across partial_fit)
    bool unique_row_indices = false;  // sparse rows hold no duplicate column (canonical CSR)
    bool compute_objective = true;    // sum the training loss (tol without early stopping, reports)
    // > 0: end the call after an epoch that leaves this many live columns or
    // fewer (train_jobs then trains them on in a narrower block; needs a state)
    std::int64_t pause_at_live = 0;
    // not null: end the call after an epoch, with two live columns or more,
    // at which this counts a thread waiting for work (train_jobs hands it
    // some of the live columns)
    const std::atomic<int>* pause_when_waiting = nullptr;
    // false: the call's epochs are not counted in the stop token's progress
    // (columns handed over from a paused call, whose epochs that call's
    // chunk counts)
    bool count_progress = true;
};

// Training rows and targets. Rows are indices into X, so folds and validation
// splits never copy X.
struct TrainData {
    const double* y = nullptr;              // n targets (class codes for classification columns)
    const double* sample_weight = nullptr;  // n, or null for all ones
    const std::int64_t* train_idx = nullptr;
    std::int64_t n_train = 0;
    const std::int64_t* val_idx = nullptr;  // early-stopping rows (may be empty)
    std::int64_t n_val = 0;
};

enum class ColumnStatus : int { ok = 0, diverged = 1 };

struct ColumnResult {
    std::int64_t n_iter = 0;        // epochs run
    double t = 1.0;                 // update counter at the end
    ColumnStatus status = ColumnStatus::ok;
    std::int64_t diverged_epoch = 0;  // 1-based epoch where non-finite values appeared
    double objective = 0.0;         // last epoch's training objective
    double validation_score = 0.0;  // last epoch's validation score (early stopping)
};

}  // namespace sgdtune
