// AVX-512 (BW) SpMV for fixed point on the row groups (row_groups.hpp): fixed16<F> (int16 weights)
// and fixed8<Fw, Fx> (int8 weights), both against int16 activations.
//
// The same idea as the float kernel, at twice the lanes: one bank's slice of x (bank_size int16)
// sits in ceil(bank_size / 32) registers, and vpermw / vpermt2w pick 32 entries at a time (a 64-wide
// bank is a single vpermt2w). 32 weights are loaded as they are (int16) or sign-extended from 32
// bytes (int8, vpmovsxbw), multiplied with the picked entries, and adjacent pairs are added into 16
// int32 lanes: vpmaddwd + vpaddd, or VNNI's vpdpwssd, one instruction for both. Rows hold an even
// number of lanes (row_lanes), so a pair never spans two rows.
//
// Sums wrap modulo 2^32, which is exactly core/fixed_point.hpp's accumulator: every order of
// summation gives the same bits, so the result equals the reference bit for bit. vpmaddwd's one
// overflow (-32768 * -32768 twice = 2^31, returned as -2^31) is the same value modulo 2^32, and
// vpdpwssd adds without saturation. The per-row epilogue is fixed_rules::scale_and_add, as in the
// reference, computed eight rows at a time in int64 lanes (scale_and_add_avx512).
//
// Why int8 weights meet int16 activations through vpdpwssd and not vpdpbusd (u8 x s8): activations
// stay in the paper's 16-bit format, so fixed8 halves the weight bytes without a second, coarser
// activation format and its zero-point bookkeeping. The kernel is bound by memory and by the
// permutes that pick x, not by the multiplies.
#pragma once

#include "bbs/backend/simd/spmv_avx512.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

#ifdef BBS_SIMD_HAVE_AVX512
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

/// Lane i of the result is the int16 x entry at in-bank index idx[i], from NX registers.
template <int NX>
BBS_TARGET_AVX512 inline __m512i select_words_avx512(const __m512i* xr, __m512i idx) {
  if constexpr (NX == 1) {
    return _mm512_permutexvar_epi16(idx, xr[0]);
  } else if constexpr (NX == 2) {
    return _mm512_permutex2var_epi16(xr[0], idx, xr[1]);
  } else {
    const __m512i lo = select_words_avx512<NX / 2>(xr, idx);
    const __m512i hi = select_words_avx512<NX / 2>(xr + NX / 2, idx);
    const __mmask32 upper = _mm512_test_epi16_mask(idx, _mm512_set1_epi16(static_cast<short>(32 * NX / 2)));
    return _mm512_mask_blend_epi16(upper, lo, hi);
  }
}

/// 32 weights as int16: an aligned load of int16 weights, or 32 int8 weights sign-extended.
template <typename W>
BBS_TARGET_AVX512 inline __m512i load_weight_words(const W* v) {
  static_assert(std::is_same<W, std::int16_t>::value || std::is_same<W, std::int8_t>::value,
                "fixed-point kernels take int16 or int8 weights");
  if constexpr (sizeof(W) == 2) {
    return _mm512_load_si512(reinterpret_cast<const void*>(v));
  } else {
    return _mm512_cvtepi8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(v)));
  }
}

/// acc + the sums of adjacent pairs of w * x (16 int32 lanes, modulo 2^32). With Vnni, one
/// vpdpwssd, written as inline assembly so that no other code of this function can be compiled
/// for VNNI: the kernel's target stays plain AVX-512, and only CPUs that have VNNI reach this
/// instruction (cpu_supports(Isa::avx512_vnni)).
template <bool Vnni>
BBS_TARGET_AVX512 inline __m512i add_pair_products(__m512i acc, __m512i w, __m512i x) {
  if constexpr (Vnni) {
    __asm__("vpdpwssd {%[x], %[w], %[acc]|%[acc], %[w], %[x]}" : [acc] "+v"(acc) : [w] "v"(w), [x] "v"(x));
    return acc;
  } else {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x));
  }
}

/// Word masks of the NX registers holding one bank's slice of x (32 int16 each).
template <int NX>
using WordSliceMasks = SliceMasks<NX, 32>;

