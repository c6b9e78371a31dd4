// libFuzzer target for the CSB file parser: any input, as given and with its checksum repaired,
// must either load or throw bbs::file_error.
// A crash, a sanitizer report, any other exception, or an accepted file that does not serialize
// back to the very same bytes is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <bbs/bbs.hpp>

namespace {

template <typename T>
void try_load(const std::uint8_t* data, std::size_t size) {
  try {
    const bbs::BbsMatrix<T> m = bbs::load_from_memory<T>(data, size);
    // Every field of an accepted file is checked, so the file is canonical: saving what was
    // loaded must reproduce it byte for byte.
    const std::vector<std::uint8_t> again = bbs::serialize(m);
    if (again.size() != size || (size != 0 && std::memcmp(again.data(), data, size) != 0)) {
      std::fprintf(stderr, "accepted file of %zu bytes does not serialize back to itself\n", size);
      std::abort();
    }
  } catch (const bbs::file_error&) {
    // The documented rejection.
  } catch (const bbs::error& e) {
    std::fprintf(stderr, "load threw a bbs::error that is not a file_error: %s\n", e.what());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try_load<float>(data, size);
  try_load<double>(data, size);
  try_load<bbs::fixed16<12>>(data, size);
  try_load<Eigen::half>(data, size);
  // Almost every mutation breaks the CRC, which is checked before the payload; the same input
  // with its last 4 bytes replaced by the right CRC lets mutations reach the CSB validation too.
  if (size >= 4) {
    std::vector<std::uint8_t> sealed(data, data + size);
    const std::uint32_t crc = bbs::crc32(sealed.data(), size - 4);
    std::memcpy(sealed.data() + size - 4, &crc, sizeof crc);
    try_load<float>(sealed.data(), sealed.size());
    try_load<double>(sealed.data(), sealed.size());
    try_load<bbs::fixed16<12>>(sealed.data(), sealed.size());
    try_load<Eigen::half>(sealed.data(), sealed.size());
  }
  return 0;
}
