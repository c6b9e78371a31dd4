// Dense-configuration SpMV: GEMV kernels for a matrix whose banks keep every weight
// (nnz_per_bank == bank_size), which is how model files store dense layers (bank = columns).
//
// Such a matrix has in-bank indices 0 .. k-1 in every bank (they are strictly increasing and below
// bank_size = k), so each row's values are the dense row with its columns in storage order:
// position s * num_banks + b holds column b * bank_size + s, and a one-bank row is the row itself.
// The product is a dense GEMV: x is gathered once into storage order (zero for the padding columns
// of a partial last bank, whose values are zero too), then every row is a contiguous dot product,
// four rows at a time so that each load of x serves four rows. Nothing is derived or cached: the
// canonical arrays are read as they are.
//
// Float sums run in a different order from the reference (vector lanes, then a tree), so results
// agree within the usual dot-product bound. Fixed-point sums wrap modulo 2^32 in any order
// (spmv_avx512_fixed_point.hpp), so fixed16 and fixed8 results equal the reference bit for bit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/spmv_avx512_fixed_point.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

/// Whether A keeps every weight of every bank, so that the dense kernels below take it.
template <typename T>
bool is_dense_configuration(const CsbView<T>& a) {
  return a.rows > 0 && a.cols > 0 && a.nnz_per_bank() == a.bank_size();
}

/// x in A's storage order (is_dense_configuration(a)): entry s * num_banks + b is column
/// b * bank_size + s, zero past the last column. Returns x itself where the orders agree (one bank
/// of exactly cols columns), else `buffer`'s data.
template <typename T, typename X>
const X* storage_order_x(const CsbView<T>& a, const X* x, std::vector<X>& buffer) {
  const index nb = a.num_banks();
  const index k = a.bank_size();
  if (nb == 1 && k == a.cols) return x;
  buffer.assign(static_cast<std::size_t>(a.row_entries()), X(0));
  for (index b = 0; b < nb; ++b) {
    const index width = std::min(k, a.cols - b * k);
    for (index s = 0; s < width; ++s) buffer[static_cast<std::size_t>(s * nb + b)] = x[b * k + s];
  }
  return buffer.data();
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

#if defined(BBS_SIMD_HAVE_AVX512) || defined(BBS_SIMD_HAVE_AVX2)
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

/// Rows per pass of the dense kernels: each vector of x feeds this many rows (the float kernels'
/// reductions, sum_four_*, combine exactly four).
constexpr index dense_rows_per_pass = 4;

/// The BLAS epilogue of the float kernels: y = alpha * sum, plus beta * y unless beta == 0.
inline void finish_dense_row(float sum, float alpha, float beta, float* y) {
  *y = beta == 0.0f ? alpha * sum : alpha * sum + beta * *y;
}

#ifdef BBS_SIMD_HAVE_AVX2
/// The sums of four 8-lane accumulators, one per lane of the result: two rounds of horizontal adds
/// and one add of the halves, instead of four separate reductions.
BBS_TARGET_AVX2 inline __m128 sum_four_avx2(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/// Writes rows r .. r + rows - 1 (rows <= 4) of y from their sums: alpha * sum (+ beta * y).
BBS_TARGET_AVX2 inline void finish_dense_rows(__m128 sums, index rows, float alpha, float beta, float* y) {
  alignas(16) float s[4];
  _mm_store_ps(s, sums);
  for (index j = 0; j < rows; ++j) finish_dense_row(s[j], alpha, beta, y + j);
}
#endif

#ifdef BBS_SIMD_HAVE_AVX512
/// sum_four_avx2 for 16-lane accumulators: each is first folded to 8 lanes.
BBS_TARGET_AVX512 inline __m256 fold_avx512(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

BBS_TARGET_AVX512 inline __m128 sum_four_avx512(const __m512* a) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(fold_avx512(a[0]), fold_avx512(a[1])),
                                  _mm256_hadd_ps(fold_avx512(a[2]), fold_avx512(a[3])));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/// Rows [first, last) of y = alpha * A * x + beta * y for float A stored densely: row r's n values
/// at v + r * n, x in storage order (n entries); y is the whole vector.
BBS_TARGET_AVX512 inline void spmv_dense_avx512(const float* v, index n, index first, index last, float alpha,
                                                const float* x, float beta, float* y) {
  constexpr index R = dense_rows_per_pass;
  const index full = n / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (n - full)) - 1);
  for (index r0 = first; r0 < last; r0 += R) {
    const index rows = std::min(R, last - r0);
    const float* row[R];
    __m512 acc[R];
    for (index j = 0; j < R; ++j) {
      row[j] = v + (r0 + std::min(j, rows - 1)) * n;  // a short last pass repeats its last row
      acc[j] = _mm512_setzero_ps();
    }
    for (index p = 0; p < full; p += 16) {
      const __m512 xv = _mm512_loadu_ps(x + p);
      for (index j = 0; j < R; ++j) acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(row[j] + p), xv, acc[j]);
    }
    if (tail != 0) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, x + full);
      for (index j = 0; j < R; ++j) acc[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, row[j] + full), xv, acc[j]);
    }
    finish_dense_rows(sum_four_avx512(acc), rows, alpha, beta, y + r0);
  }
}

