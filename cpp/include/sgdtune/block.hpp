// A block: K weight columns over d features, trained together on one stream of
// mini-batches. Column k's true weights are scale[k] * W[:, k], so an L2 shrink
// is one multiplication of scale[k]. Its averaged iterate (ASGD) is kept as
// (Z[:, k] + avg_a[k] * W[:, k]) / avg_b[k], which a sparse step updates in
// O(non-zeros) (the representation of Xu, "Towards optimal one pass large scale
// learning with averaged stochastic gradient descent", 2011).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace sgdtune {

namespace detail {
// The bytes of n values of T; too many for the address space: bad_array_new_length.
template <class T>
std::size_t array_bytes(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / 2 / sizeof(T)) throw std::bad_array_new_length();
    return n * sizeof(T);
}

#if defined(__linux__)
// A fresh anonymous mapping of `size` bytes starting at a multiple of `align`
// (a power of two; a page or more): a mapping `align` longer whose ends are
// given back. Its pages are zero and take memory once written; munmap frees it.
inline void* map_pages(std::size_t size, std::size_t align) {
    const std::size_t page = 4096, len = size + (align > page ? align : 0);
    void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    const auto base = reinterpret_cast<std::uintptr_t>(m);
    const auto first = (base + align - 1) & ~(std::uintptr_t{align} - 1);
    if (first > base) (void)munmap(m, first - base);
    const auto end = base + len, used_end = first + (size + page - 1) / page * page;
    if (end > used_end) (void)munmap(reinterpret_cast<void*>(used_end), end - used_end);
    return reinterpret_cast<void*>(first);
}
#endif
}  // namespace detail

// Storage of a block's d x K arrays: aligned to cache lines, so that a row of
// 8 float64 (16 float32) columns is one line and wider rows split no line
// (the 24-configuration grid over 50,000 x 100 float64 rows at batch_size 1,
// whole search, medians of 5: 499-515 -> 455-464 ms); and an array of 2 MiB or more in whole 2 MiB
// pages with the kernel asked for huge pages (Linux, where transparent huge
// pages are on "madvise"), so that a sparse step's scattered rows do not miss
// the address translation caches (the grid over 200,000 x 50,000 CSR rows:
// 4.96 -> 4.32 s). On Linux those large arrays are mapped from the system
// directly, so that freeing one returns its memory at once: from the C
// library's heap, freed blocks stayed resident for reuse (the 24-configuration
// halving search over 200,000 x 50,000 CSR rows: its resident memory rose by
// 155 MiB, by 122 with the blocks', the scoring's and the resumable state's
// arrays mapped (the state's now in ZeroedArray below); the grid search's by
// 87 and 61 MiB).
template <class T>
struct WeightAllocator {
    using value_type = T;
    static constexpr std::size_t kHuge = std::size_t{1} << 21;
    WeightAllocator() = default;
    template <class U>
    WeightAllocator(const WeightAllocator<U>&) noexcept {}
    static std::size_t alignment(std::size_t n) { return n * sizeof(T) >= kHuge ? kHuge : 64; }
    // (a large array ends at its last 4 KiB page, not at a whole huge page:
    // the kernel backs the whole 2 MiB stretches with huge pages and the rest
    // with ordinary ones, so that its resident size is its own; the sparse
    // halving search: 94-97 -> 90-93 MiB, the sparse grid 2.61-2.65 s ->
    // 2.65-2.69 s in interleaved runs)
    static std::size_t bytes(std::size_t n) {
        const std::size_t round = alignment(n) == kHuge ? 4096 : alignment(n);
        return std::max<std::size_t>(1, (n * sizeof(T) + round - 1) / round) * round;
    }
    T* allocate(std::size_t n) {
        (void)detail::array_bytes<T>(n);
        const std::size_t align = alignment(n), size = bytes(n);
#if defined(__linux__)
        if (align == kHuge) {
            void* p = detail::map_pages(size, kHuge);
#if defined(MADV_HUGEPAGE)
            (void)madvise(p, size, MADV_HUGEPAGE);  // (a refusal only costs speed)
#endif
            return static_cast<T*>(p);
        }
#endif
        return static_cast<T*>(::operator new(size, std::align_val_t{align}));
    }
    void deallocate(T* p, std::size_t n) noexcept {
#if defined(__linux__)
        if (alignment(n) == kHuge) {
            (void)munmap(p, bytes(n));
            return;
        }
#endif
        ::operator delete(p, std::align_val_t{alignment(n)});
    }
    template <class U>
    bool operator==(const WeightAllocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const WeightAllocator<U>&) const noexcept { return false; }
};
template <class T>
using WeightVector = std::vector<T, WeightAllocator<T>>;

