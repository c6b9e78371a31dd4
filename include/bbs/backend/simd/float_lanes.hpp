// Vectors of floating-point lanes, per instruction set and stored weight type, for the kernels
// whose sums are float or double: float, bfloat16 and half weights widen to float lanes (x, y and
// the sums are float); double weights fill double lanes (x, y and sums double).
//
//   Avx512Lanes<W>   16 float lanes (__m512), or 8 double lanes (__m512d)
//   Avx2Lanes<W>     8 float lanes (__m256), or 4 double lanes (__m256d)
//
// Each gives: vec, sum_type (float or double), lanes; zero(); weights(p) and activations(p) for
// `lanes` values at p (unaligned); the same with a count n < lanes, the other lanes 0 and never
// read (masked loads, or a copy for 16-bit weights on AVX2, which has no 16-bit masked load);
// fmadd(w, x, acc); sum(acc), the sum of the lanes, and sum_four(a, sums) of four; store(p, v);
// and for the gather kernel (spmv_avx2.hpp) gather(base, id, real, width). Kernels written once per
// instruction set take the weight type as a template parameter and read these instead of naming
// intrinsics.
//
// bfloat16 is the upper half of a float (widened by a 16-bit shift); half converts with vcvtph2ps
// (AVX-512F, or F16C on AVX2 machines, which every AVX2 CPU has).
#pragma once

#include <cstdint>
#include <cstring>

#include "bbs/backend/simd/isa.hpp"
#include "bbs/core/value_traits.hpp"

#if defined(BBS_SIMD_HAVE_AVX512) || defined(BBS_SIMD_HAVE_AVX2)
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

#ifdef BBS_SIMD_HAVE_AVX512
/// The mask of the first n lanes (every lane for n >= 32).
inline std::uint32_t first_lanes(index n) { return n >= 32 ? ~0u : (1u << n) - 1; }

template <typename W>
struct Avx512Lanes;

/// float, bfloat16 and half weights: 16 float lanes; W's own way to widen 16 values to floats.
template <typename W>
struct Avx512FloatLanes {
  using vec = __m512;
  using sum_type = float;
  static constexpr index lanes = 16;
  BBS_TARGET_AVX512 static vec zero() { return _mm512_setzero_ps(); }
  BBS_TARGET_AVX512 static void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
  /// Unmasked loads for whole vectors: a masked load cannot fold into the FMA that uses it.
  BBS_TARGET_AVX512 static vec weights(const W* p) {
    if constexpr (std::is_same<W, float>::value) {
      return _mm512_loadu_ps(p);
    } else {
      const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      if constexpr (std::is_same<W, Eigen::half>::value) {
        return _mm512_cvtph_ps(bits);
      } else {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
      }
    }
  }
  BBS_TARGET_AVX512 static vec weights(const W* p, index n) {
    const auto m = static_cast<__mmask16>(first_lanes(n));
    if constexpr (std::is_same<W, float>::value) {
      return _mm512_maskz_loadu_ps(m, p);
    } else {
      const __m256i bits = _mm256_maskz_loadu_epi16(m, p);
      if constexpr (std::is_same<W, Eigen::half>::value) {
        return _mm512_cvtph_ps(bits);
      } else {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
      }
    }
  }
  BBS_TARGET_AVX512 static vec activations(const float* p) { return _mm512_loadu_ps(p); }
  BBS_TARGET_AVX512 static vec activations(const float* p, index n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>(first_lanes(n)), p);
  }
  BBS_TARGET_AVX512 static vec fmadd(vec w, vec x, vec acc) { return _mm512_fmadd_ps(w, x, acc); }
  BBS_TARGET_AVX512 static float sum(vec v) { return _mm512_reduce_add_ps(v); }
  /// The sums of a[0 .. 4): each folded to 8 lanes, then two rounds of horizontal adds and one add
  /// of the halves, instead of four separate reductions.
  BBS_TARGET_AVX512 static __m256 fold(vec v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  }
  BBS_TARGET_AVX512 static void sum_four(const vec* a, float* sums) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(fold(a[0]), fold(a[1])), _mm256_hadd_ps(fold(a[2]), fold(a[3])));
    _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
};

template <>
struct Avx512Lanes<float> : Avx512FloatLanes<float> {};
template <>
struct Avx512Lanes<Eigen::bfloat16> : Avx512FloatLanes<Eigen::bfloat16> {};
template <>
struct Avx512Lanes<Eigen::half> : Avx512FloatLanes<Eigen::half> {};

template <>
struct Avx512Lanes<double> {
  using vec = __m512d;
  using sum_type = double;
  static constexpr index lanes = 8;
  BBS_TARGET_AVX512 static vec zero() { return _mm512_setzero_pd(); }
  BBS_TARGET_AVX512 static void store(double* p, vec v) { _mm512_storeu_pd(p, v); }
  BBS_TARGET_AVX512 static vec weights(const double* p) { return _mm512_loadu_pd(p); }
  BBS_TARGET_AVX512 static vec weights(const double* p, index n) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>(first_lanes(n)), p);
  }
  BBS_TARGET_AVX512 static vec activations(const double* p) { return _mm512_loadu_pd(p); }
  BBS_TARGET_AVX512 static vec activations(const double* p, index n) { return weights(p, n); }
  BBS_TARGET_AVX512 static vec fmadd(vec w, vec x, vec acc) { return _mm512_fmadd_pd(w, x, acc); }
  BBS_TARGET_AVX512 static double sum(vec v) { return _mm512_reduce_add_pd(v); }
  BBS_TARGET_AVX512 static void sum_four(const vec* a, double* sums) {
    for (int j = 0; j < 4; ++j) sums[j] = sum(a[j]);
  }
  /// x at base[id[i]] for the first `real` of the 8 lanes whose in-bank index is below `width`;
  /// the other lanes 0, and never read.
  BBS_TARGET_AVX512 static vec gather(const double* base, const std::uint8_t* id, index real, index width) {
    const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(id)));
    const auto m = static_cast<__mmask8>(first_lanes(real) &
                                         _mm256_cmplt_epi32_mask(idx, _mm256_set1_epi32(static_cast<int>(width))));
    return _mm512_mask_i32gather_pd(_mm512_setzero_pd(), m, idx, base, 8);
  }
};
#endif

