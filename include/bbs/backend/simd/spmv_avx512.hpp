// AVX-512 SpMV with float activations (weights float, bfloat16 or half), two kernels:
//
// - row groups (the fast path, backend/simd/row_groups.hpp): for each group of R rows and each
//   bank, the bank's slice of x is loaded once into ceil(bank_size / 16) registers and the R k
//   entries are picked from them with vpermps / vpermt2ps (plus a blend per further doubling of
//   the bank), then one FMA per 16 entries. No gathers; the matrix streams through once.
// - canonical (for views without a cached arrangement: maps, row slices): the 16 consecutive
//   entries of one slot come from 16 different banks, so one 16-lane gather fetches their x.
//
// Both skip padding: lanes whose column is >= cols never read x. The order of the sum differs
// from the reference, within value_traits' dot-product bound.
//
// Written with intrinsics and per-function target attributes rather than xsimd or Highway: the
// kernels live on permutes (vpermt2ps), masked loads and masked blends, which those libraries
// either do not expose at this width or expose only through their own dispatch machinery; with
// target attributes one header-only binary carries every variant and needs no -mavx512f.
#pragma once

#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

#ifdef BBS_SIMD_HAVE_AVX512
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

// ---- canonical layout, gathers ------------------------------------------------------------

BBS_TARGET_AVX512 inline __m512i load_indices_avx512(const std::uint8_t* p, __mmask16 m) {
  return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, p));
}
BBS_TARGET_AVX512 inline __m512i load_indices_avx512(const std::uint16_t* p, __mmask16 m) {
  return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
}

/// y = alpha * A * x + beta * y on the canonical layout. Columns must fit int32.
template <typename I>
BBS_TARGET_AVX512 void spmv_avx512_canonical(const CsbView<float>& a, const I* idx, float alpha, const float* x,
                                             float beta, float* y) {
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  const index per_row = a.row_entries();
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i bank_stride = _mm512_set1_epi32(static_cast<int>(a.bank_size()));
  const __m512i cols = _mm512_set1_epi32(static_cast<int>(a.cols));
  for (index r = 0; r < a.rows; ++r) {
    const float* v = a.values + r * per_row;
    const I* id = idx + r * per_row;
    __m512 acc = _mm512_setzero_ps();
    for (index s = 0; s < k; ++s) {
      for (index b0 = 0; b0 < nb; b0 += 16) {
        const index n = nb - b0 < 16 ? nb - b0 : 16;
        const __mmask16 m = static_cast<__mmask16>(n == 16 ? 0xFFFF : (1u << n) - 1);
        const index e = s * nb + b0;
        const __m512i bank = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(b0)));
        const __m512i col = _mm512_add_epi32(_mm512_mullo_epi32(bank, bank_stride), load_indices_avx512(id + e, m));
        const __mmask16 inside = _mm512_mask_cmplt_epi32_mask(m, col, cols);
        const __m512 xv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside, col, x, 4);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(inside, v + e), xv, acc);
      }
    }
    const float sum = alpha * _mm512_reduce_add_ps(acc);
    y[r] = beta == 0.0f ? sum : sum + beta * y[r];
  }
}

inline void spmv_avx512_canonical(const CsbView<float>& a, float alpha, const float* x, float beta, float* y) {
  a.with_indices([&](auto idx) { spmv_avx512_canonical(a, idx, alpha, x, beta, y); });
}

// ---- row groups, permutes -----------------------------------------------------------------

/// Lane i of the result is the x entry at in-bank index idx[i], from a slice in NX registers.
template <int NX>
BBS_TARGET_AVX512 inline __m512 select_avx512(const __m512* xr, __m512i idx) {
  if constexpr (NX == 1) {
    return _mm512_permutexvar_ps(idx, xr[0]);
  } else if constexpr (NX == 2) {
    return _mm512_permutex2var_ps(xr[0], idx, xr[1]);
  } else {
    const __m512 lo = select_avx512<NX / 2>(xr, idx);
    const __m512 hi = select_avx512<NX / 2>(xr + NX / 2, idx);
    const __mmask16 upper = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(16 * NX / 2));
    return _mm512_mask_blend_ps(upper, lo, hi);
  }
}

