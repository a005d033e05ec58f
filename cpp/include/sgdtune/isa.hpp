// Which instruction set the kernels run with. On x86 the trainer, the
// prediction kernel and the mini-batch kernels (batch.hpp) are compiled twice:
// for the build's baseline and, in entry points marked target("avx2"), for
// AVX2; the best one this CPU has is chosen at run time. The kernels take a
// `wide` flag, true only inside the AVX2 entry points, for the code that works
// on four columns at a time (in a baseline build its 256-bit vectors would be
// emulated). Both give the same numbers bit for bit: every sum's order is
// written out and no multiply-add is fused.
#pragma once

#include <atomic>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SGDTUNE_X86_DISPATCH 1
#define SGDTUNE_INLINE_INTO_ISA __attribute__((always_inline)) inline
#else
#define SGDTUNE_INLINE_INTO_ISA inline
#endif

namespace sgdtune {

// For tests: run the baseline code even where AVX2 is available.
inline std::atomic<bool>& force_baseline_isa() {
    static std::atomic<bool> force{false};
    return force;
}

inline const char* isa_in_use() {
#ifdef SGDTUNE_X86_DISPATCH
    static const bool has_avx2 = [] {
        __builtin_cpu_init();  // safe to call again; needed if used before constructors ran
        return __builtin_cpu_supports("avx2") != 0;
    }();
    if (!force_baseline_isa().load() && has_avx2) return "avx2";
#endif
    return "baseline";
}

inline bool use_avx2() { return isa_in_use()[0] == 'a'; }

}  // namespace sgdtune
