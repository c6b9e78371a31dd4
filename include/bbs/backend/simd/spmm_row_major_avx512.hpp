// AVX-512 float row-major SpMM: Y (rows x n) = alpha * A * X + beta * Y with X (cols x n) and Y
// stored row by row, the layout of an NCHW image (channels x pixels). Each matrix entry (value v,
// column c) of row r is acc += broadcast(v) * X[c, tile], an AXPY over a tile of 64 pixels (four
// zmm) that stays in registers; two rows run side by side, eight independent FMA chains, which
// hides the FMA latency. Pixel tiles are the outer loop, so the tile's slab of X (cols x 64
// floats, 32 KB for 128 channels) stays in L1 while every row of A passes over it.
//
// The entries are first decoded, once per call, into (value, offset of X's row) pairs with the
// padding of a partial last bank dropped: the inner loop then does no index arithmetic, and a
// padding entry never reads X (an infinite x stays out of the sum, as in the reference). Sums run
// over each row's entries in storage order with FMA, so results differ from the reference by
// rounding only (float tolerance, dot_error_bound).
#pragma once

#include "bbs/backend/simd/isa.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

#ifdef BBS_SIMD_HAVE_AVX512
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

/// Pixels one tile covers: four zmm of floats.
constexpr index spmm_row_major_tile = 64;
/// Rows computed side by side: 2 x 4 accumulators. Measured on the development VM (AMD EPYC Zen 5,
/// 128 x 128 at 87.5 %, 3136 pixels, 64-byte aligned rows): 2 rows 42 GMAC/s, 4 rows 31; tiles of
/// 128 pixels (a 64 KB slab, past L1) were more than twice as slow; software prefetch of the next
/// tile's slab gained nothing. Rows of X that are not 64-byte aligned split every load across two
/// cache lines: about 1.6x slower.
constexpr int spmm_row_major_rows = 2;

/// A's rows [first, last) as (value, offset of X's row) pairs without padding; row r's entries are
/// [begin[r - first], begin[r - first + 1]).
struct RowMajorEntries {
  std::vector<float> values;
  std::vector<index> offsets;
  std::vector<index> begin;
};

inline void decode_row_major_entries(const CsbView<float>& a, index ldx, RowMajorEntries& out) {
  out.values.clear();
  out.offsets.clear();
  out.begin.assign(1, 0);
  out.values.reserve(static_cast<std::size_t>(a.stored_entries()));
  out.offsets.reserve(static_cast<std::size_t>(a.stored_entries()));
  for (index r = 0; r < a.rows; ++r) {
    a.for_each_entry_in_row(r, [&](index col, index e) {
      out.values.push_back(a.values[e]);
      out.offsets.push_back(col * ldx);
    });
    out.begin.push_back(static_cast<index>(out.values.size()));
  }
}

/// Y[r + i, tile] = alpha * sum + beta * Y[r + i, tile] for the R rows from r (beta == 0 never
/// reads Y); x and y point at the tile's first pixel, the last of its V vectors covers the lanes
/// in `tail`. The loops over rows and vectors unroll completely (constant bounds), so the R x V
/// accumulators live in registers.
template <int R, int V>
BBS_TARGET_AVX512 void spmm_row_major_avx512_tile(const RowMajorEntries& e, index r, const float* x, float* y,
                                                  index ldy, __mmask16 tail, float alpha, float beta) {
  __m512 acc[R][V];
  const float* v[R];
  const index* o[R];
  index len[R];
  index common = 0;
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 4
    for (int q = 0; q < V; ++q) acc[i][q] = _mm512_setzero_ps();
    const index b = e.begin[static_cast<std::size_t>(r + i)];
    v[i] = e.values.data() + b;
    o[i] = e.offsets.data() + b;
    len[i] = e.begin[static_cast<std::size_t>(r + i + 1)] - b;
    common = i == 0 ? len[0] : std::min(common, len[i]);
  }
  for (index j = 0; j < common; ++j) {
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const __m512 vb = _mm512_set1_ps(v[i][j]);
      const float* xr = x + o[i][j];
#pragma GCC unroll 4
      for (int q = 0; q < V; ++q) {
        const __m512 xv = q + 1 < V ? _mm512_loadu_ps(xr + 16 * q) : _mm512_maskz_loadu_ps(tail, xr + 16 * q);
        acc[i][q] = _mm512_fmadd_ps(vb, xv, acc[i][q]);
      }
    }
  }
  // Rows whose padding was dropped are shorter: finish each row's own entries.
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    for (index j = common; j < len[i]; ++j) {
      const __m512 vb = _mm512_set1_ps(v[i][j]);
      const float* xr = x + o[i][j];
#pragma GCC unroll 4
      for (int q = 0; q < V; ++q) {
        const __m512 xv = q + 1 < V ? _mm512_loadu_ps(xr + 16 * q) : _mm512_maskz_loadu_ps(tail, xr + 16 * q);
        acc[i][q] = _mm512_fmadd_ps(vb, xv, acc[i][q]);
      }
    }
  }
  const __m512 alpha_v = _mm512_set1_ps(alpha);
  const __m512 beta_v = _mm512_set1_ps(beta);
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    float* yr = y + (r + i) * ldy;
#pragma GCC unroll 4
    for (int q = 0; q < V; ++q) {
      const __mmask16 m = q + 1 < V ? __mmask16(0xFFFF) : tail;
      __m512 out = _mm512_mul_ps(alpha_v, acc[i][q]);
      if (beta != 0.0f) out = _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(m, yr + 16 * q), out);
      _mm512_mask_storeu_ps(yr + 16 * q, m, out);
    }
  }
}

/// Every row for one tile of w pixels (1 <= w <= 64).
template <int V>
BBS_TARGET_AVX512 void spmm_row_major_avx512_rows(const RowMajorEntries& e, index rows, const float* x, float* y,
                                                  index ldy, index w, float alpha, float beta) {
  const index rest = w - 16 * (V - 1);  // 1..16 pixels in the last vector
  const __mmask16 tail = static_cast<__mmask16>((std::uint32_t(1) << rest) - 1);
  constexpr int R = spmm_row_major_rows;
  index r = 0;
  for (; r + R <= rows; r += R) spmm_row_major_avx512_tile<R, V>(e, r, x, y, ldy, tail, alpha, beta);
  for (; r < rows; ++r) spmm_row_major_avx512_tile<1, V>(e, r, x, y, ldy, tail, alpha, beta);
}

/// Y = alpha * A * X + beta * Y, X and Y row-major (leading dimensions ldx, ldy >= n).
inline void spmm_row_major_avx512(const CsbView<float>& a, index n, float alpha, const float* x, index ldx, float beta,
                                  float* y, index ldy) {
  thread_local RowMajorEntries entries;
  decode_row_major_entries(a, ldx, entries);
  for (index p0 = 0; p0 < n; p0 += spmm_row_major_tile) {
    const index w = std::min(spmm_row_major_tile, n - p0);
    switch ((w + 15) / 16) {
      case 4:
        spmm_row_major_avx512_rows<4>(entries, a.rows, x + p0, y + p0, ldy, w, alpha, beta);
        break;
      case 3:
        spmm_row_major_avx512_rows<3>(entries, a.rows, x + p0, y + p0, ldy, w, alpha, beta);
        break;
      case 2:
        spmm_row_major_avx512_rows<2>(entries, a.rows, x + p0, y + p0, ldy, w, alpha, beta);
        break;
      default:
        spmm_row_major_avx512_rows<1>(entries, a.rows, x + p0, y + p0, ldy, w, alpha, beta);
        break;
    }
  }
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
