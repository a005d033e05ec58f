// Runs training jobs on a pool of threads. A job is one block of columns (one
// model, or a group of hyperparameter trials that share a fold, a batch size, a
// shuffle seed and stopping options) trained on its own rows of the shared,
// read-only X. A job's columns may be split into contiguous chunks so that every
// thread has work; each chunk is its own block with its own weight storage (no
// two threads write the same cache line). Every chunk of a job reads the same
// rows in the same shuffled order, and a column's arithmetic does not depend on
// the other columns of its block, so results are the same for any thread count
// and any grouping of trials into jobs.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "trainer.hpp"

namespace sgdtune {

template <class T>
struct Job {
    TrainData data;
    TrainOptions options;
    std::vector<ColumnSpec> specs;
    ModelArrays<T> model;  // model.K == specs.size()
    JobState<T>* state = nullptr;  // resumable jobs only: kept between calls
};

// How many stopped columns left their chunk's block part way through a
// training call (for tests).
inline std::atomic<std::int64_t>& columns_left_blocks() {
    static std::atomic<std::int64_t> count{0};
    return count;
}
// How many times a paused chunk handed some of its live columns to a thread
// waiting for work (for tests).
inline std::atomic<std::int64_t>& blocks_shared() {
    static std::atomic<std::int64_t> count{0};
    return count;
}

// How many L1 columns went on in blocks of their own rather than in a masked
// group of their block's L1 step (see l1_columns_alone; for tests).
inline std::atomic<std::int64_t>& l1_columns_split() {
    static std::atomic<std::int64_t> count{0};
    return count;
}

namespace detail {

// A chunk: some columns of one job, trained as one block by one thread. Its
// columns without an L1 term come first, so that the block's L1 step can skip
// them, or last where l1_columns_first says (a column's numbers do not depend
// on its place in a block).
struct Chunk {
    std::size_t job;
    std::vector<std::int64_t> cols;
    bool writes_stream;  // the job's first chunk (every chunk leaves the same stream)
    int members = 1;     // threads that train it (see train_block)
};

// The columns of each job that take part in this call: all of them, except in
// a resumed job, whose stopped columns (converged, diverged or pruned) stay
// out of its blocks, so that the live ones do not pay for them. A resumed job
// with no live column keeps one, whose block only advances the shuffle stream.
template <class T>
std::vector<std::vector<std::int64_t>> live_columns(const std::vector<Job<T>>& jobs) {
    std::vector<std::vector<std::int64_t>> live(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const JobState<T>* st = jobs[i].state;
        for (std::int64_t k = 0; k < jobs[i].model.K; ++k)
            if (st == nullptr || !st->started || st->cols[static_cast<std::size_t>(k)].active) live[i].push_back(k);
        if (live[i].empty() && jobs[i].model.K > 0) live[i].push_back(0);
    }
    return live;
}

// Dense rows one at a time (batch_size 1): a block's L1 step takes its L1
// columns four at a time (eight with AVX-512), and one to three left over
// as a group of four with lanes masked, a pass that costs about as much as
// three one-column blocks' L1 steps, each along its contiguous weights. So
// where a block has one or two L1 columns, or one beyond whole fours, they
// go on in blocks of their own: how many of `cols` (L1 columns last) that
// is, keeping one. (100 features, 33,333 rows, one thread, ms an epoch on a
// Xeon, AVX-512 / AVX2 kernels, one block against the split: 8 L2 columns
// and 1 L1 17.8 -> 10.8; 3 L2 and 1 L1 12.9 / 12.6 -> 8.5 / 9.1; 3 L2 and
// 2 L1 15.2 -> 12.2; 8 L2 and 2 L1 18.6 / 19.0 -> 14.3 / 17.7; 5 L1 21.6 /
// 21.4 -> 16.2 / 16.8. Not split, as the split was slower: 3 L2 and 3 L1
// 15.4 -> 17.7 with AVX2; 2 L2 and 6 L1 20.6 / 21.8 -> 21.8 / 23.9.
// Mini-batches and sparse rows take the L1 step once a batch or on a row's
// non-zeros only: they stay.)
template <class T>
std::size_t l1_columns_alone(const Job<T>& job, const std::vector<std::int64_t>& cols, bool dense) {
    if (!dense || job.options.batch_size != 1) return 0;
    std::size_t l1 = 0;
    while (l1 < cols.size() && has_l1(job.specs[static_cast<std::size_t>(cols[cols.size() - 1 - l1])].penalty)) ++l1;
    const std::size_t alone = l1 <= 2 || l1 % 4 == 1 ? l1 % 4 : 0;
    return std::min(alone, cols.size() - 1);
}

// A dense one-row block (batch_size 1) takes a row's update and its L1 step
// in one pass where its L1 columns fill whole eights from a multiple of
// eight on (train_block_impl's dense_fused_l1, AVX-512): its columns without
// an L1 term first (`cols` so ordered), unless they are not a whole number
// of eights and the L1 columns are. Then the L1 columns go first: returns
// how many columns without L1 to move behind them (0: the order stays). The
// 12-column chunks of the 24-configuration grid on two threads (4 columns
// without L1, 8 with; 33,333 x 100 float64, 10 epochs, one thread on a Zen
// 4): 213-223 -> 195-198 ms; the grid's trials 533-544 -> 522-540 ms.
template <class T>
std::size_t l1_columns_first(const Job<T>& job, const std::vector<std::int64_t>& cols, bool dense) {
    if (!dense || job.options.batch_size != 1) return 0;
    std::size_t plain = 0;
    while (plain < cols.size() && !has_l1(job.specs[static_cast<std::size_t>(cols[plain])].penalty)) ++plain;
    const std::size_t l1 = cols.size() - plain;
    return plain % 8 != 0 && l1 > 0 && l1 % 8 == 0 ? plain : 0;
}

// Splits jobs into chunks. Whole jobs keep the widest blocks (each mini-batch
// read once for the most columns) and are used when they already share out
// evenly: their count is a multiple of the threads', or large. Otherwise the
// jobs that fill whole rounds of the threads stay whole, and each of the last
// J % n_threads jobs has its columns split in n_threads parts, so that every
// round of work keeps all threads busy (the threads take the chunks in order,
// each the next one when it is free). Three 24-column fold jobs on two
// threads, two whole and one halved, ran the 24-configuration grid's epochs
// 1.1x as fast at batch_size 64 (1.04x at 1) as all three halved, whose every
// column read its rows with half as many others. A job with fewer than four
// columns a thread (but more than one) stays whole while every thread has a
// job anyway: narrow blocks cost more per column than the uneven rounds (three
// 4-column jobs, 40,000 rows, two threads: 71 ms split in 2-column chunks,
// 50 ms whole; three 6-column jobs: 198 and 118 ms). One-column chunks take the
// single-column kernels and are worth the split (three 2-column jobs: 33 ms
// split, 49 ms whole).
//
// A sparse job whose weights outgrow a second-level cache is cut into chunks
// of `sparse_width` columns (one 64-byte line of a feature's weights): its
// steps are bound by fetching the weights of each non-zero, and narrower
// blocks stay in the last-level cache, while reading a sparse row again costs
// little. The 24-configuration grid over 200,000 x 50,000 CSR rows (two
// threads, whole search, with the four-column sparse kernels): float64 4.38 s
// with 24-column chunks, 4.09 with 12, 4.10 with 16, 3.12 with 8, 3.72 with 4,
// 4.93 with 6 (AVX-512 takes 8 float64 columns at a time); float32 3.66 s with
// 24, 3.02 with 16, 3.20 with 8. With the eight-column kernels (rows512.hpp),
// float64 2.45 s with 8 columns, 2.63 with 16.
template <class T>
std::vector<Chunk> plan_chunks(const std::vector<Job<T>>& jobs, const std::vector<std::vector<std::int64_t>>& live,
                               int n_threads, std::int64_t sparse_width = 0) {
    const auto J = static_cast<std::int64_t>(jobs.size());
    const std::int64_t n = n_threads;
    const bool whole = n <= 1 || J % n == 0 || J >= 4 * n;
    std::vector<Chunk> chunks;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        // Each part takes an even share of the columns without L1 and of those
        // with L1, the latter cut at multiples of four even where that makes
        // the shares uneven: the L1 pass takes four columns at a time and the
        // rest (then one by one; now as a masked four), at several times the
        // cost (a 24-column grid block
        // of which 8 columns still train, on two threads: 50 ms an epoch with
        // two L1 columns a part, 33 ms with four in one part).
        std::vector<std::int64_t> plain, l1;
        for (std::int64_t k : live[i])
            (has_l1(jobs[i].specs[static_cast<std::size_t>(k)].penalty) ? l1 : plain).push_back(k);
        // columns of a loss side by side (a block's one-row steps take the
        // coefficients of a run of them in one call, see train_block_impl)
        auto by_loss = [&](std::int64_t a, std::int64_t b) {
            const ColumnSpec &sa = jobs[i].specs[static_cast<std::size_t>(a)],
                             &sb = jobs[i].specs[static_cast<std::size_t>(b)];
            return sa.loss != sb.loss ? sa.loss < sb.loss : sa.epsilon < sb.epsilon;
        };
        // (and the losses' order reversed from one group of columns to the
        // next, columns without L1, L1 without L2, elastic-net, so that a
        // loss runs on across a boundary: the 24-configuration grid's block
        // takes four runs, not six, two of them of eight columns)
        std::stable_sort(plain.begin(), plain.end(), [&](std::int64_t a, std::int64_t b) { return by_loss(b, a); });
        // (the L1 columns without an L2 term first: their scales stay 1, and
        // an L1 step over eight such columns leaves out its products with
        // them, rows512.hpp's unit_scales: the 24-configuration grid's
        // trials at batch_size 1 on one thread of a Zen 4 986-988 -> 954-969
        // ms; on two threads the same, 524-527 against 525-526 ms, as the
        // third fold's halves, one with these columns, end unevenly)
        std::stable_sort(l1.begin(), l1.end(), [&](std::int64_t a, std::int64_t b) {
            const bool la = has_l2(jobs[i].specs[static_cast<std::size_t>(a)].penalty),
                       lb = has_l2(jobs[i].specs[static_cast<std::size_t>(b)].penalty);
            return la != lb ? lb : la ? by_loss(b, a) : by_loss(a, b);
        });
        const auto K = static_cast<std::int64_t>(live[i].size());
        const auto P = static_cast<std::int64_t>(plain.size()), L = static_cast<std::int64_t>(l1.size());
        if (sparse_width > 0 && K > sparse_width &&
            weight_bytes<T>(jobs[i].model.d, K, L > 0, jobs[i].model.avg_coef != nullptr) > kCacheBytes) {
            for (std::int64_t a = 0; a < K; a += sparse_width) {  // the columns without L1 first
                Chunk c{i, {}, a == 0};
                for (std::int64_t k = a; k < std::min(K, a + sparse_width); ++k)
                    c.cols.push_back(k < P ? plain[static_cast<std::size_t>(k)] : l1[static_cast<std::size_t>(k - P)]);
                chunks.push_back(std::move(c));
            }
            continue;
        }
        const bool narrow = J >= n && K > n && K < 4 * n;
        // (the first J - J % n jobs fill whole rounds of the threads: only the last J % n are split)
        const bool in_round = static_cast<std::int64_t>(i) < J / n * n;
        const std::int64_t parts =
            whole || narrow || in_round ? 1 : std::clamp<std::int64_t>(n, 1, std::max<std::int64_t>(K, 1));
        auto cut = [&](std::int64_t p) {  // where part p's L1 columns start
            const std::int64_t even = p * L / parts;
            return L >= 4 ? std::min(L, (even + 2) / 4 * 4) : even;
        };
        bool first = true;
        for (std::int64_t p = 0; p < parts; ++p) {
            Chunk c{i, {}, first};
            // the columns without L1 first, so that the block's L1 step skips them
            c.cols.assign(plain.begin() + p * P / parts, plain.begin() + (p + 1) * P / parts);
            c.cols.insert(c.cols.end(), l1.begin() + cut(p), l1.begin() + (p + 1 == parts ? L : cut(p + 1)));
            if (c.cols.empty()) continue;
            first = false;
            const std::size_t alone = l1_columns_alone(jobs[i], c.cols, sparse_width == 0);
            const std::vector<std::int64_t> rest(c.cols.end() - static_cast<std::ptrdiff_t>(alone), c.cols.end());
            c.cols.resize(c.cols.size() - alone);
            const auto plain_cols = static_cast<std::ptrdiff_t>(l1_columns_first(jobs[i], c.cols, sparse_width == 0));
            std::rotate(c.cols.begin(), c.cols.begin() + plain_cols, c.cols.end());
            chunks.push_back(std::move(c));
            for (std::int64_t k : rest) chunks.push_back(Chunk{i, {k}, false});
            l1_columns_split().fetch_add(static_cast<std::int64_t>(alone), std::memory_order_relaxed);
        }
    }
    // Fewer chunks than threads (one model, say): the threads left over join
    // the one-column chunks as teams, which share the steps of dense
    // mini-batches (wider chunks have had their columns split already, except
    // L1 columns kept in fours).
    std::vector<std::size_t> single;
    for (std::size_t i = 0; i < chunks.size(); ++i)
        if (chunks[i].cols.size() == 1) single.push_back(i);
    const auto spare = n - static_cast<std::int64_t>(chunks.size());
    const auto s = static_cast<std::int64_t>(single.size());
    if (spare > 0 && s > 0)
        for (std::int64_t i = 0; i < s; ++i)
            chunks[single[i]].members = static_cast<int>(1 + spare / s + (i < spare % s ? 1 : 0));
    return chunks;
}

}  // namespace detail

