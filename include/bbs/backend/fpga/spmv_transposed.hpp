// fpga transposed SpMV: the kernel streams rows, and A^T x scatters into y, so there is no device
// kernel; the reference loops run on the host.
#pragma once

namespace bbs {
namespace backend {

template <typename T>
void spmv_transposed(fpga, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
                     activation_t<T>* y) {
  spmv_transposed(reference{}, a, alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
