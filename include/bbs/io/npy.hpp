// NumPy files without xtensor: .npy arrays (format versions 1, 2 and 3) and .npz archives of them
// (numpy.savez: an uncompressed ZIP), read into Eigen matrices; save_npy writes a matrix
// atomically. This is how dense weights exported from PyTorch (tools/) reach bbs::prune and the
// bbs command-line tool. Every defect of a file is a file_error naming the file and what is wrong;
// nothing is allocated beyond the file's own size before the data has been checked.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "bbs/core/config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/io/files.hpp"
#include "bbs/io/zip.hpp"

namespace bbs {

/// One array of a .npy file: its shape, its dtype as the file spells it ("<f4"), and its data
/// bytes in the file's order. matrix() converts to an Eigen matrix.
struct NpyArray {
  std::vector<index> shape;
  std::string dtype;
  bool fortran_order = false;
  std::vector<unsigned char> bytes;
  std::string source;  ///< the file (and archive entry) it came from, for messages

  /// Number of elements (1 for a 0-d array).
  index size() const {
    index n = 1;
    for (index d : shape) n *= d;
    return n;
  }

  /// A 2-D array as a matrix, or a 1-D array as a column, converted to T (float or double).
  /// Throws shape_error for other ranks.
  template <typename T = double>
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> matrix() const;
};

namespace detail {
namespace npy {

inline constexpr unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/// A cursor over the header's Python dict literal, e.g.
/// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string text, std::string source) : s_(std::move(text)), source_(std::move(source)) {}

  void parse(NpyArray& out) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        out.dtype = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        out.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        out.shape = tuple();
        have_shape = true;
      } else {
        fail(concat("unexpected key '", key, "' (expected descr, fortran_order and shape)"));
      }
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape) {
      fail(concat("the header lacks ", !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'"));
    }
  }

 private:
  char peek() const { return at_ < s_.size() ? s_[at_] : '\0'; }
  void skip_space() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(concat("expected '", c, "' at header offset ", at_));
    ++at_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(concat("expected a quoted string at header offset ", at_));
    const std::size_t end = s_.find(quote, at_ + 1);
    if (end == std::string::npos) fail("unterminated string in the header");
    std::string v = s_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    return v;
  }
  bool boolean() {
    if (s_.compare(at_, 4, "True") == 0) {
      at_ += 4;
      return true;
    }
    if (s_.compare(at_, 5, "False") == 0) {
      at_ += 5;
      return false;
    }
    fail("fortran_order is neither True nor False");
  }
  std::vector<index> tuple() {
    std::vector<index> dims;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') {
        ++at_;
        return dims;
      }
      if (peek() < '0' || peek() > '9') fail(concat("expected a dimension at header offset ", at_));
      index d = 0;
      while (peek() >= '0' && peek() <= '9') {
        const int digit = peek() - '0';
        if (d > (std::numeric_limits<index>::max() - digit) / 10) fail("a dimension overflows");
        d = d * 10 + digit;
        ++at_;
      }
      dims.push_back(d);
      skip_space();
      if (peek() == 'L') ++at_;  // Python 2 long literals
      skip_space();
      if (peek() == ',') {
        ++at_;
      } else if (peek() != ')') {
        fail("expected ',' or ')' in the shape");
      }
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw_error<file_error>(source_, ": malformed .npy header: ", what, " in ", s_);
  }

  std::string s_;
  std::string source_;
  std::size_t at_ = 0;
};

/// Bytes per element of a supported dtype ('<f4', '|u1', ...), 0 for an unsupported one.
inline std::size_t item_size(const std::string& dtype) {
  if (dtype.size() != 3) return 0;
  const char order = dtype[0], kind = dtype[1], width = dtype[2];
  const std::size_t n = static_cast<std::size_t>(width - '0');
  const bool little = order == '<' || order == '|' || (order == '=' && n > 0);
  if (!little && !(order == '>' && n == 1)) return 0;
  if (kind == 'f' && (n == 2 || n == 4 || n == 8)) return n;
  if ((kind == 'i' || kind == 'u') && (n == 1 || n == 2 || n == 4 || n == 8)) return n;
  if (kind == 'b' && n == 1) return 1;
  return 0;
}

