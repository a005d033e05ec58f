// Trains a model of K columns on n_threads threads. The columns are split into
// contiguous groups, one block per thread, each with its own weight storage (no
// two threads write the same cache line). Every block reads the same rows in the
// same shuffled order, and a column's arithmetic does not depend on its block,
// so the result is the same for any thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

#include "trainer.hpp"

namespace sgdtune {

template <class T, class Data>
std::vector<ColumnResult> train_model(const Data& X, const TrainData& td, const ModelArrays<T>& model,
                                      const std::vector<ColumnSpec>& specs, const TrainOptions& opt,
                                      int n_threads, StopToken& stop) {
    const std::int64_t K = model.K;
    bool any_l1 = false;
    for (const auto& s : specs) any_l1 = any_l1 || has_l1(s.penalty);
    const std::int64_t groups = std::max<std::int64_t>(1, std::min<std::int64_t>(n_threads, K));
    std::vector<std::int64_t> first(groups + 1);
    for (std::int64_t g = 0; g <= groups; ++g) first[g] = g * K / groups;

    std::vector<ColumnResult> results(static_cast<std::size_t>(K));
    auto run_group = [&](std::int64_t g, bool may_poll) {
        const std::int64_t k0 = first[g], kn = first[g + 1] - first[g];
        Block<T> block(model, k0, kn, any_l1);
        std::vector<ColumnSpec> sub(specs.begin() + k0, specs.begin() + k0 + kn);
        auto res = train_block(X, td, block, sub, opt, stop, may_poll);
        block.store(model, k0);
        std::copy(res.begin(), res.end(), results.begin() + k0);
    };

    if (groups == 1) {
        run_group(0, true);
        return results;
    }
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(groups));
    std::atomic<std::int64_t> remaining{groups};
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(groups));
    for (std::int64_t g = 0; g < groups; ++g) {
        threads.emplace_back([&, g] {
            try {
                run_group(g, false);
            } catch (...) {
                errors[g] = std::current_exception();
                stop.requested.store(true);
            }
            remaining.fetch_sub(1);
        });
    }
    // The calling thread only watches for interruption while the workers train.
    while (remaining.load() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        stop.maybe_poll();
    }
    for (auto& t : threads) t.join();
    // An interruption in one group stops the others; report the first real error.
    std::exception_ptr first_error;
    for (auto& e : errors) {
        if (!e) continue;
        try {
            std::rethrow_exception(e);
        } catch (const Interrupted&) {
            if (!first_error) first_error = e;
        } catch (...) {
            first_error = e;
            break;
        }
    }
    if (first_error) std::rethrow_exception(first_error);
    return results;
}

template <class T>
using Csr32 = CsrView<T, std::int32_t>;
template <class T>
using Csr64 = CsrView<T, std::int64_t>;

// Entry points compiled once per type in src/ (explicit instantiation keeps the
// bindings file fast to build).
#define SGDTUNE_TRAIN_DECL(EXTERN, T, DATA)                                                   \
    EXTERN template std::vector<ColumnResult> train_model<T, DATA>(                          \
        const DATA&, const TrainData&, const ModelArrays<T>&, const std::vector<ColumnSpec>&, \
        const TrainOptions&, int, StopToken&);
#define SGDTUNE_TRAIN_ALL(EXTERN, T)            \
    SGDTUNE_TRAIN_DECL(EXTERN, T, DenseView<T>) \
    SGDTUNE_TRAIN_DECL(EXTERN, T, Csr32<T>)     \
    SGDTUNE_TRAIN_DECL(EXTERN, T, Csr64<T>)

SGDTUNE_TRAIN_ALL(extern, float)
SGDTUNE_TRAIN_ALL(extern, double)

}  // namespace sgdtune
