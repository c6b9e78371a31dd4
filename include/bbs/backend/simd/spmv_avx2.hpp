// Gather SpMV on the row groups (row_groups.hpp): the AVX2 kernel for float, bfloat16, half and
// double weights; AVX-512 machines run it for double as well.
//
// AVX2's permute (vpermps) picks from 8 floats only, so selecting from a 64-wide bank would take
// 8 permutes and 7 blends per 8 entries; double lanes make the permute route of the AVX-512 float
// kernel (spmv_avx512.hpp) four times as long per entry (measured on Zen 5 at bank 64: no faster
// than these gathers, and an 8-lane AVX-512 gather was no faster either). Instead each vector of entries of a
// bank block is one gather from that bank's slice of x: the base address is the bank's first
// column and the in-bank indices are the offsets, so no column arithmetic is needed. Lanes that
// are padding (past R k, or a column past the matrix in a partial last bank) are masked out of the
// gather and read nothing; their value is 0. One accumulator per vector of lanes; rows are summed
// from their lanes at the end of each group (finish_row_group).
//
// The kernel body is written once per instruction set (a function's target cannot be a template
// parameter); the lanes themselves come from float_lanes.hpp.
#pragma once

#include "bbs/backend/simd/float_lanes.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

#ifdef BBS_SIMD_HAVE_AVX2
#include <immintrin.h>

BBS_SIMD_KERNELS_BEGIN

namespace bbs {
namespace backend {
namespace simd_impl {

/// Most lanes of one bank block: k <= bank_size <= 256, and R k <= 128 when R > 1.
constexpr index max_block_lanes = 256;

/// Rows [first, last) of y = alpha * A * x + beta * y from A's row groups; y is the whole vector.
/// W: float, bfloat16 or half weights (x, y float), or double.
template <typename W, typename S = typename Avx2Lanes<W>::sum_type>
BBS_TARGET_AVX2 void spmv_avx2_row_groups(const RowGroups<W>& g, index first, index last, S alpha, const S* x, S beta,
                                          S* y) {
  using L = Avx2Lanes<W>;
  const index nb = g.num_banks;
  const index chunks = g.lanes / L::lanes;
  const index real_lanes = g.group_rows * g.k;
  const index tail_width = g.cols - (nb - 1) * g.bank_size;
  alignas(32) S lanes[max_block_lanes];
  typename L::vec acc[max_block_lanes / L::lanes];
  for (index group = first / g.group_rows; group * g.group_rows < last; ++group) {
    for (index c = 0; c < chunks; ++c) acc[c] = L::zero();
    for (index b = 0; b < nb; ++b) {
      const W* v = g.block_values(group, b);
      const std::uint8_t* id = g.block_indices(group, b);
      const S* base = x + b * g.bank_size;
      const index width = b + 1 < nb ? g.bank_size : tail_width;
      for (index c = 0; c < chunks; ++c) {
        const typename L::vec xv = L::gather(base, id + L::lanes * c, real_lanes - L::lanes * c, width);
        acc[c] = L::fmadd(L::weights(v + L::lanes * c), xv, acc[c]);
      }
    }
    for (index c = 0; c < chunks; ++c) L::store(lanes + L::lanes * c, acc[c]);
    finish_row_group(g, group, lanes, first, last, alpha, beta, y);
  }
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs

BBS_SIMD_KERNELS_END
#endif
