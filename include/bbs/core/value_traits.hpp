// Per value type facts: accumulator, the types of x, y, alpha and beta, conversion to and from
// float, test tolerance, file type code.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <Eigen/Core>

#include "bbs/core/config.hpp"
#include "bbs/core/fixed_point.hpp"

namespace bbs {

/// Specialised for every value type a BbsMatrix may hold; each names
/// - accumulator: what a dot product sums in;
/// - activation: the element type of x and y in y = alpha * A * x + beta * y (T itself for float,
///   double and fixed point; float for 16-bit float storage types);
/// - scalar: the type of alpha and beta (float for every type that cannot represent 1 exactly);
/// - name, file_code: for files and messages; to_float / from_float; epsilon for tolerances
///   (the accumulator's), storage_epsilon (the stored type's, floating-point types only).
/// A new value type adds a specialisation and a file type code (docs/FILE_FORMAT.md).
template <typename T>
struct value_traits;

/// Element type of x and y for a matrix of T.
template <typename T>
using activation_t = typename value_traits<T>::activation;
/// Type of alpha and beta for a matrix of T.
template <typename T>
using scalar_t = typename value_traits<T>::scalar;

template <>
struct value_traits<float> {
  using accumulator = float;
  using activation = float;
  using scalar = float;
  static constexpr const char* name = "float32";
  static constexpr std::uint32_t file_code = 1;
  static float to_float(float v) { return v; }
  static float from_float(float v) { return v; }
  /// Machine epsilon of the accumulator: tolerances are derived from it and the number of terms.
  static constexpr double epsilon = std::numeric_limits<float>::epsilon();
  static constexpr double storage_epsilon = epsilon;
};

template <>
struct value_traits<double> {
  using accumulator = double;
  using activation = double;
  using scalar = double;
  static constexpr const char* name = "float64";
  static constexpr std::uint32_t file_code = 2;
  static double to_float(double v) { return v; }
  static double from_float(double v) { return v; }
  static constexpr double epsilon = std::numeric_limits<double>::epsilon();
  static constexpr double storage_epsilon = epsilon;
};

namespace detail {

/// What bfloat16 and half weights share: float x, y, alpha, beta and float sums; conversions are
/// Eigen's, round to nearest, ties to even (overflow gives infinity).
template <typename T>
struct float16_value_traits {
  using accumulator = float;
  using activation = float;
  using scalar = float;
  static float to_float(T v) { return static_cast<float>(v); }
  static T from_float(float v) { return T(v); }
  static constexpr double epsilon = std::numeric_limits<float>::epsilon();
};

}  // namespace detail

/// bfloat16 weights (8 significant bits, float's exponent range): half the memory of float for
/// the same dynamic range.
template <>
struct value_traits<Eigen::bfloat16> : detail::float16_value_traits<Eigen::bfloat16> {
  static constexpr const char* name = "bfloat16";
  static constexpr std::uint32_t file_code = 3;
  /// 2^-7: the stored weights carry a relative rounding error of at most half of it.
  static constexpr double storage_epsilon = 0.0078125;
  /// Largest finite bfloat16, (2 - 2^-7) * 2^127.
  static constexpr double max_finite = 3.3895313892515355e38;
};

/// IEEE half-precision weights (11 significant bits, largest finite 65504).
template <>
struct value_traits<Eigen::half> : detail::float16_value_traits<Eigen::half> {
  static constexpr const char* name = "float16";
  static constexpr std::uint32_t file_code = 4;
  /// 2^-10, for normal numbers; below 2^-14 half is subnormal with absolute steps of 2^-24.
  static constexpr double storage_epsilon = 0.0009765625;
  static constexpr double max_finite = 65504.0;
};

namespace detail {

/// File type codes 16 + F are fixed16<F> (F = 0..15); 32 + 16 Fw + Fx are fixed8<Fw, Fx> (Fw =
/// 0..7, Fx = 0..15). The code records the fraction widths.
inline constexpr std::uint32_t fixed16_first_code = 16;
inline constexpr std::uint32_t fixed8_first_code = 32;
inline constexpr std::uint32_t fixed_codes_end = fixed8_first_code + 8 * 16;

/// Names of every fixed-point file code, indexed by code - fixed16_first_code.
struct fixed_type_names {
  fixed_type_name names[fixed_codes_end - fixed16_first_code];
  constexpr fixed_type_names() {
    for (std::uint32_t c = fixed16_first_code; c < fixed_codes_end; ++c) {
      names[c - fixed16_first_code] = c < fixed8_first_code
                                          ? make_fixed_type_name(16, static_cast<int>(c - fixed16_first_code), -1)
                                          : make_fixed_type_name(8, static_cast<int>((c - fixed8_first_code) / 16),
                                                                 static_cast<int>((c - fixed8_first_code) % 16));
    }
  }
};
inline constexpr fixed_type_names all_fixed_type_names{};

/// What fixed16 and fixed8 share: int32 sums (held as uint32 so that overflow wraps without UB,
/// fixed_rules::accumulator), fixed16 activations, float alpha and beta.
template <typename T, typename Activation, std::uint32_t FileCode>
struct fixed_value_traits {
  using accumulator = fixed_rules::accumulator;
  using activation = Activation;
  using scalar = float;
  static constexpr const char* name = T::name.text;
  static constexpr std::uint32_t file_code = FileCode;
  static float to_float(T v) { return static_cast<float>(v); }
  /// Round to nearest, ties away from zero, saturate; value_error on NaN.
  static T from_float(float v) { return T(v); }
  /// Half a step: the largest rounding error of one conversion from float that does not saturate.
  static constexpr double epsilon = T::resolution / 2;
};

}  // namespace detail

/// 16-bit fixed point Q(15-F).F: int16 storage, products summed in int32 with wrap-around,
/// requantized to Q(F) (core/fixed_point.hpp). x and y are fixed16<F> too; alpha and beta float.
template <int F>
struct value_traits<fixed16<F>> : detail::fixed_value_traits<fixed16<F>, fixed16<F>, detail::fixed16_first_code + F> {};

/// int8 weights Q(7-Fw).Fw against fixed16<Fx> x and y: products summed in int32 with
/// wrap-around, requantized by Fw bits to Q(Fx); alpha and beta float.
template <int Fw, int Fx>
struct value_traits<fixed8<Fw, Fx>>
    : detail::fixed_value_traits<fixed8<Fw, Fx>, fixed16<Fx>, detail::fixed8_first_code + 16 * Fw + Fx> {};

/// Name of a value type from its file code, for error messages ("unknown" for codes bbs lacks).
inline const char* value_type_name(std::uint32_t file_code) {
  switch (file_code) {
    case value_traits<float>::file_code:
      return value_traits<float>::name;
    case value_traits<double>::file_code:
      return value_traits<double>::name;
    case value_traits<Eigen::bfloat16>::file_code:
      return value_traits<Eigen::bfloat16>::name;
    case value_traits<Eigen::half>::file_code:
      return value_traits<Eigen::half>::name;
    default:
      if (file_code >= detail::fixed16_first_code && file_code < detail::fixed_codes_end) {
        return detail::all_fixed_type_names.names[file_code - detail::fixed16_first_code].text;
      }
      return "unknown";
  }
}

/// Forward error bound for a sum of n products in T's accumulator, relative to sum |a_i * x_i|:
/// gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability, eq. 3.8), with a floor of one ulp.
/// Backends that reorder the sum stay within it; tests use it instead of magic numbers. Not for
/// fixed point, whose sums are exact (bit-exact across backends) and whose error is quantization.
template <typename T>
double dot_error_bound(std::ptrdiff_t n_terms) {
  const double u = value_traits<T>::epsilon / 2;
  const double nu = static_cast<double>(n_terms < 1 ? 1 : n_terms) * u;
  return nu < 0.5 ? 2 * nu / (1 - nu) : 1.0;
}

/// Like dot_error_bound, relative to sum |a_i * x_i| of the weights before they were rounded to
/// T: the storage rounding (unit roundoff storage_epsilon / 2) compounds with the sum's error.
/// For float and double storage it is dot_error_bound plus one unit roundoff.
template <typename T>
double quantized_dot_error_bound(std::ptrdiff_t n_terms) {
  const double us = value_traits<T>::storage_epsilon / 2;
  const double g = dot_error_bound<T>(n_terms);
  return us + g + us * g;
}

}  // namespace bbs
