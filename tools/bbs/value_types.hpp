// The bbs tool's --type argument: a spelling of any value type bbs stores, turned into its file
// code (bbs::save_as_type and bbs::load_as_float take value types at run time).
#pragma once

#include <bbs/bbs.hpp>

#include <cstdint>
#include <string>

namespace bbs_cli {

/// A --type argument: "float32", "float64", "bfloat16", "float16", "fixed16<F>", "fixed8<Fw,Fx>"
/// (also written "fixed16:F", "fixed8:Fw,Fx"); F or Fw may be "auto", chosen from the weights.
struct TypeSpec {
  std::string kind;  ///< "float32", "float64", "bfloat16", "float16", "fixed16" or "fixed8"
  int frac_bits = -1;             ///< F or Fw; -1 for auto
  int activation_frac_bits = -1;  ///< Fx of fixed8

  /// The file code once every width is known.
  std::uint32_t code() const {
    if (kind == "float32") return bbs::value_traits<float>::file_code;
    if (kind == "float64") return bbs::value_traits<double>::file_code;
    if (kind == "bfloat16") return bbs::value_traits<Eigen::bfloat16>::file_code;
    if (kind == "float16") return bbs::value_traits<Eigen::half>::file_code;
    if (kind == "fixed16") return bbs::detail::fixed16_first_code + static_cast<std::uint32_t>(frac_bits);
    return bbs::detail::fixed8_first_code + static_cast<std::uint32_t>(16 * frac_bits + activation_frac_bits);
  }
};

inline int parse_width(const std::string& text, int max, const std::string& spelling) {
  if (text == "auto") return -1;
  if (text.empty() || text.size() > 2 || text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(text) > max) {
    bbs::detail::throw_error<bbs::config_error>("--type ", spelling, ": fraction width '", text, "' is not auto or 0..",
                                                max);
  }
  return std::stoi(text);
}

inline TypeSpec parse_type(const std::string& spelling) {
  std::string s = spelling;
  for (char& c : s) c = c == '<' ? ':' : c;
  if (!s.empty() && s.back() == '>') s.pop_back();
  TypeSpec t;
  const std::size_t colon = s.find(':');
  t.kind = s.substr(0, colon);
  const std::string args = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (t.kind == "float32" || t.kind == "float64" || t.kind == "bfloat16" || t.kind == "float16") {
    if (colon == std::string::npos) return t;
  } else if (t.kind == "fixed16" && colon != std::string::npos) {
    t.frac_bits = parse_width(args, 15, spelling);
    return t;
  } else if (t.kind == "fixed8" && colon != std::string::npos && args.find(',') != std::string::npos) {
    t.frac_bits = parse_width(args.substr(0, args.find(',')), 7, spelling);
    t.activation_frac_bits = parse_width(args.substr(args.find(',') + 1), 15, spelling);
    if (t.activation_frac_bits >= 0) return t;
  }
  bbs::detail::throw_error<bbs::config_error>(
      "--type ", spelling,
      ": expected float32, float64, bfloat16, float16, fixed16<F> or fixed8<Fw,Fx> (F, Fw may be auto)");
}

/// Resolves "auto" widths from the largest weight magnitude.
inline TypeSpec resolve(TypeSpec t, double max_abs) {
  if (t.kind == "fixed16" && t.frac_bits < 0) t.frac_bits = bbs::choose_frac_bits(max_abs, 16);
  if (t.kind == "fixed8" && t.frac_bits < 0) t.frac_bits = bbs::choose_frac_bits(max_abs, 8);
  return t;
}

}  // namespace bbs_cli
