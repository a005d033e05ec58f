// Cooperative cancellation of training (Ctrl-C from Python, or a search that
// stops early).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>

namespace sgdtune {

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("training interrupted") {}
};

// Cooperative cancellation and progress. `poll` (may be empty) is called only
// from the thread that created the token, at most every ~50 ms, and returns true
// to stop; it may read the progress counters to report them. Trainers add to
// `epochs_done` as blocks finish epochs (a block that stops early adds the
// epochs it skipped), out of `epochs_total`.
struct StopToken {
    std::atomic<bool> requested{false};
    std::function<bool()> poll;
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
    std::atomic<std::int64_t> epochs_done{0};
    std::int64_t epochs_total = 0;

    bool stop_requested() const { return requested.load(std::memory_order_relaxed); }
    void maybe_poll() {
        if (!poll) return;
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(50)) return;
        last = now;
        if (poll()) requested.store(true, std::memory_order_relaxed);
    }
};

}  // namespace sgdtune
