// SIMD SpMM panels (no intrinsics): X is copied, 16 columns at a time, into a row-major panel P
// with one 64-byte row per column of A, the 16 right-hand sides' entries for that column. A panel
// kernel then turns every matrix entry (value v, column c) into acc += broadcast(v) * P[c], one
// row of Y for 16 right-hand sides at once, so A is read once per 16 vectors. Each bank's rows of
// P sit one row apart from the next bank's (a stride of bank_size + 1 rows), so that the same
// in-bank index of different banks does not map to the same L1 set; zero rows past the matrix
// serve the padding entries of a partial last bank.
#pragma once

#include <algorithm>
#include <vector>

#include "bbs/core/memory.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

/// Right-hand sides one panel holds: one zmm (two ymm) of floats.
constexpr index spmm_panel_width = 16;

/// The panel of columns [p, p + w) of X (w <= 16): row b * (bank_size + 1) + i holds column
/// b * bank_size + i of A, zeros where that column does not exist; returns the bank stride in floats.
inline index build_spmm_panel(const CsbView<float>& a, const float* x, index ldx, index p, index w,
                              std::vector<float, detail::cacheline_allocator<float>>& panel) {
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

/// Runs kernel(idx, panel, stride, w, y_panel) for each panel of up to 16 right-hand sides, idx
/// being A's typed index array and y_panel the first of the panel's columns of Y.
template <typename Kernel>
void spmm_by_panels(const CsbView<float>& a, index n, const float* x, index ldx, float* y, index ldy, Kernel&& kernel) {
  thread_local std::vector<float, detail::cacheline_allocator<float>> panel;
  for (index p = 0; p < n; p += spmm_panel_width) {
    const index w = std::min(n - p, spmm_panel_width);
    const index stride = build_spmm_panel(a, x, ldx, p, w, panel);
    a.with_indices([&](auto idx) { kernel(idx, panel.data(), stride, w, y + p * ldy); });
  }
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs
