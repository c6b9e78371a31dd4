// Kernel dispatch: the entry points that expressions and layers call. Each takes a backend tag
// and calls that backend's operation as op(tag, tag, ...), unqualified, so that overload
// resolution picks the most derived backend that implements it (backend/common/requires_backend.hpp)
// and argument-dependent lookup finds backends declared after this file (the fpga module).
// backend::automatic resolves to the run-time default first (backend/registry.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <type_traits>

#include "bbs/backend/automatic.hpp"
#include "bbs/backend/registry.hpp"
#include "bbs/core/error.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace detail {

/// Calls op with the tag of the backend that runs a call made with `tag`: the tag itself, or for
/// backend::automatic the process-wide default's.
template <typename Backend, typename Op>
void with_backend(Backend tag, Op&& op) {
  if constexpr (std::is_same<Backend, backend::automatic>::value) {
    visit_default_backend(op);
  } else {
    op(tag);
  }
}

/// config_error unless both raw activation formats have 0..15 fraction bits (an int16's).
inline void check_activation_formats(const char* op, int in_frac, int out_frac) {
  if (in_frac < 0 || in_frac > 15 || out_frac < 0 || out_frac > 15) {
    throw_error<config_error>("kernel::", op, ": formats Q", in_frac, " -> Q", out_frac,
                              ", expected 0..15 fraction bits each (an int16's)");
  }
}

}  // namespace detail