// n values of T, zero at first, for storage written a part at a time and
// read little: a large one (1 MiB or more, Linux) is a fresh mapping in
// ordinary pages, which take memory only as they are written (a std::vector
// writes its zeros at once; a huge page takes 2 MiB at its first write). A
// resumable job's state is written chunk by chunk as its first call ends, so
// it no longer adds its whole size to the chunks being trained, and its
// arrays are not rounded up to 2 MiB (the sparse halving search above:
// 108 -> 94 MiB; search_speed.py --sparse).
template <class T>
class ZeroedArray {
public:
    ZeroedArray() = default;
    ZeroedArray(const ZeroedArray&) = delete;
    ZeroedArray& operator=(const ZeroedArray&) = delete;
    ~ZeroedArray() { reset(0); }
    // n zeros in place of the present values
    void reset(std::size_t n) {
        if (p_ != nullptr) release();
        if (n == 0) return;
        const std::size_t bytes = detail::array_bytes<T>(n);
#if defined(__linux__)
        if (bytes >= (std::size_t{1} << 20)) {
            p_ = static_cast<T*>(detail::map_pages(bytes, 4096));
            n_ = n;
            mapped_ = true;
            return;
        }
#endif
        p_ = static_cast<T*>(::operator new(bytes, std::align_val_t{64}));
        n_ = n;
        mapped_ = false;
        std::fill(p_, p_ + n, T(0));
    }
    T& operator[](std::size_t i) { return p_[i]; }
    const T& operator[](std::size_t i) const { return p_[i]; }
    std::size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    // o's values in place of the present ones
    void copy_from(const ZeroedArray& o) {
        reset(o.n_);
        if (n_ > 0) std::memcpy(p_, o.p_, n_ * sizeof(T));
    }

private:
    void release() noexcept {
#if defined(__linux__)
        if (mapped_)
            (void)munmap(p_, n_ * sizeof(T));
        else
#endif
            ::operator delete(p_, std::align_val_t{64});
        p_ = nullptr;
        n_ = 0;
    }
    T* p_ = nullptr;
    std::size_t n_ = 0;
    bool mapped_ = false;
};

// Caller-owned model arrays, one row per column (the scikit-learn layout
// coef_[k, j]). avg_coef and avg_intercept may be null when nothing averages.
template <class T>
struct ModelArrays {
    T* coef = nullptr;           // K x d
    T* intercept = nullptr;      // K
    T* avg_coef = nullptr;       // K x d or null
    T* avg_intercept = nullptr;  // K or null
    std::int64_t K = 0, d = 0;
};

template <class T>
struct Block {
    std::int64_t d = 0, K = 0;
    WeightVector<T> W;  // d x K, row-major
    std::vector<double> scale, intercept;
    bool averaging = false;
    WeightVector<T> Z;
    std::vector<double> avg_a, avg_b, avg_intercept;
    WeightVector<T> Q;         // L1: penalty each weight has received (d x K)
    std::vector<double> u;    // L1: penalty each weight could have received

