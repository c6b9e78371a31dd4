// CRC-32 for the CSB file checksum: the zlib / IEEE 802.3 CRC (reflected polynomial 0xEDB88320,
// initial and final inversion), so Python's zlib.crc32 and `crc32` tools reproduce a file's checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bbs {

/// The reflected CRC-32 polynomial of zlib, gzip, PNG and Ethernet.
inline constexpr std::uint32_t crc32_polynomial = 0xEDB88320u;

namespace detail {

/// Slicing-by-8 tables: t[0] is the classic byte-at-a-time table and t[j][b] is the CRC of byte b
/// followed by j zero bytes, so eight independent look-ups consume eight bytes per step instead of
/// a chain of eight dependent ones (about 4x faster than byte-at-a-time on the files' payloads).
struct Crc32Tables {
  std::uint32_t t[8][256];
};

constexpr Crc32Tables make_crc32_tables() {
  Crc32Tables tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) != 0 ? (c >> 1) ^ crc32_polynomial : c >> 1;
    tables.t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (int j = 1; j < 8; ++j) {
      const std::uint32_t previous = tables.t[j - 1][i];
      tables.t[j][i] = (previous >> 8) ^ tables.t[0][previous & 0xFFu];
    }
  }
  return tables;
}

// Built at compile time: no static initialisation order or thread-safety questions.
inline constexpr Crc32Tables crc32_tables = make_crc32_tables();

}  // namespace detail

/// Extends `crc`, the CRC-32 of the bytes seen so far (0 before any), by n more bytes and returns
/// the CRC-32 of all of them. Same convention as zlib's crc32(crc, buf, len): feeding a buffer in
/// pieces gives the same result as feeding it at once.
inline std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  const auto& t = detail::crc32_tables.t;
  std::uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    // memcpy: the buffer has no alignment guarantee; the host is little-endian (core/config.hpp),
    // which is the byte order the reflected tables expect.
    std::uint32_t lo = 0;
    std::uint32_t hi = 0;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^ t[3][hi & 0xFFu] ^
        t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) c = (c >> 8) ^ t[0][(c ^ *p) & 0xFFu];
  return ~c;
}

/// CRC-32 of n bytes; crc32("123456789", 9) == 0xCBF43926.
inline std::uint32_t crc32(const void* data, std::size_t n) { return crc32_update(0, data, n); }

}  // namespace bbs
