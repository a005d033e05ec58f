// Which instruction set the kernels run with. On x86 the trainer and the
// prediction kernel are compiled twice: for the build's baseline and, in entry
// points marked target("avx2"), for AVX2; the mini-batch kernels (batch.hpp)
// and the row kernels' loops (rows512.hpp) once more for AVX-512, whose
// 512-bit units double their arithmetic where the CPU has them at full width.
// The best level this CPU has is chosen at run time (never at build time: a
// wheel runs on any x86-64). The kernels take a `wide` flag, true inside the
// AVX2 entry points, for the code that works on four columns at a time (in a
// baseline build its 256-bit vectors would be emulated), and the trainer the
// level, to choose the AVX-512 kernels. Every level gives the same numbers bit
// for bit: every sum's order is written out and no multiply-add is fused.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SGDTUNE_X86_DISPATCH 1
#define SGDTUNE_INLINE_INTO_ISA __attribute__((always_inline)) inline
// Code between these is compiled for AVX-512 (the subsets every AVX-512 CPU
// since Skylake-SP has: foundation, vector length, double/quad, byte/word), and
// called only where isa_level() says the CPU has them.
#if defined(__clang__)
#define SGDTUNE_AVX512_BEGIN                                                                                       \
    _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512vl,avx512dq,avx512bw\"))), apply_to = function)")
#define SGDTUNE_AVX512_END _Pragma("clang attribute pop")
#else
#define SGDTUNE_AVX512_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512vl,avx512dq,avx512bw\")")
#define SGDTUNE_AVX512_END _Pragma("GCC pop_options")
#endif
#else
#define SGDTUNE_INLINE_INTO_ISA inline
#endif

namespace sgdtune {

enum class Isa : int { baseline = 0, avx2 = 1, avx512 = 2 };

inline const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512:
            return "avx512";
        case Isa::avx2:
            return "avx2";
        default:
            return "baseline";
    }
}

// The highest level the kernels may use (they use the lower of this and what
// the CPU has): from the environment variable SGDTUNE_ISA ("baseline",
// "avx2" or "avx512") when the process first asks, for CPUs that slow down
// in 512-bit code, and set by tests (_core.limit_isa).
inline std::atomic<int>& isa_limit() {
    static std::atomic<int> limit{[] {
        const char* env = std::getenv("SGDTUNE_ISA");
        for (Isa isa : {Isa::baseline, Isa::avx2})
            if (env != nullptr && std::strcmp(env, isa_name(isa)) == 0) return static_cast<int>(isa);
        return static_cast<int>(Isa::avx512);
    }()};
    return limit;
}

// While it lives, this thread's floating-point unit flushes subnormal results
// to zero and reads subnormal inputs as zero (x86's MXCSR bits FTZ and DAZ);
// the thread's previous mode comes back when it goes, exceptions included.
// Elsewhere than on x86 it does nothing (the arithmetic keeps IEEE gradual
// underflow there).
class FlushSubnormals {
public:
    FlushSubnormals() {
#if defined(__SSE__) || defined(__x86_64__)
        saved_ = _mm_getcsr();
        _mm_setcsr(saved_ | kFtzDaz);
#endif
    }
    FlushSubnormals(const FlushSubnormals&) = delete;
    FlushSubnormals& operator=(const FlushSubnormals&) = delete;
    ~FlushSubnormals() {
#if defined(__SSE__) || defined(__x86_64__)
        _mm_setcsr(saved_);
#endif
    }

private:
    static constexpr unsigned kFtzDaz = 0x8040u;  // flush to zero (bit 15), denormals are zero (bit 6)
    unsigned saved_ = 0;
};

inline Isa isa_level() {
#ifdef SGDTUNE_X86_DISPATCH
    static const Isa cpu = [] {
        __builtin_cpu_init();  // safe to call again; needed if used before constructors ran
        // the subsets SGDTUNE_AVX512_BEGIN compiles for
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
            return Isa::avx512;
        return __builtin_cpu_supports("avx2") ? Isa::avx2 : Isa::baseline;
    }();
    const int limit = isa_limit().load(std::memory_order_relaxed);
    return static_cast<int>(cpu) < limit ? cpu : static_cast<Isa>(limit);
#else
    return Isa::baseline;
#endif
}

inline const char* isa_in_use() { return isa_name(isa_level()); }

inline bool use_avx2() { return isa_level() != Isa::baseline; }

}  // namespace sgdtune
