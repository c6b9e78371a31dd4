// Row-major SpMM through a backend's column-major SpMM: X and Y are transposed into column-major
// buffers around one spmm call. The fallback of backends without a row-major kernel (fpga), whose
// results are then exactly their column-major SpMM's.
#pragma once

#include <vector>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

/// Y = alpha * A * X + beta * Y with X (A.cols x n) and Y (A.rows x n) row-major, computed by
/// Backend's spmm on transposed copies (Y is copied in only when beta != 0).
template <typename Backend, typename T>
void spmm_row_major_by_columns(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x,
                               index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  using act_t = activation_t<T>;
  if (n == 0 || a.rows == 0) return;
  std::vector<act_t> xc(static_cast<std::size_t>(a.cols * n));
  std::vector<act_t> yc(static_cast<std::size_t>(a.rows * n));
  for (index c = 0; c < a.cols; ++c)
    for (index p = 0; p < n; ++p) xc[static_cast<std::size_t>(p * a.cols + c)] = x[c * ldx + p];
  if (beta != scalar_t<T>(0)) {
    for (index r = 0; r < a.rows; ++r)
      for (index p = 0; p < n; ++p) yc[static_cast<std::size_t>(p * a.rows + r)] = y[r * ldy + p];
  }
  spmm(tag, tag, a, n, alpha, xc.data(), a.cols, beta, yc.data(), a.rows);
  for (index r = 0; r < a.rows; ++r)
    for (index p = 0; p < n; ++p) y[r * ldy + p] = yc[static_cast<std::size_t>(p * a.rows + r)];
}

}  // namespace backend
}  // namespace bbs