/// Load masks of the NX registers that hold one bank's slice of x, Lanes entries each (16 floats
/// or 32 int16), for a bank of `width` columns (bank_size, or fewer for a partial last bank).
template <int NX, int Lanes = 16>
struct SliceMasks {
  using mask = std::conditional_t<Lanes == 16, __mmask16, __mmask32>;
  mask m[NX];
  explicit SliceMasks(index width) {
    for (int i = 0; i < NX; ++i) {
      const index n = std::clamp<index>(width - Lanes * i, 0, Lanes);
      m[i] = static_cast<mask>(n == Lanes ? ~0u : (1u << n) - 1);
    }
  }
};

template <int NX>
BBS_TARGET_AVX512 inline void load_slice_avx512(__m512* xr, const float* x, const SliceMasks<NX>& masks) {
  for (int i = 0; i < NX; ++i) xr[i] = _mm512_maskz_loadu_ps(masks.m[i], x + 16 * i);
}

/// 16 weights as floats: float as is; bfloat16 is the upper half of a float (shift by 16); half
/// converts with vcvtph2ps (AVX-512F).
BBS_TARGET_AVX512 inline __m512 load_weights_avx512(const float* p) { return _mm512_load_ps(p); }
BBS_TARGET_AVX512 inline __m512 load_weights_avx512(const Eigen::bfloat16* p) {
  const __m512i bits = _mm512_cvtepu16_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(bits, 16));
}
BBS_TARGET_AVX512 inline __m512 load_weights_avx512(const Eigen::half* p) {
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
}

/// Row sums of a group's accumulators in registers, for rows of any P lanes (floats, or int32 pair
/// sums) in up to 8 vectors: segmented window sums, then one permute to place them. After step s
/// (d = 2^s), lane i holds the sum of lanes [i, i + 2d) that lie in its own row; so after
/// ceil(log2 P) steps each row's first lane holds the row's sum. A step shifts the vectors down by
/// d lanes across vector boundaries (valignd, or whole vectors for d >= 16) and adds them under a
/// mask of the lanes whose row continues d lanes further on. The row sums are then picked into a
/// vector of 16 rows with the same permutes that pick x (select_avx512). Per row this costs about
/// 2 log2(P) / (rows per vector) instructions, against P scalar adds for summing lanes one by one
/// (finish_row_group), which made keep counts other than powers of two slower per entry.
///
/// The kernels then write 16 rows with one store. (Writing each vector's few rows with a masked
/// store, followed by a masked load of the next rows of y, made the float LSTM step about 15 %
/// slower instead of faster, most likely by stalling store forwarding.)
struct RowSumsInRegisters {
  static constexpr int max_vectors = 8;
  static constexpr int max_steps = 7;  // P <= 8 vectors of 16 lanes = 2^7
  index p = 0;                         // P
  index vectors = 0;
  int steps = 0;                                     // ceil(log2(P))
  __mmask16 continues[max_steps][max_vectors] = {};  // step s, vector c: lanes whose row goes on 2^s lanes
  __m512i place[max_vectors];                        // output o: lane j <- lane (16 o + j) P of the vectors

