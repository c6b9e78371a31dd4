// AVX-512 float SpMM (several right-hand sides): reads each matrix entry once per 16 right-hand
// sides instead of once per vector.
//
// X is first copied, 16 columns at a time, into a row-major panel P with one 64-byte row per column
// of A: the 16 right-hand sides' entries for that column. Then every matrix entry (value v, column
// c) is one FMA, acc += broadcast(v) * P[c], which updates one row of Y for all 16 right-hand
// sides at once. Each bank's rows of P are stored one row apart from the next bank's (a stride of
// bank_size + 1 rows), so that the same in-bank index of different banks does not map to the
// same L1 set; zero rows past the matrix serve the padding entries of a partial last bank.
//
// Rows go one by one over the canonical arrays (so maps and row slices take this kernel too), with
// four accumulators to hide the FMA latency. Per entry the kernel issues one 64-byte panel load,
// one broadcast and one FMA, which bounds it near one entry per 1.3 cycles on Zen 4 (load ports);
// a bank-major walk over blocks of row groups, tried to keep P in L1, was slower.
#pragma once

#ifdef BBS_SIMD_HAVE_AVX512

#include <vector>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace bbs {
namespace simd_detail {

#define BBS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

/// Right-hand sides one panel holds: one zmm of floats.
constexpr index spmm_panel_width = 16;

/// The panel of columns [p, p + w) of X (w <= 16): row b * (bank_size + 1) + i holds column
/// b * bank_size + i of A, zeros where that column does not exist; returns the bank stride in floats.
inline index build_spmm_panel(const CsbView<float>& a, const float* x, index ldx, index p, index w,
                              std::vector<float, cacheline_allocator<float>>& panel) {
  const index bs = a.bank_size();
  const index stride = (bs + 1) * spmm_panel_width;
  panel.assign(static_cast<std::size_t>(a.num_banks() * stride), 0.0f);
  for (index j = 0; j < w; ++j) {
    const float* xj = x + (p + j) * ldx;
    for (index c = 0; c < a.cols; ++c) {
      panel[static_cast<std::size_t>((c / bs) * stride + (c % bs) * spmm_panel_width + j)] = xj[c];
    }
  }
  return stride;
}

/// Y[r, 0..w) = alpha * acc[0..w) + beta * Y[r, 0..w) (beta == 0 ignores Y).
inline void store_spmm_row(const float* acc, index w, float alpha, float beta, float* y, index ldy) {
  for (index j = 0; j < w; ++j) {
    float& yj = y[j * ldy];
    yj = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * yj;
  }
}

template <typename I>
BBS_TARGET_AVX512 void spmm_avx512_panel(const CsbView<float>& a, const I* idx, index first, index last,
                                         const float* panel, index stride, index w, float alpha, float beta, float* y,
                                         index ldy) {
  const index nb = a.num_banks();
  const index k = a.nnz_per_bank();
  const index per_row = a.row_entries();
  alignas(64) float out[spmm_panel_width];
  for (index r = first; r < last; ++r) {
    const float* v = a.values + r * per_row;
    const I* id = idx + r * per_row;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    for (index s = 0; s < k; ++s, v += nb, id += nb) {
      const float* bank = panel;
      index b = 0;
      for (; b + 4 <= nb; b += 4, bank += 4 * stride) {
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(v[b]), _mm512_load_ps(bank + index(id[b]) * 16), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(v[b + 1]), _mm512_load_ps(bank + stride + index(id[b + 1]) * 16), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_set1_ps(v[b + 2]), _mm512_load_ps(bank + 2 * stride + index(id[b + 2]) * 16),
                               acc2);
        acc3 = _mm512_fmadd_ps(_mm512_set1_ps(v[b + 3]), _mm512_load_ps(bank + 3 * stride + index(id[b + 3]) * 16),
                               acc3);
      }
      for (; b < nb; ++b, bank += stride) {
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(v[b]), _mm512_load_ps(bank + index(id[b]) * 16), acc0);
      }
    }
    _mm512_store_ps(out, _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
    store_spmm_row(out, w, alpha, beta, y + r, ldy);
  }
}

/// Rows [first, last) of Y = alpha * A * X + beta * Y (X: cols x n, Y: rows x n, column-major; Y is
/// the whole matrix).
inline void spmm_avx512(const CsbView<float>& a, index first, index last, index n, float alpha, const float* x,
                        index ldx, float beta, float* y, index ldy) {
  thread_local std::vector<float, cacheline_allocator<float>> panel;
  for (index p = 0; p < n; p += spmm_panel_width) {
    const index w = std::min(n - p, spmm_panel_width);
    const index stride = build_spmm_panel(a, x, ldx, p, w, panel);
    a.with_indices([&](auto idx) {
      spmm_avx512_panel(a, idx, first, last, panel.data(), stride, w, alpha, beta, y + p * ldy, ldy);
    });
  }
}

#undef BBS_TARGET_AVX512

}  // namespace simd_detail
}  // namespace bbs

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
