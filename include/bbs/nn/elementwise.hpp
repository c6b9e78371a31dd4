// The element-wise arithmetic of the layers, once per activation type: float and double use the
// plain formulas; fixed16<F> works on raw int16 values with int64 intermediates, one rounding
// (half up, as fixed_rules::requantize) and one saturation per result, and the table
// sigmoid / tanh of core/fixed_activation.hpp. Layers are written once against this policy; the
// gates' sigmoid and tanh over whole arrays are kernel operations (kernel::sigmoid_in_place,
// kernel::tanh_in_place), which backends vectorise.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "bbs/core/config.hpp"
#include "bbs/core/fixed_activation.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/kernel/dispatch.hpp"

namespace bbs {
namespace nn {

// The fixed-point activation rule moved to core/fixed_activation.hpp; its names stay here too.
using bbs::fixed_activation_error_bound;
using bbs::fixed_sigmoid;
using bbs::fixed_tanh;

/// Column-major matrix of activations: one column per batch entry (or time step x batch entry,
/// or pixel), one row per feature.
template <typename A>
using Matrix = Eigen::Matrix<A, Eigen::Dynamic, Eigen::Dynamic>;
template <typename A>
using Vector = Eigen::Matrix<A, Eigen::Dynamic, 1>;

/// Element-wise operations on activations of type A (float, double: IEEE arithmetic).
template <typename A>
struct elementwise {
  static_assert(std::is_floating_point<A>::value, "bbs::nn: activations are float, double or fixed16<F>");
  static A from_float(double v) { return static_cast<A>(v); }
  static double to_double(A v) { return static_cast<double>(v); }
  static A add(A a, A b) { return a + b; }
  static A multiply(A a, A b) { return a * b; }
  /// a * b + c * d (the LSTM cell update f * c + i * g).
  static A multiply_add(A a, A b, A c, A d) { return a * b + c * d; }
  /// a + t * (b - a): the GRU's (1 - z) * n + z * h as n + z * (h - n).
  static A interpolate(A a, A b, A t) { return a + t * (b - a); }
  static A sigmoid(A x) { return A(1) / (A(1) + std::exp(-x)); }
  static A tanh(A x) { return std::tanh(x); }
  /// Deprecated (one release): the gates' activations are kernel operations now.
  [[deprecated("use bbs::kernel::sigmoid_in_place(backend tag, p, n)")]] static void sigmoid_in_place(A* p, index n) {
    kernel::sigmoid_in_place(backend::automatic{}, p, n);
  }
  [[deprecated("use bbs::kernel::tanh_in_place(backend tag, p, n)")]] static void tanh_in_place(A* p, index n) {
    kernel::tanh_in_place(backend::automatic{}, p, n);
  }
  static A relu(A x) { return x > A(0) ? x : A(0); }
  static A relu6(A x) { return std::min(std::max(x, A(0)), A(6)); }
  static bool less(A a, A b) { return a < b; }
  /// Dot products outside the kernels (depthwise convolution) sum in A, starting from the bias.
  using sum_type = A;
  static sum_type start_sum(A bias) { return bias; }
  static sum_type add_product(sum_type acc, A w, A x) { return acc + w * x; }
  static A finish_sum(sum_type acc) { return acc; }
  /// The mean of n values given their sum (average pooling).
  static A mean(double sum, index n) { return static_cast<A>(sum / static_cast<double>(n)); }
  static double accumulate(double acc, A v) { return acc + static_cast<double>(v); }
};

/// Fixed point Q(15-F).F: every operation is exact in int64 and rounds once, half up, then
/// saturates to int16, the rules of core/fixed_point.hpp.
template <int F>
struct elementwise<fixed16<F>> {
  using A = fixed16<F>;
  static A from_float(double v) { return A(v); }
  static double to_double(A v) { return static_cast<double>(v); }
  static A add(A a, A b) { return A::from_raw(fixed_rules::saturating_add(a.raw(), b.raw())); }
  /// A Q(2F) int64 product (sum) back to Q(F): round half up, saturate.
  static A from_product(std::int64_t p) {
    if (F == 0) return A::from_raw(fixed_rules::saturate(p));
    return A::from_raw(
        fixed_rules::saturate(fixed_rules::floor_shift(p, F) + (fixed_rules::floor_shift(p, F - 1) & 1)));
  }
  static std::int64_t raw(A v) { return v.raw(); }
  static A multiply(A a, A b) { return from_product(raw(a) * raw(b)); }
  static A multiply_add(A a, A b, A c, A d) { return from_product(raw(a) * raw(b) + raw(c) * raw(d)); }
  static A interpolate(A a, A b, A t) {
    return from_product(raw(a) * (std::int64_t(1) << F) + raw(t) * (raw(b) - raw(a)));
  }
  static A sigmoid(A x) { return fixed_sigmoid(x); }
  static A tanh(A x) { return fixed_tanh(x); }
  /// Deprecated (one release): the gates' activations are kernel operations now.
  [[deprecated("use bbs::kernel::sigmoid_in_place(backend tag, p, n)")]] static void sigmoid_in_place(A* p, index n) {
    kernel::sigmoid_in_place(backend::automatic{}, p, n);
  }
  [[deprecated("use bbs::kernel::tanh_in_place(backend tag, p, n)")]] static void tanh_in_place(A* p, index n) {
    kernel::tanh_in_place(backend::automatic{}, p, n);
  }
  static A relu(A x) { return x.raw() > 0 ? x : A(); }
  /// 6 saturates for F >= 13 (the range is below 4): ReLU6 then clamps at the largest value.
  static A relu6(A x) {
    const std::int64_t six = std::min<std::int64_t>(std::int64_t(6) << F, fixed_rules::raw_max);
    return A::from_raw(static_cast<std::int16_t>(std::min<std::int64_t>(std::max<std::int64_t>(x.raw(), 0), six)));
  }
  static bool less(A a, A b) { return a < b; }
  /// Dot products outside the kernels sum exact Q(2F) products in int64 (no wrap-around for any
  /// realistic length: 2^33 products of int16), starting from the bias shifted to Q(2F), and
  /// round once at the end.
  using sum_type = std::int64_t;
  static sum_type start_sum(A bias) { return raw(bias) * (std::int64_t(1) << F); }
  static sum_type add_product(sum_type acc, A w, A x) { return acc + raw(w) * raw(x); }
  static A finish_sum(sum_type acc) { return from_product(acc); }
  /// sum / n from the exact raw sum, rounded half up (floor((2 sum + n) / 2n)), saturated.
  static A mean(double raw_sum, index n) {
    const auto s = static_cast<std::int64_t>(raw_sum);
    const std::int64_t twice = 2 * s + n;
    const std::int64_t q = twice >= 0 ? twice / (2 * n) : -((-twice + 2 * n - 1) / (2 * n));
    return A::from_raw(fixed_rules::saturate(q));
  }
  /// Raw values summed exactly (a double holds every sum of up to 2^37 int16 values).
  static double accumulate(double acc, A v) { return acc + static_cast<double>(v.raw()); }
};

}  // namespace nn
}  // namespace bbs
