// Eigen's customisation point for sparse * dense products (generic_product_impl), implemented for
// MatrixOperand. Every Eigen form reaches run_product below:
//   y = A * x          evalTo           (beta = 0)
//   y += A * x         addTo            (alpha = 1, beta = 1)
//   y -= A * x         subTo            (alpha = -1, beta = 1)
//   y = 2 * (A * x) + z   the product is evaluated into a temporary by Eigen, then combined
//   Eigen's solvers    scaleAndAddTo    (any alpha, beta = 1)
// Aliasing: x = A * x is computed correctly. When the destination overlaps the right-hand side,
// the right-hand side is copied first; destinations without direct access get a temporary.
#pragma once

#include <utility>

#include <Eigen/Core>

#include "bbs/expr/matrix_operand.hpp"
#include "bbs/kernel/dispatch.hpp"

namespace bbs {
namespace detail {

template <typename Xpr>
constexpr bool has_column_major_direct_access() {
  using traits = Eigen::internal::traits<Xpr>;
  return (int(traits::Flags) & Eigen::DirectAccessBit) != 0 && (Xpr::ColsAtCompileTime == 1 || !Xpr::IsRowMajor);
}

/// Bytes spanned by a column-major direct-access expression.
template <typename Xpr>
std::pair<const char*, const char*> byte_range(const Xpr& m) {
  const auto* begin = reinterpret_cast<const char*>(m.data());
  if (m.size() == 0) return {begin, begin};
  const index last = (m.cols() - 1) * m.outerStride() + (m.rows() - 1) * m.innerStride();
  return {begin, reinterpret_cast<const char*>(m.data() + last + 1)};
}

template <typename A, typename B>
bool overlap(const A& a, const B& b) {
  const auto ra = byte_range(a);
  const auto rb = byte_range(b);
  return ra.first < rb.second && rb.first < ra.second;
}

/// y = alpha * op(A) * X + beta * y on the operand's backend; X and y contiguous column-major.
/// Only the kernels the product can reach are instantiated: a right-hand side that is a vector at
/// compile time (Vector) never needs SpMM, and a product is transposed or not at compile time.
template <bool Vector, typename T, typename Backend, bool Transposed>
void run_kernel(const MatrixOperand<T, Backend, Transposed>& op, index n, scalar_t<T> alpha, const activation_t<T>* x,
                index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if constexpr (Transposed) {
    if (Vector || n == 1) {
      kernel::spmv_transposed(Backend{}, op.view(), alpha, x, beta, y);
    } else if constexpr (!Vector) {
      kernel::spmm_transposed(Backend{}, op.view(), n, alpha, x, ldx, beta, y, ldy);
    }
  } else {
    if (Vector || n == 1) {
      kernel::spmv(Backend{}, op.view(), alpha, x, beta, y);
    } else if constexpr (!Vector) {
      kernel::spmm(Backend{}, op.view(), n, alpha, x, ldx, beta, y, ldy);
    }
  }
}

/// dst = alpha * op(A) * rhs + (accumulate ? dst : 0), for any Eigen destination and rhs. The
/// kernel itself adds dst (beta = 1), also through a temporary, so every destination gets the
/// same rounding; for fixed point that is one saturation, not a second one in `dst += tmp`.
template <typename Dst, typename T, typename Backend, bool Transposed, typename Rhs>
void run_product(Dst& dst, const MatrixOperand<T, Backend, Transposed>& op, const Rhs& rhs, scalar_t<T> alpha,
                 bool accumulate) {
  detail::check_product_shape(op.rows(), op.cols(), rhs.rows(), rhs.cols(), Transposed);
  if (dst.rows() != op.rows() || dst.cols() != rhs.cols()) {
    detail::throw_error<shape_error>("product destination is ", dst.rows(), " x ", dst.cols(), ", expected ", op.rows(),
                                     " x ", rhs.cols());
  }
  constexpr bool vector = Rhs::ColsAtCompileTime == 1;
  using Plain = Eigen::Matrix<activation_t<T>, Eigen::Dynamic, vector ? 1 : Eigen::Dynamic>;
  // Ref copies rhs only when it is not already contiguous column-major (a Map, segment or column
  // block is used in place).
  const Eigen::Ref<const Plain> x_ref(rhs);
  const scalar_t<T> beta = accumulate ? scalar_t<T>(1) : scalar_t<T>(0);
  if constexpr (has_column_major_direct_access<Dst>()) {
    if (dst.innerStride() == 1) {
      if (overlap(dst, x_ref)) {
        const Plain x_copy = x_ref;
        run_kernel<vector>(op, rhs.cols(), alpha, x_copy.data(), x_copy.rows(), beta, dst.data(), dst.outerStride());
      } else {
        run_kernel<vector>(op, rhs.cols(), alpha, x_ref.data(), x_ref.outerStride(), beta, dst.data(),
                           dst.outerStride());
      }
      return;
    }
  }
  Plain result = accumulate ? Plain(dst) : Plain(op.rows(), rhs.cols());
  run_kernel<vector>(op, rhs.cols(), alpha, x_ref.data(), x_ref.outerStride(), beta, result.data(), result.rows());
  dst = result;
}

}  // namespace detail
}  // namespace bbs

namespace Eigen {
namespace internal {

template <typename T, typename Backend, bool Transposed, typename Rhs, int ProductType>
struct generic_product_impl<bbs::MatrixOperand<T, Backend, Transposed>, Rhs, SparseShape, DenseShape, ProductType> {
  using Lhs = bbs::MatrixOperand<T, Backend, Transposed>;

  using Alpha = bbs::scalar_t<T>;

  template <typename Dst>
  static void evalTo(Dst& dst, const Lhs& lhs, const Rhs& rhs) {
    bbs::detail::run_product(dst, lhs, rhs, Alpha(1), false);
  }
  template <typename Dst>
  static void addTo(Dst& dst, const Lhs& lhs, const Rhs& rhs) {
    bbs::detail::run_product(dst, lhs, rhs, Alpha(1), true);
  }
  template <typename Dst>
  static void subTo(Dst& dst, const Lhs& lhs, const Rhs& rhs) {
    bbs::detail::run_product(dst, lhs, rhs, Alpha(-1), true);
  }
  /// alpha comes in the product's scalar type (fixed16<F> for fixed point) and is applied as the
  /// kernel's alpha (a float there).
  template <typename Dst, typename Scalar>
  static void scaleAndAddTo(Dst& dst, const Lhs& lhs, const Rhs& rhs, const Scalar& alpha) {
    bbs::detail::run_product(dst, lhs, rhs, static_cast<Alpha>(alpha), true);
  }
};

}  // namespace internal
}  // namespace Eigen
