// Streaming speech recognition, one step at a time (docs/SPEECH.md): the shipped phone
// recognizers (models/speech_dense.bbsm and models/speech_bbs.bbsm: 4 stacked log-mel frames,
// LSTM 128 x 2, 39 classes; the BBS one at 87.5 %, bank 16) run by nn::Stream at batch 1, as
// bbs transcribe runs them, in float32 and in calibrated fixed16<10>, on every CPU backend. One
// step is 40 ms of audio, so the real-time factor is the step time over 40 ms (counter rtf). The
// inputs are the stacked features of a sample utterance, in a loop. feature_frame times the
// front end: one 10 ms push through LogMel (a 512-point FFT and 40 filters).
//
// Names: speech_step/model:<dense|bbs>/type:<t>/backend:<name>, feature_frame.
// scripts/bench-speech runs this beside PyTorch stepping the same dense model (issue 16's
// baseline: batch 1, one thread) and prints the ratios.
#include <benchmark/benchmark.h>

#include <bbs/bbs.hpp>
#include <bbs/nn/streaming.hpp>
#include <bbs/speech/features.hpp>

#include <string>
#include <vector>

#include "source_tree.hpp"  // BBS_MODELS_DIR, BBS_TEST_DATA_DIR

namespace {

const std::string kModels = BBS_MODELS_DIR;
const std::string kFeatures = std::string(BBS_TEST_DATA_DIR) + "/speech/sample/test/test_00000.logmel.npy";
constexpr double kStepSeconds = 0.04;

// The sample utterance's steps: 160 x steps (4 frames of 40 bands each).
Eigen::MatrixXf sample_steps() {
  const Eigen::MatrixXf frames = bbs::read_npy(kFeatures).matrix<float>().transpose();
  bbs::speech::FrameStack stack(4, frames.rows());
  return stack.push(frames);
}

template <typename T, typename Backend>
void speech_step(benchmark::State& st, const std::string& model_path) {
  using A = bbs::activation_t<T>;
  const auto model = bbs::nn::load_model<T, Backend>(model_path);
  const Eigen::MatrixXf steps = sample_steps();
  std::vector<bbs::nn::Matrix<A>> inputs;
  for (bbs::index s = 0; s < steps.cols(); ++s) {
    bbs::nn::Matrix<A> x(steps.rows(), 1);
    for (bbs::index i = 0; i < x.rows(); ++i) x(i, 0) = bbs::nn::elementwise<A>::from_float(steps(i, s));
    inputs.push_back(std::move(x));
  }
  bbs::nn::Stream<T, Backend> stream(model);
  std::size_t at = 0;
  for (auto _ : st) {
    if (at == inputs.size()) {
      at = 0;
      stream.reset();
    }
    benchmark::DoNotOptimize(stream.step(inputs[at++]).data());
  }
  st.counters["rtf"] = benchmark::Counter(static_cast<double>(st.iterations()) * kStepSeconds,
                                          benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void feature_frame(benchmark::State& st) {
  bbs::speech::LogMel features;
  const Eigen::VectorXf noise = 0.1f * Eigen::VectorXf::Random(160);
  for (auto _ : st) {
    benchmark::DoNotOptimize(features.push(noise.data(), noise.size()).data());
  }
}

template <typename Backend>
void register_backend() {
  const std::string backend = Backend::name;
  for (const std::string m : {"dense", "bbs"}) {
    const std::string path = kModels + "/speech_" + m + ".bbsm";
    const std::string prefix = "speech_step/model:" + m;
    benchmark::RegisterBenchmark((prefix + "/type:float32/backend:" + backend).c_str(),
                                 [path](benchmark::State& st) { speech_step<float, Backend>(st, path); });
    benchmark::RegisterBenchmark((prefix + "/type:fixed16<10>/backend:" + backend).c_str(),
                                 [path](benchmark::State& st) { speech_step<bbs::fixed16<10>, Backend>(st, path); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  bbs::for_each_backend([](auto backend) { register_backend<decltype(backend)>(); });
  benchmark::RegisterBenchmark("feature_frame", feature_frame);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