// Trains every job; returns one result per column of each job. Throws
// Interrupted when `stop` is requested (polled from the calling thread).
template <class T, class Data>
std::vector<std::vector<ColumnResult>> train_jobs(const Data& X, const std::vector<Job<T>>& jobs,
                                                  int n_threads, StopToken& stop) {
    std::vector<std::vector<ColumnResult>> results(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (static_cast<std::int64_t>(jobs[i].specs.size()) != jobs[i].model.K)
            throw std::invalid_argument("a job needs one column spec per model column");
        results[i].resize(static_cast<std::size_t>(jobs[i].model.K));
    }
    // Resumable jobs: every check before any state changes, so that a refused
    // call leaves them as they were.
    for (const auto& job : jobs) {
        const JobState<T>* st = job.state;
        if (st == nullptr) continue;
        if (st->broken) throw std::invalid_argument("this resumable job was interrupted or failed; it cannot go on");
        if (st->started && static_cast<std::int64_t>(st->cols.size()) != job.model.K)
            throw std::invalid_argument("a resumed job must keep its columns");
    }
    for (const auto& job : jobs) {
        JobState<T>* st = job.state;
        if (st == nullptr) continue;
        if (!st->started) {
            std::vector<bool> l1;
            for (const auto& spec : job.specs) l1.push_back(has_l1(spec.penalty));
            st->allocate(job.model.K, job.model.d, job.model.avg_coef != nullptr, l1);
        }
        st->broken = true;  // until the call completes
    }
    const auto live = detail::live_columns(jobs);
    // calls over 16 MiB of weights give the memory they free back (below)
    std::int64_t weights_total = 0;
    for (const auto& job : jobs) weights_total += detail::weight_bytes<T>(job.model.d, job.model.K, false, false);
    [[maybe_unused]] const bool memory_heavy = weights_total >= (std::int64_t{16} << 20);
    const auto chunks = detail::plan_chunks(jobs, live, std::max(1, n_threads),
                                            std::is_same_v<Data, DenseView<T>> ? 0 : 64 / std::int64_t{sizeof(T)});
    // the columns left out keep their state: their results are the ones they stopped with
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const JobState<T>* st = jobs[i].state;
        if (st == nullptr || !st->started) continue;
        for (std::int64_t k = 0; k < jobs[i].model.K; ++k) {
            const auto& col = st->cols[static_cast<std::size_t>(k)];
            results[i][static_cast<std::size_t>(k)] = col.result;
            results[i][static_cast<std::size_t>(k)].t = col.t;
        }
    }
    for (const auto& c : chunks) stop.epochs_total += jobs[c.job].options.max_iter;

    // A chunk of several columns whose columns stop at different epochs (their
    // tol criterion, divergence) is trained in stages: when eight of its
    // columns (a vector of float64 columns), or half of a narrower chunk's,
    // have stopped, the call pauses, and the live ones go on in a narrower
    // block from the state the pause left (a JobState of the chunk's own:
    // weights, L1 records, column states, the shuffle stream), so that they
    // no longer pay for the stopped ones. A column's numbers do not depend on
    // its block, and a paused and resumed call gives those of one call: the
    // results are those of one stage. (A resumable job, trained in calls
    // already, keeps its chunks whole within a call.) The 24-configuration
    // grid at tol=1e-3, max_iter=100 (columns stopping after 12 to 100
    // epochs), 50,000 x 100, two threads, no refit: batch_size 64 3.57-3.69
    // -> 3.32-3.38 s, batch_size 1 7.77-7.95 -> 7.32-7.36 s (narrowing at
    // three quarters instead: 3.25-3.34 and 7.47-7.54 s). Less than the
    // column-epochs saved (a fifth), as a block's cost per column grows as it
    // narrows, and the threads' shares of the chunks end unevenly. So a
    // thread that runs out of chunks asks the others to pause too (at their
    // next epoch's end), and a paused chunk hands it half of its live columns
    // with a copy of its state: the same grid 3.25-3.48 -> 3.01-3.04 s at
    // batch_size 64 and 7.27-7.39 -> 6.97-7.11 s at batch_size 1; with
    // tol=None (no column stops before the last epoch), the end of the
    // batch_size 1 grid's last chunk shared, 752 -> 728 ms.
    // Columns of a paused chunk handed to a thread waiting for work, with a
    // copy of the state they resume from.
    struct Handoff {
        std::size_t job;
        std::vector<std::int64_t> cols, pos;
        TrainOptions options;
        std::unique_ptr<JobState<T>> state;
    };
    std::mutex work_mutex;
    std::condition_variable work_cv;
    std::deque<Handoff> handoffs;  // guarded by work_mutex
    std::atomic<int> waiting{0};   // threads waiting for work
    const bool can_share = std::max(1, n_threads) > 1;
    // (worker threads, which take handed-over columns; with one, the calling thread trains alone)
    const auto workers = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, n_threads)), chunks.size());

    // Trains columns `cols` of job `ji` (at places `pos` of their chunk) in
    // stages; `stages` holds the state they resume from, if any.
    constexpr bool dense = std::is_same_v<Data, DenseView<T>>;
    std::function<void(std::size_t, std::vector<std::int64_t>, std::vector<std::int64_t>, TrainOptions,
                       JobState<T>&, bool, bool, int, bool)>
        run_stages;
    run_stages = [&](std::size_t ji, std::vector<std::int64_t> cols, std::vector<std::int64_t> pos,
                     TrainOptions options, JobState<T>& stages, bool staged, bool writes_stream, int members,
                     bool may_poll) {
        const Job<T>& job = jobs[ji];
        stages.advance_stream = false;
        for (;;) {
            // L1 columns that this block's L1 step would take as a masked
            // group (l1_columns_alone; after a pause, or handed over:
            // plan_chunks splits the first blocks) go on alone, each from a copy of the state: handed to the
            // threads, or trained here first with one thread
            if (staged && stages.started) {
                // (the chunk's order may have put its L1 columns first: those
                // without L1 first again, as l1_columns_alone takes L1 columns
                // from the end; the rule below after the split)
                std::vector<std::size_t> order(cols.size());
                for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
                std::stable_partition(order.begin(), order.end(), [&](std::size_t k) {
                    return !has_l1(job.specs[static_cast<std::size_t>(cols[k])].penalty);
                });
                std::vector<std::int64_t> c2, p2;
                for (std::size_t k : order) {
                    c2.push_back(cols[k]);
                    p2.push_back(pos[k]);
                }
                cols.swap(c2);
                pos.swap(p2);
            }
            for (std::size_t alone = staged && stages.started ? detail::l1_columns_alone(job, cols, dense) : 0;
                 alone > 0; --alone) {
                Handoff h{ji, {cols.back()}, {pos.back()}, options, std::make_unique<JobState<T>>()};
                h.options.count_progress = false;  // (this chunk's epochs count them)
                h.state->copy_from(stages);
                cols.pop_back();
                pos.pop_back();
                l1_columns_split().fetch_add(1, std::memory_order_relaxed);
                if (workers > 1) {
                    {
                        std::lock_guard<std::mutex> lock(work_mutex);
                        handoffs.push_back(std::move(h));
                    }
                    work_cv.notify_one();
                } else {
                    run_stages(h.job, std::move(h.cols), std::move(h.pos), h.options, *h.state, true, true, 1,
                               may_poll);
                }
            }
            if (staged && stages.started) {
                const auto plain = static_cast<std::ptrdiff_t>(detail::l1_columns_first(job, cols, dense));
                std::rotate(cols.begin(), cols.begin() + plain, cols.end());
                std::rotate(pos.begin(), pos.begin() + plain, pos.end());
            }
            const auto kn = static_cast<std::int64_t>(cols.size());
            std::vector<ColumnSpec> sub;
            bool any_l1 = false;
            for (std::int64_t k : cols) {
                sub.push_back(job.specs[static_cast<std::size_t>(k)]);
                any_l1 = any_l1 || has_l1(sub.back().penalty);
            }
            options.pause_at_live = staged && kn > 1 ? std::max<std::int64_t>(kn - 8, kn / 2) : 0;
            options.pause_when_waiting = staged && can_share ? &waiting : nullptr;
            Block<T> block(job.model, cols.data(), kn, any_l1);
            auto res = staged ? train_block(X, job.data, block, sub, options, stop, may_poll, &stages, pos.data(),
                                            true, members)
                              : train_block(X, job.data, block, sub, options, stop, may_poll, job.state,
                                            cols.data(), writes_stream, members);
            block.store(job.model, cols.data());
            for (std::size_t k = 0; k < cols.size(); ++k) results[ji][static_cast<std::size_t>(cols[k])] = res[k];
            if (!staged || !stages.paused) break;
            stages.commit(stages.epochs_run);
            options.max_iter -= stages.epochs_run;
            std::vector<std::int64_t> live_cols, live_pos;
            for (std::size_t k = 0; k < cols.size(); ++k)
                if (stages.cols[static_cast<std::size_t>(pos[k])].active) {
                    live_cols.push_back(cols[k]);
                    live_pos.push_back(pos[k]);
                }
            columns_left_blocks().fetch_add(static_cast<std::int64_t>(cols.size() - live_cols.size()),
                                            std::memory_order_relaxed);
            cols.swap(live_cols);
            pos.swap(live_pos);
            if (can_share && cols.size() > 1 && waiting.load(std::memory_order_relaxed) > 0) {
                // a thread waits: the second half of the live columns go to it
                const auto half = static_cast<std::ptrdiff_t>(cols.size() / 2);
                Handoff h{ji, {cols.begin() + half, cols.end()}, {pos.begin() + half, pos.end()}, options,
                          std::make_unique<JobState<T>>()};
                h.options.count_progress = false;  // (this chunk's epochs count them)
                h.state->copy_from(stages);
                cols.resize(static_cast<std::size_t>(half));
                pos.resize(static_cast<std::size_t>(half));
                {
                    std::lock_guard<std::mutex> lock(work_mutex);
                    handoffs.push_back(std::move(h));
                }
                work_cv.notify_one();
                blocks_shared().fetch_add(1, std::memory_order_relaxed);
            }
        }
    };
    auto run_chunk = [&](const detail::Chunk& c, bool may_poll) {
        std::vector<std::int64_t> pos(c.cols.size());  // the columns' places in the chunk
        for (std::size_t k = 0; k < pos.size(); ++k) pos[k] = static_cast<std::int64_t>(k);
        JobState<T> stages;  // (sized at the first pause)
        run_stages(c.job, c.cols, std::move(pos), jobs[c.job].options, stages,
                   jobs[c.job].state == nullptr && c.cols.size() > 1, c.writes_stream, c.members, may_poll);
    };

    auto commit_states = [&] {
        for (const auto& job : jobs) {
            if (job.state == nullptr) continue;
            job.state->commit(job.options.max_iter);
            job.state->broken = false;
        }
    };
    if (workers <= 1) {
        for (const auto& c : chunks) run_chunk(c, true);
        commit_states();
        return results;
    }
    std::size_t next = 0, busy = 0;  // the next chunk; threads training (guarded by work_mutex)
    std::size_t running = workers;  // guarded by done_mutex
    std::mutex done_mutex;
    std::condition_variable done;
    std::vector<std::exception_ptr> errors(workers);
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
            // (the thread counted as training while it holds work)
            struct Busy {
                std::mutex& m;
                std::condition_variable& cv;
                std::size_t& busy;
                ~Busy() {
                    {
                        std::lock_guard<std::mutex> lock(m);
                        --busy;
                    }
                    cv.notify_all();  // (waiting threads see whether work is left)
                }
            };
            try {
                for (;;) {
                    std::size_t i = chunks.size();
                    std::optional<Handoff> h;
                    {
                        std::unique_lock<std::mutex> lock(work_mutex);
                        for (;;) {
                            if (stop.stop_requested()) throw Interrupted();
                            if (next < chunks.size()) {
                                i = next++;
                                break;
                            }
                            if (!handoffs.empty()) {
                                h.emplace(std::move(handoffs.front()));
                                handoffs.pop_front();
                                break;
                            }
                            if (busy == 0) break;  // no work left, and none to come
                            // (others train: wait for columns they hand over, or their end)
                            waiting.fetch_add(1, std::memory_order_relaxed);
                            work_cv.wait_for(lock, std::chrono::milliseconds(10));
                            waiting.fetch_sub(1, std::memory_order_relaxed);
                        }
                        if (i == chunks.size() && !h) break;
                        ++busy;
                    }
                    Busy guard{work_mutex, work_cv, busy};
                    if (h)
                        run_stages(h->job, std::move(h->cols), std::move(h->pos), h->options, *h->state, true, true,
                                   1, false);
                    else
                        run_chunk(chunks[i], false);
                }
            } catch (...) {
                errors[w] = std::current_exception();
                stop.requested.store(true);
                work_cv.notify_all();
            }
            {
                std::lock_guard<std::mutex> lock(done_mutex);
                --running;
            }
            done.notify_one();
        });
    }
    // The calling thread only watches for interruption while the workers train,
    // and wakes as soon as the last one ends (a short call costs no polling delay).
    {
        std::unique_lock<std::mutex> lock(done_mutex);
        while (running > 0) {
            if (done.wait_for(lock, std::chrono::milliseconds(5), [&] { return running == 0; })) break;
            lock.unlock();
            stop.maybe_poll();
            lock.lock();
        }
    }
    for (auto& t : threads) t.join();
    // A failure in one worker stops the others; report the first real error.
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
    commit_states();
