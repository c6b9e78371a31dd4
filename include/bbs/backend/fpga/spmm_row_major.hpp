// fpga row-major SpMM: the device's column-major SpMM (one device SpMV per pixel column on the
// resident matrix) on transposed copies of X and Y; the device kernel has no row-major path.
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/common/spmm_row_major_by_columns.hpp"
#include "bbs/backend/fpga/tag.hpp"
#include "bbs/backend/reference/spmm.hpp"

namespace bbs {
namespace backend {

template <typename Backend, typename T>
void spmm_row_major(Backend tag, requires_backend<fpga>, const CsbView<T>& a, index n, scalar_t<T> alpha,
                    const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  spmm_row_major_by_columns(tag, a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs
