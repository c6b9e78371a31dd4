// The binary CSB file (docs/FILE_FORMAT.md): a 64-byte little-endian header, the canonical CSB
// value and index arrays, and a CRC-32 over everything before it. save() writes it atomically;
// load() verifies every byte before trusting it, so a hostile file can neither crash the parser
// nor make it allocate more than the file's own size.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bbs/io/checksum.hpp"
#include "bbs/io/files.hpp"
#include "bbs/matrix/bbs_matrix.hpp"
#include "bbs/matrix/bbs_map.hpp"

namespace bbs {

/// What the header of a CSB file says, as read_header() reports it.
struct FileHeader {
  std::uint32_t version = 0;
  /// value_traits<T>::file_code of the stored values.
  std::uint32_t value_type_code = 0;
  /// "float32", "float64", ...; "unknown" for a code this version of bbs does not know.
  std::string value_type_name;
  IndexWidth index_width = IndexWidth::u8;
  index rows = 0;
  index cols = 0;
  BankConfig config{};
  /// rows * num_banks * nnz_per_bank, padding of a partial last bank included.
  index stored_entries = 0;
  /// Bytes between the header and the checksum: the value and index sections, each padded to 8 bytes.
  std::uint64_t payload_bytes = 0;
};

// ---------------------------------------------------------------------------------------------
// Layout and parsing (implementation details)

namespace detail {
namespace csb_file {

inline constexpr std::uint32_t version = 1;
inline constexpr std::size_t header_bytes = 64;
inline constexpr std::size_t checksum_bytes = 4;
/// Each payload section starts and ends on this boundary, so a memory-mapped file can be viewed
/// in place by a BbsMap whatever the value type and index width.
inline constexpr std::uint64_t section_alignment = 8;
/// PNG-style: the high byte catches 7-bit channels, CR LF / SUB / LF catch text-mode translation.
inline constexpr unsigned char magic[8] = {0x89, 'B', 'B', 'S', '\r', '\n', 0x1A, '\n'};

// Byte offsets of the header fields.
inline constexpr std::size_t at_version = 8;
inline constexpr std::size_t at_value_type = 12;
inline constexpr std::size_t at_index_width = 16;
inline constexpr std::size_t at_flags = 20;
inline constexpr std::size_t at_rows = 24;
inline constexpr std::size_t at_cols = 32;
inline constexpr std::size_t at_bank_size = 40;
inline constexpr std::size_t at_nnz_per_bank = 44;
inline constexpr std::size_t at_payload_bytes = 48;
inline constexpr std::size_t at_reserved = 56;

using detail::read_le;
// memcpy keeps unaligned writes defined; the host is little-endian like the file (core/config.hpp).
template <typename U>
void write_le(unsigned char* p, U v) {
  std::memcpy(p, &v, sizeof v);
}

inline std::string hex_bytes(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) s += ' ';
    s += digits[p[i] >> 4];
    s += digits[p[i] & 0xF];
  }
  return s;
}

inline std::string hex32(std::uint32_t v) {
  char buffer[11];
  std::snprintf(buffer, sizeof buffer, "0x%08x", static_cast<unsigned>(v));
  return buffer;
}

/// Whether an int64 from a file is representable as bbs::index (always, on 64-bit hosts).
inline bool fits_index(std::int64_t v) {
  if constexpr (sizeof(index) >= sizeof(std::int64_t)) {
    (void)v;
    return true;
  } else {
    return v >= std::numeric_limits<index>::min() && v <= std::numeric_limits<index>::max();
  }
}

/// Byte sizes of a file's sections, derived from the header with overflow checks.
struct Layout {
  std::uint64_t value_bytes = 0;
  std::uint64_t value_section = 0;
  std::uint64_t index_bytes = 0;
  std::uint64_t index_section = 0;
  std::uint64_t payload = 0;
  std::uint64_t total = 0;
};

inline std::uint64_t round_up(std::uint64_t bytes) {
  return (bytes + section_alignment - 1) / section_alignment * section_alignment;
}

inline std::string describe(const FileHeader& h) {
  return concat("a ", h.rows, " x ", h.cols, " matrix with bank_size ", h.config.bank_size, " and nnz_per_bank ",
                h.config.nnz_per_bank);
}

/// The section sizes for value_size-byte values; throws file_error when the file would not fit
/// in memory's address range (a hostile header asking for 2^70 bytes).
inline Layout make_layout(const std::string& source, const FileHeader& h, std::size_t value_size) {
  const std::uint64_t n = static_cast<std::uint64_t>(h.stored_entries);
  const std::uint64_t width = static_cast<std::uint64_t>(h.index_width);
  const std::uint64_t max_total =
      std::min<std::uint64_t>(std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::size_t>::max());
  const std::uint64_t fixed = header_bytes + checksum_bytes + 2 * (section_alignment - 1);
  if (n > (max_total - fixed) / (value_size + width)) {
    throw_error<file_error>(source, ": ", describe(h), " stores ", n, " entries of ", value_size + width,
                            " bytes each, which overflows the addressable file size");
  }
  Layout l;
  l.value_bytes = n * value_size;
  l.value_section = round_up(l.value_bytes);
  l.index_bytes = n * width;
  l.index_section = round_up(l.index_bytes);
  l.payload = l.value_section + l.index_section;
  l.total = header_bytes + l.payload + checksum_bytes;
  return l;
}

/// Checks every header field that does not depend on the value type; size >= header_bytes is
/// checked here too. `source` prefixes every message ("bbs::load: path").
inline FileHeader parse_header(const unsigned char* data, std::size_t size, const std::string& source) {
  if (size < header_bytes) {
    throw_error<file_error>(source, ": the file is ", size, " bytes, shorter than the ", header_bytes,
                            "-byte CSB header");
  }
  if (std::memcmp(data, magic, sizeof magic) != 0) {
    const bool text_mode = data[0] == magic[0] && data[1] == 'B' && data[2] == 'B' && data[3] == 'S';
    throw_error<file_error>(source, ": bad magic: expected ", hex_bytes(magic, sizeof magic),
                            " (\"\\x89BBS\\r\\n\\x1a\\n\"), found ", hex_bytes(data, sizeof magic),
                            text_mode ? "; the line-ending bytes differ, so the file probably went through a "
                                        "text-mode transfer"
                                      : "; this is not a bbs CSB file");
  }
  FileHeader h;
  h.version = read_le<std::uint32_t>(data + at_version);
  if (h.version != version) {
    throw_error<file_error>(source, ": unsupported CSB file version ", h.version, "; this bbs reads version ", version);
  }
  const auto flags = read_le<std::uint32_t>(data + at_flags);
  if (flags != 0) {
    throw_error<file_error>(source, ": flags field is ", hex32(flags), "; version ", version,
                            " defines no flags and expects 0");
  }
  for (std::size_t i = at_reserved; i < header_bytes; ++i) {
    if (data[i] != 0) {
      throw_error<file_error>(source, ": reserved header byte at offset ", i, " is ", hex_bytes(data + i, 1),
                              "; expected 00");
    }
  }
  h.value_type_code = read_le<std::uint32_t>(data + at_value_type);
  h.value_type_name = value_type_name(h.value_type_code);

  const auto width = read_le<std::uint32_t>(data + at_index_width);
  if (width != 1 && width != 2) {
    throw_error<file_error>(source, ": index width of ", width,
                            " bytes is invalid; expected 1 (bank_size <= 256) or 2 (bank_size 257..", max_bank_size,
                            ")");
  }
  h.index_width = width == 1 ? IndexWidth::u8 : IndexWidth::u16;
  const auto bank_size = read_le<std::uint32_t>(data + at_bank_size);
  const auto nnz_per_bank = read_le<std::uint32_t>(data + at_nnz_per_bank);
  if (bank_size < 1 || bank_size > static_cast<std::uint64_t>(max_bank_size)) {
    throw_error<file_error>(source, ": invalid bank configuration: bank_size ", bank_size, ", expected 1..",
                            max_bank_size);
  }
  if (nnz_per_bank > bank_size) {
    throw_error<file_error>(source, ": invalid bank configuration: nnz_per_bank ", nnz_per_bank, " exceeds bank_size ",
                            bank_size);
  }
  // Assigned, not constructed: the checks above replace BankConfig's config_error by a file_error.
  h.config.bank_size = static_cast<index>(bank_size);
  h.config.nnz_per_bank = static_cast<index>(nnz_per_bank);
  if (h.config.index_width() != h.index_width) {
    throw_error<file_error>(source, ": index width of ", width, " bytes does not match bank_size ", bank_size,
                            ", which needs ", static_cast<int>(h.config.index_width()), "-byte indices");
  }

  const auto rows = read_le<std::int64_t>(data + at_rows);
  const auto cols = read_le<std::int64_t>(data + at_cols);
  if (rows < 0 || cols < 0) throw_error<file_error>(source, ": negative matrix shape ", rows, " x ", cols);
  if (!fits_index(rows) || !fits_index(cols)) {
    throw_error<file_error>(source, ": shape ", rows, " x ", cols, " does not fit this host's index type");
  }
  h.rows = static_cast<index>(rows);
  h.cols = static_cast<index>(cols);
  // Every CSB loop computes num_banks * nnz_per_bank and rows * that; refuse any shape where one
  // of them overflows.
  const index k = h.config.nnz_per_bank;
  const index banks = h.config.num_banks(h.cols);
  if (k != 0 && banks > std::numeric_limits<index>::max() / k) {
    throw_error<file_error>(source, ": a row of ", banks, " banks with ", k, " entries each overflows the entry count");
  }
  const index per_row = banks * k;
  if (per_row != 0 && h.rows > std::numeric_limits<index>::max() / per_row) {
    throw_error<file_error>(source, ": ", h.rows, " rows of ", per_row, " entries overflow the entry count");
  }
  h.stored_entries = h.rows * per_row;
  h.payload_bytes = read_le<std::uint64_t>(data + at_payload_bytes);
  return h;
}

/// The in-memory parser behind load() and load_from_memory(). Order of checks: header fields,
/// value type, section sizes against the header and the buffer, checksum, and only then the
/// payload's contents (alignment padding, then the CSB invariants).
template <typename T>
BbsMatrix<T> parse_payload(const unsigned char* data, std::size_t size, const std::string& source, const FileHeader& h);

template <typename T>
BbsMatrix<T> parse(const unsigned char* data, std::size_t size, const std::string& source) {
  const FileHeader h = parse_header(data, size, source);
  constexpr std::uint32_t wanted = value_traits<T>::file_code;
  if (h.value_type_code != wanted) {
    if (std::strcmp(value_type_name(h.value_type_code), "unknown") == 0) {
      throw_error<file_error>(source, ": unknown value type code ", h.value_type_code,
                              " (this version of bbs does not know it); load was asked for ", value_traits<T>::name,
                              " (type code ", wanted, ")");
    }
    const auto is_fixed16_code = [](std::uint32_t code) {
      return code >= fixed16_first_code && code < fixed16_first_code + 16;
    };
    // Same storage, another Q format: the raw integers would be read with the wrong scale.
    const std::string fraction_hint =
        is_fixed16_code(h.value_type_code) && is_fixed16_code(wanted)
            ? concat("; the fraction widths differ (file F = ", h.value_type_code - fixed16_first_code,
                     ", requested F = ", wanted - fixed16_first_code, ")")
            : std::string();
    throw_error<file_error>(source, ": the file holds ", h.value_type_name, " values (type code ", h.value_type_code,
                            "); load was asked for ", value_traits<T>::name, " (type code ", wanted, ")",
                            fraction_hint);
  }
  return parse_payload<T>(data, size, source, h);
}

/// Everything after the value type check: sizes, checksum, padding, CSB invariants. T's size is
/// the stored value size; for fixed point T may be another width of the file's type.
template <typename T>
BbsMatrix<T> parse_payload(const unsigned char* data, std::size_t size, const std::string& source,
                           const FileHeader& h) {
  const Layout l = make_layout(source, h, sizeof(T));
  if (h.payload_bytes != l.payload) {
    throw_error<file_error>(source, ": the header's payload byte count is ", h.payload_bytes, ", but ", describe(h),
                            " of ", h.value_type_name, " values and ", static_cast<int>(h.index_width),
                            "-byte indices needs ", l.payload);
  }
  if (size != l.total) {
    throw_error<file_error>(source, size < l.total ? ": truncated: the file is " : ": trailing garbage: the file is ",
                            size, " bytes, expected ", l.total, " (", header_bytes, "-byte header, ", l.payload,
                            "-byte payload, ", checksum_bytes, "-byte checksum)");
  }
  const std::size_t crc_at = static_cast<std::size_t>(l.total) - checksum_bytes;
  const std::uint32_t stored = read_le<std::uint32_t>(data + crc_at);
  const std::uint32_t computed = crc32(data, crc_at);
  if (stored != computed) {
    throw_error<file_error>(source, ": checksum mismatch: the file stores CRC-32 ", hex32(stored), ", its first ",
                            crc_at, " bytes give ", hex32(computed), "; the file is corrupt");
  }

  const unsigned char* values_at = data + header_bytes;
  const unsigned char* indices_at = values_at + l.value_section;
  const auto check_padding = [&](const unsigned char* begin, std::uint64_t used, std::uint64_t section) {
    for (std::uint64_t i = used; i < section; ++i) {
      if (begin[i] != 0) {
        throw_error<file_error>(source, ": alignment padding byte at offset ",
                                static_cast<std::uint64_t>(begin - data) + i, " is ", hex_bytes(begin + i, 1),
                                "; expected 00");
      }
    }
  };
  check_padding(values_at, l.value_bytes, l.value_section);
  check_padding(indices_at, l.index_bytes, l.index_section);

  // Nothing stored: no arrays to copy (memcpy must not see the null data() of an empty vector).
  if (h.stored_entries == 0) return BbsMatrix<T>(h.rows, h.cols, h.config);

  const auto n = static_cast<std::size_t>(h.stored_entries);
  std::vector<T> values(n);
  std::memcpy(values.data(), values_at, static_cast<std::size_t>(l.value_bytes));
  try {
    if (h.index_width == IndexWidth::u8) {
      std::vector<std::uint8_t> indices(n);
      std::memcpy(indices.data(), indices_at, static_cast<std::size_t>(l.index_bytes));
      return BbsMatrix<T>(h.rows, h.cols, h.config, std::move(values), std::move(indices));
    }
    std::vector<std::uint16_t> indices(n);
    std::memcpy(indices.data(), indices_at, static_cast<std::size_t>(l.index_bytes));
    return BbsMatrix<T>(h.rows, h.cols, h.config, std::move(values), std::move(indices));
  } catch (const format_error& e) {
    // One exception type for every bad file; the CSB message says which entry is wrong.
    throw_error<file_error>(source, ": the payload breaks a CSB invariant: ", e.what());
  }
}

/// Streams the file for view v to sink(const void*, size_t), computing the checksum on the way.
/// Writes the file bytes of v. `code` is the header's value type code: T's own, or for fixed point
/// another width of the same storage (the values are raw integers either way).
template <typename T, typename Sink>
void write_bytes(const CsbView<T>& v, Sink&& sink, std::uint32_t code = value_traits<T>::file_code) {
  FileHeader h;
  h.index_width = v.config.index_width();
  h.rows = v.rows;
  h.cols = v.cols;
  h.config = v.config;
  h.stored_entries = v.stored_entries();
  const Layout l = make_layout("bbs::save", h, sizeof(T));

  unsigned char header[header_bytes] = {};
  std::memcpy(header, magic, sizeof magic);
  write_le<std::uint32_t>(header + at_version, version);
  write_le<std::uint32_t>(header + at_value_type, code);
  write_le<std::uint32_t>(header + at_index_width, static_cast<std::uint32_t>(h.index_width));
  write_le<std::uint32_t>(header + at_flags, 0);
  write_le<std::int64_t>(header + at_rows, static_cast<std::int64_t>(v.rows));
  write_le<std::int64_t>(header + at_cols, static_cast<std::int64_t>(v.cols));
  write_le<std::uint32_t>(header + at_bank_size, static_cast<std::uint32_t>(v.config.bank_size));
  write_le<std::uint32_t>(header + at_nnz_per_bank, static_cast<std::uint32_t>(v.config.nnz_per_bank));
  write_le<std::uint64_t>(header + at_payload_bytes, l.payload);

  std::uint32_t crc = 0;
  const auto emit = [&](const void* p, std::uint64_t n) {
    // In 1 MiB pieces so each piece is still in cache when it is written after being checksummed.
    constexpr std::uint64_t piece = std::uint64_t(1) << 20;
    const auto* bytes = static_cast<const unsigned char*>(p);
    while (n > 0) {
      const auto m = static_cast<std::size_t>(std::min(n, piece));
      crc = crc32_update(crc, bytes, m);
      sink(static_cast<const void*>(bytes), m);
      bytes += m;
      n -= m;
    }
  };
  static constexpr unsigned char zeros[section_alignment] = {};
  emit(header, header_bytes);
  emit(v.values, l.value_bytes);
  emit(zeros, l.value_section - l.value_bytes);
  emit(v.indices, l.index_bytes);
  emit(zeros, l.index_section - l.index_bytes);
  unsigned char tail[checksum_bytes];
  write_le<std::uint32_t>(tail, crc);
  sink(static_cast<const void*>(tail), checksum_bytes);
}

}  // namespace csb_file
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Public API

/// The file bytes of A: what save() writes, in memory.
template <typename Derived>
std::vector<std::uint8_t> serialize(const BbsBase<Derived>& A) {
  using T = typename Derived::Scalar;
  const CsbView<T> v = A.derived().view();
  v.validate();
  std::vector<std::uint8_t> bytes;
  detail::csb_file::write_bytes(v, [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  });
  return bytes;
}

/// Writes A (a BbsMatrix or a BbsMap) to `path` atomically: into a temporary file in the same
/// directory, flushed and fsync'ed, then renamed over `path`. Throws format_error if A breaks a
/// CSB invariant (nothing is written) and file_error, naming the step and the system's reason,
/// if writing fails; no temporary file remains after a failure.
template <typename Derived>
void save(const BbsBase<Derived>& A, const std::string& path) {
  using T = typename Derived::Scalar;
  const CsbView<T> v = A.derived().view();
  v.validate();
  detail::AtomicFile out(path, "bbs::save");
  detail::csb_file::write_bytes(v, [&](const void* p, std::size_t n) { out.write(p, n); });
  out.commit();
}

/// Parses a CSB file held in memory (the whole file, exactly `size` bytes). Throws file_error
/// for every defect, including CSB invariant violations (their format_error text is kept in the
/// message). Never reads outside [data, data + size) and allocates at most about `size` bytes.
template <typename T>
BbsMatrix<T> load_from_memory(const void* data, std::size_t size) {
  return detail::csb_file::parse<T>(static_cast<const unsigned char*>(data), size, "bbs::load_from_memory");
}

/// Reads the CSB file at `path` as a BbsMatrix<T>. Throws file_error if the file is missing or
/// unreadable, holds another value type, or is truncated, corrupt or inconsistent in any way.
template <typename T>
BbsMatrix<T> load(const std::string& path) {
  const std::string source = "bbs::load: " + path;
  const std::vector<unsigned char> bytes = detail::read_file(path, std::numeric_limits<std::uint64_t>::max(), source);
  return detail::csb_file::parse<T>(bytes.data(), bytes.size(), source);
}

/// Reads and checks only the 64-byte header of a CSB file (shape, bank configuration, value
/// type, index width). Does not check the value type code against known types, the file size
/// or the checksum; load() does. Throws file_error as load() does for a bad header.
inline FileHeader read_header_from_memory(const void* data, std::size_t size) {
  return detail::csb_file::parse_header(static_cast<const unsigned char*>(data), size, "bbs::read_header_from_memory");
}
inline FileHeader read_header(const std::string& path) {
  const std::string source = "bbs::read_header: " + path;
  const std::vector<unsigned char> bytes = detail::read_file(path, detail::csb_file::header_bytes, source);
  return detail::csb_file::parse_header(bytes.data(), bytes.size(), source);
}

}  // namespace bbs
