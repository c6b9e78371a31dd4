// Kernel dispatch: the entry points that expressions and layers call. Each takes a backend tag
// and forwards to that backend's overload in namespace bbs::backend (bbs.hpp includes every
// backend before this file), so a new backend needs a folder, not edits here.
// backend::automatic resolves the run-time default.
#pragma once

#include <type_traits>

namespace bbs {
namespace kernel {

// Types: x and y are activation_t<T>, alpha and beta scalar_t<T> (core/value_traits.hpp): T
// itself for float and double; fixed16<F> x, y with float alpha, beta (core/fixed_point.hpp);
// float x, y, alpha, beta for Eigen::bfloat16 and Eigen::half weights.

/// y = alpha * A * x + beta * y; x: A.cols, y: A.rows, contiguous. beta == 0 ignores y's contents.
template <typename Backend, typename T>
void spmv(Backend tag, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
          activation_t<T>* y) {
  if constexpr (std::is_same<Backend, backend::automatic>::value) {
    detail::visit_default_backend([&](auto b) { kernel::spmv(b, a, alpha, x, beta, y); });
  } else {
    backend::spmv(tag, a, alpha, x, beta, y);
  }
}

/// y = alpha * A^T * x + beta * y; x: A.rows, y: A.cols, contiguous.
template <typename Backend, typename T>
void spmv_transposed(Backend tag, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
                     activation_t<T>* y) {
  if constexpr (std::is_same<Backend, backend::automatic>::value) {
    detail::visit_default_backend([&](auto b) { kernel::spmv_transposed(b, a, alpha, x, beta, y); });
  } else {
    backend::spmv_transposed(tag, a, alpha, x, beta, y);
  }
}

/// Y = alpha * A * X + beta * Y; X: A.cols x n, Y: A.rows x n, column-major, leading dims ldx, ldy.
template <typename Backend, typename T>
void spmm(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
          scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if constexpr (std::is_same<Backend, backend::automatic>::value) {
    detail::visit_default_backend([&](auto b) { kernel::spmm(b, a, n, alpha, x, ldx, beta, y, ldy); });
  } else {
    backend::spmm(tag, a, n, alpha, x, ldx, beta, y, ldy);
  }
}

/// Y = alpha * A * X + beta * Y with X (A.cols x n) and Y (A.rows x n) row-major: row c of X at
/// x + c * ldx, row r of Y at y + r * ldy, ldx >= n and ldy >= n. An NCHW image is a row-major
/// channels x pixels matrix, so a pointwise convolution is this product with no transposition.
/// Output (r, p) follows the rules of spmv on column p (reference/spmm_row_major.hpp); beta == 0
/// ignores Y's contents. Throws shape_error for a negative n or a leading dimension below n.
template <typename Backend, typename T>
void spmm_row_major(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x,
                    index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if constexpr (std::is_same<Backend, backend::automatic>::value) {
    detail::visit_default_backend([&](auto b) { kernel::spmm_row_major(b, a, n, alpha, x, ldx, beta, y, ldy); });
  } else {
    if (n < 0 || ldx < n || ldy < n) {
      detail::throw_error<shape_error>("spmm_row_major: n = ", n, ", ldx = ", ldx, ", ldy = ", ldy,
                                       ", expected n >= 0 and leading dimensions of at least n (X is ", a.cols,
                                       " x n, Y is ", a.rows, " x n, row-major)");
    }
    backend::spmm_row_major(tag, a, n, alpha, x, ldx, beta, y, ldy);
  }
}

/// Y = alpha * A^T * X + beta * Y, one transposed SpMV per column of X.
template <typename Backend, typename T>
void spmm_transposed(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x,
                     index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  for (index j = 0; j < n; ++j) spmv_transposed(tag, a, alpha, x + j * ldx, beta, y + j * ldy);
}

}  // namespace kernel
}  // namespace bbs
