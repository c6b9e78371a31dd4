// bbs's FPGA module: the fpga backend (bbs::on<bbs::backend::fpga>(A) * x), its device sessions
// and the emulator of its kernel. Link the CMake target bbs::fpga, which puts the kernel's own
// headers (backends/fpga/hw) on the include path; bbs::fpga_xrt adds the XRT runtime. Includes
// the sparse module (<bbs/sparse.hpp>).
#pragma once

#include "bbs/sparse.hpp"
#include "bbs/backend/fpga.hpp"
