// Uncompressed ZIP archives: the container of numpy.savez's .npz files and of bbs model files
// (docs/MODEL_FORMAT.md). zip_entries() lists and verifies the entries of an archive held in
// memory (every entry stored, CRC-32 checked, ZIP64 records accepted); ZipWriter builds one in
// memory and writes it atomically. No compression: weights barely compress, and a stored entry
// can be read in place.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bbs/core/error.hpp"
#include "bbs/io/checksum.hpp"
#include "bbs/io/files.hpp"

namespace bbs {
namespace detail {
namespace zip {

using detail::read_le;

/// One verified entry: its name and where its bytes lie in the archive.
struct Entry {
  std::string name;
  std::size_t offset = 0;
  std::size_t size = 0;
  std::string source;  ///< "<archive> [<name>]", for messages about the entry's content
};

/// The entries of an archive in central-directory order. Throws file_error for anything that is
/// not a well-formed archive of stored entries whose CRC-32 matches.
inline std::vector<Entry> entries(const unsigned char* p, std::size_t size, const std::string& source) {
  // End of central directory: 22 bytes plus a comment of up to 65535, at the very end.
  constexpr std::size_t eocd_size = 22;
  if (size < eocd_size) throw_error<file_error>(source, ": not a ZIP archive (too short)");
  std::size_t eocd = size - eocd_size + 1;
  const std::size_t lowest = size > eocd_size + 65535 ? size - eocd_size - 65535 : 0;
  do {
    --eocd;
    if (read_le<std::uint32_t>(p + eocd) == 0x06054b50u) break;
  } while (eocd > lowest);
  if (read_le<std::uint32_t>(p + eocd) != 0x06054b50u) {
    throw_error<file_error>(source, ": not a ZIP archive (no end-of-central-directory record)");
  }
  std::uint64_t count = read_le<std::uint16_t>(p + eocd + 10);
  std::uint64_t dir_at = read_le<std::uint32_t>(p + eocd + 16);
  // ZIP64: the real counts live in the ZIP64 end-of-central-directory record.
  if ((count == 0xFFFF || dir_at == 0xFFFFFFFFu) && eocd >= 20 &&
      read_le<std::uint32_t>(p + eocd - 20) == 0x07064b50u) {
    const std::uint64_t z64 = read_le<std::uint64_t>(p + eocd - 20 + 8);
    if (z64 > size || size - z64 < 56 || read_le<std::uint32_t>(p + z64) != 0x06064b50u) {
      throw_error<file_error>(source, ": broken ZIP64 end-of-central-directory record");
    }
    count = read_le<std::uint64_t>(p + z64 + 32);
    dir_at = read_le<std::uint64_t>(p + z64 + 48);
  }
  std::vector<Entry> out;
  std::uint64_t at = dir_at;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (at > size || size - at < 46 || read_le<std::uint32_t>(p + at) != 0x02014b50u) {
      throw_error<file_error>(source, ": broken ZIP central directory (entry ", i, ")");
    }
    const unsigned method = read_le<std::uint16_t>(p + at + 10);
    const std::uint32_t crc = read_le<std::uint32_t>(p + at + 16);
    std::uint64_t compressed = read_le<std::uint32_t>(p + at + 20);
    std::uint64_t uncompressed = read_le<std::uint32_t>(p + at + 24);
    const std::size_t name_len = read_le<std::uint16_t>(p + at + 28);
    const std::size_t extra_len = read_le<std::uint16_t>(p + at + 30);
    const std::size_t comment_len = read_le<std::uint16_t>(p + at + 32);
    std::uint64_t local = read_le<std::uint32_t>(p + at + 42);
    if (size - at - 46 < name_len + extra_len + comment_len) {
      throw_error<file_error>(source, ": broken ZIP central directory (entry ", i, " runs past the end)");
    }
    Entry e;
    e.name.assign(reinterpret_cast<const char*>(p + at + 46), name_len);
    // ZIP64 extended information: 8-byte fields for the 32-bit ones that hold 0xFFFFFFFF, in order.
    for (std::size_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
      const unsigned id = read_le<std::uint16_t>(p + x);
      const std::size_t len = read_le<std::uint16_t>(p + x + 2);
      if (x + 4 + len > at + 46 + name_len + extra_len) break;
      if (id == 0x0001) {
        std::size_t f = x + 4;
        const auto take = [&](std::uint64_t& v) {
          if (v == 0xFFFFFFFFu && f + 8 <= x + 4 + len) {
            v = read_le<std::uint64_t>(p + f);
            f += 8;
          }
        };
        take(uncompressed);
        take(compressed);
        take(local);
      }
      x += 4 + len;
    }
    at += 46 + name_len + extra_len + comment_len;
    e.source = source + " [" + e.name + "]";
    if (method != 0) {
      throw_error<file_error>(e.source, ": the entry is compressed (ZIP method ", method,
                              "); bbs reads uncompressed archives (numpy.savez, not numpy.savez_compressed)");
    }
    if (local > size || size - local < 30 || read_le<std::uint32_t>(p + local) != 0x04034b50u) {
      throw_error<file_error>(e.source, ": broken ZIP local header");
    }
    const std::uint64_t start =
        local + 30 + read_le<std::uint16_t>(p + local + 26) + read_le<std::uint16_t>(p + local + 28);
    if (compressed != uncompressed || start > size || size - start < compressed) {
      throw_error<file_error>(e.source, ": truncated (", compressed, " data bytes expected)");
    }
    if (crc32(p + start, static_cast<std::size_t>(compressed)) != crc) {
      throw_error<file_error>(e.source, ": CRC-32 mismatch: the data is corrupt");
    }
    e.offset = static_cast<std::size_t>(start);
    e.size = static_cast<std::size_t>(compressed);
    out.push_back(std::move(e));
  }
  return out;
}

/// Builds an archive of stored entries in memory; write() saves it atomically (AtomicFile).
/// Timestamps are fixed (1980-01-01 00:00), so the same entries give the same bytes.
class Writer {
 public:
  explicit Writer(std::string who) : who_(std::move(who)) {}

