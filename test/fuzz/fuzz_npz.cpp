// libFuzzer target for the .npz reader (the ZIP reader plus the .npy parser), fed two ways: the
// input as an archive, and the input as a bundle of entries (fuzz_archive.hpp) packed into an
// archive with valid CRCs. Either must parse or throw bbs::file_error; every parsed array must
// convert to a matrix or, for ranks other than 1 and 2, throw bbs::shape_error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fuzz_archive.hpp"

namespace {

void try_parse(const unsigned char* data, std::size_t size) {
  std::vector<std::pair<std::string, bbs::NpyArray>> arrays;
  try {
    arrays = bbs::parse_npz(data, size, "fuzz.npz");
  } catch (const bbs::file_error&) {
    return;
  }
  for (const auto& a : arrays) {
    try {
      (void)a.second.matrix<float>();
    } catch (const bbs::shape_error&) {
      if (a.second.shape.size() == 1 || a.second.shape.size() == 2) {
        std::fprintf(stderr, "entry %s: a %zu-D array did not convert to a matrix\n", a.first.c_str(),
                     a.second.shape.size());
        std::abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try_parse(data, size);
  const std::vector<unsigned char> archive = bbs_fuzz::archive_of_bundle(data, size);
  try_parse(archive.data(), archive.size());
  return 0;
}
