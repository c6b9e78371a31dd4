// MatrixOperand: a bank-balanced matrix as one product sees it: which backend runs it and
// whether it is transposed. A * x, A.transpose() * x and bbs::on<Backend>(A) * x all build an
// Eigen::Product over a MatrixOperand; nothing is computed until the product is assigned.
#pragma once

#include <type_traits>

#include "bbs/backend/automatic.hpp"
#include "bbs/core/error.hpp"
#include "bbs/matrix/matrix_base.hpp"

namespace bbs {
namespace detail {
inline void check_product_shape(index lhs_rows, index lhs_cols, index rhs_rows, index rhs_cols, bool transposed) {
  if (lhs_cols != rhs_rows) {
    throw_error<shape_error>("product ", transposed ? "A^T * X" : "A * X", ": op(A) is ", lhs_rows, " x ", lhs_cols,
                             ", so the right-hand side needs ", lhs_cols, " rows; it is ", rhs_rows, " x ", rhs_cols);
  }
}
}  // namespace detail

template <typename T, typename Backend, bool Transposed>
class MatrixOperand : public Eigen::EigenBase<MatrixOperand<T, Backend, Transposed>> {
 public:
  using Scalar = T;
  using RealScalar = typename Eigen::NumTraits<T>::Real;
  using StorageIndex = int;
  using backend_type = Backend;
  static constexpr bool is_transposed = Transposed;
  enum { ColsAtCompileTime = Eigen::Dynamic, MaxColsAtCompileTime = Eigen::Dynamic, IsRowMajor = true };

  explicit MatrixOperand(const CsbView<T>& view) : view_(view) {}

  index rows() const { return Transposed ? view_.cols : view_.rows; }
  index cols() const { return Transposed ? view_.rows : view_.cols; }
  const CsbView<T>& view() const { return view_; }

  MatrixOperand<T, Backend, !Transposed> transpose() const { return MatrixOperand<T, Backend, !Transposed>(view_); }

  /// op(A) * x for an Eigen vector or matrix expression; throws shape_error on a row mismatch.
  template <typename Rhs>
  Eigen::Product<MatrixOperand, Rhs, Eigen::AliasFreeProduct> operator*(const Eigen::MatrixBase<Rhs>& x) const {
    detail::check_product_shape(rows(), cols(), x.rows(), x.cols(), Transposed);
    return Eigen::Product<MatrixOperand, Rhs, Eigen::AliasFreeProduct>(*this, x.derived());
  }

 private:
  CsbView<T> view_;
};

/// Runs the products of A on Backend: y = bbs::on<bbs::backend::reference>(A) * x.
/// The operand refers to A's arrays: A must outlive it (as with Eigen::Map).
template <typename Backend, typename Derived>
MatrixOperand<typename Derived::Scalar, Backend, false> on(const BbsBase<Derived>& a) {
  return MatrixOperand<typename Derived::Scalar, Backend, false>(a.derived().kernelView());
}
template <typename Backend, typename T, typename OtherBackend, bool Transposed>
MatrixOperand<T, Backend, Transposed> on(const MatrixOperand<T, OtherBackend, Transposed>& a) {
  return MatrixOperand<T, Backend, Transposed>(a.view());
}

// BbsBase's product members, defined here once MatrixOperand is complete.
template <typename Derived>
MatrixOperand<typename BbsBase<Derived>::Scalar, backend::automatic, true> BbsBase<Derived>::transpose() const {
  return MatrixOperand<Scalar, backend::automatic, true>(shape());
}

template <typename Derived>
template <typename Rhs>
Eigen::Product<MatrixOperand<typename BbsBase<Derived>::Scalar, backend::automatic, false>, Rhs,
               Eigen::AliasFreeProduct>
BbsBase<Derived>::operator*(const Eigen::MatrixBase<Rhs>& x) const {
  return MatrixOperand<Scalar, backend::automatic, false>(shape()) * x;
}

}  // namespace bbs
