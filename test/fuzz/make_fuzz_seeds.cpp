// Writes a few valid CSB files into the directory given as argv[1], as the fuzzer's seed corpus:
// both value types, both index widths, partial banks, empty shapes.
#include <cstdio>
#include <string>

#include <bbs/bbs.hpp>

namespace {

/// A matrix with the canonical pattern of BbsMatrix(rows, cols, cfg) and distinct nonzero values
/// on every real (non-padding) entry, so the seeds cover the value bytes too.
template <typename T>
bbs::BbsMatrix<T> sample(bbs::index rows, bbs::index cols, const bbs::BankConfig& cfg) {
  bbs::BbsMatrix<T> m(rows, cols, cfg);
  const bbs::index nb = cfg.num_banks(cols);
  const bbs::index k = cfg.nnz_per_bank;
  for (bbs::index e = 0; e < m.storedEntries(); ++e) {
    const bbs::index bank = (e % (nb * k)) % nb;
    const bbs::index slot = (e % (nb * k)) / nb;
    if (bank * cfg.bank_size + slot < cols) m.valueData()[e] = static_cast<T>(0.25 * static_cast<double>(e + 1));
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIRECTORY\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    bbs::save(sample<float>(3, 9, bbs::BankConfig(4, 2)), dir + "/float_u8_partial.bbs");
    bbs::save(sample<double>(2, 16, bbs::BankConfig(8, 3)), dir + "/double_u8.bbs");
    bbs::save(sample<float>(2, 301, bbs::BankConfig(300, 2)), dir + "/float_u16_partial.bbs");
    bbs::save(sample<double>(1, 600, bbs::BankConfig(512, 1)), dir + "/double_u16.bbs");
    bbs::save(sample<float>(1, 3, bbs::BankConfig(4, 3)), dir + "/float_value_padding.bbs");
    bbs::save(sample<float>(0, 0, bbs::BankConfig(1, 1)), dir + "/float_empty.bbs");
    bbs::save(sample<double>(4, 5, bbs::BankConfig(2, 0)), dir + "/double_k0.bbs");
    bbs::save(sample<bbs::fixed16<12>>(3, 9, bbs::BankConfig(4, 2)), dir + "/fixed16_12_u8_partial.bbs");
    bbs::save(sample<Eigen::half>(2, 301, bbs::BankConfig(300, 2)), dir + "/half_u16_partial.bbs");
  } catch (const bbs::error& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
