// 04: saving a pruned matrix to a bbs file and loading it back: the write is atomic (a crash
// never leaves a half-written file), the file is checksummed, and a damaged file is refused with
// a clear bbs::file_error instead of being read.
#include <bbs/bbs.hpp>

#include <cstdio>
#include <fstream>

int main() {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(512, 300);
  const auto a = bbs::prune<float>(w, bbs::BankConfig::from_sparsity(64, 0.875));

  const std::string path = "04_layer.bbs";
  bbs::save(a, path);

  // The header alone tells what a file holds, without reading the payload.
  const bbs::FileHeader h = bbs::read_header(path);
  std::printf("%s: %ld x %ld %s, bank %ld, %ld per bank, %ld-bit indices\n", path.c_str(), (long)h.rows, (long)h.cols,
              h.value_type_name.c_str(), (long)h.config.bank_size, (long)h.config.nnz_per_bank,
              8L * static_cast<long>(h.index_width));

  const bbs::BbsMatrix<float> b = bbs::load<float>(path);
  const bool same = b.toDense() == a.toDense();
  std::printf("round trip exact: %s\n", same ? "yes" : "no");

  // Asking for the wrong value type, or reading a damaged file, throws with the reason.
  try {
    bbs::load<double>(path);
  } catch (const bbs::file_error& e) {
    std::printf("load<double>: %s\n", e.what());
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');  // flip one payload byte
  }
  bool refused = false;
  try {
    bbs::load<float>(path);
  } catch (const bbs::file_error& e) {
    refused = true;
    std::printf("damaged file: %s\n", e.what());
  }
  std::remove(path.c_str());
  return same && refused ? 0 : 1;
}
