// The dense mini-batch kernels (cpp/include/sgdtune/batch.hpp) timed alone,
// for tuning them on a new CPU: the register-tile shapes of the forward pass
// and the update, and a batch's rows read where they lie in X or copied into
// aligned rows first (gather_rows in the trainer). Every shape gives the same
// numbers (each dot product's lanes and each weight's updates keep their
// order), so only speed tells them apart. Built and run by tile_shapes.py.
//
// A batch: m rows drawn in a shuffled order from an n x d X whose rows start
// 16 bytes into a cache line (where NumPy's large arrays start), rows d
// elements apart; K columns. Each time is the best of 5 runs of `reps`
// batches, the next batch's rows prefetched as the trainer does.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "sgdtune/batch.hpp"

using namespace sgdtune;
using namespace sgdtune::detail;

namespace {

template <class T, int R, int C>
__attribute__((noinline, target("avx2"))) void dot_shape(const T* const* x, std::int64_t m, const T* WT,
                                                         std::int64_t K, std::int64_t d, double* P) {
    dot_tiles<T, R, C>(x, m, WT, K, 0, K, d, P);
}

template <class T, int C, bool Averaging>
__attribute__((noinline, target("avx2"))) void add_shape(const T* const* x, std::int64_t m, const unsigned char* skip,
                                                         T* WT, T* ZT, std::int64_t K, std::int64_t d, const T* cs,
                                                         const T* a) {
    add_tiles<T, vec<T>, C, Averaging, 8>(x, m, skip, WT, ZT, K, 0, 0, d, d, cs, a);
}

template <class F>
double best_of(F&& f, int reps) {
    double best = 1e300;
    for (int t = 0; t < 5; ++t) {
        const auto s = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) f(i);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
    }
    return best / reps;
}

