// The BBS SpMV kernel for Vitis HLS: t_Lanes processing elements (PEs), one per matrix bank of a
// bank group, each reading its own partition of the on-chip x buffer, fed one 512-bit word of
// (value, address) pairs per cycle. y = alpha * A * x + beta * y in 16-bit fixed point (the
// rules of bbs/core/fixed_rules.hpp, bit-exact with the reference backend) or in float.
//
// Synthesizable C++14: sizes are template parameters (t_Lanes PEs, t_Depth x entries per PE), no
// dynamic memory, no recursion. g++ compiles it unchanged for C simulation (the pragmas are
// ignored there). Building blocks, each tested on its own by test/backend/fpga/test_fpga_kernel.cpp:
//   check_header     is the packed matrix one this kernel instantiation can run?
//   load_x_banks     x from global memory into the banked buffer, zeros past cols
//   lane_products    the t_Lanes PEs on one word (fixed16: exact int32 products; float)
//   row_dot_*        one row's words through the PEs, accumulated (II = 1)
//   spmv_*           the top functions the kernel shells in bbs_spmv_*.cpp instantiate
#pragma once

#include <cstdint>
#ifndef __SYNTHESIS__
#include <cstring>
#endif

#include "bbs/core/fixed_rules.hpp"
#include "device_layout.hpp"
#include "hls_pragma.hpp"

