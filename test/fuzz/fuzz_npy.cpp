// libFuzzer target for the .npy parser: any input must either parse or throw bbs::file_error, and
// a parsed array must convert to a matrix (rank 1 or 2) or throw bbs::shape_error (other ranks).
// A crash, a sanitizer report, another exception, or a parsed array whose data bytes do not match
// its shape is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <bbs/bbs.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bbs::NpyArray a;
  try {
    a = bbs::parse_npy(data, size, "fuzz.npy");
  } catch (const bbs::file_error&) {
    return 0;
  }
  const std::size_t width = bbs::detail::npy::item_size(a.dtype);
  if (width == 0 || a.bytes.size() != static_cast<std::size_t>(a.size()) * width) {
    std::fprintf(stderr, "parsed %zu data bytes for %lld elements of '%s'\n", a.bytes.size(),
                 static_cast<long long>(a.size()), a.dtype.c_str());
    std::abort();
  }
  try {
    const Eigen::MatrixXd m = a.matrix<double>();
    if (m.size() != a.size()) {
      std::fprintf(stderr, "a %lld-element array became a %lld-element matrix\n", static_cast<long long>(a.size()),
                   static_cast<long long>(m.size()));
      std::abort();
    }
    const Eigen::MatrixXf f = a.matrix<float>();
    (void)f;
  } catch (const bbs::shape_error&) {
    if (a.shape.size() == 1 || a.shape.size() == 2) {
      std::fprintf(stderr, "a %zu-D array did not convert to a matrix\n", a.shape.size());
      std::abort();
    }
  }
  return 0;
}
