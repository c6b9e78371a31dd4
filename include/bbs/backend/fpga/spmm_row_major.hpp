// fpga row-major SpMM: the device's column-major SpMM (one device SpMV per pixel column on the
// resident matrix) on transposed copies of X and Y; the device kernel has no row-major path.
#pragma once

namespace bbs {
namespace backend {

template <typename T>
void spmm_row_major(fpga tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
                    scalar_t<T> beta, activation_t<T>* y, index ldy) {
  spmm_row_major_by_columns(tag, a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs
