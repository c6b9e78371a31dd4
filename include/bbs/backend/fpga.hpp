// The fpga backend: products on an FPGA kernel through a device runtime (the in-process emulator,
// or XRT with bbs::fpga_xrt). Needs backends/ on the include path for the kernel's own headers
// (fpga/hw/...): the CMake target bbs::fpga provides it.
#pragma once

#include "bbs/backend/reference.hpp"
#include "bbs/backend/fpga/tag.hpp"
#include "bbs/backend/fpga/pack.hpp"
#include "bbs/backend/fpga/runtime.hpp"
#include "bbs/backend/fpga/emulator.hpp"
#include "bbs/backend/fpga/xrt_runtime.hpp"
#include "bbs/backend/fpga/session.hpp"
#include "bbs/backend/fpga/spmv.hpp"
#include "bbs/backend/fpga/spmm_row_major.hpp"

namespace bbs {
/// Deprecated: the former names of bbs::fpga_runtime and of the device layout's namespace (now
/// part of bbs::fpga_hw), kept for one release.
namespace fpga = fpga_runtime;
namespace fpga_layout = fpga_hw;
}  // namespace bbs
