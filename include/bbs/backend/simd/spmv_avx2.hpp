// AVX2 float SpMV on the row groups (row_groups.hpp), for CPUs without AVX-512.
//
// AVX2's permute (vpermps) picks from 8 floats only, so selecting from a 64-wide bank would take
// 8 permutes and 7 blends per 8 entries. Instead each 8 entries of a bank block are one gather
// from that bank's slice of x: the base address is the bank's first column and the in-bank
// indices are the offsets, so no column arithmetic is needed. Lanes that are padding (past R k,
// or a column past the matrix in a partial last bank) are masked out of the gather and read
// nothing; their value is 0. One accumulator per 8 lanes; rows are summed from their lanes at the
// end of each group, as in the AVX-512 kernel.
#pragma once

#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

#ifdef BBS_SIMD_HAVE_AVX2
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

/// Rows [first, last) of y = alpha * A * x + beta * y from A's row groups; y is the whole vector.
BBS_TARGET_AVX2 inline void spmv_avx2_row_groups(const RowGroups<float>& g, index first, index last, float alpha,
                                                 const float* x, float beta, float* y) {
  const index nb = g.num_banks;
  const index chunks = g.lanes / 8;
  const index real_lanes = g.group_rows * g.k;
  const index tail_width = g.cols - (nb - 1) * g.bank_size;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  // lanes <= 256 (k <= bank_size <= 256, rounded up to 16), so 32 accumulators at most.
  alignas(32) float lanes[256];
  __m256 acc[32];
  for (index group = first / g.group_rows; group * g.group_rows < last; ++group) {
    for (index c = 0; c < chunks; ++c) acc[c] = _mm256_setzero_ps();
    for (index b = 0; b < nb; ++b) {
      const float* v = g.block_values(group, b);
      const std::uint8_t* id = g.block_indices(group, b);
      const float* base = x + b * g.bank_size;
      const __m256i width = _mm256_set1_epi32(static_cast<int>(b + 1 < nb ? g.bank_size : tail_width));
      for (index c = 0; c < chunks; ++c) {
        const __m256i iv = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(id + 8 * c)));
        // Real lanes whose column exists: lane < R k and in-bank index < the bank's width.
        const __m256i real = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(real_lanes - 8 * c)), lane);
        const __m256 mask = _mm256_castsi256_ps(_mm256_and_si256(real, _mm256_cmpgt_epi32(width, iv)));
        const __m256 xv = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, iv, mask, 4);
        acc[c] = _mm256_fmadd_ps(_mm256_load_ps(v + 8 * c), xv, acc[c]);
      }
    }
    for (index c = 0; c < chunks; ++c) _mm256_store_ps(lanes + 8 * c, acc[c]);
    finish_row_group(g, group, lanes, first, last, alpha, beta, y);
  }
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
