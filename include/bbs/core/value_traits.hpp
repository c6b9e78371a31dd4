// Per value type facts: accumulator, conversion to and from float, test tolerance, file type code.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace bbs {

/// Specialised for every value type a BbsMatrix may hold. Later value types (16-bit fixed point,
/// int8 with a scale, bfloat16, half) add a specialisation here and a new file type code.
template <typename T>
struct value_traits;

template <>
struct value_traits<float> {
  using accumulator = float;
  static constexpr const char* name = "float32";
  static constexpr std::uint32_t file_code = 1;
  static float to_float(float v) { return v; }
  static float from_float(float v) { return v; }
  /// Unit roundoff of the accumulator: tolerances are derived from it and the number of terms.
  static constexpr double epsilon = std::numeric_limits<float>::epsilon();
};

template <>
struct value_traits<double> {
  using accumulator = double;
  static constexpr const char* name = "float64";
  static constexpr std::uint32_t file_code = 2;
  static double to_float(double v) { return v; }
  static double from_float(double v) { return v; }
  static constexpr double epsilon = std::numeric_limits<double>::epsilon();
};

/// Name of a value type from its file code, for error messages ("unknown" for codes bbs lacks).
inline const char* value_type_name(std::uint32_t file_code) {
  switch (file_code) {
    case value_traits<float>::file_code:
      return value_traits<float>::name;
    case value_traits<double>::file_code:
      return value_traits<double>::name;
    default:
      return "unknown";
  }
}

/// Forward error bound for a sum of n products in T's accumulator, relative to sum |a_i * x_i|:
/// gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability, eq. 3.8), with a floor of one ulp.
/// Backends that reorder the sum stay within it; tests use it instead of magic numbers.
template <typename T>
double dot_error_bound(std::ptrdiff_t n_terms) {
  const double u = value_traits<T>::epsilon / 2;
  const double nu = static_cast<double>(n_terms < 1 ? 1 : n_terms) * u;
  return nu < 0.5 ? 2 * nu / (1 - nu) : 1.0;
}

}  // namespace bbs
