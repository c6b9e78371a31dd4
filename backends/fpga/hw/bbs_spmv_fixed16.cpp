// Kernel shell: y = alpha * A * x + beta * y in 16-bit fixed point on a packed BBS matrix
// (device_layout.hpp). Interface pragmas and one instantiation; the work is in spmv.hpp.
// Arguments (the host's fixed16_kernel_signature() in include/bbs/backend/fpga/runtime.hpp lists
// the same): matrix, x, y, alpha_q, beta_q (Q15.16).
#include "kernel_config.hpp"
#include "spmv.hpp"

extern "C" void bbs_spmv_fixed16(const bbs::fpga_hw::wide_word* p_matrix, const std::int16_t* p_x, std::int16_t* p_y,
                                 std::int32_t p_alpha_q, std::int32_t p_beta_q) {
#pragma HLS INTERFACE m_axi port = p_matrix offset = slave bundle = gmem0 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = p_x offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = p_y offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = p_alpha_q
#pragma HLS INTERFACE s_axilite port = p_beta_q
#pragma HLS INTERFACE s_axilite port = return
  bbs::fpga_hw::spmv_fixed16<bbs::fpga_hw::fixed16_lanes, bbs::fpga_hw::fixed16_depth>(p_matrix, p_x, p_y, p_alpha_q,
                                                                                       p_beta_q);
}
