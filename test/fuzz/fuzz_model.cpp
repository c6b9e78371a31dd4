// libFuzzer target for bbs model files (docs/MODEL_FORMAT.md: a ZIP of model.txt, .npy and .bbs
// entries), loaded as float and as fixed16<12>, fed two ways: the input as the file, and the input
// as a bundle (fuzz_archive.hpp) packed into an archive with valid CRCs, so that mutations reach
// the manifest and the tensors. Loading must give a model that runs on a zero input, or throw
// file_error, shape_error, config_error or value_error (a weight that is not finite). A crash, a
// sanitizer report or any other exception (bad_alloc, length_error, out_of_range, ...) is a
// finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "fuzz_archive.hpp"

namespace {

/// Largest input (elements per sample) run through a loaded model; larger ones are only loaded.
constexpr bbs::index max_run_elements = 4096;

template <typename T>
void try_load(const unsigned char* data, std::size_t size) {
  try {
    const auto model = bbs::nn::load_model_from_memory<T>(data, size);
    const bbs::nn::DataShape in = model.input_shape();
    using A = typename decltype(model)::activation_type;
    if (in.kind == bbs::nn::DataKind::image) {
      if (in.channels * in.height * in.width > max_run_elements) return;
      (void)model.forward(bbs::nn::Tensor<A>(1, in.channels, in.height, in.width));
    } else {
      if (in.features > max_run_elements) return;
      // Two frames of a sequence, or a batch of two feature vectors.
      (void)model.forward(bbs::nn::Matrix<A>::Zero(in.features, 2), in.kind == bbs::nn::DataKind::sequence ? 1 : 2);
    }
  } catch (const bbs::file_error&) {
  } catch (const bbs::shape_error&) {
  } catch (const bbs::config_error&) {
  } catch (const bbs::value_error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_model threw an exception that is not a documented bbs::error: %s\n", e.what());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try_load<float>(data, size);
  const std::vector<unsigned char> archive = bbs_fuzz::archive_of_bundle(data, size);
  try_load<float>(archive.data(), archive.size());
  try_load<bbs::fixed16<12>>(archive.data(), archive.size());
  return 0;
}