/// Sums of rows [first, last) into sums[r - first], modulo 2^32, for groups of CH chunks of 32
/// lanes.
template <int NX, int CH, bool Vnni, typename W>
BBS_TARGET_AVX512 void sums_avx512_fixed_point(const RowGroups<W>& g, index first, index last, const std::int16_t* x,
                                               std::uint32_t* sums) {
  const index nb = g.num_banks;
  const WordSliceMasks<NX> full(g.bank_size);
  const WordSliceMasks<NX> tail(g.cols - (nb - 1) * g.bank_size);
  const RowSumsInRegisters row_sums(g.row_lanes / 2, CH);  // a row's pair sums
  alignas(64) std::uint32_t pairs[16 * CH];
  for (index group = first / g.group_rows; group * g.group_rows < last; ++group) {
    const W* v = g.block_values(group, 0);
    const std::uint8_t* id = g.block_indices(group, 0);
    __m512i acc[CH];
    for (int c = 0; c < CH; ++c) acc[c] = _mm512_setzero_si512();
    for (index b = 0; b < nb; ++b, v += 32 * CH, id += 32 * CH) {
      const WordSliceMasks<NX>& m = b + 1 < nb ? full : tail;
      __m512i xr[NX];
      for (int i = 0; i < NX; ++i) xr[i] = _mm512_maskz_loadu_epi16(m.m[i], x + b * g.bank_size + 32 * i);
      for (int c = 0; c < CH; ++c) {
        const __m512i iv = _mm512_cvtepu8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(id + 32 * c)));
        acc[c] = add_pair_products<Vnni>(acc[c], load_weight_words(v + 32 * c), select_words_avx512<NX>(xr, iv));
      }
    }
    for (int c = 0; c < CH; ++c) _mm512_store_si512(reinterpret_cast<void*>(pairs + 16 * c), acc[c]);
    const index group_first = group * g.group_rows;
    if (group_first >= first && group_first + g.group_rows <= last) {
      // As the float kernel: the row sums from `pairs` in registers, one store per 16 rows.
      std::uint32_t* out = sums + (group_first - first);
      for (index o = 0; 16 * o < g.group_rows; ++o) {
        _mm512_mask_storeu_epi32(out + 16 * o, RowSumsInRegisters::first(std::min<index>(16, g.group_rows - 16 * o)),
                                 row_sums.template rows<CH>(pairs, o));
      }
      continue;
    }
    for (index j = 0; j < g.group_rows; ++j) {
      const index r = group * g.group_rows + j;
      if (r < first || r >= last) continue;
      std::uint32_t sum = 0;
      for (index p = 0; p < g.row_lanes / 2; ++p) sum += pairs[j * g.row_lanes / 2 + p];
      sums[r - first] = sum;
    }
  }
}

/// One row per group (k > 128): its lanes span several registers, summed into two accumulators.
/// Padding lanes hold weight 0, and integer products with 0 are 0, so nothing needs masking.
template <int NX, bool Vnni, typename W>
BBS_TARGET_AVX512 void sums_avx512_fixed_point_long(const RowGroups<W>& g, index first, index last,
                                                    const std::int16_t* x, std::uint32_t* sums) {
  const index nb = g.num_banks;
  const index chunks = g.lanes / 32;
  const WordSliceMasks<NX> full(g.bank_size);
  const WordSliceMasks<NX> tail(g.cols - (nb - 1) * g.bank_size);
  alignas(64) std::uint32_t pairs[16];
  for (index r = first; r < last; ++r) {
    const W* v = g.block_values(r, 0);
    const std::uint8_t* id = g.block_indices(r, 0);
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    for (index b = 0; b < nb; ++b) {
      const WordSliceMasks<NX>& m = b + 1 < nb ? full : tail;
      __m512i xr[NX];
      for (int i = 0; i < NX; ++i) xr[i] = _mm512_maskz_loadu_epi16(m.m[i], x + b * g.bank_size + 32 * i);
      for (index c = 0; c < chunks; ++c, v += 32, id += 32) {
        const __m512i iv = _mm512_cvtepu8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(id)));
        const __m512i w = load_weight_words(v);
        if (c % 2 == 0) {
          acc0 = add_pair_products<Vnni>(acc0, w, select_words_avx512<NX>(xr, iv));
        } else {
          acc1 = add_pair_products<Vnni>(acc1, w, select_words_avx512<NX>(xr, iv));
        }
      }
    }
    _mm512_store_si512(reinterpret_cast<void*>(pairs), _mm512_add_epi32(acc0, acc1));
    std::uint32_t sum = 0;
    for (std::uint32_t p : pairs) sum += p;
    sums[r - first] = sum;
  }
}

template <int NX, bool Vnni, typename W>
void sums_avx512_fixed_point_nx(const RowGroups<W>& g, index first, index last, const std::int16_t* x,
                                std::uint32_t* sums) {
  switch (g.lanes / 32) {
    case 1:
      return sums_avx512_fixed_point<NX, 1, Vnni>(g, first, last, x, sums);
    case 2:
      return sums_avx512_fixed_point<NX, 2, Vnni>(g, first, last, x, sums);
    case 3:
      return sums_avx512_fixed_point<NX, 3, Vnni>(g, first, last, x, sums);
    case 4:
      return sums_avx512_fixed_point<NX, 4, Vnni>(g, first, last, x, sums);
    default:
      return sums_avx512_fixed_point_long<NX, Vnni>(g, first, last, x, sums);
  }
}