  void add(const std::string& name, const void* data, std::size_t n) {
    if (name.empty() || name.size() > 0xFFFF)
      throw_error<config_error>(who_, ": bad archive entry name \"", name, "\"");
    if (n >= 0xFFFFFFFFu || bytes_.size() + n + 30 + name.size() >= 0xFFFFFFFFu) {
      throw_error<config_error>(who_, ": entry \"", name, "\" would make the archive 4 GiB or larger");
    }
    for (const auto& c : central_) {
      if (c.name == name) throw_error<config_error>(who_, ": entry \"", name, "\" added twice");
    }
    const auto* d = static_cast<const unsigned char*>(data);
    Central c{name, crc32(d, n), static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(bytes_.size())};
    put32(0x04034b50u);
    put16(20);    // version needed: 2.0
    put16(0);     // flags
    put16(0);     // method: stored
    put16(0);     // time 00:00
    put16(0x21);  // date 1980-01-01
    put32(c.crc);
    put32(c.size);
    put32(c.size);
    put16(static_cast<std::uint16_t>(name.size()));
    put16(0);  // extra field
    bytes_.insert(bytes_.end(), name.begin(), name.end());
    bytes_.insert(bytes_.end(), d, d + n);
    central_.push_back(std::move(c));
  }
  void add(const std::string& name, const std::vector<unsigned char>& data) { add(name, data.data(), data.size()); }
  void add(const std::string& name, const std::string& text) { add(name, text.data(), text.size()); }

  /// The whole archive: entries, central directory, end record.
  std::vector<unsigned char> finish() {
    if (central_.size() >= 0xFFFF) throw_error<config_error>(who_, ": ", central_.size(), " entries; at most 65534");
    const std::size_t dir_at = bytes_.size();
    for (const auto& c : central_) {
      put32(0x02014b50u);
      put16(20);  // made by: 2.0
      put16(20);  // needed: 2.0
      put16(0);
      put16(0);
      put16(0);
      put16(0x21);
      put32(c.crc);
      put32(c.size);
      put32(c.size);
      put16(static_cast<std::uint16_t>(c.name.size()));
      put16(0);  // extra
      put16(0);  // comment
      put16(0);  // disk
      put16(0);  // internal attributes
      put32(0);  // external attributes
      put32(c.local);
      bytes_.insert(bytes_.end(), c.name.begin(), c.name.end());
    }
    const std::size_t dir_size = bytes_.size() - dir_at;
    if (bytes_.size() + 22 >= 0xFFFFFFFFu) throw_error<config_error>(who_, ": the archive would be 4 GiB or larger");
    put32(0x06054b50u);
    put16(0);
    put16(0);
    put16(static_cast<std::uint16_t>(central_.size()));
    put16(static_cast<std::uint16_t>(central_.size()));
    put32(static_cast<std::uint32_t>(dir_size));
    put32(static_cast<std::uint32_t>(dir_at));
    put16(0);  // comment
    return std::move(bytes_);
  }

  /// Writes the archive to path atomically: the destination holds its old content or all of this.
  void write(const std::string& path) {
    const std::vector<unsigned char> bytes = finish();
    AtomicFile out(path, who_);
    out.write(bytes.data(), bytes.size());
    out.commit();
  }

 private:
  struct Central {
    std::string name;
    std::uint32_t crc;
    std::uint32_t size;
    std::uint32_t local;
  };
  void put16(std::uint16_t v) {
    bytes_.push_back(static_cast<unsigned char>(v & 0xFF));
    bytes_.push_back(static_cast<unsigned char>(v >> 8));
  }
  void put32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xFF));
  }

  std::string who_;
  std::vector<unsigned char> bytes_;
  std::vector<Central> central_;
};

}  // namespace zip
}  // namespace detail
}  // namespace bbs
