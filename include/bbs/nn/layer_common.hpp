// What every layer shares: PyTorch's dense float weights to bank-balanced matrices of any value
// type, float vectors to activations, the one place layers call the kernel dispatch
// (multiply_columns, multiply_rows), and shape checks whose messages say what was expected and
// what was found.
#pragma once

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "bbs/core/memory.hpp"
#include "bbs/kernel/dispatch.hpp"
#include "bbs/matrix/bbs_matrix.hpp"
#include "bbs/nn/elementwise.hpp"
#include "bbs/nn/saturation.hpp"
#include "bbs/prune/bank_balanced.hpp"
#include "bbs/quant/quantize.hpp"

namespace bbs {
namespace nn {
namespace impl {

/// Prunes a dense float matrix to bank-balanced T: float and double directly, 16-bit types by
/// pruning in float and quantizing the kept values (bbs::quantize's rounding rule; `report`, when
/// given, receives its report).
template <typename T>
BbsMatrix<T> prune_to(const Eigen::MatrixXf& w, const BankConfig& cfg, QuantizationReport* report = nullptr) {
  if constexpr (std::is_same<T, float>::value) {
    return prune<float>(w, cfg);
  } else if constexpr (std::is_same<T, double>::value) {
    return prune<double>(w.cast<double>(), cfg);
  } else {
    auto q = quantize<T>(prune<float>(w, cfg));
    if (report != nullptr) *report = q.report;
    return std::move(q.value);
  }
}

/// A float vector as activations of A (fixed point: rounded and saturated by fixed16's rule).
template <typename A>
Vector<A> to_activations(const Eigen::VectorXd& v) {
  Vector<A> out(v.size());
  for (index i = 0; i < v.size(); ++i) out(i) = elementwise<A>::from_float(v(i));
  return out;
}

}  // namespace impl

/// Float activations as A, each in its tensor's format (per-tensor formats, core/fixed_formats.hpp):
/// for fixed16<F>, raw values in Q(bits) (rounded to nearest, ties away from zero, saturated;
/// value_error on NaN); floating-point A ignores bits.
template <typename A>
Matrix<A> quantize_activations(const Eigen::MatrixXf& m, int bits) {
  Matrix<A> out(m.rows(), m.cols());
  for (index i = 0; i < m.size(); ++i) {
    if constexpr (is_fixed16<A>::value) {
      if (std::isnan(m.data()[i])) detail::throw_error<value_error>("quantize_activations: NaN at entry ", i);
      out.data()[i] = A::from_raw(fixed_rules::quantize(m.data()[i], bits));
    } else {
      out.data()[i] = static_cast<A>(m.data()[i]);
    }
  }
  return out;
}

/// The float values of activations held in Q(bits) (the inverse of quantize_activations; exact).
template <typename A>
Eigen::MatrixXf dequantize_activations(const Matrix<A>& m, int bits) {
  Eigen::MatrixXf out(m.rows(), m.cols());
  for (index i = 0; i < m.size(); ++i) {
    if constexpr (is_fixed16<A>::value) {
      out.data()[i] = static_cast<float>(fixed_rules::dequantize(m.data()[i].raw(), bits));
    } else {
      out.data()[i] = static_cast<float>(m.data()[i]);
    }
  }
  return out;
}

/// Throws value_error naming `what` and the first entry (row, column) of x that is NaN or
/// infinite: a check for inputs that would otherwise give a silently wrong answer. Fixed-point
/// values are finite by construction (converting NaN to them throws) and always pass.
template <typename Derived>
void check_finite(const Eigen::DenseBase<Derived>& x, const std::string& what) {
  using A = typename Derived::Scalar;
  if constexpr (std::is_floating_point<A>::value) {
    for (index c = 0; c < x.cols(); ++c) {
      for (index r = 0; r < x.rows(); ++r) {
        const A v = x(r, c);
        if (!std::isfinite(v)) {
          detail::throw_error<value_error>(what, ": entry (row ", r, ", column ", c, ") is ",
                                           std::isnan(v) ? "NaN" : (v > 0 ? "+infinity" : "-infinity"));
        }
      }
    }
  } else {
    (void)x, (void)what;
  }
}

namespace impl {

/// Y = alpha A X + beta Y for n columns through the kernel dispatch (SpMV for one column, SpMM for
/// more). Layers pass alpha = 1, or a power of two that moves a fixed-point product into its
/// output's format (core/fixed_formats.hpp).
template <typename Backend, typename T>
void multiply_columns(Backend tag, const BbsMatrix<T>& a, index n, const activation_t<T>* x, index ldx,
                      scalar_t<T> beta, activation_t<T>* y, index ldy, scalar_t<T> alpha = scalar_t<T>(1)) {
  if (n == 1) {
    kernel::spmv(tag, a.kernelView(), alpha, x, beta, y);
  } else if (n > 1) {
    kernel::spmm(tag, a.kernelView(), n, alpha, x, ldx, beta, y, ldy);
  }
}

/// Y = A X + beta Y for n columns with X (A.cols x n) and Y (A.rows x n) stored row by row
/// (NCHW images), through kernel::spmm_row_major.
template <typename Backend, typename T>
void multiply_rows(Backend tag, const BbsMatrix<T>& a, index n, const activation_t<T>* x, index ldx, scalar_t<T> beta,
                   activation_t<T>* y, index ldy) {
  if (n > 0) kernel::spmm_row_major(tag, a.kernelView(), n, scalar_t<T>(1), x, ldx, beta, y, ldy);
}

/// Per-thread scratch memory reused from call to call (a convolution's im2col matrix, megabytes
/// at image sizes): freeing and reallocating it on every call costs page faults that can exceed
/// the arithmetic. Slot 0 and 1 of each activation type; the contents
/// are unspecified on entry; a buffer stays allocated, at its largest size, until the thread ends.
/// 64-byte aligned (a cache line, one zmm), as the kernels' vector loads want their rows.
template <typename A>
A* scratch(int slot, index size) {
  thread_local std::vector<A, detail::cacheline_allocator<A>> buffers[2];
  auto& b = buffers[slot];
  if (static_cast<index>(b.size()) < size) b.resize(static_cast<std::size_t>(size));
  return b.data();
}

/// Writes n copies of v as the columns of dst (bias broadcast): column by column, where Eigen's
/// replicate() computes an index modulo per element.
template <typename A>
void repeat_columns_into(const Vector<A>& v, index n, A* dst) {
  for (index j = 0; j < n; ++j) std::copy(v.data(), v.data() + v.size(), dst + j * v.size());
}

/// A matrix whose n columns are copies of v (bias broadcast): column by column, where Eigen's
/// replicate() computes an index modulo per element.
template <typename A>
Matrix<A> repeat_columns(const Vector<A>& v, index n) {
  Matrix<A> m(v.size(), n);
  repeat_columns_into(v, n, m.data());
  return m;
}

/// One tensor of a layer whose rows must agree with its other tensors': its name and shape (a
/// vector is n x 1). The gate-stacking tensors of a recurrent cell; a convolution's weight, bias
/// and BatchNorm parameters.
struct NamedShape {
  const char* name;
  index rows;
  index cols;
};

/// The rows a layer's tensors must share: the count most of them have (the first tensor's on a
/// tie). Throws shape_error naming the first tensor that disagrees with the rest, not one whose
/// size was inferred from it, and saying when it, or a tensor it was measured against, is the
/// transpose of a fitting shape.
inline index agreed_rows(const char* owner, const std::vector<NamedShape>& tensors) {
  index agreed = tensors.front().rows;
  std::size_t best = 0;
  for (const NamedShape& t : tensors) {
    const auto n = static_cast<std::size_t>(
        std::count_if(tensors.begin(), tensors.end(), [&](const NamedShape& u) { return u.rows == t.rows; }));
    if (n > best) {
      best = n;
      agreed = t.rows;
    }
  }
  for (const NamedShape& t : tensors) {
    if (t.rows == agreed) continue;
    std::string others, transposed;
    for (const NamedShape& u : tensors) {
      if (u.rows != agreed) continue;
      others += std::string(others.empty() ? "" : " and ") + u.name;
      if (transposed.empty() && u.cols == t.rows && u.cols != 1 && u.cols != u.rows) {
        transposed = detail::concat(" (or ", u.name, " looks transposed: it is ", u.rows, " x ", u.cols, ")");
      }
    }
    detail::throw_error<shape_error>(owner, ": ", t.name, " is ", t.rows, " x ", t.cols, ", expected ", agreed,
                                     " rows like ", others,
                                     t.cols == agreed && t.cols != 1 ? " (it looks transposed)" : transposed);
  }
  return agreed;
}

/// The rows the gate-stacking tensors of a cell (weight_ih, weight_hh, the biases) must share
/// (agreed_rows), then shape_error unless that is a positive multiple of the gates.
inline index agreed_gate_rows(const char* owner, index gates, const char* gate_names,
                              std::initializer_list<NamedShape> tensors) {
  const index agreed = agreed_rows(owner, tensors);
  if (agreed % gates != 0 || agreed == 0) {
    detail::throw_error<shape_error>(owner, ": ", tensors.begin()->name, " has ", agreed,
                                     " rows, expected a positive multiple of ", gates, " (gates ", gate_names, ")");
  }
  return agreed;
}

/// Throws shape_error unless m is rows x cols; `what` names the matrix and its owner.
template <typename M>
void require_shape(const M& m, index rows, index cols, const char* owner, const char* what) {
  if (m.rows() != rows || m.cols() != cols) {
    detail::throw_error<shape_error>(owner, ": ", what, " is ", m.rows(), " x ", m.cols(), ", expected ", rows, " x ",
                                     cols);
  }
}

}  // namespace impl
}  // namespace nn
}  // namespace bbs