namespace bbs {
namespace fpga_hw {

/// Partial sums a float row keeps so that the floating-point adder's latency does not stall the
/// II = 1 pipeline (the loop-carried dependency goes to the sum used float_interleave words ago).
constexpr int float_interleave = 8;

/// What check_header found; the host maps every code but header_ok to a device_error.
enum header_status : int {
  header_ok = 0,
  header_bad_magic,
  header_bad_version,
  header_wrong_value_kind,
  header_wrong_lanes,
  header_x_too_deep,
  header_inconsistent
};

/// The fields a kernel reads from the header word.
struct matrix_shape {
  std::uint32_t x_depth;
  std::uint32_t rows;
  std::uint32_t cols;
  std::uint32_t bank_size;
  std::uint32_t groups;
  std::uint32_t slots;
  std::uint32_t words_per_row;
  std::uint32_t frac_bits;
};

inline matrix_shape read_shape(const wide_word& h) {
  matrix_shape s;
  s.x_depth = header_get(h, field_x_depth);
  s.rows = header_get(h, field_rows);
  s.cols = header_get(h, field_cols);
  s.bank_size = header_get(h, field_bank_size);
  s.groups = header_get(h, field_groups);
  s.slots = header_get(h, field_slots);
  s.words_per_row = header_get(h, field_words_per_row);
  s.frac_bits = header_get(h, field_frac_bits);
  return s;
}

/// Whether a kernel with t_Lanes PEs and t_Depth x entries per PE can run the packed matrix
/// whose header is h. The kernel computes nothing on anything but header_ok.
template <int t_Lanes, int t_Depth>
int check_header(const wide_word& h, fpga_hw::value_kind p_kind) {
  if (header_get(h, field_magic) != magic) return header_bad_magic;
  if (header_get(h, field_version) != version) return header_bad_version;
  if (header_get(h, field_value_kind) != static_cast<std::uint32_t>(p_kind)) return header_wrong_value_kind;
  if (header_get(h, field_lanes) != static_cast<std::uint32_t>(t_Lanes)) return header_wrong_lanes;
  const matrix_shape s = read_shape(h);
  if (header_get(h, field_x_depth) > static_cast<std::uint32_t>(t_Depth)) return header_x_too_deep;
  // 64-bit products: a corrupt header must not wrap around into a plausible shape.
  const std::uint64_t depth = std::uint64_t(s.groups) * s.bank_size;
  const std::uint64_t covered = depth * t_Lanes;
  if (depth != header_get(h, field_x_depth) || std::uint64_t(s.groups) * s.slots != s.words_per_row ||
      covered < s.cols || (s.groups > 0 && covered - std::uint64_t(s.bank_size) * t_Lanes >= s.cols) ||
      s.slots > s.bank_size || s.frac_bits > 15) {
    return header_inconsistent;
  }
  return header_ok;
}

/// int16 from its 16 stored bits, without an implementation-defined narrowing cast.
inline std::int16_t int16_from_bits(std::uint32_t bits) {
  return static_cast<std::int16_t>(bits >= 0x8000u ? static_cast<std::int32_t>(bits) - 0x10000 : bits);
}

inline float float_from_bits(std::uint32_t bits) {
#ifdef __SYNTHESIS__
  union {
    std::uint32_t u;
    float f;
  } v;
  v.u = bits;
  return v.f;
#else
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

/// Copies x (cols entries) into the banked buffer: column b * bank_size + i goes to PE b % t_Lanes
/// at address (b / t_Lanes) * bank_size + i; addresses past cols hold zero. One entry per cycle.
template <int t_Lanes, int t_Depth, typename t_Value>
void load_x_banks(const t_Value* p_x, const matrix_shape& p_shape, t_Value l_x[t_Lanes][t_Depth]) {
  std::uint32_t l_lane = 0;
  std::uint32_t l_group = 0;
  std::uint32_t l_in_bank = 0;
  const std::uint32_t l_total = p_shape.groups * t_Lanes * p_shape.bank_size;
  // Counters instead of divisions: the column walks banks in order, bank b = group * t_Lanes + lane.
  for (std::uint32_t l_col = 0; l_col < l_total; ++l_col) {
    BBS_HLS_PRAGMA(HLS PIPELINE II = 1)
    BBS_HLS_PRAGMA(HLS LOOP_TRIPCOUNT min = 1 max = t_Lanes * t_Depth)
    l_x[l_lane][l_group * p_shape.bank_size + l_in_bank] = l_col < p_shape.cols ? p_x[l_col] : t_Value(0);
    if (++l_in_bank == p_shape.bank_size) {
      l_in_bank = 0;
      if (++l_lane == t_Lanes) {
        l_lane = 0;
        ++l_group;
      }
    }
  }
}

/// The t_Lanes PEs on one word, fixed16: each reads its own x partition at the lane's address
/// and forms the exact int32 product; a lane whose address is not below p_depth (the x entries
/// loaded, <= t_Depth; padding_address always) gives 0, so no PE reads an entry load_x_banks did
/// not write. Returns the sum mod 2^32 (an adder tree in hardware; mod 2^32 the order is free).
template <int t_Lanes, int t_Depth>
fixed_rules::accumulator lane_products(const wide_word& p_word, const std::int16_t l_x[t_Lanes][t_Depth],
                                       std::uint32_t p_depth) {
  fixed_rules::accumulator l_sum = 0;
  for (int l_pe = 0; l_pe < t_Lanes; ++l_pe) {
    BBS_HLS_PRAGMA(HLS UNROLL)
    const std::uint32_t l_address = get_field(p_word, address_lsb(l_pe), index_bits);
    if (l_address < p_depth) {
      const std::int16_t l_a = int16_from_bits(get_field(p_word, value_lsb(value_fixed16, l_pe), 16));
      l_sum = fixed_rules::multiply_add(l_sum, l_a, l_x[l_pe][l_address]);
    }
  }
  return l_sum;
}

/// The t_Lanes PEs on one word, float: products of the lanes below p_depth summed by a balanced
/// adder tree.
template <int t_Lanes, int t_Depth>
float lane_products(const wide_word& p_word, const float l_x[t_Lanes][t_Depth], std::uint32_t p_depth) {
  float l_level[t_Lanes];
  BBS_HLS_PRAGMA(HLS ARRAY_PARTITION variable = l_level complete)
  for (int l_pe = 0; l_pe < t_Lanes; ++l_pe) {
    BBS_HLS_PRAGMA(HLS UNROLL)
    const std::uint32_t l_address = get_field(p_word, address_lsb(l_pe), index_bits);
    l_level[l_pe] = l_address < p_depth
                        ? float_from_bits(get_field(p_word, value_lsb(value_float32, l_pe), 32)) * l_x[l_pe][l_address]
                        : 0.0f;
  }
  for (int l_width = t_Lanes; l_width > 1; l_width = (l_width + 1) / 2) {
    BBS_HLS_PRAGMA(HLS UNROLL)
    for (int l_i = 0; l_i < l_width / 2; ++l_i) {
      BBS_HLS_PRAGMA(HLS UNROLL)
      l_level[l_i] = l_level[2 * l_i] + l_level[2 * l_i + 1];
    }
    if (l_width % 2 == 1) l_level[l_width / 2] = l_level[l_width - 1];
  }
  return l_level[0];
}

/// One row of a fixed16 matrix: its words_per_row words through the PEs, summed mod 2^32.
template <int t_Lanes, int t_Depth>
fixed_rules::accumulator row_dot_fixed16(const wide_word* p_row, std::uint32_t p_words,
                                         const std::int16_t l_x[t_Lanes][t_Depth], std::uint32_t p_depth) {
  fixed_rules::accumulator l_sum = 0;
  for (std::uint32_t l_w = 0; l_w < p_words; ++l_w) {
    BBS_HLS_PRAGMA(HLS PIPELINE II = 1)
    l_sum += lane_products<t_Lanes, t_Depth>(p_row[l_w], l_x, p_depth);
  }
  return l_sum;
}

/// One row of a float matrix: word w adds into partial sum w % float_interleave; the partial
/// sums are added at the end of the row.
template <int t_Lanes, int t_Depth>
float row_dot_float(const wide_word* p_row, std::uint32_t p_words, const float l_x[t_Lanes][t_Depth],
                    std::uint32_t p_depth) {
  float l_partial[float_interleave];
  BBS_HLS_PRAGMA(HLS ARRAY_PARTITION variable = l_partial complete)
  for (int l_i = 0; l_i < float_interleave; ++l_i) l_partial[l_i] = 0.0f;
  for (std::uint32_t l_w = 0; l_w < p_words; ++l_w) {
    BBS_HLS_PRAGMA(HLS PIPELINE II = 1)
    BBS_HLS_PRAGMA(HLS DEPENDENCE variable = l_partial inter false)
    l_partial[l_w % float_interleave] += lane_products<t_Lanes, t_Depth>(p_row[l_w], l_x, p_depth);
  }
  float l_sum = 0.0f;
  for (int l_i = 0; l_i < float_interleave; ++l_i) l_sum += l_partial[l_i];
  return l_sum;
}

/// y = alpha * A * x + beta * y in fixed16; alpha_q and beta_q are Q15.16 (fixed_rules). beta_q == 0
/// never reads y. Returns check_header's status; computes nothing unless it is header_ok.
template <int t_Lanes, int t_Depth>
int spmv_fixed16(const wide_word* p_matrix, const std::int16_t* p_x, std::int16_t* p_y, std::int32_t p_alpha_q,
                 std::int32_t p_beta_q) {
  const wide_word l_header = p_matrix[0];
  const int l_status = check_header<t_Lanes, t_Depth>(l_header, fpga_hw::value_fixed16);
  if (l_status != header_ok) return l_status;
  const matrix_shape l_shape = read_shape(l_header);

  std::int16_t l_x[t_Lanes][t_Depth];
  BBS_HLS_PRAGMA(HLS ARRAY_PARTITION variable = l_x complete dim = 1)
  load_x_banks<t_Lanes, t_Depth>(p_x, l_shape, l_x);

  for (std::uint32_t l_row = 0; l_row < l_shape.rows; ++l_row) {
    const fixed_rules::accumulator l_sum = row_dot_fixed16<t_Lanes, t_Depth>(
        p_matrix + fpga_hw::entry_word(l_row, l_shape.words_per_row, 0, l_shape.slots, 0), l_shape.words_per_row, l_x,
        l_shape.x_depth);
    const std::int16_t l_old = p_beta_q == 0 ? std::int16_t(0) : p_y[l_row];
    p_y[l_row] = fixed_rules::scale_and_add(fixed_rules::to_signed(l_sum), p_alpha_q, p_beta_q, l_old,
                                            static_cast<int>(l_shape.frac_bits));
  }
  return header_ok;
}

/// y = alpha * A * x + beta * y in float; beta == 0 never reads y (the reference backend's rule).
template <int t_Lanes, int t_Depth>
int spmv_float(const wide_word* p_matrix, const float* p_x, float* p_y, float p_alpha, float p_beta) {
  const wide_word l_header = p_matrix[0];
  const int l_status = check_header<t_Lanes, t_Depth>(l_header, fpga_hw::value_float32);
  if (l_status != header_ok) return l_status;
  const matrix_shape l_shape = read_shape(l_header);

  float l_x[t_Lanes][t_Depth];
  BBS_HLS_PRAGMA(HLS ARRAY_PARTITION variable = l_x complete dim = 1)
  load_x_banks<t_Lanes, t_Depth>(p_x, l_shape, l_x);

  for (std::uint32_t l_row = 0; l_row < l_shape.rows; ++l_row) {
    const float l_scaled =
        p_alpha * row_dot_float<t_Lanes, t_Depth>(
                      p_matrix + fpga_hw::entry_word(l_row, l_shape.words_per_row, 0, l_shape.slots, 0),
                      l_shape.words_per_row, l_x, l_shape.x_depth);
    p_y[l_row] = p_beta == 0.0f ? l_scaled : l_scaled + p_beta * p_y[l_row];
  }
  return header_ok;
}

}  // namespace fpga_hw
}  // namespace bbs
