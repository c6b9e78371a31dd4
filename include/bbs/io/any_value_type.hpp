// CSB files of any value type, chosen at run time: load_as_float reads whatever a file holds as
// the float matrix its values stand for, save_as_type writes a float matrix as the type a file
// code names. Tools (the bbs command-line tool, converters) use these instead of one C++ type per
// fixed-point width: every fixed16<F> shares fixed16<0>'s storage and every fixed8<Fw, Fx>
// fixed8<0, 0>'s, with the width applied at run time by the same fixed_rules. ValueTypeSpec
// (parse_value_type) is such a type spelled out by a user: a command-line option, a Python string.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bbs/core/value_traits.hpp"
#include "bbs/io/csb_file.hpp"
#include "bbs/quant/quantize.hpp"

namespace bbs {
namespace detail {
namespace csb_file {

/// Fraction bits of the weights of a fixed-point file code: F of fixed16<F>, Fw of fixed8<Fw, Fx>.
inline int weight_frac_bits(std::uint32_t code) {
  return code < fixed8_first_code ? static_cast<int>(code - fixed16_first_code)
                                  : static_cast<int>((code - fixed8_first_code) / 16);
}

/// Raw fixed-point values times 2^-frac_bits, exactly, with m's pattern.
template <typename Storage>
BbsMatrix<float> scaled_raw_values(const BbsMatrix<Storage>& m, int frac_bits) {
  const CsbView<Storage> v = m.view();
  const float scale = static_cast<float>(fixed_rules::dequantize(1, frac_bits));
  std::vector<float> values(static_cast<std::size_t>(v.stored_entries()));
  for (std::size_t e = 0; e < values.size(); ++e) values[e] = static_cast<float>(v.values[e].raw()) * scale;
  return with_pattern_of(v, std::move(values));
}

inline BbsMatrix<float> parse_as_float(const unsigned char* data, std::size_t size, const std::string& source) {
  const FileHeader h = parse_header(data, size, source);
  const std::uint32_t code = h.value_type_code;
  if (code == value_traits<float>::file_code) return parse_payload<float>(data, size, source, h);
  if (code == value_traits<double>::file_code) return dequantize(parse_payload<double>(data, size, source, h));
  if (code == value_traits<Eigen::bfloat16>::file_code) {
    return dequantize(parse_payload<Eigen::bfloat16>(data, size, source, h));
  }
  if (code == value_traits<Eigen::half>::file_code)
    return dequantize(parse_payload<Eigen::half>(data, size, source, h));
  if (code >= fixed16_first_code && code < fixed8_first_code) {
    return scaled_raw_values(parse_payload<fixed16<0>>(data, size, source, h), weight_frac_bits(code));
  }
  if (code >= fixed8_first_code && code < fixed_codes_end) {
    return scaled_raw_values(parse_payload<fixed8<0, 0>>(data, size, source, h), weight_frac_bits(code));
  }
  throw_error<file_error>(source, ": unknown value type code ", code, " (this version of bbs does not know it)");
}

/// a's values in a fixed-point storage type whose raw integers come from quantize(v, frac_bits)
/// (fixed_rules::quantize or quantize8), with the conversion's report.
template <typename Storage, typename Rule, typename Saturates>
BbsMatrix<Storage> quantize_raw(const BbsMatrix<float>& a, int frac_bits, const char* type_name, Rule&& rule,
                                Saturates&& saturates, ReportBuilder& report) {
  return convert_entries<Storage>(a.view(), [&](double v, auto&& where) {
    if (!std::isfinite(v)) {
      throw_error<value_error>("quantize to ", type_name, ": ", where(), " is ", v,
                               "; only finite values can be quantized");
    }
    const auto raw = rule(v, frac_bits);
    report.add(v, fixed_rules::dequantize(raw, frac_bits), saturates(v, frac_bits));
    return Storage::from_raw(raw);
  });
}

template <typename T>
void save_with_code(const BbsMatrix<T>& m, std::uint32_t code, const std::string& path) {
  const CsbView<T> v = m.view();
  v.validate();
  AtomicFile out(path, "bbs::save_as_type");
  write_bytes(
      v, [&](const void* p, std::size_t n) { out.write(p, n); }, code);
  out.commit();
}

}  // namespace csb_file
}  // namespace detail

/// load_as_float of a file's bytes held in memory (what serialize() returned); `source` names
/// them in errors.
inline BbsMatrix<float> load_as_float_from_memory(const void* data, std::size_t size,
                                                  const std::string& source = "bbs::load_as_float_from_memory") {
  return detail::csb_file::parse_as_float(static_cast<const unsigned char*>(data), size, source);
}

/// Reads a CSB file of any value type bbs knows as the float matrix its values stand for: exact
/// for float32, bfloat16, float16 and fixed point; float64 values are rounded to float. Verifies
/// the file as load() does and throws file_error for every defect or an unknown type code.
inline BbsMatrix<float> load_as_float(const std::string& path) {
  const std::string source = "bbs::load_as_float: " + path;
  const std::vector<unsigned char> bytes = detail::read_file(path, std::numeric_limits<std::uint64_t>::max(), source);
  return detail::csb_file::parse_as_float(bytes.data(), bytes.size(), source);
}

/// Writes a as the value type whose file code is `code` (value_traits<T>::file_code of any type
/// bbs stores; value_type_name(code) names it), each value converted by that type's rule as
/// quantize<T> does, atomically as save() does. Returns the conversion's report (all zero for
/// float32). Throws config_error for an unknown code and value_error for NaN or infinity where
/// the type cannot hold them. refuse_saturation: value_error, and nothing written, when any
/// value saturates (the message gives the count and the largest magnitude).
inline QuantizationReport save_as_type(const BbsMatrix<float>& a, std::uint32_t code, const std::string& path,
                                       bool refuse_saturation = false) {
  namespace cf = detail::csb_file;
  detail::ReportBuilder report;
  const auto check = [&](const QuantizationReport& r) {
    if (refuse_saturation && r.saturated > 0) {
      float largest = 0;
      a.forEach([&](index, index, float v) { largest = std::max(largest, std::abs(v)); });
      detail::throw_error<value_error>(path, ": ", r.saturated, " of ", r.count, " values saturate in ",
                                       value_type_name(code), " (largest |value| ", largest,
                                       "); nothing written. Choose fewer fraction bits (auto picks them), or allow "
                                       "saturation");
    }
  };
  if (code == value_traits<float>::file_code) {
    save(a, path);
  } else if (code == value_traits<double>::file_code) {
    const CsbView<float> v = a.view();
    save(detail::with_pattern_of(v, std::vector<double>(v.values, v.values + v.stored_entries())), path);
  } else if (code == value_traits<Eigen::bfloat16>::file_code) {
    const auto q = quantize<Eigen::bfloat16>(a);
    check(q.report);
    save(q.value, path);
    return q.report;
  } else if (code == value_traits<Eigen::half>::file_code) {
    const auto q = quantize<Eigen::half>(a);
    check(q.report);
    save(q.value, path);
    return q.report;
  } else if (code >= detail::fixed16_first_code && code < detail::fixed8_first_code) {
    const auto rule = [](double v, int f) { return fixed_rules::quantize(v, f); };
    const auto saturates = [](double v, int f) { return fixed_rules::quantize_saturates(v, f); };
    const auto q =
        cf::quantize_raw<fixed16<0>>(a, cf::weight_frac_bits(code), value_type_name(code), rule, saturates, report);
    const QuantizationReport r = report.finish();
    check(r);
    cf::save_with_code(q, code, path);
    return r;
  } else if (code >= detail::fixed8_first_code && code < detail::fixed_codes_end) {
    const auto rule = [](double v, int f) { return fixed_rules::quantize8(v, f); };
    const auto saturates = [](double v, int f) { return fixed_rules::quantize8_saturates(v, f); };
    const auto q =
        cf::quantize_raw<fixed8<0, 0>>(a, cf::weight_frac_bits(code), value_type_name(code), rule, saturates, report);
    const QuantizationReport r = report.finish();
    check(r);
    cf::save_with_code(q, code, path);
    return r;
  } else {
    detail::throw_error<config_error>("bbs::save_as_type: ", path, ": unknown value type code ", code);
  }
  // float32 and float64 keep every value exactly: a report of count conversions without error.
  a.forEach([&](index, index, float v) { report.add(v, v, false); });
  return report.finish();
}

/// A value type named at run time: "float32", "float64", "bfloat16", "float16" (or "half"),
/// "fixed16<F>" or "fixed8<Fw,Fx>" (also spelled "fixed16:F", "fixed8:Fw,Fx"). F and Fw may be
/// "auto": the finest width that holds the largest weight (resolved()).
struct ValueTypeSpec {
  enum class Kind { float32, float64, bfloat16, float16, fixed16, fixed8 };
  Kind kind = Kind::float32;
  /// F of fixed16<F> or Fw of fixed8<Fw, Fx>; -1 for auto; unused otherwise.
  int frac_bits = -1;
  /// Fx of fixed8<Fw, Fx>; unused otherwise.
  int activation_frac_bits = -1;

  bool is_fixed_point() const { return kind == Kind::fixed16 || kind == Kind::fixed8; }

  /// The spec with auto widths chosen from the largest weight magnitude (choose_frac_bits; its
  /// value_error when even F = 0 cannot hold max_abs).
  ValueTypeSpec resolved(double max_abs) const {
    ValueTypeSpec t = *this;
    if (kind == Kind::fixed16 && frac_bits < 0) t.frac_bits = choose_frac_bits(max_abs, 16);
    if (kind == Kind::fixed8 && frac_bits < 0) t.frac_bits = choose_frac_bits(max_abs, 8);
    return t;
  }

  /// The file code (value_traits<T>::file_code; value_type_name() names it). Throws config_error
  /// while a width is auto.
  std::uint32_t code() const {
    switch (kind) {
      case Kind::float32:
        return value_traits<float>::file_code;
      case Kind::float64:
        return value_traits<double>::file_code;
      case Kind::bfloat16:
        return value_traits<Eigen::bfloat16>::file_code;
      case Kind::float16:
        return value_traits<Eigen::half>::file_code;
      default:
        break;
    }
    if (frac_bits < 0) {
      detail::throw_error<config_error>("ValueTypeSpec::code: the fraction width is auto; resolve it first");
    }
    if (kind == Kind::fixed16) return detail::fixed16_first_code + static_cast<std::uint32_t>(frac_bits);
    return detail::fixed8_first_code + static_cast<std::uint32_t>(16 * frac_bits + activation_frac_bits);
  }
};

namespace detail {

/// A fraction width of a value type spelling: "auto" (-1) or 0..max.
inline int parse_frac_width(const std::string& text, int max, const std::string& spelling) {
  if (text == "auto") return -1;
  if (text.empty() || text.size() > 2 || text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(text) > max) {
    throw_error<config_error>("value type \"", spelling, "\": fraction width '", text, "' is not auto or 0..", max);
  }
  return std::stoi(text);
}

}  // namespace detail

/// Parses a value type's spelling (ValueTypeSpec); every name value_type_name() gives parses back
/// to its code. Throws config_error naming the spelling for anything else.
inline ValueTypeSpec parse_value_type(const std::string& spelling) {
  using Kind = ValueTypeSpec::Kind;
  std::string s = spelling;
  for (char& c : s) c = c == '<' ? ':' : c;
  if (!s.empty() && s.back() == '>') s.pop_back();
  const std::size_t colon = s.find(':');
  const std::string kind = s.substr(0, colon);
  const std::string args = colon == std::string::npos ? "" : s.substr(colon + 1);
  ValueTypeSpec t;
  if (colon == std::string::npos) {
    if (kind == "float32") return t;
    t.kind = kind == "float64" ? Kind::float64 : kind == "bfloat16" ? Kind::bfloat16 : Kind::float16;
    if (kind == "float64" || kind == "bfloat16" || kind == "float16" || kind == "half") return t;
  } else if (kind == "fixed16") {
    t.kind = Kind::fixed16;
    t.frac_bits = detail::parse_frac_width(args, 15, spelling);
    return t;
  } else if (kind == "fixed8" && args.find(',') != std::string::npos) {
    t.kind = Kind::fixed8;
    t.frac_bits = detail::parse_frac_width(args.substr(0, args.find(',')), 7, spelling);
    t.activation_frac_bits = detail::parse_frac_width(args.substr(args.find(',') + 1), 15, spelling);
    if (t.activation_frac_bits >= 0) return t;
  }
  detail::throw_error<config_error>(
      "value type \"", spelling,
      "\": expected float32, float64, bfloat16, float16, fixed16<F> or fixed8<Fw,Fx> (F and Fw may be auto, Fx may "
      "not)");
}

}  // namespace bbs
