// Row groups: the CPU arrangement of a CSB matrix that the SIMD kernels read instead of gathering.
//
// Gathers are slow on current x86 cores (vgatherdps issues one load per lane). BBS gives a way
// around them: all entries of one bank of one row index the same bank_size-wide slice of x. The
// arrangement puts the k entries of one bank of R consecutive rows next to each other, so a kernel
// loads the bank's slice of x into registers once and picks the R * k entries it needs with
// in-register permutes (vpermps / vpermt2ps), then multiplies them with R * k values in one go.
//
//   group g = rows [g R, g R + R); for each bank b a block of `lanes` values, and at the same
//   place in a second array the block's `lanes` in-bank indices
//   lane j l + s holds (row g R + j, bank b, slot s)          (j < R, s < k; l = row_lanes)
//   other lanes are padding: value 0, index 0                (lanes = R l rounded up to a vector)
//   l = k, or k rounded up to even for integer values (their kernels sum lane pairs)
//   rows past the matrix in the last group are padding too
//
// Indices stay in-bank (uint8_t: bank_size <= 256). R is chosen so that little is padding and, for
// small k, several rows share one load of x. The arrangement is derived from the canonical arrays
// on first use and cached next to them (storage/layout_cache.hpp); it never replaces them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <type_traits>
#include <vector>

#include "bbs/core/memory.hpp"
#include "bbs/storage/csb_view.hpp"
#include "bbs/storage/layout_cache.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

using detail::cacheline_allocator;

/// Rows per group for rows of `row_lanes` lanes each, in vectors of `vector_lanes`: the R with the
/// least padding among those whose block fits `max_shared` lanes (so that several rows share one
/// load of x), the larger on ties. 1 when one row alone fills more than that.
inline index choose_group_rows(index row_lanes, index vector_lanes, index max_shared) {
  const auto round_up = [&](index n) { return (n + vector_lanes - 1) / vector_lanes * vector_lanes; };
  if (row_lanes == 0 || round_up(row_lanes) > max_shared) return 1;
  index best = 1;
  for (index r = 1; r * row_lanes <= max_shared; ++r) {
    // r l / round_up(r l) >= best l / round_up(best l), compared without division.
    if (r * row_lanes * round_up(best * row_lanes) >= best * row_lanes * round_up(r * row_lanes)) best = r;
  }
  return best;
}

template <typename T>
struct RowGroups {
  index rows = 0;
  index cols = 0;
  index bank_size = 0;
  index num_banks = 0;
  index k = 0;
  /// Lanes a kernel consumes per instruction: one 64-byte vector of T (16 floats), or 32 16-bit
  /// lanes for integer weights (int16 as they are, int8 sign-extended to int16 first).
  static constexpr index vector_lanes = std::is_integral<T>::value ? 32 : index(64 / sizeof(T));
  /// Whether kernels sum adjacent lane pairs (integer weights: vpmaddwd, vpdpwssd): rows then take
  /// an even number of lanes, so that a pair never spans two rows.
  static constexpr bool pairs_lanes = std::is_integral<T>::value;
  /// Most lanes of a block that several rows share: 128, which is 8 float vectors or 4 int16
  /// vectors; 32 (4 vectors) for double, whose kernel gathers and shares no x in registers. Keep
  /// counts other than powers of two ran up to 30 % slower per entry when float blocks were capped
  /// at 4 vectors: fewer rows then shared each bank's load of x.
  static constexpr index max_shared_lanes = sizeof(T) == 8 ? 32 : 128;
  /// Lanes per row in a bank block: k, rounded up to even when pairs_lanes. Extra lanes: value 0.
  index row_lanes = 0;
  index group_rows = 1;  ///< R
  index lanes = 0;       ///< per bank block: R row_lanes rounded up to vector_lanes
  index groups = 0;
  std::vector<T, cacheline_allocator<T>> values;
  std::vector<std::uint8_t, cacheline_allocator<std::uint8_t>> indices;

  /// Bytes held (LayoutCache::bytes, BbsMatrix::memoryBytes).
  std::size_t memory_bytes() const { return values.size() * sizeof(T) + indices.size(); }

  /// Whether a matrix can be arranged: in-bank indices of one byte.
  static bool applies(const CsbView<T>& a) { return a.config.index_width() == IndexWidth::u8; }

  const T* block_values(index group, index bank) const { return values.data() + (group * num_banks + bank) * lanes; }
  const std::uint8_t* block_indices(index group, index bank) const {
    return indices.data() + (group * num_banks + bank) * lanes;
  }

  /// Derives the arrangement from canonical CSB arrays with uint8_t indices (applies(a)).
  static RowGroups build(const CsbView<T>& a) {
    RowGroups g;
    g.rows = a.rows;
    g.cols = a.cols;
    g.bank_size = a.bank_size();
    g.num_banks = a.num_banks();
    g.k = a.nnz_per_bank();
    g.row_lanes = pairs_lanes ? (g.k + 1) / 2 * 2 : g.k;
    g.group_rows = choose_group_rows(g.row_lanes, vector_lanes, max_shared_lanes);
    g.lanes = (g.group_rows * g.row_lanes + vector_lanes - 1) / vector_lanes * vector_lanes;
    g.groups = (a.rows + g.group_rows - 1) / g.group_rows;
    const auto n = static_cast<std::size_t>(g.groups * g.num_banks * g.lanes);
    g.values.assign(n, T(0));
    g.indices.assign(n, 0);
    // The canonical arrays are read in order (row by row, slot-major: csb_entry), so that building
    // the groups of a large matrix streams through it once.
    const auto* idx = static_cast<const std::uint8_t*>(a.indices);
    const index nb = g.num_banks;
    const index k = g.k;
    T* values = g.values.data();
    std::uint8_t* indices = g.indices.data();
    for (index r = 0; r < a.rows; ++r) {
      const index group = r / g.group_rows;
      const index j = r % g.group_rows;
      const T* row_values = a.values + r * nb * k;
      const std::uint8_t* row_indices = idx + r * nb * k;
      for (index s = 0; s < k; ++s) {
        for (index b = 0; b < nb; ++b) {
          const index to = (group * nb + b) * g.lanes + j * g.row_lanes + s;
          values[to] = row_values[s * nb + b];
          indices[to] = row_indices[s * nb + b];
        }
      }
    }
    return g;
  }
};

/// The canonical arrays a row-group arrangement was built from, bit for bit (build's inverse):
/// what a prepared matrix that dropped its own rebuilds. T: the matrix's value type; R: what the
/// groups hold (T, or T's raw integer for fixed point).
template <typename T, typename R>
CanonicalArrays<T> restore_canonical(const RowGroups<R>& g) {
  static_assert(sizeof(T) == sizeof(R), "T is stored as R (itself, or its raw integer)");
  CanonicalArrays<T> c;
  const auto n = static_cast<std::size_t>(g.rows * g.num_banks * g.k);
  c.values.resize(n);
  c.idx8.resize(n);
  for (index r = 0; r < g.rows; ++r) {
    const index group = r / g.group_rows;
    const index j = r % g.group_rows;
    for (index b = 0; b < g.num_banks; ++b) {
      const auto block = static_cast<std::size_t>((group * g.num_banks + b) * g.lanes + j * g.row_lanes);
      for (index s = 0; s < g.k; ++s) {
        const auto e = static_cast<std::size_t>(csb_entry(r, s, b, g.num_banks, g.k));
        const R raw = g.values[block + static_cast<std::size_t>(s)];
        if constexpr (std::is_same<T, R>::value) {
          c.values[e] = raw;
        } else {
          c.values[e] = T::from_raw(raw);
        }
        c.idx8[e] = g.indices[block + static_cast<std::size_t>(s)];
      }
    }
  }
  return c;
}

/// Writes y[r] = alpha * sum + beta * y[r] for the rows of `group` inside [first, last), each
/// row's sum taken from its k lanes (lane j row_lanes + s holds row j, slot s); S: float sums
/// (float, bfloat16 and half weights) or double.
template <typename T, typename S>
void finish_row_group(const RowGroups<T>& g, index group, const S* lanes, index first, index last, S alpha, S beta,
                      S* y) {
  for (index j = 0; j < g.group_rows; ++j) {
    const index r = group * g.group_rows + j;
    if (r < first || r >= last) continue;
    S sum = 0;
    for (index s = 0; s < g.k; ++s) sum += lanes[j * g.row_lanes + s];
    y[r] = beta == 0 ? alpha * sum : alpha * sum + beta * y[r];
  }
}

/// The row groups of a, from its owner's layout cache; null when a has no cache (a BbsMap, a row
/// slice) or cannot be arranged.
template <typename T>
std::shared_ptr<const RowGroups<T>> cached_row_groups(const CsbView<T>& a) {
  if (a.layouts == nullptr || !RowGroups<T>::applies(a)) return nullptr;
  return a.layouts->template get<RowGroups<T>>([&] { return RowGroups<T>::build(a); });
}

}  // namespace simd_impl
}  // namespace backend
}  // namespace bbs