namespace kernel {

// Types: x and y are activation_t<T>, alpha and beta scalar_t<T> (core/value_traits.hpp): T
// itself for float and double; fixed16<F> x, y with float alpha, beta (core/fixed_point.hpp);
// float x, y, alpha, beta for Eigen::bfloat16 and Eigen::half weights.

// A view of a prepared matrix that dropped its canonical arrays (BbsMatrix::prepare) carries no
// arrays: SpMV runs on it where the backend reads its arrangement (spmv_reads_arrangement), and
// every other kernel gets CsbView::complete(), the arrays rebuilt from the arrangement.

/// Builds what Backend's SpMV reads for A (its arrangement, kept in A's layout cache) and returns
/// how to rebuild A's canonical arrays from it, bit for bit; empty when that SpMV reads the
/// canonical arrays themselves. BbsMatrix::prepare calls it.
template <typename Backend, typename T>
std::function<CanonicalArrays<T>()> prepare(Backend tag, const CsbView<T>& a) {
  std::function<CanonicalArrays<T>()> restore;
  detail::with_backend(tag, [&](auto b) { restore = prepare_spmv(b, b, a); });
  return restore;
}

/// y = alpha * A * x + beta * y; x: A.cols, y: A.rows, contiguous. beta == 0 ignores y's contents.
template <typename Backend, typename T>
void spmv(Backend tag, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
          activation_t<T>* y) {
  detail::with_backend(tag, [&](auto b) {
    if (a.values == nullptr && !spmv_reads_arrangement(b, b, a)) {
      spmv(b, b, a.complete(), alpha, x, beta, y);
    } else {
      spmv(b, b, a, alpha, x, beta, y);
    }
  });
}

/// y = alpha * A^T * x + beta * y; x: A.rows, y: A.cols, contiguous.
template <typename Backend, typename T>
void spmv_transposed(Backend tag, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
                     activation_t<T>* y) {
  detail::with_backend(tag, [&](auto b) { spmv_transposed(b, b, a.complete(), alpha, x, beta, y); });
}

/// Y = alpha * A * X + beta * Y; X: A.cols x n, Y: A.rows x n, column-major, leading dims ldx, ldy.
template <typename Backend, typename T>
void spmm(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
          scalar_t<T> beta, activation_t<T>* y, index ldy) {
  detail::with_backend(tag, [&](auto b) { spmm(b, b, a.complete(), n, alpha, x, ldx, beta, y, ldy); });
}

/// Y = alpha * A * X + beta * Y with X (A.cols x n) and Y (A.rows x n) row-major: row c of X at
/// x + c * ldx, row r of Y at y + r * ldy, ldx >= n and ldy >= n. An NCHW image is a row-major
/// channels x pixels matrix, so a pointwise convolution is this product with no transposition.
/// Output (r, p) follows the rules of spmv on column p (reference/spmm_row_major.hpp); beta == 0
/// ignores Y's contents. Throws shape_error for a negative n or a leading dimension below n.
template <typename Backend, typename T>
void spmm_row_major(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
                    scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if (n < 0 || ldx < n || ldy < n) {
    detail::throw_error<shape_error>("spmm_row_major: n = ", n, ", ldx = ", ldx, ", ldy = ", ldy,
                                     ", expected n >= 0 and leading dimensions of at least n (X is ", a.cols,
                                     " x n, Y is ", a.rows, " x n, row-major)");
  }
  detail::with_backend(tag, [&](auto b) { spmm_row_major(b, b, a.complete(), n, alpha, x, ldx, beta, y, ldy); });
}

/// Y = alpha * A^T * X + beta * Y, one transposed SpMV per column of X.
template <typename Backend, typename T>
void spmm_transposed(Backend tag, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
                     scalar_t<T> beta, activation_t<T>* y, index ldy) {
  for (index j = 0; j < n; ++j) kernel::spmv_transposed(tag, a, alpha, x + j * ldx, beta, y + j * ldy);
}

/// p[i] = sigmoid(p[i]) for i < n: activations A (float, double: within a few ulp; fixed16<F>:
/// bit for bit core/fixed_activation.hpp's fixed_sigmoid, on every backend).
template <typename Backend, typename A>
void sigmoid_in_place(Backend tag, A* p, index n) {
  detail::with_backend(tag, [&](auto b) { sigmoid_in_place(b, b, p, n); });
}

/// p[i] = tanh(p[i]) for i < n, under the rules of sigmoid_in_place.
template <typename Backend, typename A>
void tanh_in_place(Backend tag, A* p, index n) {
  detail::with_backend(tag, [&](auto b) { tanh_in_place(b, b, p, n); });
}

/// p[i] = sigmoid(p[i]) for i < n on raw fixed-point values, from Q(in_frac) to Q(out_frac)
/// (per-tensor formats, core/fixed_formats.hpp): bit for bit fixed_sigmoid_raw on every backend.
/// in_frac and out_frac in 0..15 (config_error otherwise).
template <typename Backend>
void sigmoid_raw_in_place(Backend tag, std::int16_t* p, index n, int in_frac, int out_frac) {
  detail::check_activation_formats("sigmoid_raw_in_place", in_frac, out_frac);
  detail::with_backend(tag, [&](auto b) { sigmoid_raw_in_place(b, b, p, n, in_frac, out_frac); });
}

/// p[i] = tanh(p[i]) for i < n on raw values, under the rules of sigmoid_raw_in_place.
template <typename Backend>
void tanh_raw_in_place(Backend tag, std::int16_t* p, index n, int in_frac, int out_frac) {
  detail::check_activation_formats("tanh_raw_in_place", in_frac, out_frac);
  detail::with_backend(tag, [&](auto b) { tanh_raw_in_place(b, b, p, n, in_frac, out_frac); });
}

/// c[j] = fixed_rules::lstm_cell_update(f[j], c[j], i[j], g[j], act, cell) for j < n: an LSTM
/// cell state under per-tensor formats (gates in Q(act), c in Q(cell)), bit for bit on every
/// backend. act and cell in 0..15 (config_error otherwise).
template <typename Backend>
void lstm_cell_update_raw(Backend tag, const std::int16_t* i, const std::int16_t* f, const std::int16_t* g,
                          std::int16_t* c, index n, int act, int cell) {
  detail::check_activation_formats("lstm_cell_update_raw", act, cell);
  detail::with_backend(tag, [&](auto b) { lstm_cell_update_raw(b, b, i, f, g, c, n, act, cell); });
}

/// b[j] = fixed_rules::gate_product(a[j], b[j], act, out) for j < n: o * tanh(c) from Q(act) to
/// Q(out), bit for bit on every backend. act and out in 0..15 (config_error otherwise).
template <typename Backend>
void gate_product_raw(Backend tag, const std::int16_t* a, std::int16_t* b, index n, int act, int out) {
  detail::check_activation_formats("gate_product_raw", act, out);
  detail::with_backend(tag, [&](auto t) { gate_product_raw(t, t, a, b, n, act, out); });
}

}  // namespace kernel
}  // namespace bbs