/// The weights at lanes m of p as int16: int16 as they are, int8 sign-extended; other lanes 0.
/// The sum of the 16 int32 lanes of v modulo 2^32. Vector adds wrap; _mm512_reduce_add_epi32 is
/// a plain int sum in GCC's header, undefined on overflow (UBSan reports it).
BBS_TARGET_AVX512 inline std::uint32_t wrapping_sum_epi32(__m512i v) {
  __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(s4));
}

template <typename W>
BBS_TARGET_AVX512 inline __m512i load_weight_words_masked(const W* p, __mmask32 m) {
  if constexpr (sizeof(W) == 2) {
    return _mm512_maskz_loadu_epi16(m, p);
  } else {
    return _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, p));
  }
}

/// Sums of rows [first, last) of a fixed-point A stored densely (raw weights W = int16 or int8,
/// row r's n weights at v + r * n) with the raw int16 x in storage order, into sums[r - first],
/// modulo 2^32.
template <bool Vnni, typename W>
BBS_TARGET_AVX512 void sums_dense_avx512_fixed_point(const W* v, index n, index first, index last,
                                                     const std::int16_t* x, std::uint32_t* sums) {
  constexpr index R = dense_rows_per_pass;
  const index full = n / 32 * 32;
  const __mmask32 tail = static_cast<__mmask32>((std::uint64_t(1) << (n - full)) - 1);
  for (index r0 = first; r0 < last; r0 += R) {
    const index rows = std::min(R, last - r0);
    const W* row[R];
    __m512i acc[R];
    for (index j = 0; j < R; ++j) {
      row[j] = v + (r0 + std::min(j, rows - 1)) * n;
      acc[j] = _mm512_setzero_si512();
    }
    for (index p = 0; p < full; p += 32) {
      const __m512i xv = _mm512_loadu_si512(reinterpret_cast<const void*>(x + p));
      for (index j = 0; j < R; ++j)
        acc[j] = add_pair_products<Vnni>(acc[j], load_weight_words_masked(row[j] + p, ~__mmask32(0)), xv);
    }
    if (tail != 0) {
      const __m512i xv = _mm512_maskz_loadu_epi16(tail, x + full);
      for (index j = 0; j < R; ++j)
        acc[j] = add_pair_products<Vnni>(acc[j], load_weight_words_masked(row[j] + full, tail), xv);
    }
    for (index j = 0; j < rows; ++j) sums[r0 - first + j] = wrapping_sum_epi32(acc[j]);
  }
}

/// Rows [first, last) of y = alpha * A * x + beta * y for fixed16<F> or fixed8<Fw, F> stored
/// densely (raw weights W, frac_bits their fraction bits), x raw in storage order; y is the whole
/// vector. alpha_q, beta_q: Q15.16 (detail::fixed_scale). vnni: accumulate with vpdpwssd.
template <typename W>
void spmv_dense_avx512_fixed_point(const W* v, index n, int frac_bits, bool vnni, index first, index last,
                                   std::int32_t alpha_q, std::int32_t beta_q, const std::int16_t* x, std::int16_t* y) {
  constexpr index rows_per_pass = 256;
  std::uint32_t sums[rows_per_pass];
  for (index r0 = first; r0 < last; r0 += rows_per_pass) {
    const index r1 = std::min(last, r0 + rows_per_pass);
    if (vnni) {
      sums_dense_avx512_fixed_point<true>(v, n, r0, r1, x, sums);
    } else {
      sums_dense_avx512_fixed_point<false>(v, n, r0, r1, x, sums);
    }
    scale_and_add_avx512(sums, r1 - r0, alpha_q, beta_q, frac_bits, y + r0);
  }
}
#endif

#ifdef BBS_SIMD_HAVE_AVX2
/// spmv_dense_avx512 for AVX2 machines: eight lanes, a masked load for the tail.
BBS_TARGET_AVX2 inline void spmv_dense_avx2(const float* v, index n, index first, index last, float alpha,
                                            const float* x, float beta, float* y) {
  constexpr index R = dense_rows_per_pass;
  const index full = n / 8 * 8;
  const __m256i tail =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - full)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (index r0 = first; r0 < last; r0 += R) {
    const index rows = std::min(R, last - r0);
    const float* row[R];
    __m256 acc[R];
    for (index j = 0; j < R; ++j) {
      row[j] = v + (r0 + std::min(j, rows - 1)) * n;
      acc[j] = _mm256_setzero_ps();
    }
    for (index p = 0; p < full; p += 8) {
      const __m256 xv = _mm256_loadu_ps(x + p);
      for (index j = 0; j < R; ++j) acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(row[j] + p), xv, acc[j]);
    }
    if (full < n) {
      const __m256 xv = _mm256_maskload_ps(x + full, tail);
      for (index j = 0; j < R; ++j) acc[j] = _mm256_fmadd_ps(_mm256_maskload_ps(row[j] + full, tail), xv, acc[j]);
    }
    finish_dense_rows(sum_four_avx2(acc[0], acc[1], acc[2], acc[3]), rows, alpha, beta, y + r0);
  }
}
#endif

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
