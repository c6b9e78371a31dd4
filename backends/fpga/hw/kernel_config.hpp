// The shipped kernel instantiations: names, PE counts and x-buffer depths. The kernel shells
// (bbs_spmv_*.cpp), the host's kernel signatures and the emulator all read them from here, so
// the emulated kernel is the synthesized one.
#pragma once

#include "device_layout.hpp"

namespace bbs {
namespace fpga_hw {

/// fixed16: 16 PEs fill a 512-bit word with 16 (value, address) pairs; 4096 x entries per PE
/// (64 Kb, two BRAM36), so up to 65536 columns when the bank size divides 4096.
constexpr int fixed16_lanes = fpga_hw::max_lanes(fpga_hw::value_fixed16);
constexpr int fixed16_depth = 4096;
constexpr const char* fixed16_kernel_name = "bbs_spmv_fixed16";

/// float: 8 PEs (8 x 32-bit values fill half a word, their addresses a quarter), 4096 entries per PE.
constexpr int float_lanes = fpga_hw::max_lanes(fpga_hw::value_float32);
constexpr int float_depth = 4096;
constexpr const char* float_kernel_name = "bbs_spmv_float";

static_assert(fixed16_depth < static_cast<int>(fpga_hw::padding_address), "addresses must stay below padding");
static_assert(float_depth < static_cast<int>(fpga_hw::padding_address), "addresses must stay below padding");

}  // namespace fpga_hw
}  // namespace bbs
