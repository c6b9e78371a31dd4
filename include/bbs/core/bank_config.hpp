// BankConfig: how every row is cut into banks and how many entries each bank keeps.
#pragma once

#include <cmath>
#include <cstdint>

#include "bbs/core/config.hpp"
#include "bbs/core/error.hpp"

namespace bbs {

/// Width of the stored in-bank indices: as narrow as the bank allows.
enum class IndexWidth : std::uint8_t { u8 = 1, u16 = 2 };

/// Largest bank a 16-bit in-bank index can address.
inline constexpr index max_bank_size = 65536;

/// Bank configuration of a bank-balanced sparse matrix.
///
/// Every row is cut into banks of `bank_size` consecutive columns and every bank keeps exactly
/// `nnz_per_bank` entries. When the column count is not a multiple of bank_size, the last bank
/// is implicitly zero-padded to bank_size columns (see docs/CSB_FORMAT.md).
struct BankConfig {
  index bank_size = 1;
  index nnz_per_bank = 1;

  BankConfig() = default;

  /// Throws config_error unless 1 <= bank_size <= 65536 and 0 <= nnz_per_bank <= bank_size.
  BankConfig(index bank_size_, index nnz_per_bank_) : bank_size(bank_size_), nnz_per_bank(nnz_per_bank_) { validate(); }

  /// Builds the configuration that keeps a fraction (1 - sparsity) of every bank.
  ///
  /// Rounding rule: nnz_per_bank = round(bank_size * (1 - sparsity)) to the nearest integer,
  /// halves rounded up (towards keeping more), and never below 1 unless sparsity is exactly 1.
  /// Examples: (64, 0.875) -> 8; (16, 0.9) -> 2 (1.6 rounds up); (10, 0.95) -> 1 (0.5 rounds up);
  /// (16, 0.99) -> 1 (0.16 would round to 0). Throws config_error for sparsity outside [0, 1].
  static BankConfig from_sparsity(index bank_size, double sparsity) {
    if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
      detail::throw_error<config_error>("BankConfig::from_sparsity: sparsity must be in [0, 1], got ", sparsity);
    }
    check_bank_size(bank_size);
    if (sparsity == 1.0) return BankConfig(bank_size, 0);
    // The 1e-9 absorbs binary representation error, so 0.875 of 64 is exactly 8 and 2.5 rounds to 3.
    const double kept = static_cast<double>(bank_size) * (1.0 - sparsity);
    index k = static_cast<index>(std::floor(kept + 0.5 + 1e-9));
    if (k < 1) k = 1;
    if (k > bank_size) k = bank_size;
    return BankConfig(bank_size, k);
  }

  /// Fraction of each bank that is kept (nnz_per_bank / bank_size).
  double density() const { return static_cast<double>(nnz_per_bank) / static_cast<double>(bank_size); }
  /// Nominal sparsity, 1 - density(). With a zero-padded last bank the true sparsity is slightly lower.
  double sparsity() const { return 1.0 - density(); }

  IndexWidth index_width() const { return bank_size <= 256 ? IndexWidth::u8 : IndexWidth::u16; }

  /// Number of banks per row for a matrix with `cols` columns (the last one may be partial).
  index num_banks(index cols) const { return cols / bank_size + (cols % bank_size != 0 ? 1 : 0); }

  void validate() const {
    check_bank_size(bank_size);
    if (nnz_per_bank < 0 || nnz_per_bank > bank_size) {
      detail::throw_error<config_error>("BankConfig: nnz_per_bank must be in [0, bank_size = ", bank_size, "], got ",
                                        nnz_per_bank);
    }
  }

  friend bool operator==(const BankConfig& a, const BankConfig& b) {
    return a.bank_size == b.bank_size && a.nnz_per_bank == b.nnz_per_bank;
  }
  friend bool operator!=(const BankConfig& a, const BankConfig& b) { return !(a == b); }

 private:
  static void check_bank_size(index bank_size) {
    if (bank_size < 1 || bank_size > max_bank_size) {
      detail::throw_error<config_error>("BankConfig: bank_size must be in [1, ", max_bank_size, "], got ", bank_size);
    }
  }
};

}  // namespace bbs