  /// Rows of `lanes_per_row` lanes, in `vectors` (<= 8) vectors of 16 lanes.
  BBS_TARGET_AVX512 RowSumsInRegisters(index lanes_per_row, index vector_count)
      : p(lanes_per_row), vectors(vector_count) {
    while ((index(1) << steps) < p) ++steps;
    for (int s = 0; s < steps; ++s) {
      const index d = index(1) << s;
      for (index c = 0; c < vectors; ++c) {
        std::uint32_t m = 0;
        for (index l = 0; l < 16; ++l) m |= ((16 * c + l) % p + d < p ? 1u : 0u) << l;
        continues[s][c] = static_cast<__mmask16>(m);
      }
    }
    const index outputs = (16 * vectors / p + 15) / 16;
    alignas(64) std::int32_t idx[16];
    for (index o = 0; o < outputs && o < max_vectors; ++o) {
      for (index j = 0; j < 16; ++j) {
        const index lane = (16 * o + j) * p;
        idx[j] = static_cast<std::int32_t>(lane < 16 * vectors ? lane : 0);
      }
      place[o] = _mm512_load_si512(idx);
    }
  }

  /// The mask of the first n lanes (n <= 16).
  static __mmask16 first(index n) { return static_cast<__mmask16>((1u << n) - 1); }

  /// Lane j: the sum of row 16 o + j of the CH (= vectors) vectors at v (row i: lanes i P ..
  /// i P + P - 1 of them, counted across vectors), floats or int32 modulo 2^32; rows past the
  /// vectors: unspecified.
  template <int CH>
  BBS_TARGET_AVX512 __m512i rows(const std::uint32_t* v, index o) const {
    return rows<CH, true>(v, o);
  }
  template <int CH>
  BBS_TARGET_AVX512 __m512 rows(const float* v, index o) const {
    return _mm512_castsi512_ps(rows<CH, false>(v, o));
  }

 private:
  template <int CH, bool Int>
  BBS_TARGET_AVX512 __m512i rows(const void* v, index o) const {
    static_assert(CH >= 1 && CH <= max_vectors, "up to 8 vectors");
    constexpr int NX = CH == 1 ? 1 : CH == 2 ? 2 : CH <= 4 ? 4 : 8;
    __m512i t[NX + 1];
    for (int c = 0; c < CH; ++c) t[c] = _mm512_load_si512(static_cast<const char*>(v) + 64 * c);
    for (int c = CH; c <= NX; ++c) t[c] = _mm512_setzero_si512();
    step<CH, 1, Int>(t, 0);
    step<CH, 2, Int>(t, 1);
    step<CH, 4, Int>(t, 2);
    step<CH, 8, Int>(t, 3);
    step<CH, 16, Int>(t, 4);
    step<CH, 32, Int>(t, 5);
    step<CH, 64, Int>(t, 6);
    __m512 x[NX];
    for (int c = 0; c < NX; ++c) x[c] = _mm512_castsi512_ps(t[c]);
    return _mm512_castps_si512(select_avx512<NX>(x, place[o]));
  }

  /// One step of the window sums: t[c] += (the lanes D further on) where the row continues.
  /// t[CH] is zero.
  template <int CH, index D, bool Int>
  BBS_TARGET_AVX512 void step(__m512i* t, int s) const {
    if (s >= steps) return;
    for (int c = 0; c < CH; ++c) {
      __m512i next;
      if constexpr (D < 16) {
        next = _mm512_alignr_epi32(t[c + 1], t[c], D);
      } else {
        next = c + D / 16 < CH ? t[c + D / 16] : t[CH];
      }
      if constexpr (Int) {
        t[c] = _mm512_mask_add_epi32(t[c], continues[s][c], t[c], next);
      } else {
        t[c] = _mm512_castps_si512(_mm512_mask_add_ps(_mm512_castsi512_ps(t[c]), continues[s][c],
                                                      _mm512_castsi512_ps(t[c]), _mm512_castsi512_ps(next)));
      }
    }
  }
};

