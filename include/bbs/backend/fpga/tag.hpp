// The fpga backend tag. Products run on the process-wide default fpga_runtime::Session
// (session.hpp): the in-process emulator of the kernel unless an XRT session was installed, so
// the tag works default-constructed, as bbs::on<bbs::backend::fpga>(A) * x builds it.
#pragma once

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/tag.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace backend {

/// y = A * x on an FPGA kernel (backends/fpga): float and fixed16<F> matrices. What the device
/// has no kernel for (the transposed product, activations) runs on the host's reference loops,
/// from which it derives. Not in compiled_backends: it is chosen explicitly, never by
/// backend::automatic (see session.hpp).
struct fpga : reference {
  static constexpr const char* name = "fpga";
};

// The operations fpga implements itself (fpga/spmv.hpp, fpga/spmm_row_major.hpp), declared with
// the tag: fpga is not in the registry, so a translation unit could see this tag without them,
// and would then run the reference loops it inherits. With these declarations it fails to link.
template <typename Backend, typename T>
void spmv(Backend, requires_backend<fpga>, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x,
          scalar_t<T> beta, activation_t<T>* y);
template <typename Backend, typename T>
void spmm_row_major(Backend tag, requires_backend<fpga>, const CsbView<T>& a, index n, scalar_t<T> alpha,
                    const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy);

}  // namespace backend
}  // namespace bbs