template <bool Vnni, typename W>
void sums_avx512_fixed_point_any(const RowGroups<W>& g, index first, index last, const std::int16_t* x,
                                 std::uint32_t* sums) {
  const index nx = 32 * 1 >= g.bank_size ? 1 : 32 * 2 >= g.bank_size ? 2 : 32 * 4 >= g.bank_size ? 4 : 8;
  switch (nx) {
    case 1:
      return sums_avx512_fixed_point_nx<1, Vnni>(g, first, last, x, sums);
    case 2:
      return sums_avx512_fixed_point_nx<2, Vnni>(g, first, last, x, sums);
    case 4:
      return sums_avx512_fixed_point_nx<4, Vnni>(g, first, last, x, sums);
    default:
      return sums_avx512_fixed_point_nx<8, Vnni>(g, first, last, x, sums);
  }
}

/// y[i] = fixed_rules::scale_and_add(to_signed(sums[i]), alpha_q, beta_q, y[i], frac_bits) for
/// i < n, eight rows at a time in int64 lanes: the same exact products (vpmuldq), one arithmetic
/// shift to half steps, round half up ((t + 1) >> 1 = floor(t / 2) + (t & 1)), then vpmovsqw's
/// saturation to int16, which is fixed_rules::saturate.
BBS_TARGET_AVX512 inline void scale_and_add_avx512(const std::uint32_t* sums, index n, std::int32_t alpha_q,
                                                   std::int32_t beta_q, int frac_bits, std::int16_t* y) {
  const __m512i alpha = _mm512_set1_epi64(alpha_q);
  const __m512i beta = _mm512_set1_epi64(beta_q);
  const __m512i one = _mm512_set1_epi64(1);
  const __m128i beta_shift = _mm_cvtsi32_si128(frac_bits);
  const __m128i half_step_shift = _mm_cvtsi32_si128(frac_bits + fixed_rules::scale_frac_bits - 1);
  for (index i = 0; i < n; i += 8) {
    const __mmask8 m = n - i >= 8 ? __mmask8(0xFF) : static_cast<__mmask8>((1u << (n - i)) - 1);
    const __m512i acc = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(m, sums + i));
    __m512i scaled = _mm512_mul_epi32(acc, alpha);
    if (beta_q != 0) {
      const __m512i old = _mm512_cvtepi16_epi64(_mm_maskz_loadu_epi16(m, y + i));
      scaled = _mm512_add_epi64(scaled, _mm512_sll_epi64(_mm512_mul_epi32(old, beta), beta_shift));
    }
    const __m512i half_steps = _mm512_sra_epi64(scaled, half_step_shift);
    _mm512_mask_cvtsepi64_storeu_epi16(y + i, m, _mm512_srai_epi64(_mm512_add_epi64(half_steps, one), 1));
  }
}

/// Rows [first, last) of y = alpha * A * x + beta * y for fixed16<F> or fixed8<Fw, F> (raw
/// weights W = int16 or int8, frac_bits their fraction bits) from A's row groups (bank_size <= 256,
/// k > 0); y is the whole vector. alpha_q, beta_q: Q15.16 (detail::fixed_scale). vnni: accumulate
/// with vpdpwssd (the CPU must have it).
template <typename W, int F>
void spmv_avx512_fixed_point(const RowGroups<W>& g, int frac_bits, bool vnni, index first, index last,
                             std::int32_t alpha_q, std::int32_t beta_q, const fixed16<F>* x, fixed16<F>* y) {
  static_assert(sizeof(fixed16<F>) == 2, "fixed16 is one int16");
  constexpr index rows_per_pass = 256;
  std::uint32_t sums[rows_per_pass];
  const auto* xs = reinterpret_cast<const std::int16_t*>(x);
  auto* ys = reinterpret_cast<std::int16_t*>(y);
  for (index r0 = first; r0 < last; r0 += rows_per_pass) {
    const index r1 = std::min(last, r0 + rows_per_pass);
    if (vnni) {
      sums_avx512_fixed_point_any<true>(g, r0, r1, xs, sums);
    } else {
      sums_avx512_fixed_point_any<false>(g, r0, r1, xs, sums);
    }
    scale_and_add_avx512(sums, r1 - r0, alpha_q, beta_q, frac_bits, ys + r0);
  }
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
