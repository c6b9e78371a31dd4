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

#include "bbs/backend/simd/float_lanes.hpp"
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

/// Writes rows y[0 .. rows) (rows <= 4) from their sums: alpha * sum, plus beta * y unless
/// beta == 0 (the BLAS epilogue).
template <typename S>
inline void finish_dense_rows(const S* sums, index rows, S alpha, S beta, S* y) {
  for (index j = 0; j < rows; ++j) y[j] = beta == 0 ? alpha * sums[j] : alpha * sums[j] + beta * y[j];
}

#ifdef BBS_SIMD_HAVE_AVX512
/// Rows [first, last) of y = alpha * A * x + beta * y for A stored densely: row r's n weights at
/// v + r * n (float, bfloat16 or half with float x and y; or double), x in storage order (n
/// entries); y is the whole vector.
template <typename W, typename S = typename Avx512Lanes<W>::sum_type>
BBS_TARGET_AVX512 void spmv_dense_avx512(const W* v, index n, index first, index last, S alpha, const S* x, S beta,
                                         S* y) {
  using L = Avx512Lanes<W>;
  constexpr index R = dense_rows_per_pass;
  const index full = n / L::lanes * L::lanes;
  for (index r0 = first; r0 < last; r0 += R) {
    const index rows = std::min(R, last - r0);
    const W* row[R];
    typename L::vec acc[R];
    for (index j = 0; j < R; ++j) {
      row[j] = v + (r0 + std::min(j, rows - 1)) * n;  // a short last pass repeats its last row
      acc[j] = L::zero();
    }
    for (index p = 0; p < full; p += L::lanes) {
      const typename L::vec xv = L::activations(x + p);
      for (index j = 0; j < R; ++j) acc[j] = L::fmadd(L::weights(row[j] + p), xv, acc[j]);
    }
    if (full < n) {
      const typename L::vec xv = L::activations(x + full, n - full);
      for (index j = 0; j < R; ++j) acc[j] = L::fmadd(L::weights(row[j] + full, n - full), xv, acc[j]);
    }
    S sums[R];
    L::sum_four(acc, sums);
    finish_dense_rows(sums, rows, alpha, beta, y + r0);
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
/// spmv_dense_avx512 for AVX2 machines: 8 float or 4 double lanes.
template <typename W, typename S = typename Avx2Lanes<W>::sum_type>
BBS_TARGET_AVX2 void spmv_dense_avx2(const W* v, index n, index first, index last, S alpha, const S* x, S beta, S* y) {
  using L = Avx2Lanes<W>;
  constexpr index R = dense_rows_per_pass;
  const index full = n / L::lanes * L::lanes;
  for (index r0 = first; r0 < last; r0 += R) {
    const index rows = std::min(R, last - r0);
    const W* row[R];
    typename L::vec acc[R];
    for (index j = 0; j < R; ++j) {
      row[j] = v + (r0 + std::min(j, rows - 1)) * n;
      acc[j] = L::zero();
    }
    for (index p = 0; p < full; p += L::lanes) {
      const typename L::vec xv = L::activations(x + p);
      for (index j = 0; j < R; ++j) acc[j] = L::fmadd(L::weights(row[j] + p), xv, acc[j]);
    }
    if (full < n) {
      const typename L::vec xv = L::activations(x + full, n - full);
      for (index j = 0; j < R; ++j) acc[j] = L::fmadd(L::weights(row[j] + full, n - full), xv, acc[j]);
    }
    S sums[R];
    L::sum_four(acc, sums);
    finish_dense_rows(sums, rows, alpha, beta, y + r0);
  }
}
#endif

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
