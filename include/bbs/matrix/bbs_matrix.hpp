// BbsMatrix<T>: a bank-balanced sparse matrix that owns its canonical CSB arrays.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "bbs/matrix/matrix_base.hpp"
#include "bbs/storage/layout_cache.hpp"

namespace bbs {
namespace kernel {
// Defined in kernel/dispatch.hpp.
template <typename Backend, typename T>
std::function<CanonicalArrays<T>()> prepare(Backend tag, const CsbView<T>& a);
}  // namespace kernel

/// What BbsMatrix::prepare does with the canonical arrays once a backend's arrangement is built.
enum class Canonical {
  keep,  ///< keep them next to the arrangement (two copies; nothing is ever rebuilt)
  drop,  ///< free them when the arrangement holds every entry: one copy in memory
};

template <typename T>
class BbsMatrix : public BbsBase<BbsMatrix<T>> {
 public:
  using Scalar = T;

  /// An empty 0 x 0 matrix.
  BbsMatrix() = default;

  /// Copies hold canonical arrays (restored from the arrangement if `other` dropped its own) and
  /// no arrangement; moves keep everything.
  BbsMatrix(const BbsMatrix& other) : BbsMatrix(static_cast<const BbsBase<BbsMatrix>&>(other)) {}
  BbsMatrix& operator=(const BbsMatrix& other) {
    if (this != &other) *this = BbsMatrix(other);
    return *this;
  }
  BbsMatrix(BbsMatrix&& other) noexcept { take(other); }
  BbsMatrix& operator=(BbsMatrix&& other) noexcept {
    if (this != &other) take(other);
    return *this;
  }

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
    copy_arrays(v);
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
  /// A matrix prepared with Canonical::drop rebuilds its arrays from the arrangement for it, once.
  CsbView<T> view() const { return kernelView().complete(); }

  /// The view products hand to the kernel dispatch: view(), except that a matrix prepared with
  /// Canonical::drop passes no arrays (null values and indices) and its layout cache, so that a
  /// kernel that reads the arrangement runs without rebuilding them; the dispatch rebuilds them
  /// (CsbView::complete) for every other kernel.
  CsbView<T> kernelView() const {
    if (dropped_) return CsbView<T>{rows_, cols_, config_, nullptr, nullptr, &layouts_};
    return CsbView<T>{rows_, cols_, config_, values_.data(), ownIndexData(), &layouts_};
  }

  /// Builds what Backend's SpMV reads for this matrix now, instead of on the first product: the
  /// simd backend's row groups (and the openmp backend's, which are the same); nothing for
  /// backends that read the canonical arrays, or for matrices whose SpMV does (a matrix that keeps
  /// every weight runs the dense kernels on them). Call it at model load time: the first product
  /// then costs what every other one does.
  ///
  /// With Canonical::drop, when the arrangement holds every entry, the canonical arrays are freed:
  /// one copy stays in memory. Products on that backend read the arrangement. Anything that reads
  /// the canonical arrays (save, toDense, coeff, view(), another backend, the transposed product,
  /// SpMM) rebuilds them from the arrangement, bit for bit, once, and keeps them next to it;
  /// prepare again to drop them again. valueData() takes them back for good.
  ///
  /// Returns whether an arrangement that holds every entry was built (so that drop frees the
  /// arrays). memoryBytes() reports what is resident either way.
  template <typename Backend = backend::automatic>
  bool prepare(Canonical canonical = Canonical::keep) {
    if (this->storedEntries() == 0) return false;
    const CsbView<T> v = view();
    std::function<CanonicalArrays<T>()> restore = kernel::prepare(Backend{}, v);
    if (!restore) return false;
    if (canonical == Canonical::drop) {
      layouts_.set_restore(std::move(restore));
      std::vector<T>().swap(values_);
      std::vector<std::uint8_t>().swap(idx8_);
      std::vector<std::uint16_t>().swap(idx16_);
      dropped_ = true;
    }
    return true;
  }

  /// Whether this matrix holds its own canonical arrays (false after prepare with Canonical::drop,
  /// until valueData() takes them back).
  bool holdsCanonical() const { return !dropped_; }

  /// Bytes resident for this matrix: its canonical arrays (unless dropped), the arrangements its
  /// layout cache holds and arrays rebuilt from them. csbBytes() is the format's size.
  std::size_t memoryBytes() const {
    const std::size_t own = values_.size() * sizeof(T) + idx8_.size() + idx16_.size() * sizeof(std::uint16_t);
    return own + layouts_.bytes();
  }

  /// Values in canonical order; the pattern is fixed, the values may be changed (fine-tuning).
  /// Drops the derived arrangements, so the next product sees the new values. A pointer kept
  /// across products and written later needs valuesChanged() before the next product.
  T* valueData() {
    take_back_canonical();
    layouts_.clear();
    return values_.data();
  }
  const T* valueData() const { return view().values; }
  /// Tells the matrix that its values were written through a pointer obtained earlier from
  /// valueData(): drops the arrangements derived from the old values.
  void valuesChanged() {
    if (!dropped_) layouts_.clear();
  }
  /// The cache of arrangements derived from the canonical arrays (see storage/layout_cache.hpp).
  const LayoutCache& layouts() const { return layouts_; }

  /// In-bank indices: const uint8_t* or const uint16_t* according to indexWidth().
  const void* indexData() const { return view().indices; }

 private:
  const void* ownIndexData() const {
    return config_.index_width() == IndexWidth::u8 ? static_cast<const void*>(idx8_.data())
                                                   : static_cast<const void*>(idx16_.data());
  }

  /// A matrix that dropped its canonical arrays copies them back from the arrangement.
  void take_back_canonical() {
    if (!dropped_) return;
    copy_arrays(view());
    dropped_ = false;
  }

  /// Owned copies of v's canonical arrays (v has this matrix's shape and configuration).
  void copy_arrays(const CsbView<T>& v) {
    values_.assign(v.values, v.values + v.stored_entries());
    allocate_indices(v.stored_entries());
    with_mutable_indices([&](auto* idx) {
      using I = std::remove_pointer_t<decltype(idx)>;
      const I* src = static_cast<const I*>(v.indices);
      std::copy(src, src + v.stored_entries(), idx);
    });
  }

  void take(BbsMatrix& other) noexcept {
    rows_ = std::exchange(other.rows_, 0);
    cols_ = std::exchange(other.cols_, 0);
    config_ = other.config_;
    values_ = std::move(other.values_);
    idx8_ = std::move(other.idx8_);
    idx16_ = std::move(other.idx16_);
    layouts_ = std::move(other.layouts_);
    dropped_ = std::exchange(other.dropped_, false);
    other.values_.clear();
    other.idx8_.clear();
    other.idx16_.clear();
  }

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
  bool dropped_ = false;  ///< prepare(Canonical::drop) freed the canonical arrays
};

}  // namespace bbs