/// Element i of data (dtype, little-endian) as a double.
inline double element(const unsigned char* p, const std::string& dtype) {
  const char kind = dtype[1];
  const char width = dtype[2];
  const auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (kind) {
    case 'f':
      if (width == '2')
        return static_cast<double>(static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(load(std::uint16_t(0)))));
      if (width == '4') return static_cast<double>(load(float(0)));
      return load(double(0));
    case 'i':
      if (width == '1') return load(std::int8_t(0));
      if (width == '2') return load(std::int16_t(0));
      if (width == '4') return load(std::int32_t(0));
      return static_cast<double>(load(std::int64_t(0)));
    case 'u':
      if (width == '1') return load(std::uint8_t(0));
      if (width == '2') return load(std::uint16_t(0));
      if (width == '4') return load(std::uint32_t(0));
      return static_cast<double>(load(std::uint64_t(0)));
    default:  // 'b'
      return *p != 0 ? 1.0 : 0.0;
  }
}

using detail::read_le;

}  // namespace npy
}  // namespace detail

template <typename T>
Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> NpyArray::matrix() const {
  static_assert(std::is_floating_point<T>::value, "NpyArray::matrix: T must be float or double");
  if (shape.size() != 1 && shape.size() != 2) {
    detail::throw_error<shape_error>(source, ": holds a ", shape.size(),
                                     "-D array; expected a 2-D matrix or a 1-D vector");
  }
  const index rows = shape[0];
  const index cols = shape.size() == 2 ? shape[1] : 1;
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> m(rows, cols);
  const std::size_t width = detail::npy::item_size(dtype);
  for (index i = 0; i < rows; ++i) {
    for (index j = 0; j < cols; ++j) {
      const index e = fortran_order ? j * rows + i : i * cols + j;
      m(i, j) = static_cast<T>(detail::npy::element(bytes.data() + static_cast<std::size_t>(e) * width, dtype));
    }
  }
  return m;
}

/// Parses a whole .npy file held in memory. Throws file_error for a bad magic string or version,
/// a malformed header, an unsupported dtype (bbs reads float16/32/64, integers and bool, little-
/// endian), or data that does not match the shape (truncated or with trailing bytes).
inline NpyArray parse_npy(const void* data, std::size_t size, const std::string& source) {
  using detail::throw_error;
  const auto* p = static_cast<const unsigned char*>(data);
  if (size < 10 || std::memcmp(p, detail::npy::magic, 6) != 0) {
    throw_error<file_error>(source, ": not a .npy file (it does not start with \\x93NUMPY)");
  }
  const int major = p[6];
  if (major < 1 || major > 3)
    throw_error<file_error>(source, ": .npy format version ", major, " is not supported (1 to 3)");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (size < 8 + len_bytes) throw_error<file_error>(source, ": truncated in the header length");
  const std::size_t header_len =
      major == 1 ? detail::npy::read_le<std::uint16_t>(p + 8) : detail::npy::read_le<std::uint32_t>(p + 8);
  const std::size_t data_at = 8 + len_bytes + header_len;
  if (header_len > size || data_at > size) {
    throw_error<file_error>(source, ": truncated: the header claims ", header_len, " bytes, the file has ", size);
  }
  NpyArray a;
  a.source = source;
  detail::npy::HeaderParser(std::string(reinterpret_cast<const char*>(p + 8 + len_bytes), header_len), source).parse(a);
  const std::size_t width = detail::npy::item_size(a.dtype);
  if (width == 0) {
    throw_error<file_error>(source, ": dtype '", a.dtype,
                            "' is not supported (little-endian float16/32/64, integers or bool expected)");
  }
  std::uint64_t count = 1;
  for (index d : a.shape) {
    if (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(d)) {
      throw_error<file_error>(source, ": the shape's element count overflows");
    }
    count *= static_cast<std::uint64_t>(d);
  }
  const std::uint64_t available = size - data_at;
  if (count > available / width || count * width != available) {
    throw_error<file_error>(source, ": the shape needs ", count, " x ", width, " data bytes, the file has ", available,
                            count * width > available ? " (truncated)" : " (trailing bytes)");
  }
  a.bytes.assign(p + data_at, p + size);
  return a;
}