#if defined(__GLIBC__)
    // The chunks' scratch (row orders, per-column arrays) is freed now; the C
    // library would keep those pages resident between the calls of a
    // resumable search. (The sparse halving search of block.hpp: its memory
    // grew by 116 MiB, by 108 with them given back.)
    if (memory_heavy) (void)malloc_trim(0);
#endif
    return results;
}

template <class T>
using Csr32 = CsrView<T, std::int32_t>;
template <class T>
using Csr64 = CsrView<T, std::int64_t>;

// Entry points compiled once per type in src/ (explicit instantiation keeps the
// bindings file fast to build).
#define SGDTUNE_TRAIN_DECL(EXTERN, T, DATA)                                                               \
    EXTERN template std::vector<std::vector<ColumnResult>> train_jobs<T, DATA>(const DATA&,                \
                                                                              const std::vector<Job<T>>&, \
                                                                              int, StopToken&);
#define SGDTUNE_TRAIN_ALL(EXTERN, T)            \
    SGDTUNE_TRAIN_DECL(EXTERN, T, DenseView<T>) \
    SGDTUNE_TRAIN_DECL(EXTERN, T, Csr32<T>)     \
    SGDTUNE_TRAIN_DECL(EXTERN, T, Csr64<T>)

SGDTUNE_TRAIN_ALL(extern, float)
SGDTUNE_TRAIN_ALL(extern, double)

}  // namespace sgdtune
