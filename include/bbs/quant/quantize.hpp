// Quantization helpers: float (or double) weights and activations to a narrower value type and
// back, with a report of what the conversion cost. The element rules live with the types
// (core/fixed_point.hpp for fixed16<F> and fixed8<Fw, Fx>); this file applies them to whole matrices and vectors
// and measures the error.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "bbs/matrix/bbs_matrix.hpp"
#include "bbs/core/value_traits.hpp"

namespace bbs {

/// What a quantization did, over every converted value (padding entries of a partial last bank
/// are not counted). Errors are |quantized - original| in real units, saturated values included.
struct QuantizationReport {
  index count = 0;
  /// Values outside the target's range, clamped to its largest or smallest value.
  index saturated = 0;
  double max_abs_error = 0;
  double rms_error = 0;
};

/// A quantized matrix or vector with its report.
template <typename Value>
struct Quantized {
  Value value;
  QuantizationReport report;
};

namespace detail {

/// Accumulates the error statistics of one conversion after another.
class ReportBuilder {
 public:
  void add(double original, double quantized, bool saturated) {
    const double e = std::abs(quantized - original);
    ++report_.count;
    report_.saturated += saturated ? 1 : 0;
    if (e > report_.max_abs_error) report_.max_abs_error = e;
    sum_squares_ += e * e;
  }
  QuantizationReport finish() const {
    QuantizationReport r = report_;
    r.rms_error = r.count == 0 ? 0.0 : std::sqrt(sum_squares_ / static_cast<double>(r.count));
    return r;
  }

