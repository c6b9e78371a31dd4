// The device data layout: the one header the FPGA kernel and the host share. It defines the
// 512-bit word, the header word that describes a packed matrix, where each (value, index) pair
// sits inside a word, and how columns map onto the PEs' x banks. C++14, <cstdint> only, so Vitis
// HLS compiles it; the host packer (include/bbs/backend/fpga/pack.hpp) writes exactly this.
//
// A packed matrix is an array of 512-bit words:
//   word 0            the header: header_fields little-endian uint32 (magic, version, shape, ...).
//   word 1 + r * words_per_row + g * slots + s
//                     row r, bank group g, slot s: lane p (PE p) holds the slot-s entry of matrix
//                     bank g * lanes + p. Values fill bits [p * value_bits, (p + 1) * value_bits),
//                     in-bank x-buffer addresses bits [index_base + 16 p, index_base + 16 p + 16).
// A bank group is `lanes` consecutive matrix banks, one per PE; a matrix with more banks than PEs
// runs its groups one after another, and PE p's x buffer holds banks p, p + lanes, p + 2 lanes, ...
// back to back: column b * bank_size + i lives in PE b % lanes at address (b / lanes) * bank_size + i.
// A lane whose address is padding_address (a bank past the matrix, or a padding column past
// cols) contributes nothing, so x past cols is never read and 0 * inf never appears.
#pragma once

#include <cstdint>

#ifdef __SYNTHESIS__
#include <ap_int.h>
#endif

namespace bbs {
namespace fpga_hw {

constexpr int word_bits = 512;
constexpr int word_bytes = word_bits / 8;
/// Values occupy the low half of a word, x-buffer addresses the high half.
constexpr int index_base = 256;
constexpr int index_bits = 16;
/// The address of a lane that holds no entry; a kernel's x buffer is never this deep.
constexpr std::uint32_t padding_address = 0xFFFF;

/// Value types a kernel computes in. Stored in the header so a kernel refuses a matrix packed
/// for the other one.
enum value_kind : std::uint32_t { value_fixed16 = 1, value_float32 = 2 };

constexpr int value_bits(value_kind k) { return k == value_fixed16 ? 16 : 32; }
/// Most PEs one word can feed: 16 for fixed16, 8 for float (values fill index_base bits).
constexpr int max_lanes(value_kind k) { return index_base / value_bits(k); }

constexpr std::uint32_t magic = 0x46534242u;  // "BBSF" little-endian
constexpr std::uint32_t version = 1;

/// The uint32 fields of header word 0, in order.
enum header_field : int {
  field_magic = 0,
  field_version,
  field_value_kind,
  field_lanes,    // PEs the matrix was packed for: must equal the kernel's t_Lanes
  field_x_depth,  // x-buffer entries per PE the matrix needs: groups * bank_size
  field_rows,
  field_cols,
  field_bank_size,
  field_groups,         // bank groups per row: ceil(num_banks / lanes)
  field_slots,          // entries per bank (nnz_per_bank)
  field_words_per_row,  // groups * slots
  field_frac_bits,      // fixed16 only: F of Q(15-F).F for A, x and y
  header_field_count
};

/// Words of a packed rows-row matrix: the header plus rows * words_per_row entry words.
constexpr std::uint64_t packed_words(std::uint64_t rows, std::uint64_t words_per_row) {
  return 1 + rows * words_per_row;
}

/// Entry word of (row, group, slot), counted from the start of the packed array.
constexpr std::uint64_t entry_word(std::uint64_t row, std::uint32_t words_per_row, std::uint32_t group,
                                   std::uint32_t slots, std::uint32_t slot) {
  return 1 + row * words_per_row + std::uint64_t(group) * slots + slot;
}

constexpr int value_lsb(value_kind k, int lane) { return lane * value_bits(k); }
constexpr int address_lsb(int lane) { return index_base + lane * index_bits; }

// The 512-bit word. Under Vitis HLS an ap_uint<512>, so an AXI master port moves one word per
// beat; in C simulation and on the host eight little-endian uint64, the same 64 bytes. A field is
// 16 or 32 bits at a multiple of its width, so it never straddles two uint64.
#ifdef __SYNTHESIS__
typedef ap_uint<word_bits> wide_word;

inline std::uint32_t get_field(const wide_word& w, int lsb, int width) {
  return static_cast<std::uint32_t>(w.range(lsb + width - 1, lsb));
}
inline void set_field(wide_word& w, int lsb, int width, std::uint32_t v) { w.range(lsb + width - 1, lsb) = v; }
#else
struct wide_word {
  std::uint64_t part[word_bits / 64];
};
static_assert(sizeof(wide_word) == word_bytes, "wide_word must be exactly 64 bytes");

inline std::uint32_t get_field(const wide_word& w, int lsb, int width) {
  const std::uint64_t mask = (std::uint64_t(1) << width) - 1;
  return static_cast<std::uint32_t>((w.part[lsb / 64] >> (lsb % 64)) & mask);
}
inline void set_field(wide_word& w, int lsb, int width, std::uint32_t v) {
  const std::uint64_t mask = ((std::uint64_t(1) << width) - 1) << (lsb % 64);
  w.part[lsb / 64] = (w.part[lsb / 64] & ~mask) | ((std::uint64_t(v) << (lsb % 64)) & mask);
}
#endif

inline std::uint32_t header_get(const wide_word& w, header_field f) { return get_field(w, 32 * f, 32); }
inline void header_set(wide_word& w, header_field f, std::uint32_t v) { set_field(w, 32 * f, 32, v); }

}  // namespace fpga_hw
}  // namespace bbs