    // Columns idx[0], ..., idx[K - 1] of the caller's arrays, in that order.
    Block(const ModelArrays<T>& m, const std::int64_t* idx, std::int64_t K_, bool with_l1)
        : d(m.d), K(K_), W(static_cast<std::size_t>(m.d * K_)), scale(K_, 1.0), intercept(K_),
          averaging(m.avg_coef != nullptr), avg_a(K_, 0.0), avg_b(K_, 1.0), avg_intercept(K_, 0.0),
          u(K_, 0.0) {
        for (std::int64_t k = 0; k < K; ++k) {
            const T* src = m.coef + idx[k] * d;
            for (std::int64_t j = 0; j < d; ++j) W[j * K + k] = src[j];
            intercept[k] = static_cast<double>(m.intercept[idx[k]]);
        }
        if (averaging) {
            Z.assign(static_cast<std::size_t>(d * K), T(0));
            for (std::int64_t k = 0; k < K; ++k) {
                const T* src = m.avg_coef + idx[k] * d;
                for (std::int64_t j = 0; j < d; ++j) Z[j * K + k] = src[j];
                avg_intercept[k] = static_cast<double>(m.avg_intercept[idx[k]]);
            }
        }
        if (with_l1) Q.assign(static_cast<std::size_t>(d * K), T(0));
    }

    double weight(std::int64_t j, std::int64_t k) const { return scale[k] * static_cast<double>(W[j * K + k]); }

    // Rewrites the averaged iterate of column k as Z[:, k] alone (a = 0, b = 1).
    void fold_average(std::int64_t k) {
        if (!averaging) return;
        const double a = avg_a[k], inv_b = 1.0 / avg_b[k];
        for (std::int64_t j = 0; j < d; ++j) {
            const std::int64_t q = j * K + k;
            Z[q] = static_cast<T>((static_cast<double>(Z[q]) + a * static_cast<double>(W[q])) * inv_b);
        }
        avg_a[k] = 0.0;
        avg_b[k] = 1.0;
    }

    // Moves column k's scale into its weights (called when the scale gets tiny).
    void renormalise(std::int64_t k) {
        fold_average(k);
        const double s = scale[k];
        for (std::int64_t j = 0; j < d; ++j) W[j * K + k] = static_cast<T>(s * static_cast<double>(W[j * K + k]));
        scale[k] = 1.0;
    }

    // Starts the average of column k at the current iterate.
    void start_average(std::int64_t k) {
        for (std::int64_t j = 0; j < d; ++j) Z[j * K + k] = T(0);
        avg_a[k] = scale[k];
        avg_b[k] = 1.0;
        avg_intercept[k] = intercept[k];
    }

    // One averaging step: avg <- (1 - 1/m) avg + (1/m) w, O(1).
    void average_step(std::int64_t k, double m) {
        if (m <= 1.0) {
            start_average(k);
            return;
        }
        const double mu = 1.0 / m;
        avg_b[k] /= (1.0 - mu);
        avg_a[k] += mu * scale[k] * avg_b[k];
        avg_intercept[k] += (intercept[k] - avg_intercept[k]) * mu;
    }

    bool column_finite(std::int64_t k) const {
        if (!std::isfinite(intercept[k]) || !std::isfinite(scale[k])) return false;
        for (std::int64_t j = 0; j < d; ++j)
            if (!std::isfinite(static_cast<double>(W[j * K + k]))) return false;
        return true;
    }

    // Writes the block back into columns idx[0..K) of the caller's arrays.
    void store(const ModelArrays<T>& m, const std::int64_t* idx) {
        for (std::int64_t k = 0; k < K; ++k) {
            T* dst = m.coef + idx[k] * d;
            for (std::int64_t j = 0; j < d; ++j) dst[j] = static_cast<T>(weight(j, k));
            m.intercept[idx[k]] = static_cast<T>(intercept[k]);
            if (averaging) {
                fold_average(k);
                T* adst = m.avg_coef + idx[k] * d;
                for (std::int64_t j = 0; j < d; ++j) adst[j] = Z[j * K + k];
                m.avg_intercept[idx[k]] = static_cast<T>(avg_intercept[k]);
            }
        }
    }
};

}  // namespace sgdtune
