// A team: the calling thread and a few helper threads that share the steps of
// one block when there are fewer blocks than threads (one model with n_jobs=2).
// run(f) calls f(m) on every member m = 0..size()-1 (member 0 is the caller)
// and returns when all have returned. A mini-batch step takes microseconds, so
// the helpers wait for work spinning, and run() hands it out with one atomic
// add; a helper left waiting longer (an epoch's end) sleeps until woken.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "isa.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sgdtune {

// How many team helper threads were started in this process (for tests).
inline std::atomic<std::int64_t>& team_helpers_started() {
    static std::atomic<std::int64_t> count{0};
    return count;
}

class Team {
public:
    // A team of `members` threads in all: members - 1 helpers are started.
    // They run with subnormal numbers flushed to zero (FlushSubnormals), as
    // the trainer does on the calling thread (a POSIX thread inherits its
    // creator's floating-point mode; set here all the same, not left to it).
    explicit Team(int members) {
        if (members > 1) team_helpers_started().fetch_add(members - 1, std::memory_order_relaxed);
        helpers_.reserve(static_cast<std::size_t>(members > 1 ? members - 1 : 0));
        try {
            for (int m = 1; m < members; ++m) helpers_.emplace_back([this, m] { serve(m); });
        } catch (...) {  // (a thread could not start: stop the ones that did)
            stop();
            throw;
        }
    }
    Team(const Team&) = delete;
    Team& operator=(const Team&) = delete;
    ~Team() { stop(); }

    int size() const { return static_cast<int>(helpers_.size()) + 1; }

    // f(m) on every member; an exception f throws (the first, if several)
    // is raised here once every member is done. `wide`: f's body is compiled
    // for AVX2 (it must then be SGDTUNE_ALWAYS_INLINE, so that it is inlined
    // into the AVX2 trampoline below; a lambda does not take the instruction
    // set of the function it is written in).
    template <class F>
    void run(F& f, bool wide) {
        void (*task)(void*, int) = invoke<F>;
#ifdef SGDTUNE_X86_DISPATCH
        if (wide) task = invoke_avx2<F>;
#else
        (void)wide;
#endif
        if (helpers_.empty()) {
            task(&f, 0);
            return;
        }
        task_ = task;
        ctx_ = &f;
        pending_.store(static_cast<int>(helpers_.size()), std::memory_order_relaxed);
        publish();
        guarded(task, &f, 0);
        for (std::uint32_t spins = 0; pending_.load(std::memory_order_acquire) != 0;) pause(spins);
        if (error_) {
            std::exception_ptr e = error_;
            error_ = nullptr;
            std::rethrow_exception(e);
        }
    }

private:
    // A helper waits this many pauses for the next step before it sleeps
    // (a step comes every few microseconds; an epoch's end can take longer)
    static constexpr std::uint32_t kSpins = 1u << 14;

    template <class F>
    static void invoke(void* ctx, int m) {
        (*static_cast<F*>(ctx))(m);
    }
#ifdef SGDTUNE_X86_DISPATCH
    template <class F>
    __attribute__((target("avx2"))) static void invoke_avx2(void* ctx, int m) {
        (*static_cast<F*>(ctx))(m);
    }
#endif

    static void pause(std::uint32_t& spins) {
        if (++spins < kSpins) {
#if defined(__SSE2__)
            _mm_pause();
#endif
        } else {
            std::this_thread::yield();  // more threads than cores: let the others on
        }
    }

    // A new generation of work (task_, ctx_, pending_ written before) for
    // the helpers, waking those asleep. (Sequentially consistent with the
    // helpers' sleepers_ count: a helper either sees the new generation before
    // it sleeps or is counted, and then woken, here.)
    void publish() {
        generation_.fetch_add(1, std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) > 0) {
            std::lock_guard<std::mutex> lock(mutex_);
            wake_.notify_all();
        }
    }

    void stop() {
        quit_.store(true, std::memory_order_relaxed);
        publish();
        for (auto& t : helpers_) t.join();
        helpers_.clear();
    }

    // task(ctx, m), its exception kept for run() (the first one)
    void guarded(void (*task)(void*, int), void* ctx, int m) {
        try {
            task(ctx, m);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }

    void serve(int m) {
        const FlushSubnormals flush;
        std::uint64_t seen = 0;
        for (;;) {
            std::uint64_t g;
            for (std::uint32_t spins = 0; (g = generation_.load(std::memory_order_acquire)) == seen;) {
                if (++spins < kSpins) {
#if defined(__SSE2__)
                    _mm_pause();
#endif
                    continue;
                }
                std::unique_lock<std::mutex> lock(mutex_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                wake_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
                spins = 0;
            }
            seen = g;
            if (quit_.load(std::memory_order_relaxed)) return;
            guarded(task_, ctx_, m);
            pending_.fetch_sub(1, std::memory_order_acq_rel);
        }
    }

    std::vector<std::thread> helpers_;
    void (*task_)(void*, int) = nullptr;
    void* ctx_ = nullptr;
    std::atomic<bool> quit_{false};
    // (sleepers_ beside generation_: run() reads it right after its add)
    alignas(64) std::atomic<std::uint64_t> generation_{0};
    std::atomic<int> sleepers_{0};
    alignas(64) std::atomic<int> pending_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::exception_ptr error_;  // guarded by mutex_ while a run is on
};

// Member m's share [lo, hi) of n items split over `parts` members, with
// boundaries at multiples of `grain` (the last share takes the rest).
inline void team_share(std::int64_t n, int parts, int m, std::int64_t grain, std::int64_t& lo, std::int64_t& hi) {
    const std::int64_t units = (n + grain - 1) / grain;
    lo = std::min(n, units * m / parts * grain);
    hi = m + 1 == parts ? n : std::min(n, units * (m + 1) / parts * grain);
}

}  // namespace sgdtune
