// Eigen::internal::traits for the bbs types, so Eigen treats them as sparse row-major operators
// (the pattern of Eigen's matrix-free solver example). The only place besides eigen/product.hpp
// that touches Eigen::internal.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "bbs/matrix/forward.hpp"

namespace Eigen {
namespace internal {

template <typename T>
struct traits<bbs::BbsMatrix<T>> : traits<SparseMatrix<T, RowMajor, int>> {};

// Views and operands are cheap to copy: Eigen expressions hold them by value, so an expression
// such as bbs::on<B>(A) * x never refers to a destroyed temporary.
template <typename T>
struct traits<bbs::BbsMap<T>> : traits<SparseMatrix<T, RowMajor, int>> {
  enum { Flags = traits<SparseMatrix<T, RowMajor, int>>::Flags & ~NestByRefBit };
};

template <typename T, typename Backend, bool Transposed>
struct traits<bbs::MatrixOperand<T, Backend, Transposed>> : traits<SparseMatrix<T, RowMajor, int>> {
  enum { Flags = traits<SparseMatrix<T, RowMajor, int>>::Flags & ~NestByRefBit };
};

}  // namespace internal
}  // namespace Eigen
