// The bbs exception family. Every message says what was expected and what was found.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace bbs {

/// Root of every exception bbs throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Operand dimensions that do not fit together (A * x with x of the wrong length, ...).
class shape_error : public error {
 public:
  using error::error;
};

/// An invalid bank configuration, backend name or option.
class config_error : public error {
 public:
  using error::error;
};

/// A value that cannot be processed (NaN or infinity where it matters).
class value_error : public error {
 public:
  using error::error;
};

/// CSB arrays that break an invariant (index out of range, not increasing, ...).
class format_error : public error {
 public:
  using error::error;
};

/// A bbs file that cannot be read or written: truncated, corrupt, wrong version or type, I/O failure.
class file_error : public error {
 public:
  using error::error;
};

/// A device or runtime failure (FPGA backends).
class device_error : public error {
 public:
  using error::error;
};

namespace detail {

template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}

/// Throws E with the concatenation of parts, e.g. throw_error<shape_error>("x has ", n, " rows").
template <typename E, typename... Parts>
[[noreturn]] void throw_error(Parts&&... parts) {
  throw E(concat(std::forward<Parts>(parts)...));
}

}  // namespace detail
}  // namespace bbs
