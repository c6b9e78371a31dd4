// Kernel shell: y = alpha * A * x + beta * y in float on a packed BBS matrix (device_layout.hpp).
// Interface pragmas and one instantiation; the work is in spmv.hpp. Arguments (as the host's
// float_kernel_signature() in include/bbs/backend/fpga/runtime.hpp): matrix, x, y, alpha, beta.
#include "kernel_config.hpp"
#include "spmv.hpp"

extern "C" void bbs_spmv_float(const bbs::fpga_hw::wide_word* p_matrix, const float* p_x, float* p_y, float p_alpha,
                               float p_beta) {
#pragma HLS INTERFACE m_axi port = p_matrix offset = slave bundle = gmem0 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = p_x offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = p_y offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = p_alpha
#pragma HLS INTERFACE s_axilite port = p_beta
#pragma HLS INTERFACE s_axilite port = return
  bbs::fpga_hw::spmv_float<bbs::fpga_hw::float_lanes, bbs::fpga_hw::float_depth>(p_matrix, p_x, p_y, p_alpha, p_beta);
}