/// Groups whose lanes fit CH registers: one accumulator per register, x loaded once per bank for
/// all of them. T: float, Eigen::bfloat16 or Eigen::half weights; x, y and the sums are float.
template <typename T, int NX, int CH>
BBS_TARGET_AVX512 void spmv_avx512_shared_x(const RowGroups<T>& g, index first, index last, float alpha, const float* x,
                                            float beta, float* y) {
  const index nb = g.num_banks;
  const SliceMasks<NX> full(g.bank_size);
  const SliceMasks<NX> tail(g.cols - (nb - 1) * g.bank_size);
  const RowSumsInRegisters row_sums(g.row_lanes, CH);
  const __m512 alpha_v = _mm512_set1_ps(alpha);
  const __m512 beta_v = _mm512_set1_ps(beta);
  alignas(64) float lanes[16 * CH];
  float part[16 * CH];  // a cut group's outputs, see below
  for (index group = first / g.group_rows; group * g.group_rows < last; ++group) {
    const T* v = g.block_values(group, 0);
    const std::uint8_t* id = g.block_indices(group, 0);
    __m512 acc[CH];
    for (int c = 0; c < CH; ++c) acc[c] = _mm512_setzero_ps();
    for (index b = 0; b < nb; ++b, v += 16 * CH, id += 16 * CH) {
      __m512 xr[NX];
      load_slice_avx512<NX>(xr, x + b * g.bank_size, b + 1 < nb ? full : tail);
      for (int c = 0; c < CH; ++c) {
        const __m512i iv = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(id + 16 * c)));
        acc[c] = _mm512_fmadd_ps(load_weights_avx512(v + 16 * c), select_avx512<NX>(xr, iv), acc[c]);
      }
    }
    for (int c = 0; c < CH; ++c) _mm512_store_ps(lanes + 16 * c, acc[c]);
    // y = alpha * sum + beta * y, 16 rows per store, the sums read back from `lanes` (store
    // forwarding: with acc[c] here GCC spilled the accumulators inside the loop above). A group
    // cut by [first, last) (the openmp backend's row ranges) goes through `part`, so that each row
    // gets the same arithmetic whichever range computes it: results never depend on the threads.
    const index group_first = group * g.group_rows;
    const index r0 = std::max(first, group_first);
    const index r1 = std::min(last, group_first + g.group_rows);
    const bool whole = r0 == group_first && r1 == group_first + g.group_rows;
    if (!whole) {
      for (index j = 0; j < g.group_rows; ++j) {
        const index r = group_first + j;
        part[j] = beta != 0.0f && r >= r0 && r < r1 ? y[r] : 0.0f;
      }
    }
    float* out = whole ? y + group_first : part;
    for (index o = 0; 16 * o < g.group_rows; ++o, out += 16) {
      const __mmask16 m = RowSumsInRegisters::first(std::min<index>(16, g.group_rows - 16 * o));
      __m512 r = _mm512_mul_ps(alpha_v, row_sums.template rows<CH>(lanes, o));
      if (beta != 0.0f) r = _mm512_add_ps(r, _mm512_mul_ps(beta_v, _mm512_maskz_loadu_ps(m, out)));
      _mm512_mask_storeu_ps(out, m, r);
    }
    if (!whole) std::copy(part + (r0 - group_first), part + (r1 - group_first), y + r0);
  }
}

