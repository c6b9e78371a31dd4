// Tests for BankConfig: validation, the from_sparsity rounding rule, bank counts.
#include <limits>

#include "testbed.hpp"

using bbs::BankConfig;

TEST_CASE("BankConfig validates bank size and nnz_per_bank", "[core][bank_config]") {
  CHECK_NOTHROW(BankConfig(1, 0));
  CHECK_NOTHROW(BankConfig(65536, 65536));
  CHECK_THROWS_AS(BankConfig(0, 0), bbs::config_error);
  CHECK_THROWS_AS(BankConfig(65537, 1), bbs::config_error);
  CHECK_THROWS_AS(BankConfig(8, 9), bbs::config_error);
  CHECK_THROWS_AS(BankConfig(8, -1), bbs::config_error);
  CHECK_THROWS_WITH(BankConfig(8, 9), Catch::Contains("nnz_per_bank") && Catch::Contains("got 9"));
}

TEST_CASE("BankConfig::from_sparsity rounds to nearest, halves up, never to zero", "[core][bank_config]") {
  CHECK(BankConfig::from_sparsity(64, 0.875).nnz_per_bank == 8);
  CHECK(BankConfig::from_sparsity(64, 0.9375).nnz_per_bank == 4);
  CHECK(BankConfig::from_sparsity(64, 0.5).nnz_per_bank == 32);
  CHECK(BankConfig::from_sparsity(16, 0.9).nnz_per_bank == 2);   // 1.6
  CHECK(BankConfig::from_sparsity(10, 0.95).nnz_per_bank == 1);  // 0.5, half rounds up
  CHECK(BankConfig::from_sparsity(5, 0.5).nnz_per_bank == 3);    // 2.5, half rounds up
  CHECK(BankConfig::from_sparsity(10, 0.86).nnz_per_bank == 1);  // 1.4
  CHECK(BankConfig::from_sparsity(16, 0.99).nnz_per_bank == 1);  // 0.16, but never zero below sparsity 1
  CHECK(BankConfig::from_sparsity(16, 1.0).nnz_per_bank == 0);
  CHECK(BankConfig::from_sparsity(16, 0.0).nnz_per_bank == 16);
  CHECK_THROWS_AS(BankConfig::from_sparsity(16, 1.5), bbs::config_error);
  CHECK_THROWS_AS(BankConfig::from_sparsity(16, -0.1), bbs::config_error);
  CHECK_THROWS_AS(BankConfig::from_sparsity(16, std::nan("")), bbs::config_error);
  CHECK_THROWS_AS(BankConfig::from_sparsity(0, 0.5), bbs::config_error);
}

TEST_CASE("BankConfig reports banks, density and index width", "[core][bank_config]") {
  const BankConfig cfg(64, 8);
  CHECK(cfg.num_banks(1000) == 16);
  CHECK(cfg.num_banks(1024) == 16);
  CHECK(cfg.num_banks(1025) == 17);
  CHECK(cfg.num_banks(0) == 0);
  const bbs::index max = std::numeric_limits<bbs::index>::max();
  CHECK(BankConfig(4, 1).num_banks(max) == max / 4 + 1);  // no overflow at the top of the range
  CHECK(cfg.density() == Approx(0.125));
  CHECK(cfg.sparsity() == Approx(0.875));
  CHECK(cfg.index_width() == bbs::IndexWidth::u8);
  CHECK(BankConfig(256, 1).index_width() == bbs::IndexWidth::u8);
  CHECK(BankConfig(257, 1).index_width() == bbs::IndexWidth::u16);
}