#ifdef BBS_SIMD_HAVE_AVX2
/// For 16-bit weights on AVX2, which cannot mask 16-bit loads: the first n of 8 values at p, the
/// rest 0, as 8 raw 16-bit words.
template <typename W>
BBS_TARGET_AVX2 inline __m128i load_words_avx2(const W* p, index n) {
  static_assert(sizeof(W) == 2, "16-bit weights");
  if (n >= 8) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  alignas(16) std::uint16_t words[8] = {};
  std::memcpy(words, p, static_cast<std::size_t>(n) * 2);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(words));
}

template <typename W>
struct Avx2Lanes;

/// float, bfloat16 and half weights: 8 float lanes.
template <typename W>
struct Avx2FloatLanes {
  using vec = __m256;
  using sum_type = float;
  static constexpr index lanes = 8;
  BBS_TARGET_AVX2 static __m256i first(index n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  BBS_TARGET_AVX2 static vec zero() { return _mm256_setzero_ps(); }
  BBS_TARGET_AVX2 static void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
  BBS_TARGET_AVX2 static vec weights(const W* p) { return weights(p, lanes); }
  BBS_TARGET_AVX2 static vec weights(const W* p, index n) {
    if constexpr (std::is_same<W, float>::value) {
      return n >= lanes ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first(n));
    } else if constexpr (std::is_same<W, Eigen::half>::value) {
      return _mm256_cvtph_ps(load_words_avx2(p, n));
    } else {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load_words_avx2(p, n)), 16));
    }
  }
  BBS_TARGET_AVX2 static vec activations(const float* p) { return _mm256_loadu_ps(p); }
  BBS_TARGET_AVX2 static vec activations(const float* p, index n) { return _mm256_maskload_ps(p, first(n)); }
  BBS_TARGET_AVX2 static vec fmadd(vec w, vec x, vec acc) { return _mm256_fmadd_ps(w, x, acc); }
  BBS_TARGET_AVX2 static float sum(vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  /// The sums of a[0 .. 4): two rounds of horizontal adds and one add of the halves.
  BBS_TARGET_AVX2 static void sum_four(const vec* a, float* sums) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
  /// x at base[id[i]] for the first `real` of the 8 lanes whose in-bank index is below `width`;
  /// the other lanes 0, and never read.
  BBS_TARGET_AVX2 static vec gather(const float* base, const std::uint8_t* id, index real, index width) {
    const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(id)));
    const __m256i inside = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(width)), idx);
    const __m256 mask = _mm256_castsi256_ps(_mm256_and_si256(first(real), inside));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, mask, 4);
  }
};

template <>
struct Avx2Lanes<float> : Avx2FloatLanes<float> {};
template <>
struct Avx2Lanes<Eigen::bfloat16> : Avx2FloatLanes<Eigen::bfloat16> {};
template <>
struct Avx2Lanes<Eigen::half> : Avx2FloatLanes<Eigen::half> {};

template <>
struct Avx2Lanes<double> {
  using vec = __m256d;
  using sum_type = double;
  static constexpr index lanes = 4;
  BBS_TARGET_AVX2 static __m256i first(index n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  BBS_TARGET_AVX2 static vec zero() { return _mm256_setzero_pd(); }
  BBS_TARGET_AVX2 static void store(double* p, vec v) { _mm256_storeu_pd(p, v); }
  BBS_TARGET_AVX2 static vec weights(const double* p) { return _mm256_loadu_pd(p); }
  BBS_TARGET_AVX2 static vec weights(const double* p, index n) {
    return n >= lanes ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, first(n));
  }
  BBS_TARGET_AVX2 static vec activations(const double* p) { return _mm256_loadu_pd(p); }
  BBS_TARGET_AVX2 static vec activations(const double* p, index n) { return _mm256_maskload_pd(p, first(n)); }
  BBS_TARGET_AVX2 static vec fmadd(vec w, vec x, vec acc) { return _mm256_fmadd_pd(w, x, acc); }
  BBS_TARGET_AVX2 static double sum(vec v) {
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  BBS_TARGET_AVX2 static void sum_four(const vec* a, double* sums) {
    for (int j = 0; j < 4; ++j) sums[j] = sum(a[j]);
  }
  BBS_TARGET_AVX2 static vec gather(const double* base, const std::uint8_t* id, index real, index width) {
    std::int32_t four;
    std::memcpy(&four, id, 4);
    const __m128i idx = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(four));
    const __m256i inside = _mm256_cmpgt_epi64(_mm256_set1_epi64x(width), _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(four)));
    const __m256d mask = _mm256_castsi256_pd(_mm256_and_si256(first(real), inside));
    return _mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, idx, mask, 8);
  }
};
#endif

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
