// fpga SpMV: y = alpha * A * x + beta * y on the default session's kernel, with A resident on the
// device after the first product (session.hpp).
#pragma once

namespace bbs {
namespace backend {

template <typename T>
void spmv(fpga, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
          activation_t<T>* y) {
  static_assert(bbs::fpga::has_device_kernel<T>,
                "bbs::backend::fpga has kernels for float and fixed16<F> matrices only; quantize the matrix first");
  bbs::fpga::resident_matrix(bbs::fpga::default_session(), a)->spmv(alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
