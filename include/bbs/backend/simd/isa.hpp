// Instruction sets the SIMD backend has kernels for, and the run-time check of what this CPU runs.
// Kernels are compiled per function with target attributes, so one header-only binary carries
// every variant and picks at run time; no -mavx512f is needed to build.
#pragma once

#include "bbs/core/config.hpp"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define BBS_SIMD_HAVE_AVX512 1
#define BBS_SIMD_HAVE_AVX2 1
#endif

// Kernel files wrap their intrinsics code in BBS_SIMD_KERNELS_BEGIN / _END and mark each kernel
// function with the target attribute of its instruction set. BBS_SIMD_HAVE_AVX512 and
// BBS_SIMD_HAVE_AVX2 say whether this compiler and target can build those kernels at all (x86
// with GCC or Clang); whether the CPU runs them is cpu_supports(), at run time.
// GCC 12 warns that the _mm512_undefined_* placeholders inside its own intrinsics "may be used
// uninitialized" once they are inlined into a target("avx512f") function: a known false positive,
// silenced for the kernel code only.
#define BBS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define BBS_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#if defined(__GNUC__) && !defined(__clang__)
#define BBS_SIMD_KERNELS_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define BBS_SIMD_KERNELS_END _Pragma("GCC diagnostic pop")
#else
#define BBS_SIMD_KERNELS_BEGIN
#define BBS_SIMD_KERNELS_END
#endif

namespace bbs {
namespace backend {
namespace simd_impl {

/// Kernel variants. avx512_vnni is avx512 whose integer kernels accumulate with VNNI's vpdpwssd
/// instead of vpmaddwd + vpaddd (the same bits; one instruction instead of two).
enum class Isa { generic, avx2, avx512, avx512_vnni };

/// Every variant, for tests and benchmarks that cover each one the CPU runs.
inline constexpr Isa all_isas[] = {Isa::generic, Isa::avx2, Isa::avx512, Isa::avx512_vnni};

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512_vnni:
      return "avx512_vnni";
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    default:
      return "generic";
  }
}

/// Whether a variant runs the AVX-512 kernels (with or without VNNI).
constexpr bool uses_avx512(Isa isa) { return isa == Isa::avx512 || isa == Isa::avx512_vnni; }

/// Whether this CPU (and OS) can run the given kernel variant.
inline bool cpu_supports(Isa isa) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if (uses_avx512(isa)) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && (isa == Isa::avx512 || __builtin_cpu_supports("avx512vnni"));
  }
  // The AVX2 kernels also use F16C (half weights), which every AVX2 CPU has (Intel since Ivy
  // Bridge, AMD since Piledriver); clang's __builtin_cpu_supports does not know "f16c".
  if (isa == Isa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == Isa::generic;
}

/// The variant backend::simd runs: the best one the CPU supports.
inline Isa best_isa() {
  static const Isa best = cpu_supports(Isa::avx512_vnni) ? Isa::avx512_vnni
                          : cpu_supports(Isa::avx512)    ? Isa::avx512
                          : cpu_supports(Isa::avx2)      ? Isa::avx2
                                                         : Isa::generic;
  return best;
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs
