// libFuzzer target for value type spellings (bbs::parse_value_type, io/any_value_type.hpp: the bbs
// tool's --type and the Python package's type strings: "float32", "fixed16<12>",
// "fixed8<auto,12>", "fixed16:F", ...). Any string must parse or throw
// config_error. A parsed type, its auto widths resolved, must have a file code that names a value
// type bbs stores, and that name must parse back to the same code. A crash, a sanitizer report,
// another exception (std::stoi's invalid_argument or out_of_range) or a broken round trip is a
// finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <bbs/bbs.hpp>

namespace {

[[noreturn]] void finding(const std::string& spelling, const char* what) {
  std::fprintf(stderr, "value type \"%s\": %s\n", spelling.c_str(), what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string spelling(reinterpret_cast<const char*>(data), size);
  bbs::ValueTypeSpec t;
  try {
    t = bbs::parse_value_type(spelling);
  } catch (const bbs::config_error&) {
    return 0;
  } catch (const std::exception& e) {
    finding(spelling, e.what());
  }
  for (const double max_abs : {0.0, 0.3, 5.0, 200.0}) {
    bbs::ValueTypeSpec r;
    try {
      r = t.resolved(max_abs);
    } catch (const bbs::value_error&) {
      continue;  // max_abs beyond the type's range even with F = 0
    } catch (const std::exception& e) {
      finding(spelling, e.what());
    }
    const char* name = bbs::value_type_name(r.code());
    if (std::strcmp(name, "unknown") == 0) finding(spelling, "resolves to a file code bbs does not know");
    try {
      if (bbs::parse_value_type(name).code() != r.code()) finding(spelling, "its type's name parses to another code");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "the name \"%s\" does not parse back: %s\n", name, e.what());
      finding(spelling, "its type's name does not parse back");
    }
  }
  return 0;
}