/// One row per group whose lanes need more than 8 registers: they are summed into two
/// accumulators, and padding lanes are masked off the FMA (their index 0 points at a real x entry,
/// which may be infinite).
template <typename T, int NX>
BBS_TARGET_AVX512 void spmv_avx512_long_banks(const RowGroups<T>& g, index first, index last, float alpha,
                                              const float* x, float beta, float* y) {
  const index nb = g.num_banks;
  const index chunks = g.lanes / 16;
  const index full_chunks = g.k / 16;
  const SliceMasks<NX> full(g.bank_size);
  const SliceMasks<NX> tail(g.cols - (nb - 1) * g.bank_size);
  for (index r = first; r < last; ++r) {
    const T* v = g.block_values(r, 0);
    const std::uint8_t* id = g.block_indices(r, 0);
    __m512 acc0 = _mm512_setzero_ps();
    __m512 acc1 = _mm512_setzero_ps();
    for (index b = 0; b < nb; ++b) {
      __m512 xr[NX];
      load_slice_avx512<NX>(xr, x + b * g.bank_size, b + 1 < nb ? full : tail);
      index c = 0;
      for (; c + 2 <= full_chunks; c += 2, v += 32, id += 32) {
        const __m512i i0 = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(id)));
        const __m512i i1 = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(id + 16)));
        acc0 = _mm512_fmadd_ps(load_weights_avx512(v), select_avx512<NX>(xr, i0), acc0);
        acc1 = _mm512_fmadd_ps(load_weights_avx512(v + 16), select_avx512<NX>(xr, i1), acc1);
      }
      for (; c < chunks; ++c, v += 16, id += 16) {
        const index real = std::clamp<index>(g.k - 16 * c, 0, 16);
        if (real == 0) continue;
        const __m512i iv = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(id)));
        const __mmask16 m = static_cast<__mmask16>(real == 16 ? 0xFFFF : (1u << real) - 1);
        acc0 = _mm512_mask3_fmadd_ps(load_weights_avx512(v), select_avx512<NX>(xr, iv), acc0, m);
      }
    }
    const float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    y[r] = beta == 0.0f ? alpha * sum : alpha * sum + beta * y[r];
  }
}

/// Most registers one bank's slice of x may occupy in the permute kernels: banks up to 256 wide.
constexpr int max_slice_registers = 16;

/// Registers one bank's slice of x occupies in the permute kernels (bank_size <= 256).
inline int slice_registers(index bank_size) {
  int nx = 1;
  while (16 * nx < bank_size) nx *= 2;
  return nx;
}

template <typename T, int NX>
void spmv_avx512_row_groups_nx(const RowGroups<T>& g, index first, index last, float alpha, const float* x, float beta,
                               float* y) {
  switch (g.lanes / 16) {
    case 1:
      return spmv_avx512_shared_x<T, NX, 1>(g, first, last, alpha, x, beta, y);
    case 2:
      return spmv_avx512_shared_x<T, NX, 2>(g, first, last, alpha, x, beta, y);
    case 3:
      return spmv_avx512_shared_x<T, NX, 3>(g, first, last, alpha, x, beta, y);
    case 4:
      return spmv_avx512_shared_x<T, NX, 4>(g, first, last, alpha, x, beta, y);
    case 5:
      return spmv_avx512_shared_x<T, NX, 5>(g, first, last, alpha, x, beta, y);
    case 6:
      return spmv_avx512_shared_x<T, NX, 6>(g, first, last, alpha, x, beta, y);
    case 7:
      return spmv_avx512_shared_x<T, NX, 7>(g, first, last, alpha, x, beta, y);
    case 8:
      return spmv_avx512_shared_x<T, NX, 8>(g, first, last, alpha, x, beta, y);
    default:
      return spmv_avx512_long_banks<T, NX>(g, first, last, alpha, x, beta, y);
  }
}

/// Rows [first, last) of y = alpha * A * x + beta * y from A's row groups; y is the whole vector.
/// Needs bank_size <= 16 * max_slice_registers and k > 0.
template <typename T>
void spmv_avx512_row_groups(const RowGroups<T>& g, index first, index last, float alpha, const float* x, float beta,
                            float* y) {
  switch (slice_registers(g.bank_size)) {
    case 1:
      return spmv_avx512_row_groups_nx<T, 1>(g, first, last, alpha, x, beta, y);
    case 2:
      return spmv_avx512_row_groups_nx<T, 2>(g, first, last, alpha, x, beta, y);
    case 4:
      return spmv_avx512_row_groups_nx<T, 4>(g, first, last, alpha, x, beta, y);
    case 8:
      return spmv_avx512_row_groups_nx<T, 8>(g, first, last, alpha, x, beta, y);
    default:
      return spmv_avx512_row_groups_nx<T, 16>(g, first, last, alpha, x, beta, y);
  }
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