template <class T>
void run(std::int64_t K, std::int64_t d, std::int64_t m, std::int64_t n, int reps) {
    const std::int64_t dp = padded(d);
    const char* type = sizeof(T) == 8 ? "float64" : "float32";
    // X: rows d apart from 16 bytes into a line, the last row's reads past
    // its end (up to dp) inside the storage
    std::vector<T> xs(static_cast<std::size_t>(n * d + dp + 64), T(0));
    T* X = reinterpret_cast<T*>(reinterpret_cast<char*>(align64(xs.data())) + 16);
    std::vector<T> ws(static_cast<std::size_t>(K * dp + 64), T(0)), zs(ws.size(), T(0));
    T* WT = align64(ws.data());
    T* ZT = align64(zs.data());
    std::vector<T> cs(static_cast<std::size_t>(m * K)), a(static_cast<std::size_t>(K), T(0.5));
    std::mt19937_64 g(1);
    std::normal_distribution<double> nd;
    for (std::int64_t i = 0; i < n * d; ++i) X[i] = static_cast<T>(nd(g));
    for (std::int64_t k = 0; k < K; ++k)
        for (std::int64_t j = 0; j < d; ++j) WT[k * dp + j] = static_cast<T>(0.01 * nd(g));
    for (auto& c : cs) c = static_cast<T>(1e-6 * nd(g));
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), g);
    std::vector<const T*> rows(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) rows[i] = X + order[i] * d;
    std::vector<T> copy_store(static_cast<std::size_t>(m * dp + 64), T(0));
    T* copy = align64(copy_store.data());
    std::vector<const T*> copied(static_cast<std::size_t>(m));
    for (std::int64_t r = 0; r < m; ++r) copied[r] = copy + r * dp;
    std::vector<double> P(static_cast<std::size_t>(m * K));
    std::vector<unsigned char> skip(static_cast<std::size_t>(m), 0);
    const std::int64_t batches = n / m;
    const double flops = 2.0 * static_cast<double>(m * d * K);  // one pass: a multiply and an add each

    auto batch = [&](int i) { return rows.data() + (i % batches) * m; };
    auto prefetch_next = [&](int i) {
        const T* const* next = batch(i + 1);
        for (std::int64_t r = 0; r < m; ++r)
            for (std::int64_t b = 0; b < d * static_cast<std::int64_t>(sizeof(T)); b += 64)
                __builtin_prefetch(reinterpret_cast<const char*>(next[r]) + b, 0, 2);
    };
    auto gather = [&](const T* const* src) {
        for (std::int64_t r = 0; r < m; ++r) std::memcpy(copy + r * dp, src[r], static_cast<std::size_t>(d) * sizeof(T));
        return copied.data();
    };
    auto line = [&](const char* what, const char* shape, double s, double f) {
        std::printf("| %s | %lld | %lld | %s | %s | %.2f | %.1f |\n", type, static_cast<long long>(K),
                    static_cast<long long>(d), what, shape, s * 1e6, f / s / 1e9);
    };
    auto dot = [&](auto fn, const char* shape) {
        line("forward pass", shape, best_of([&](int i) { prefetch_next(i); fn(batch(i), m, WT, K, d, P.data()); }, reps),
             flops);
    };
    auto add = [&](auto fn, bool averaging, const char* shape) {
        line(averaging ? "update, averaging" : "update", shape, best_of([&](int i) {
                 prefetch_next(i);
                 fn(batch(i), m, skip.data(), WT, averaging ? ZT : nullptr, K, d, cs.data(), a.data());
             }, reps),
             flops);
    };
    // the shipped kernels of an instruction set, forward pass and update, on
    // X's rows and on copies
    auto both = [&](const char* isa, auto dot_fn, auto add_fn) {
        for (bool use_copy : {false, true}) {
            char shape[64];
            std::snprintf(shape, sizeof(shape), "%s kernels, rows %s", isa, use_copy ? "copied" : "in X");
            line("forward + update", shape, best_of([&](int i) {
                     prefetch_next(i);
                     const T* const* x = use_copy ? gather(batch(i)) : batch(i);
                     dot_fn(x, m, WT, K, d, P.data());
                     add_fn(x, m, skip.data(), WT, nullptr, K, 0, d, d, cs.data(), a.data());
                 }, reps),
                 2 * flops);
        }
    };
    both("AVX2", batch_dot_avx2<T>, batch_add_avx2<T>);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        both("AVX-512", avx512::batch_dot_avx512<T>, avx512::batch_add_avx512<T>);
    // the AVX2 shapes (rows x columns for the forward pass; columns for the update)
    if constexpr (sizeof(T) == 8) {
        dot(dot_shape<T, 4, 1>, "4 x 1 (shipped)");
        dot(dot_shape<T, 6, 1>, "6 x 1");
        dot(dot_shape<T, 2, 3>, "2 x 3");
        dot(dot_shape<T, 3, 2>, "3 x 2");
        dot(dot_shape<T, 1, 4>, "1 x 4");
        add(add_shape<T, 2, false>, false, "2 (shipped)");
        add(add_shape<T, 4, false>, false, "4");
        add(add_shape<T, 8, false>, false, "8");
        add(add_shape<T, 1, true>, true, "1 (shipped)");
        add(add_shape<T, 2, true>, true, "2");
        add(add_shape<T, 4, true>, true, "4");
    } else {
        dot(dot_shape<T, 3, 3>, "3 x 3 (shipped for one column)");
        dot(dot_shape<T, 4, 3>, "4 x 3 (shipped)");
        dot(dot_shape<T, 4, 2>, "4 x 2");
        dot(dot_shape<T, 6, 2>, "6 x 2");
        add(add_shape<T, 8, false>, false, "8 (shipped)");
        add(add_shape<T, 4, false>, false, "4");
        add(add_shape<T, 4, true>, true, "4 (shipped)");
        add(add_shape<T, 1, true>, true, "1");
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::int64_t m = argc > 1 ? std::atoll(argv[1]) : 64;
    const std::int64_t n = argc > 2 ? std::atoll(argv[2]) : 33333;
    const int reps = argc > 3 ? std::atoi(argv[3]) : 1000;
    std::printf("| type | columns | features | kernel | shape | us a batch | GFLOP/s |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (std::int64_t K : {24, 8}) {
        run<double>(K, 100, m, n, reps);
        run<float>(K, 100, m, n, reps);
    }
    run<double>(24, 300, m, n, reps);
    return 0;
}
