// Fixed point: bbs::fixed16<F>, the paper's 16-bit weight and activation format (an int16 in
// Q(15-F).F), and bbs::fixed8<Fw, Fx>, int8 weights in Q(7-Fw).Fw that multiply fixed16<Fx>
// activations. Every arithmetic rule on them is in namespace bbs::fixed_rules
// (core/fixed_rules.hpp, whose header comment gives the semantics).
#pragma once

#include "bbs/core/fixed_rules.hpp"

// Deprecated (one release): BBS_FIXED_RULES_ONLY made this file the rules alone; include
// bbs/core/fixed_rules.hpp instead.
#ifndef BBS_FIXED_RULES_ONLY

#include <cmath>
#include <limits>
#include <ostream>
#include <type_traits>

#include "bbs/core/config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/core/fixed_rules.hpp"

namespace bbs {
namespace detail {

/// A type name such as "fixed16<12>" or "fixed8<7,12>" as a constant (value_traits::name).
struct fixed_type_name {
  char text[16] = {};
};

constexpr fixed_type_name make_fixed_type_name(int bits, int frac_bits, int activation_frac_bits) {
  fixed_type_name n;
  int i = 0;
  for (const char c : {'f', 'i', 'x', 'e', 'd'}) n.text[i++] = c;
  if (bits >= 10) n.text[i++] = static_cast<char>('0' + bits / 10);
  n.text[i++] = static_cast<char>('0' + bits % 10);
  n.text[i++] = '<';
  for (const int f : {frac_bits, activation_frac_bits}) {
    if (f < 0) continue;
    if (n.text[i - 1] != '<') n.text[i++] = ',';
    if (f >= 10) n.text[i++] = static_cast<char>('0' + f / 10);
    n.text[i++] = static_cast<char>('0' + f % 10);
  }
  n.text[i] = '>';
  return n;
}

/// What fixed16 and fixed8 share: a raw integer of type Raw standing for raw / 2^FracBits, the
/// conversions, comparisons and printing. No arithmetic operators: the kernels use fixed_rules on
/// raw values, and a type without operator+ cannot silently mix rounding rules.
template <typename Derived, typename Raw, int FracBits>
class fixed_number {
 public:
  using raw_type = Raw;
  static constexpr int frac_bits = FracBits;
  /// Value of one raw step, 2^-F.
  static constexpr double resolution = 1.0 / static_cast<double>(std::int64_t(1) << FracBits);

  static constexpr Derived from_raw(Raw raw) {
    Derived f;
    static_cast<fixed_number&>(f).raw_ = raw;
    return f;
  }
  constexpr Raw raw() const { return raw_; }

  constexpr explicit operator double() const { return fixed_rules::dequantize(raw_, FracBits); }
  /// Exact: 16 significant bits fit float's 24.
  constexpr explicit operator float() const { return static_cast<float>(fixed_rules::dequantize(raw_, FracBits)); }

  static constexpr Derived max() { return from_raw(std::numeric_limits<Raw>::max()); }
  static constexpr Derived lowest() { return from_raw(std::numeric_limits<Raw>::min()); }

  friend constexpr bool operator==(Derived a, Derived b) { return a.raw() == b.raw(); }
  friend constexpr bool operator!=(Derived a, Derived b) { return a.raw() != b.raw(); }
  friend constexpr bool operator<(Derived a, Derived b) { return a.raw() < b.raw(); }

  /// Prints the value and the raw integer, e.g. "1.5 (raw 6144)".
  friend std::ostream& operator<<(std::ostream& os, Derived f) {
    return os << static_cast<double>(f) << " (raw " << static_cast<int>(f.raw()) << ")";
  }

 protected:
  /// v rounded to nearest (ties away from zero) and saturated to Raw; value_error on NaN.
  static constexpr Raw convert(double v, const char* type_name) {
    if (v != v) throw_error<value_error>(type_name, ": cannot convert NaN to fixed point");
    return static_cast<Raw>(
        fixed_rules::quantize_to(v, FracBits, std::numeric_limits<Raw>::min(), std::numeric_limits<Raw>::max()));
  }

