// The XRT implementation of the device-runtime seam, declared here and defined in
// backends/fpga/host/xrt_runtime.cpp: link bbs::fpga_xrt (built when libxrt-dev is found) to use it.
#pragma once

#include <memory>
#include <string>

#include "bbs/backend/fpga/runtime.hpp"

namespace bbs {
namespace fpga_runtime {

/// Opens XRT device `device_index` and loads the .xclbin at xclbin_path on it (XRT's native C++
/// API: xrt::device, xrt::xclbin, load_xclbin; kernels are xrt::kernel, buffers xrt::bo, runs
/// xrt::run). Throws device_error when there is no such device, the file is missing or not an
/// .xclbin, or the device refuses it; open_kernel throws when a kernel is missing or its
/// argument list differs from the host's.
std::shared_ptr<DeviceRuntime> open_xrt_runtime(const std::string& xclbin_path, unsigned device_index = 0);

}  // namespace fpga_runtime
}  // namespace bbs