 private:
  QuantizationReport report_;
  double sum_squares_ = 0;
};

/// One value to Q with Q's rounding rule; throws value_error (naming `where`) on NaN or infinity.
template <typename Q, typename Where>
Q quantize_value(double v, ReportBuilder& report, Where&& where) {
  if (!std::isfinite(v)) {
    throw_error<value_error>("quantize to ", value_traits<Q>::name, ": ", where(), " is ", v,
                             "; only finite values can be quantized");
  }
  if constexpr (is_fixed16<Q>::value) {
    const Q q = Q::from_raw(fixed_rules::quantize(v, Q::frac_bits));
    report.add(v, static_cast<double>(q), fixed_rules::quantize_saturates(v, Q::frac_bits));
    return q;
  } else if constexpr (is_fixed8<Q>::value) {
    const Q q = Q::from_raw(fixed_rules::quantize8(v, Q::frac_bits));
    report.add(v, static_cast<double>(q), fixed_rules::quantize8_saturates(v, Q::frac_bits));
    return q;
  } else if constexpr (std::is_same<Q, Eigen::bfloat16>::value || std::is_same<Q, Eigen::half>::value) {
    // Round to nearest even through float (float sources are exact there); a finite value that
    // rounds past the largest finite Q is clamped to it and counted as saturated.
    Q q(static_cast<float>(v));
    const bool saturated = !std::isfinite(static_cast<float>(q));
    if (saturated) q = Q(static_cast<float>(v > 0 ? value_traits<Q>::max_finite : -value_traits<Q>::max_finite));
    report.add(v, static_cast<double>(static_cast<float>(q)), saturated);
    return q;
  } else {
    static_assert(sizeof(Q) == 0, "bbs::quantize: no quantization rule for this value type");
  }
}

}  // namespace detail

namespace detail {

/// A BbsMatrix<U> with the pattern (shape, configuration, indices) of v and the given values.
template <typename U, typename T>
BbsMatrix<U> with_pattern_of(const CsbView<T>& v, std::vector<U> values) {
  const index n = v.stored_entries();
  return v.with_indices([&](auto idx) {
    using I = std::remove_const_t<std::remove_pointer_t<decltype(idx)>>;
    std::vector<I> indices(idx, idx + n);
    return BbsMatrix<U>(v.rows, v.cols, v.config, std::move(values), std::move(indices));
  });
}

/// v's pattern with every real entry converted by convert(value as double, where) -> Q; padding
/// entries (column >= cols) stay Q's zero and are not converted.
template <typename Q, typename From, typename Convert>
BbsMatrix<Q> convert_entries(const CsbView<From>& v, Convert&& convert) {
  std::vector<Q> values(static_cast<std::size_t>(v.stored_entries()), Q(0));
  v.for_each_entry([&](index r, index c, index e) {
    values[static_cast<std::size_t>(e)] =
        convert(static_cast<double>(v.values[e]), [&] { return concat("entry (", r, ", ", c, ")"); });
  });
  return with_pattern_of(v, std::move(values));
}

}  // namespace detail

/// Converts a bank-balanced float or double matrix to value type Q (fixed16<F>, fixed8<Fw, Fx>,
/// Eigen::bfloat16, Eigen::half), keeping its pattern. Each value follows Q's rule: fixed point
/// rounds to nearest with ties away from zero and saturates; bfloat16 and half round to nearest
/// even (through float) and clamp values past their largest finite value. Throws value_error on
/// NaN or infinity.
template <typename Q, typename Derived>
Quantized<BbsMatrix<Q>> quantize(const BbsBase<Derived>& a) {
  using From = typename Derived::Scalar;
  static_assert(std::is_floating_point<From>::value, "bbs::quantize: the source matrix must hold float or double");
  detail::ReportBuilder report;
  BbsMatrix<Q> q = detail::convert_entries<Q>(
      a.derived().view(), [&](double v, auto&& where) { return detail::quantize_value<Q>(v, report, where); });
  return {std::move(q), report.finish()};
}

/// Converts a float or double Eigen vector or matrix to value type Q, with a report.
template <typename Q, typename Derived>
Quantized<Eigen::Matrix<Q, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime>> quantize(
    const Eigen::MatrixBase<Derived>& x) {
  static_assert(std::is_floating_point<typename Derived::Scalar>::value,
                "bbs::quantize: the source must hold float or double");
  detail::ReportBuilder report;
  Eigen::Matrix<Q, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime> out(x.rows(), x.cols());
  for (index j = 0; j < x.cols(); ++j) {
    for (index i = 0; i < x.rows(); ++i) {
      out(i, j) = detail::quantize_value<Q>(static_cast<double>(x(i, j)), report,
                                            [&] { return detail::concat("element (", i, ", ", j, ")"); });
    }
  }
  return {std::move(out), report.finish()};
}

/// The float matrix a quantized matrix stands for (exact for fixed16, fixed8, bfloat16 and half).
template <typename Derived>
BbsMatrix<float> dequantize(const BbsBase<Derived>& a) {
  using Q = typename Derived::Scalar;
  const CsbView<Q> v = a.derived().view();
  std::vector<float> values(static_cast<std::size_t>(v.stored_entries()));
  for (std::size_t e = 0; e < values.size(); ++e)
    values[e] = static_cast<float>(value_traits<Q>::to_float(v.values[e]));
  return detail::with_pattern_of(v, std::move(values));
}

/// The float vector or matrix a quantized one stands for.
template <typename Derived>
Eigen::Matrix<float, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime> dequantize(
    const Eigen::MatrixBase<Derived>& x) {
  using Q = typename Derived::Scalar;
  return x.unaryExpr([](const Q& q) { return value_traits<Q>::to_float(q); });
}

/// The largest fraction width F for which a `bits`-bit fixed-point type holds every value of
/// magnitude up to max_abs without saturating: the finest resolution for that range. bits = 16
/// picks F = 0..15 for fixed16<F>; bits = 8 picks Fw = 0..7 for the weights of fixed8<Fw, Fx>.
/// Throws value_error if max_abs is negative, NaN or infinite, or too large even for F = 0
/// (>= 32767.5, or >= 127.5 for 8 bits), and config_error for other widths.
inline int choose_frac_bits(double max_abs, int bits = 16) {
  if (bits != 16 && bits != 8) {
    detail::throw_error<config_error>("choose_frac_bits: bits is ", bits, "; expected 16 (fixed16) or 8 (fixed8)");
  }
  if (!(max_abs >= 0) || !std::isfinite(max_abs)) {
    detail::throw_error<value_error>("choose_frac_bits: max_abs is ", max_abs, "; expected a finite value >= 0");
  }
  const std::int32_t hi = bits == 16 ? fixed_rules::raw_max : fixed_rules::raw8_max;
  const std::int32_t lo = bits == 16 ? fixed_rules::raw_min : fixed_rules::raw8_min;
  for (int f = bits - 1; f >= 0; --f) {
    if (!fixed_rules::rounds_outside(max_abs, f, lo, hi)) return f;
  }
  detail::throw_error<value_error>("choose_frac_bits: max_abs ", max_abs, " exceeds the ",
                                   bits == 16 ? "fixed16" : "fixed8",
                                   " range even with F = 0 (values round to at most ", hi, ")");
}

}  // namespace bbs