  Raw raw_ = 0;
};

}  // namespace detail

/// A 16-bit fixed-point number in Q(15-FracBits).FracBits: value = raw() / 2^FracBits, raw an
/// int16. fixed16<12> is Q3.12, range [-8, 8 - 2^-12], step 2^-12. Weights and activations of the
/// paper's format. Conversions are explicit.
template <int FracBits>
class fixed16 : public detail::fixed_number<fixed16<FracBits>, std::int16_t, FracBits> {
  static_assert(FracBits >= 0 && FracBits <= 15, "fixed16<F>: F (fraction bits) must be 0..15");

 public:
  static constexpr detail::fixed_type_name name = detail::make_fixed_type_name(16, FracBits, -1);

  /// Zero.
  constexpr fixed16() = default;

  /// Converts any arithmetic value: rounded to nearest (ties away from zero) and saturated, as
  /// fixed_rules::quantize. Throws value_error on NaN.
  template <typename A, typename = std::enable_if_t<std::is_arithmetic<A>::value>>
  constexpr explicit fixed16(A v) {
    this->raw_ = this->convert(static_cast<double>(v), name.text);
  }
};

/// An 8-bit fixed-point weight in Q(7-WeightFracBits).WeightFracBits (value = raw() / 2^Fw, raw an
/// int8) that multiplies fixed16<ActivationFracBits> activations: x and y are fixed16<Fx>, sums
/// are int32 in Q(Fw + Fx), and each output drops Fw bits (fixed_rules::scale_and_add). fixed8<7,
/// 12> holds weights in [-1, 1 - 2^-7] against Q3.12 activations. One byte per weight: with its
/// one-byte index, two bytes per stored entry against fixed16's three and float's five.
template <int WeightFracBits, int ActivationFracBits>
class fixed8 : public detail::fixed_number<fixed8<WeightFracBits, ActivationFracBits>, std::int8_t, WeightFracBits> {
  static_assert(WeightFracBits >= 0 && WeightFracBits <= 7, "fixed8<Fw, Fx>: Fw (weight fraction bits) must be 0..7");
  static_assert(ActivationFracBits >= 0 && ActivationFracBits <= 15,
                "fixed8<Fw, Fx>: Fx (activation fraction bits) must be 0..15");

 public:
  static constexpr detail::fixed_type_name name = detail::make_fixed_type_name(8, WeightFracBits, ActivationFracBits);
  /// The activations' format.
  using activation = fixed16<ActivationFracBits>;

  /// Zero.
  constexpr fixed8() = default;

  /// Converts any arithmetic value: rounded to nearest (ties away from zero) and saturated to
  /// [-128, 127] raw, as fixed_rules::quantize8. Throws value_error on NaN.
  template <typename A, typename = std::enable_if_t<std::is_arithmetic<A>::value>>
  constexpr explicit fixed8(A v) {
    this->raw_ = this->convert(static_cast<double>(v), name.text);
  }
};

template <typename T>
struct is_fixed16 : std::false_type {};
template <int F>
struct is_fixed16<fixed16<F>> : std::true_type {};

template <typename T>
struct is_fixed8 : std::false_type {};
template <int Fw, int Fx>
struct is_fixed8<fixed8<Fw, Fx>> : std::true_type {};

/// fixed16 or fixed8: integer weights, int32 wrap-around sums, fixed16 activations.
template <typename T>
struct is_fixed_point : std::integral_constant<bool, is_fixed16<T>::value || is_fixed8<T>::value> {};

namespace detail {

/// alpha or beta of a fixed-point kernel as Q15.16; throws value_error for NaN, infinity or
/// |v| >= 32768 (a scale that cannot be represented is refused, not saturated).
inline std::int32_t fixed_scale(double v, const char* what) {
  if (!fixed_rules::scale_in_range(v)) {
    throw_error<value_error>("fixed-point kernel: ", what, " = ", v,
                             " cannot be used; alpha and beta must be finite with |value| < 32768 (Q15.16)");
  }
  return fixed_rules::quantize_scale(v);
}

}  // namespace detail
}  // namespace bbs

#endif  // BBS_FIXED_RULES_ONLY
