// BbsBase: what every bank-balanced matrix type offers (owning BbsMatrix and non-owning BbsMap):
// shape and bank queries, element access, iteration, conversions, and the product operators.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "bbs/backend/automatic.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/eigen/num_traits.hpp"
#include "bbs/eigen/traits.hpp"
#include "bbs/matrix/forward.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {

template <typename Derived>
class BbsBase : public Eigen::EigenBase<Derived> {
 public:
  using Scalar = typename Eigen::internal::traits<Derived>::Scalar;
  using RealScalar = typename Eigen::NumTraits<Scalar>::Real;
  using StorageIndex = int;
  enum { ColsAtCompileTime = Eigen::Dynamic, MaxColsAtCompileTime = Eigen::Dynamic, IsRowMajor = true };
  using DenseMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using SparseMatrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int>;

  using Eigen::EigenBase<Derived>::derived;

  index rows() const { return shape().rows; }
  index cols() const { return shape().cols; }
  /// Eigen's sparse vocabulary, used by Eigen's preconditioners: outer = rows (row-major).
  index outerSize() const { return rows(); }
  index innerSize() const { return cols(); }

  BankConfig bankConfig() const { return shape().config; }
  index bankSize() const { return bankConfig().bank_size; }
  index nnzPerBank() const { return bankConfig().nnz_per_bank; }
  index numBanks() const { return shape().num_banks(); }
  IndexWidth indexWidth() const { return bankConfig().index_width(); }
  /// Stored entries that are not padding; explicitly stored zeros count, as in Eigen.
  index nonZeros() const { return shape().nonzeros(); }
  /// Stored entries including the padding of a partial last bank (rows * numBanks * nnzPerBank).
  index storedEntries() const { return shape().stored_entries(); }
  /// Bytes of the CSB arrays: (sizeof(Scalar) + index width) per stored entry; what a file's
  /// payload and one copy in memory take.
  std::size_t csbBytes() const {
    return static_cast<std::size_t>(storedEntries()) * (sizeof(Scalar) + static_cast<std::size_t>(indexWidth()));
  }
  /// Bytes in memory for this matrix: csbBytes() for a view of arrays it does not own (BbsMap);
  /// BbsMatrix reports what it holds, arrangements included.
  std::size_t memoryBytes() const { return csbBytes(); }

  /// Throws format_error if an invariant of the CSB arrays is broken (see CsbView::validate).
  void validate() const { csb().validate(); }

  /// Element (i, j); zero where nothing is stored. O(nnzPerBank). Throws shape_error out of range.
  Scalar coeff(index i, index j) const {
    const CsbView<Scalar> v = csb();
    if (i < 0 || i >= v.rows || j < 0 || j >= v.cols) {
      detail::throw_error<shape_error>("coeff(", i, ", ", j, ") is outside the ", v.rows, " x ", v.cols, " matrix");
    }
    const index b = j / v.bank_size();
    const index in_bank = j % v.bank_size();
    return v.with_indices([&](auto idx) {
      for (index s = 0; s < v.nnz_per_bank(); ++s) {
        const index e = v.entry(i, s, b);
        if (static_cast<index>(idx[e]) == in_bank) return v.values[e];
      }
      return Scalar(0);
    });
  }

  /// Calls f(row, col, value) for every stored non-padding entry, row by row, columns ascending.
  template <typename F>
  void forEach(F&& f) const {
    const CsbView<Scalar> v = csb();
    v.template for_each_entry<EntryOrder::columns>([&](index r, index c, index e) { f(r, c, v.values[e]); });
  }

  DenseMatrix toDense() const {
    DenseMatrix d = DenseMatrix::Zero(rows(), cols());
    forEach([&](index r, index c, Scalar value) { d(r, c) = value; });
    return d;
  }

  /// Row-major Eigen sparse matrix with the same entries (explicitly stored zeros included).
  SparseMatrix toSparse() const {
    const CsbView<Scalar> v = csb();
    if (v.nonzeros() > std::numeric_limits<int>::max()) {
      detail::throw_error<shape_error>("toSparse: ", v.nonzeros(), " nonzeros exceed Eigen's int index range");
    }
    SparseMatrix s(rows(), cols());
    s.resizeNonZeros(v.nonzeros());
    int* outer = s.outerIndexPtr();
    int* inner = s.innerIndexPtr();
    Scalar* value = s.valuePtr();
    index n = 0;
    index current_row = 0;
    outer[0] = 0;
    forEach([&](index r, index c, Scalar x) {
      while (current_row < r) outer[++current_row] = static_cast<int>(n);
      inner[n] = static_cast<int>(c);
      value[n] = x;
      ++n;
    });
    while (current_row < rows()) outer[++current_row] = static_cast<int>(n);
    return s;
  }

  /// A^T as an operand: A.transpose() * x computes A^T x without forming A^T.
  MatrixOperand<Scalar, backend::automatic, true> transpose() const;

  /// y = A * x for any Eigen vector or matrix expression x; evaluated on assignment (expr/).
  template <typename Rhs>
  Eigen::Product<MatrixOperand<Scalar, backend::automatic, false>, Rhs, Eigen::AliasFreeProduct> operator*(
      const Eigen::MatrixBase<Rhs>& x) const;

  /// Iterates the stored non-padding entries of one row (Eigen's InnerIterator protocol, which
  /// Eigen's DiagonalPreconditioner uses). Entries come in storage (slot-major) order.
  class InnerIterator {
   public:
    InnerIterator(const BbsBase& m, bbs::index row) : v_(m.csb()), row_(row), end_(v_.row_entries()) { skip_padding(); }
    explicit operator bool() const { return pos_ < end_; }
    InnerIterator& operator++() {
      ++pos_;
      skip_padding();
      return *this;
    }
    Scalar value() const { return v_.values[entry()]; }
    bbs::index index() const { return col_; }
    bbs::index col() const { return col_; }
    bbs::index row() const { return row_; }

   private:
    bbs::index entry() const { return row_ * v_.row_entries() + pos_; }
    void skip_padding() {
      for (; pos_ < end_; ++pos_) {
        col_ = v_.column_of(entry());
        if (col_ < v_.cols) return;
      }
    }
    CsbView<Scalar> v_;
    bbs::index row_;
    bbs::index end_;
    bbs::index pos_ = 0;
    bbs::index col_ = 0;
  };

 private:
  CsbView<Scalar> csb() const { return derived().view(); }
  /// The view the shape queries and products use: kernelView() (BbsMatrix: without arrays when
  /// they were dropped; the kernel dispatch restores them where a kernel needs them).
  CsbView<Scalar> shape() const { return derived().kernelView(); }
};

}  // namespace bbs
