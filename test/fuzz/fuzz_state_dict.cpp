// libFuzzer target for PyTorch state_dicts (.npz) and the recurrent layers built from them: the
// input is a bundle (fuzz_archive.hpp) packed into an .npz. Reading a tensor must give a matrix or
// throw file_error / shape_error; building an LSTM or GRU stack from the tensors must give a stack
// that runs, or throw file_error (a missing tensor), shape_error, config_error or value_error
// (a weight that is not finite). A crash, a
// sanitizer report or any other exception (bad_alloc, length_error, ...) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "fuzz_archive.hpp"

namespace {

/// Largest input size run through a built stack: a zero-row tensor gives a layer of any width
/// without data, and its frames would dwarf the input.
constexpr bbs::index max_run_features = 4096;

[[noreturn]] void finding(const char* what, const std::exception& e) {
  std::fprintf(stderr, "%s threw an exception that is not a documented bbs::error: %s\n", what, e.what());
  std::abort();
}

template <typename Stack>
void build_and_run(const std::vector<bbs::nn::RecurrentDenseWeights>& weights, bbs::index layers, bool bidirectional) {
  try {
    const Stack stack = Stack::from_dense(weights, layers, bidirectional, bbs::BankConfig(4, 2));
    if (stack.input_size() > max_run_features) return;
    auto state = stack.zero_state(1);
    const Eigen::MatrixXf xs = Eigen::MatrixXf::Constant(stack.input_size(), 2, 0.5f);
    const Eigen::MatrixXf ys = stack.forward(xs, 1, state);
    if (ys.rows() != stack.output_size() || ys.cols() != 2) {
      std::fprintf(stderr, "the stack returned %lld x %lld, expected %lld x 2\n", static_cast<long long>(ys.rows()),
                   static_cast<long long>(ys.cols()), static_cast<long long>(stack.output_size()));
      std::abort();
    }
  } catch (const bbs::shape_error&) {
  } catch (const bbs::config_error&) {
  } catch (const bbs::value_error&) {
  } catch (const bbs::error& e) {
    finding("building a recurrent stack", e);
  } catch (const std::exception& e) {
    finding("building a recurrent stack", e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> archive = bbs_fuzz::archive_of_bundle(data, size);
  bbs::nn::StateDict sd;
  try {
    sd = bbs::nn::StateDict(bbs::parse_npz(archive.data(), archive.size(), "fuzz.npz"), "fuzz.npz");
  } catch (const bbs::file_error&) {
    return 0;
  }
  for (const std::string& name : sd.names()) {
    try {
      (void)sd.matrix(name);
      (void)sd.vector(name);
    } catch (const bbs::file_error&) {
    } catch (const bbs::shape_error&) {
    } catch (const std::exception& e) {
      finding("reading a tensor", e);
    }
  }
  for (const bbs::index layers : {1, 2}) {
    for (const bool bidirectional : {false, true}) {
      for (const bool projection : {false, true}) {
        std::vector<bbs::nn::RecurrentDenseWeights> weights;
        try {
          weights = bbs::nn::recurrent_weights(sd, "", layers, bidirectional, projection);
        } catch (const bbs::file_error&) {
          continue;
        } catch (const bbs::shape_error&) {
          continue;
        } catch (const std::exception& e) {
          finding("recurrent_weights", e);
        }
        build_and_run<bbs::nn::Lstm<float>>(weights, layers, bidirectional);
        if (!projection) build_and_run<bbs::nn::Gru<float>>(weights, layers, bidirectional);
      }
    }
  }
  return 0;
}
