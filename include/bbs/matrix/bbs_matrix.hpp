// BbsMatrix<T>: a bank-balanced sparse matrix that owns its canonical CSB arrays.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "bbs/matrix/matrix_base.hpp"
#include "bbs/storage/layout_cache.hpp"

namespace bbs {

template <typename T>
class BbsMatrix : public BbsBase<BbsMatrix<T>> {
 public:
  using Scalar = T;

  /// An empty 0 x 0 matrix.
  BbsMatrix() = default;

  /// A rows x cols matrix whose every bank stores in-bank indices 0..k-1 with value zero.
  /// Useful as a pattern to fill through valueData().
  BbsMatrix(index rows, index cols, const BankConfig& cfg) : rows_(rows), cols_(cols), config_(cfg) {
    const index n = detail::checked_stored_entries(rows, cols, cfg);
    values_.assign(static_cast<std::size_t>(n), T(0));
    const index nb = cfg.num_banks(cols);
    allocate_indices(n);
    with_mutable_indices([&](auto* idx) {
      for (index e = 0; e < n; ++e)
        idx[e] = static_cast<std::remove_pointer_t<decltype(idx)>>((e % (nb * cfg.nnz_per_bank)) / nb);
    });
  }

  /// Adopts canonical CSB arrays (slot-major within each row, see docs/CSB_FORMAT.md) and
  /// validates them. The index vector's element type must match cfg.index_width().
  template <typename I>
  BbsMatrix(index rows, index cols, const BankConfig& cfg, std::vector<T> values, std::vector<I> indices)
      : rows_(rows), cols_(cols), config_(cfg), values_(std::move(values)) {
    static_assert(std::is_same<I, std::uint8_t>::value || std::is_same<I, std::uint16_t>::value,
                  "CSB indices are uint8_t or uint16_t");
    const index n = detail::checked_stored_entries(rows, cols, cfg);
    detail::check_index_width("BbsMatrix", cfg, sizeof(I) == 1 ? IndexWidth::u8 : IndexWidth::u16);
    if (static_cast<index>(values_.size()) != n || static_cast<index>(indices.size()) != n) {
      detail::throw_error<shape_error>("BbsMatrix: a ", rows, " x ", cols, " matrix with bank_size ", cfg.bank_size,
                                       " and nnz_per_bank ", cfg.nnz_per_bank, " stores ", n, " entries, got ",
                                       values_.size(), " values and ", indices.size(), " indices");
    }
    if constexpr (sizeof(I) == 1) {
      idx8_ = std::move(indices);
    } else {
      idx16_ = std::move(indices);
    }
    view().validate();
  }

  /// Copies any bank-balanced matrix (for example a BbsMap) into owned storage.
  template <typename OtherDerived>
  explicit BbsMatrix(const BbsBase<OtherDerived>& other) {
    const CsbView<T> v = other.derived().view();
    rows_ = v.rows;
    cols_ = v.cols;
    config_ = v.config;
    values_.assign(v.values, v.values + v.stored_entries());
    allocate_indices(v.stored_entries());
    with_mutable_indices([&](auto* idx) {
      using I = std::remove_pointer_t<decltype(idx)>;
      const I* src = static_cast<const I*>(v.indices);
      std::copy(src, src + v.stored_entries(), idx);
    });
  }

  /// Builds a BbsMatrix from an Eigen sparse matrix whose pattern is bank-balanced under cfg:
  /// every bank of every row stores exactly nnz_per_bank entries (a partial last bank stores
  /// min(nnz_per_bank, its width)). Throws format_error naming the first bank that does not.
  template <typename SparseDerived>
  static BbsMatrix fromSparse(const Eigen::SparseMatrixBase<SparseDerived>& s, const BankConfig& cfg) {
    const Eigen::SparseMatrix<T, Eigen::RowMajor, index> m = s.template cast<T>();
    BbsMatrix result(m.rows(), m.cols(), cfg);
    const index nb = cfg.num_banks(m.cols());
    const index k = cfg.nnz_per_bank;
    const index bs = cfg.bank_size;
    std::vector<std::pair<index, T>> bank;
    result.with_mutable_indices([&](auto* idx) {
      using I = std::remove_pointer_t<decltype(idx)>;
      for (index r = 0; r < m.rows(); ++r) {
        typename Eigen::SparseMatrix<T, Eigen::RowMajor, index>::InnerIterator it(m, r);
        for (index b = 0; b < nb; ++b) {
          bank.clear();
          for (; it && it.index() < (b + 1) * bs; ++it) bank.emplace_back(it.index() - b * bs, it.value());
          std::sort(bank.begin(), bank.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
          const index width = std::min(bs, m.cols() - b * bs);
          const index expected = std::min(k, width);
          if (static_cast<index>(bank.size()) != expected) {
            detail::throw_error<format_error>("fromSparse: row ", r, " bank ", b, " (columns ", b * bs, "..",
                                              b * bs + width - 1, ") stores ", bank.size(), " entries, expected ",
                                              expected, " for a bank-balanced pattern with nnz_per_bank ", k);
          }
          // Padding slots of a partial last bank take the first in-bank indices past the matrix.
          for (index s = 0; s < k; ++s) {
            const index e = csb_entry(r, s, b, nb, k);
            const bool real = s < expected;
            idx[e] = static_cast<I>(real ? bank[static_cast<std::size_t>(s)].first : width + (s - expected));
            result.values_[static_cast<std::size_t>(e)] = real ? bank[static_cast<std::size_t>(s)].second : T(0);
          }
        }
      }
    });
    return result;
  }

  /// Non-owning view of the canonical arrays; valid while this matrix lives and is not resized.
  /// It carries this matrix's layout cache, where backends keep arrangements derived on first use.
  CsbView<T> view() const { return CsbView<T>{rows_, cols_, config_, values_.data(), indexData(), &layouts_}; }

  /// Values in canonical order; the pattern is fixed, the values may be changed (fine-tuning).
  /// Drops the derived arrangements, so the next product sees the new values. A pointer kept
  /// across products and written later needs valuesChanged() before the next product.
  T* valueData() {
    layouts_.clear();
    return values_.data();
  }
  const T* valueData() const { return values_.data(); }
  /// Tells the matrix that its values were written through a pointer obtained earlier from
  /// valueData(): drops the arrangements derived from the old values.
  void valuesChanged() { layouts_.clear(); }
  /// The cache of arrangements derived from the canonical arrays (see storage/layout_cache.hpp).
  const LayoutCache& layouts() const { return layouts_; }

  /// In-bank indices: const uint8_t* or const uint16_t* according to indexWidth().
  const void* indexData() const {
    return config_.index_width() == IndexWidth::u8 ? static_cast<const void*>(idx8_.data())
                                                   : static_cast<const void*>(idx16_.data());
  }

 private:
  void allocate_indices(index n) {
    if (config_.index_width() == IndexWidth::u8) {
      idx8_.assign(static_cast<std::size_t>(n), 0);
    } else {
      idx16_.assign(static_cast<std::size_t>(n), 0);
    }
  }
  template <typename F>
  void with_mutable_indices(F&& f) {
    if (config_.index_width() == IndexWidth::u8) {
      f(idx8_.data());
    } else {
      f(idx16_.data());
    }
  }

  index rows_ = 0;
  index cols_ = 0;
  BankConfig config_{};
  std::vector<T> values_;
  std::vector<std::uint8_t> idx8_;
  std::vector<std::uint16_t> idx16_;
  LayoutCache layouts_;
};

}  // namespace bbs
