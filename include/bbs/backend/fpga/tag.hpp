// The fpga backend tag. Products run on the process-wide default fpga::Session (session.hpp):
// the in-process emulator of the kernel unless an XRT session was installed, so the tag works
// default-constructed, as bbs::on<bbs::backend::fpga>(A) * x builds it.
#pragma once

namespace bbs {
namespace backend {

/// y = A * x on an FPGA kernel (backends/fpga): float and fixed16<F> matrices. Not in
/// compiled_backends: it is chosen explicitly, never by backend::automatic (see session.hpp).
struct fpga {
  static constexpr const char* name = "fpga";
};

}  // namespace backend
}  // namespace bbs
