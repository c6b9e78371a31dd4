// fpga SpMV: y = alpha * A * x + beta * y on the default session's kernel, with A resident on the
// device after the first product (session.hpp). SpMM is inherited from the reference backend:
// one device SpMV per right-hand side on the resident matrix (only x and y move).
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/fpga/session.hpp"
#include "bbs/backend/fpga/tag.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

template <typename Backend, typename T>
void spmv(Backend, requires_backend<fpga>, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x,
          scalar_t<T> beta, activation_t<T>* y) {
  static_assert(fpga_runtime::has_device_kernel<T>,
                "bbs::backend::fpga has kernels for float and fixed16<F> matrices only; quantize the matrix first");
  fpga_runtime::resident_matrix(fpga_runtime::default_session(), a)->spmv(alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