/// Reads a .npy file.
inline NpyArray read_npy(const std::string& path) {
  const std::string source = "bbs::read_npy: " + path;
  const std::vector<unsigned char> bytes = detail::read_file(path, std::numeric_limits<std::uint64_t>::max(), source);
  return parse_npy(bytes.data(), bytes.size(), source);
}

/// The arrays of an .npz archive held in memory (numpy.savez: a ZIP of .npy files, stored
/// without compression), in archive order, named without ".npy". Throws file_error for a broken
/// archive, a compressed entry (numpy.savez_compressed), a CRC mismatch, or a bad .npy inside.
inline std::vector<std::pair<std::string, NpyArray>> parse_npz(const void* data, std::size_t size,
                                                               const std::string& source) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::vector<std::pair<std::string, NpyArray>> arrays;
  for (detail::zip::Entry& e : detail::zip::entries(p, size, source)) {
    if (e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".npy") == 0) e.name.resize(e.name.size() - 4);
    arrays.emplace_back(e.name, parse_npy(p + e.offset, e.size, e.source));
  }
  return arrays;
}

/// Reads an .npz archive (see parse_npz).
inline std::vector<std::pair<std::string, NpyArray>> read_npz(const std::string& path) {
  const std::string source = "bbs::read_npz: " + path;
  const std::vector<unsigned char> bytes = detail::read_file(path, std::numeric_limits<std::uint64_t>::max(), source);
  return parse_npz(bytes.data(), bytes.size(), source);
}

/// A float or double matrix as the bytes of a C-order .npy file (version 1.0, '<f4' or '<f8') of
/// the given shape (default: rows x cols; a shape must hold rows * cols elements, taken in
/// row-major order, e.g. {out, in, k, k} for a convolution weight flattened per output channel).
template <typename Derived>
std::vector<unsigned char> npy_bytes(const Eigen::DenseBase<Derived>& m, std::vector<index> shape = {}) {
  using T = typename Derived::Scalar;
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "npy_bytes: float or double matrices");
  if (shape.empty()) shape = {m.rows(), m.cols()};
  index count = 1;
  std::string dims;
  for (index d : shape) {
    count *= d;
    dims += detail::concat(dims.empty() ? "" : ", ", d);
  }
  if (shape.size() == 1) dims += ",";  // Python's one-element tuple
  if (count != m.rows() * m.cols()) {
    detail::throw_error<shape_error>("bbs::npy_bytes: shape holds ", count, " elements, the matrix ",
                                     m.rows() * m.cols());
  }
  std::string header = detail::concat("{'descr': '", sizeof(T) == 4 ? "<f4" : "<f8",
                                      "', 'fortran_order': False, 'shape': (", dims, "), }");
  // Magic, version, length and header padded with spaces to a multiple of 64, ending in '\n'.
  const std::size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  if (header.size() > 0xFFFF) detail::throw_error<shape_error>("bbs::npy_bytes: the header is too long");
  const unsigned char prefix[10] = {0x93,
                                    'N',
                                    'U',
                                    'M',
                                    'P',
                                    'Y',
                                    1,
                                    0,
                                    static_cast<unsigned char>(header.size() & 0xFF),
                                    static_cast<unsigned char>(header.size() >> 8)};
  std::vector<unsigned char> out(sizeof(prefix) + header.size() +
                                 static_cast<std::size_t>(m.rows() * m.cols()) * sizeof(T));
  std::memcpy(out.data(), prefix, sizeof(prefix));
  std::memcpy(out.data() + sizeof(prefix), header.data(), header.size());
  unsigned char* dst = out.data() + 10 + header.size();
  for (index i = 0; i < m.rows(); ++i) {
    for (index j = 0; j < m.cols(); ++j, dst += sizeof(T)) {
      const T v = m.derived()(i, j);
      std::memcpy(dst, &v, sizeof(T));
    }
  }
  return out;
}

/// Writes a float or double matrix as a 2-D C-order .npy file (npy_bytes), atomically
/// (io/files.hpp): the destination holds the old file or the whole new one.
template <typename Derived>
void save_npy(const Eigen::DenseBase<Derived>& m, const std::string& path) {
  const std::vector<unsigned char> bytes = npy_bytes(m);
  detail::AtomicFile out(path, "bbs::save_npy");
  out.write(bytes.data(), bytes.size());
  out.commit();
}

}  // namespace bbs
