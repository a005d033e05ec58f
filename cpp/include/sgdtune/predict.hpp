// Decision values of K linear models for rows of X: the kernel behind both an
// estimator's decision_function and a search's scoring, so that a trial scored
// inside a search gets the very numbers its fitted estimator predicts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

#include "block.hpp"
#include "dataset.hpp"
#include "isa.hpp"
#include "rows512.hpp"

namespace sgdtune {

namespace detail {

template <class T, class Data>
SGDTUNE_INLINE_INTO_ISA void decision_rows_impl(const Data& X, const T* W, const double* intercept,
                                                std::int64_t K, const std::int64_t* rows, std::int64_t r0,
                                                std::int64_t r1, T* out, bool wide) {
    std::vector<T> acc(static_cast<std::size_t>(kLanes * K));
    std::vector<double> p(static_cast<std::size_t>(K));
    for (std::int64_t r = r0; r < r1; ++r) {
        row_dot(X, rows ? rows[r] : r, W, K, acc.data(), p.data(), wide);
        for (std::int64_t k = 0; k < K; ++k) out[r * K + k] = static_cast<T>(p[k] + intercept[k]);
    }
}

#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
// Eight columns at a time with AVX-512 (rows512.hpp: the same lanes, sums and
// order as row_dot). A search's 24 models on 16,700 rows of 100 float64
// features, one thread: 3.1 -> 2.3 ms.
template <class T, class Data>
void decision_rows_512(const Data& X, const T* W, const double* intercept, std::int64_t K,
                       const std::int64_t* rows, std::int64_t r0, std::int64_t r1, T* out) {
    std::vector<T> acc(static_cast<std::size_t>(kLanes * K));
    std::vector<double> p(static_cast<std::size_t>(K));
    for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t i = rows ? rows[r] : r;
        if constexpr (std::is_same_v<Data, DenseView<T>>)
            avx512::row_dot8(X, i, W, K, acc.data(), p.data());
        else
            avx512::csr_row_dot8(X, i, W, K, acc.data(), p.data());
        for (std::int64_t k = 0; k < K; ++k) out[r * K + k] = static_cast<T>(p[k] + intercept[k]);
    }
}
#endif

#ifdef SGDTUNE_X86_DISPATCH
template <class T, class Data>
__attribute__((target("avx2"))) void decision_rows_avx2(const Data& X, const T* W, const double* intercept,
                                                        std::int64_t K, const std::int64_t* rows,
                                                        std::int64_t r0, std::int64_t r1, T* out) {
    decision_rows_impl<T, Data>(X, W, intercept, K, rows, r0, r1, out, true);
}
#endif

}  // namespace detail

// out[r, k] = coef[k] . x_{rows[r]} + intercept[k] for r < m (rows null: row r),
// each dot product summed in the trainer's fixed order, so a row's values do not
// depend on which other rows are asked for or on the thread count.
template <class T, class Data>
void decision_rows(const Data& X, const T* coef, const double* intercept, std::int64_t K,
                   const std::int64_t* rows, std::int64_t m, T* out, int n_threads) {
    const std::int64_t d = X.d;
    // d x K, as the trainer keeps it (a large one mapped and given back when done: block.hpp)
    WeightVector<T> W(static_cast<std::size_t>(d * K));
    for (std::int64_t k = 0; k < K; ++k)
        for (std::int64_t j = 0; j < d; ++j) W[j * K + k] = coef[k * d + j];
    auto run = [&](std::int64_t r0, std::int64_t r1) {
#if defined(SGDTUNE_X86_DISPATCH) && defined(SGDTUNE_HAVE_VECTORS)
        if (K >= 8 && isa_level() == Isa::avx512) {
            detail::decision_rows_512<T, Data>(X, W.data(), intercept, K, rows, r0, r1, out);
            return;
        }
#endif
#ifdef SGDTUNE_X86_DISPATCH
        if (use_avx2()) {
            detail::decision_rows_avx2<T, Data>(X, W.data(), intercept, K, rows, r0, r1, out);
            return;
        }
#endif
        detail::decision_rows_impl<T, Data>(X, W.data(), intercept, K, rows, r0, r1, out, false);
    };
    // Threads only pay off for many rows.
    const std::int64_t threads = std::clamp<std::int64_t>(m * std::max<std::int64_t>(d, 1) * K / 2000000, 1,
                                                          std::max(1, n_threads));
    if (threads <= 1) {
        run(0, m);
        return;
    }
    std::vector<std::thread> pool;
    for (std::int64_t t = 0; t < threads; ++t) pool.emplace_back(run, t * m / threads, (t + 1) * m / threads);
    for (auto& t : pool) t.join();
}

}  // namespace sgdtune
