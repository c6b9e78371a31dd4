// Host-side packing: a CSB matrix into the device layout of backends/fpga/hw/device_layout.hpp
// (the header word, then one 512-bit word per row, bank group and slot), and x / y to and from
// the raw arrays the kernel reads. Packing happens once per matrix; only x and y move per call.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "fpga/hw/device_layout.hpp"
#include "fpga/hw/kernel_config.hpp"
#include "bbs/core/error.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/core/value_traits.hpp"
#include "bbs/storage/csb_view.hpp"

namespace bbs {
namespace fpga_runtime {

namespace layout = bbs::fpga_hw;

/// What one kernel instantiation accepts: its value kind, PEs (lanes) and x entries per PE.
struct KernelLimits {
  layout::value_kind kind;
  int lanes;
  int depth;
  const char* kernel_name;
};

/// Whether the fpga backend has a kernel for matrices of T: float and fixed16<F>.
template <typename T>
constexpr bool has_device_kernel = std::is_same<T, float>::value || is_fixed16<T>::value;

/// The shipped kernel for matrices of T (backends/fpga/hw/kernel_config.hpp).
template <typename T>
constexpr KernelLimits kernel_limits_for() {
  static_assert(has_device_kernel<T>,
                "bbs::backend::fpga has kernels for float and fixed16<F> matrices only; quantize the matrix first");
  if constexpr (std::is_same<T, float>::value) {
    return {layout::value_float32, fpga_hw::float_lanes, fpga_hw::float_depth, fpga_hw::float_kernel_name};
  } else {
    return {layout::value_fixed16, fpga_hw::fixed16_lanes, fpga_hw::fixed16_depth, fpga_hw::fixed16_kernel_name};
  }
}

/// The raw bits a lane stores for one value.
template <typename T>
std::uint32_t device_bits(T v) {
  if constexpr (std::is_same<T, float>::value) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return bits;
  } else {
    return static_cast<std::uint16_t>(v.raw());
  }
}

/// A matrix in device layout plus the shape facts the host needs for transfers.
struct PackedMatrix {
  std::vector<layout::wide_word> words;
  index rows = 0;
  index cols = 0;
  std::size_t bytes() const { return words.size() * sizeof(layout::wide_word); }
};

/// Throws device_error unless a kernel with `limits` can hold a rows x cols matrix with cfg's
/// banks: every PE's x buffer must hold its bank groups (groups * bank_size <= depth).
inline void check_fits_kernel(index rows, index cols, const BankConfig& cfg, const KernelLimits& limits) {
  const index banks = cfg.num_banks(cols);
  const index groups = (banks + limits.lanes - 1) / limits.lanes;
  const index depth = groups * cfg.bank_size;
  if (depth > limits.depth) {
    const index max_cols = (limits.depth / cfg.bank_size) * limits.lanes * cfg.bank_size;
    detail::throw_error<device_error>("fpga: a ", rows, " x ", cols, " matrix with bank_size ", cfg.bank_size,
                                      " is too large for kernel ", limits.kernel_name, ": its ", banks, " banks need ",
                                      depth, " x entries per PE (", groups, " groups of ", limits.lanes,
                                      " banks), the kernel holds ", limits.depth, " per PE (at most ", max_cols,
                                      " columns at this bank size)");
  }
  if (rows > static_cast<index>(std::numeric_limits<std::int32_t>::max())) {
    detail::throw_error<device_error>("fpga: ", rows, " rows exceed the kernel's 32-bit row counter");
  }
}

/// Packs a (validated) CSB matrix for a kernel with `limits`. Throws format_error on broken CSB
/// arrays and device_error when the matrix does not fit the kernel.
template <typename T>
PackedMatrix pack_matrix(const CsbView<T>& a, const KernelLimits& limits) {
  a.validate();
  check_fits_kernel(a.rows, a.cols, a.config, limits);
  const index banks = a.num_banks();
  const index bs = a.bank_size();
  const index k = a.nnz_per_bank();
  const std::uint32_t groups = static_cast<std::uint32_t>((banks + limits.lanes - 1) / limits.lanes);
  const std::uint32_t words_per_row = groups * static_cast<std::uint32_t>(k);

  PackedMatrix p;
  p.rows = a.rows;
  p.cols = a.cols;
  p.words.assign(layout::packed_words(static_cast<std::uint64_t>(a.rows), words_per_row), layout::wide_word{});
  layout::wide_word& h = p.words[0];
  layout::header_set(h, layout::field_magic, layout::magic);
  layout::header_set(h, layout::field_version, layout::version);
  layout::header_set(h, layout::field_value_kind, limits.kind);
  layout::header_set(h, layout::field_lanes, static_cast<std::uint32_t>(limits.lanes));
  layout::header_set(h, layout::field_x_depth, groups * static_cast<std::uint32_t>(bs));
  layout::header_set(h, layout::field_rows, static_cast<std::uint32_t>(a.rows));
  layout::header_set(h, layout::field_cols, static_cast<std::uint32_t>(a.cols));
  layout::header_set(h, layout::field_bank_size, static_cast<std::uint32_t>(bs));
  layout::header_set(h, layout::field_groups, groups);
  layout::header_set(h, layout::field_slots, static_cast<std::uint32_t>(k));
  layout::header_set(h, layout::field_words_per_row, words_per_row);
  std::uint32_t frac_bits = 0;
  if constexpr (is_fixed16<T>::value) frac_bits = T::frac_bits;
  layout::header_set(h, layout::field_frac_bits, frac_bits);

  const int vbits = layout::value_bits(limits.kind);
  a.with_indices([&](auto idx) {
    for (index r = 0; r < a.rows; ++r) {
      for (std::uint32_t g = 0; g < groups; ++g) {
        for (index s = 0; s < k; ++s) {
          layout::wide_word& w =
              p.words[layout::entry_word(static_cast<std::uint64_t>(r), words_per_row, g, static_cast<std::uint32_t>(k),
                                         static_cast<std::uint32_t>(s))];
          for (int lane = 0; lane < limits.lanes; ++lane) {
            const index b = index(g) * limits.lanes + lane;
            std::uint32_t address = layout::padding_address;
            std::uint32_t bits = 0;
            if (b < banks) {
              const index e = a.entry(r, s, b);
              const index in_bank = idx[e];
              if (b * bs + in_bank < a.cols) {
                address = static_cast<std::uint32_t>(g * bs + in_bank);
                bits = device_bits(a.values[e]);
              }
            }
            layout::set_field(w, layout::value_lsb(limits.kind, lane), vbits, bits);
            layout::set_field(w, layout::address_lsb(lane), layout::index_bits, address);
          }
        }
      }
    }
  });
  return p;
}

/// The raw element the kernel reads for an x or y entry: int16 for fixed16, float for float.
template <typename T>
using device_element_t = std::conditional_t<std::is_same<T, float>::value, float, std::int16_t>;

/// Converts n activations to the kernel's raw elements.
template <typename T>
void to_device_elements(const activation_t<T>* src, index n, device_element_t<T>* dst) {
  for (index i = 0; i < n; ++i) {
    if constexpr (std::is_same<T, float>::value) {
      dst[i] = src[i];
    } else {
      dst[i] = src[i].raw();
    }
  }
}

/// Converts n raw kernel elements back to activations.
template <typename T>
void from_device_elements(const device_element_t<T>* src, index n, activation_t<T>* dst) {
  for (index i = 0; i < n; ++i) {
    if constexpr (std::is_same<T, float>::value) {
      dst[i] = src[i];
    } else {
      dst[i] = activation_t<T>::from_raw(src[i]);
    }
  }
}

}  // namespace fpga_runtime
}  // namespace bbs
