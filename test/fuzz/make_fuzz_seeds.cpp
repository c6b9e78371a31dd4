// Writes the fuzz targets' seed corpora:
//   make_fuzz_seeds csb DIR              a few valid CSB files (fuzz_csb_load): every value type
//                                        family, both index widths, partial banks, empty shapes;
//   make_fuzz_seeds bundle DIR FILE...   each ZIP archive FILE (.npz, .bbsm) as a bundle of its
//                                        entries (fuzz_archive.hpp), DIR/<name of FILE>.bundle;
//   make_fuzz_seeds state_dict DIR       small LSTM and GRU state_dicts as bundles (fuzz_state_dict);
//   make_fuzz_seeds value_type DIR       --type spellings (fuzz_value_type).
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <bbs/bbs.hpp>

#include "fuzz_archive.hpp"

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

void write_file(const std::string& path, const std::string& bytes) {
  bbs::detail::AtomicFile out(path, "make_fuzz_seeds");
  out.write(bytes.data(), bytes.size());
  out.commit();
}

void csb_seeds(const std::string& dir) {
  bbs::save(sample<float>(3, 9, bbs::BankConfig(4, 2)), dir + "/float_u8_partial.bbs");
  bbs::save(sample<double>(2, 16, bbs::BankConfig(8, 3)), dir + "/double_u8.bbs");
  bbs::save(sample<float>(2, 301, bbs::BankConfig(300, 2)), dir + "/float_u16_partial.bbs");
  bbs::save(sample<double>(1, 600, bbs::BankConfig(512, 1)), dir + "/double_u16.bbs");
  bbs::save(sample<float>(1, 3, bbs::BankConfig(4, 3)), dir + "/float_value_padding.bbs");
  bbs::save(sample<float>(0, 0, bbs::BankConfig(1, 1)), dir + "/float_empty.bbs");
  bbs::save(sample<double>(4, 5, bbs::BankConfig(2, 0)), dir + "/double_k0.bbs");
  bbs::save(sample<bbs::fixed16<12>>(3, 9, bbs::BankConfig(4, 2)), dir + "/fixed16_12_u8_partial.bbs");
  bbs::save(sample<Eigen::half>(2, 301, bbs::BankConfig(300, 2)), dir + "/half_u16_partial.bbs");
}

void bundle_seed(const std::string& dir, const std::string& archive) {
  const std::vector<unsigned char> bytes =
      bbs::detail::read_file(archive, std::numeric_limits<std::uint64_t>::max(), "make_fuzz_seeds: " + archive);
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& e : bbs::detail::zip::entries(bytes.data(), bytes.size(), archive)) {
    entries.emplace_back(e.name, std::string(reinterpret_cast<const char*>(bytes.data() + e.offset), e.size));
  }
  write_file(dir + "/" + archive.substr(archive.find_last_of('/') + 1) + ".bundle", bbs_fuzz::bundle_bytes(entries));
}

/// A PyTorch-style state_dict of one recurrent layer (gates = 4 for an LSTM, 3 for a GRU) with
/// input size 3 and hidden size 2, optionally with a projection to 1, as a bundle.
void state_dict_seed(const std::string& path, int gates, bool projection) {
  const bbs::index input = 3, hidden = 2, out = projection ? 1 : hidden;
  const auto tensor = [](bbs::index rows, bbs::index cols, std::vector<bbs::index> shape) {
    const Eigen::MatrixXf m = Eigen::VectorXf::LinSpaced(rows * cols, -0.5f, 0.5f).reshaped(rows, cols);
    const std::vector<unsigned char> b = bbs::npy_bytes(m, std::move(shape));
    return std::string(b.begin(), b.end());
  };
  std::vector<std::pair<std::string, std::string>> entries = {
      {"weight_ih_l0.npy", tensor(gates * hidden, input, {gates * hidden, input})},
      {"weight_hh_l0.npy", tensor(gates * hidden, out, {gates * hidden, out})},
      {"bias_ih_l0.npy", tensor(gates * hidden, 1, {gates * hidden})},
      {"bias_hh_l0.npy", tensor(gates * hidden, 1, {gates * hidden})}};
  if (projection) entries.emplace_back("weight_hr_l0.npy", tensor(out, hidden, {out, hidden}));
  write_file(path, bbs_fuzz::bundle_bytes(entries));
}

void value_type_seeds(const std::string& dir) {
  const char* spellings[] = {"float32",         "float64",       "bfloat16",    "float16",
                             "fixed16<12>",     "fixed16<auto>", "fixed16:0",   "fixed8<7,12>",
                             "fixed8<auto,12>", "fixed8:3,15",   "fixed8<0, 0>"};
  int i = 0;
  for (const char* s : spellings) write_file(dir + "/type" + std::to_string(i++), s);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc >= 3 ? argv[1] : "";
  if (!(mode == "bundle" ? argc >= 4 : argc == 3) ||
      (mode != "csb" && mode != "bundle" && mode != "state_dict" && mode != "value_type")) {
    std::fprintf(stderr, "usage: %s csb DIR | bundle DIR ARCHIVE... | state_dict DIR | value_type DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[2];
  try {
    if (mode == "csb") csb_seeds(dir);
    if (mode == "value_type") value_type_seeds(dir);
    if (mode == "state_dict") {
      state_dict_seed(dir + "/lstm.bundle", 4, false);
      state_dict_seed(dir + "/lstm_projection.bundle", 4, true);
      state_dict_seed(dir + "/gru.bundle", 3, false);
    }
    for (int i = 3; mode == "bundle" && i < argc; ++i) bundle_seed(dir, argv[i]);
  } catch (const bbs::error& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
