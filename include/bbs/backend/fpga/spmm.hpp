// fpga SpMM: one device SpMV per right-hand side on the resident matrix (only x and y move).
#pragma once

namespace bbs {
namespace backend {

template <typename T>
void spmm(fpga tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
          scalar_t<T> beta, activation_t<T>* y, index ldy) {
  spmm_by_columns(tag, a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs
