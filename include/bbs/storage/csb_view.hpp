// CsbView: the canonical Compressed Sparse Banks arrays of one matrix, non-owning, with their invariants.
//
// Layout (docs/CSB_FORMAT.md): row r starts at entry r * num_banks * k, so no row pointers exist.
// Inside a row the order is slot-major: for slot s in 0..k-1, for bank b in 0..num_banks-1, one
// (value, in-bank index) pair. The num_banks consecutive entries of a slot come from different
// banks, so num_banks processing elements can consume them in the same cycle. Column = b * bank_size
// + index. A partial last bank is zero-padded: an entry whose column is >= cols is padding and
// holds the value 0; kernels skip it and never read x past cols.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "bbs/core/bank_config.hpp"
#include "bbs/core/config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/storage/layout_cache.hpp"

namespace bbs {
namespace detail {

/// Entries stored for a rows x cols matrix under cfg; throws shape_error on a negative shape, on
/// a count that does not fit the index type, or on arrays whose size in bytes would not (at most
/// 16 bytes per entry: an 8-byte value, a 2-byte index and the row-grouped copy's share), so that
/// no byte count derived from it wraps.
inline index checked_stored_entries(index rows, index cols, const BankConfig& cfg) {
  cfg.validate();
  if (rows < 0 || cols < 0) throw_error<shape_error>("negative matrix shape ", rows, " x ", cols);
  const index per_row = cfg.num_banks(cols) * cfg.nnz_per_bank;
  if (per_row != 0 && rows > std::numeric_limits<index>::max() / per_row) {
    throw_error<shape_error>("a ", rows, " x ", cols, " matrix with ", cfg.nnz_per_bank,
                             " entries per bank overflows the entry count");
  }
  constexpr index max_entries = std::numeric_limits<index>::max() / 16;
  if (rows * per_row > max_entries) {
    throw_error<shape_error>("a ", rows, " x ", cols, " matrix with ", cfg.nnz_per_bank, " entries per bank stores ",
                             rows * per_row, " entries; their size in bytes overflows (at most ", max_entries,
                             " entries)");
  }
  return rows * per_row;
}

/// Throws format_error unless `given` is the index width cfg's bank size needs; `who` names the caller.
inline void check_index_width(const char* who, const BankConfig& cfg, IndexWidth given) {
  if (given != cfg.index_width()) {
    throw_error<format_error>(who, ": bank_size ", cfg.bank_size, " needs ", static_cast<int>(cfg.index_width()) * 8,
                              "-bit indices, got ", static_cast<int>(given) * 8, "-bit");
  }
}

}  // namespace detail

/// Where (row, slot, bank) is stored in the canonical arrays of a matrix with num_banks banks per
/// row and k entries per bank: rows one after another, slot-major inside a row. The one place
/// the CSB order is written down; writers (pruning, conversions) and readers use it.
constexpr index csb_entry(index row, index slot, index bank, index num_banks, index k) {
  return (row * k + slot) * num_banks + bank;
}

/// The orders in which CsbView::for_each_entry visits a row: as stored (slot-major, what kernels
/// stream), or by column (bank-major; columns ascending, as in-bank indices increase).
enum class EntryOrder { storage, columns };

template <typename T>
struct CsbView {
  index rows = 0;
  index cols = 0;
  BankConfig config{};
  const T* values = nullptr;
  /// uint8_t indices when config.bank_size <= 256, uint16_t above (config.index_width()).
  const void* indices = nullptr;
  /// Arrangements derived from these arrays (backend/simd's row groups, say), owned by the matrix
  /// the view came from; null for views of arrays nobody caches for (BbsMap, row slices).
  const LayoutCache* layouts = nullptr;

  index num_banks() const { return config.num_banks(cols); }
  index nnz_per_bank() const { return config.nnz_per_bank; }
  index bank_size() const { return config.bank_size; }
  /// Entries stored per row, padding included: num_banks * nnz_per_bank.
  index row_entries() const { return num_banks() * config.nnz_per_bank; }
  /// Entries stored in all, padding included.
  index stored_entries() const { return rows * row_entries(); }
  /// Columns of the last bank that exist in the matrix (bank_size unless the bank is padded).
  index last_bank_width() const { return cols - (num_banks() - 1) * config.bank_size; }
  /// Real (non-padding) entries per row: the last bank contributes at most its width.
  index row_nonzeros() const {
    if (cols == 0) return 0;
    const index last = last_bank_width() < config.nnz_per_bank ? last_bank_width() : config.nnz_per_bank;
    return (num_banks() - 1) * config.nnz_per_bank + last;
  }
  /// Stored entries that are not padding (Eigen's nonZeros(): explicit zeros count).
  index nonzeros() const { return rows * row_nonzeros(); }

  /// This view with canonical arrays to read: itself, or, for a view of a prepared matrix that
  /// dropped its arrays (BbsMatrix::prepare, Canonical::drop), the arrays rebuilt from its
  /// arrangement, built once and kept in its layout cache. Kernels that read the arrangement
  /// instead never call it (kernel::spmv); everything else does.
  CsbView complete() const {
    if (values != nullptr || layouts == nullptr) return *this;
    const auto restored = layouts->template restored<CanonicalArrays<T>>();
    if (!restored) return *this;
    CsbView v = *this;
    v.values = restored->values.data();
    v.indices = restored->index_data();
    return v;
  }

  /// Rows [first, last) as a view of their own: rows are contiguous in CSB, so this is O(1).
  /// The slice carries no layout cache: the owner's arrangements cover the whole matrix (so the
  /// arrays of a prepared matrix that dropped them are restored first).
  CsbView rows_slice(index first, index last) const {
    if (values == nullptr && layouts != nullptr) {
      const CsbView whole = complete();
      if (whole.values != nullptr) return whole.rows_slice(first, last);
    }
    const index offset = first * row_entries();
    const auto* idx = static_cast<const unsigned char*>(indices);
    return CsbView{last - first,
                   cols,
                   config,
                   values == nullptr ? nullptr : values + offset,
                   idx == nullptr ? nullptr : idx + offset * static_cast<index>(config.index_width()),
                   nullptr};
  }

  /// Position of (row r, slot s, bank b) in values and indices (csb_entry).
  index entry(index r, index s, index b) const { return csb_entry(r, s, b, num_banks(), config.nnz_per_bank); }

  /// Column of the entry at position e (padding entries give a column >= cols).
  index column_of(index e) const {
    return (e % num_banks()) * config.bank_size + with_indices([&](auto idx) { return static_cast<index>(idx[e]); });
  }

  /// Calls f(row, column, e) for every stored entry that is not padding (column < cols), rows
  /// ascending, each row in `Order`; e indexes values and indices. The canonical walk: backends
  /// other than the reference (which spells it out as the specification) and conversions use it.
  template <EntryOrder Order = EntryOrder::storage, typename F>
  void for_each_entry(F&& f) const {
    with_indices([&](auto idx) {
      for (index r = 0; r < rows; ++r) walk_row<Order>(idx, r, f);
    });
  }

  /// for_each_entry for row r alone: f(column, e).
  template <EntryOrder Order = EntryOrder::storage, typename F>
  void for_each_entry_in_row(index r, F&& f) const {
    with_indices([&](auto idx) { walk_row<Order>(idx, r, [&](index, index c, index e) { f(c, e); }); });
  }

  /// Calls f with the index array typed as const uint8_t* or const uint16_t*.
  template <typename F>
  decltype(auto) with_indices(F&& f) const {
    if (config.index_width() == IndexWidth::u8) return f(static_cast<const std::uint8_t*>(indices));
    return f(static_cast<const std::uint16_t*>(indices));
  }

  /// Checks every invariant; throws format_error naming the first broken one.
  /// - the bank configuration is valid and the shape is non-negative;
  /// - the arrays are present when entries are stored;
  /// - inside every bank of every row the k indices are < bank_size and strictly increasing;
  /// - padding entries (column >= cols) hold exactly zero.
  void validate() const {
    config.validate();
    if (rows < 0 || cols < 0) detail::throw_error<format_error>("CSB: negative shape ", rows, " x ", cols);
    if (stored_entries() > 0 && (values == nullptr || indices == nullptr)) {
      detail::throw_error<format_error>("CSB: ", stored_entries(), " entries expected but the ",
                                        values == nullptr ? "value" : "index", " array is null");
    }
    if (stored_entries() == 0) return;  // nothing to walk, however large the shape
    with_indices([&](auto idx) { check_indices(idx); });
  }

 private:
  template <EntryOrder Order, typename I, typename F>
  void walk_row(const I* idx, index r, F&& f) const {
    const index nb = num_banks();
    const index k = config.nnz_per_bank;
    const index outer = Order == EntryOrder::storage ? k : nb;
    const index inner = Order == EntryOrder::storage ? nb : k;
    for (index o = 0; o < outer; ++o) {
      for (index i = 0; i < inner; ++i) {
        const index s = Order == EntryOrder::storage ? o : i;
        const index b = Order == EntryOrder::storage ? i : o;
        const index e = entry(r, s, b);
        const index c = b * config.bank_size + idx[e];
        if (c < cols) f(r, c, e);
      }
    }
  }

  template <typename I>
  void check_indices(const I* idx) const {
    const index nb = num_banks();
    const index k = config.nnz_per_bank;
    const index bs = config.bank_size;
    for (index r = 0; r < rows; ++r) {
      for (index b = 0; b < nb; ++b) {
        index previous = -1;
        for (index s = 0; s < k; ++s) {
          const index e = entry(r, s, b);
          const index i = idx[e];
          if (i >= bs) {
            detail::throw_error<format_error>("CSB: row ", r, " bank ", b, " slot ", s, ": in-bank index ", i,
                                              " is not below bank_size ", bs);
          }
          if (i <= previous) {
            detail::throw_error<format_error>("CSB: row ", r, " bank ", b, " slot ", s, ": in-bank index ", i,
                                              " does not increase (previous slot holds ", previous, ")");
          }
          previous = i;
          if (b * bs + i >= cols && !(values[e] == T(0))) {
            detail::throw_error<format_error>("CSB: row ", r, " bank ", b, " slot ", s, ": padding column ", b * bs + i,
                                              " (matrix has ", cols, " columns) holds a nonzero value");
          }
        }
      }
    }
  }
};

}  // namespace bbs
