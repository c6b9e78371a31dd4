// bbs transcribe: streaming phone recognition with a CTC acoustic model (docs/SPEECH.md). The
// audio is fed 10 ms at a time; each complete log-mel frame runs through the model at once
// (nn::Stream) and greedy CTC decoding prints a phone as soon as it is decided.
#include "cli.hpp"

#ifdef BBS_CLI_HAVE_SPEECH

#include <bbs/speech.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace bbs_cli {
namespace {

template <typename T>
std::vector<std::string> recognize(const std::string& model_path, const bbs::speech::Audio& audio, bool quiet,
                                   const std::string& logits_path) {
  using A = bbs::activation_t<T>;
  const auto model = bbs::nn::load_model<T>(model_path);
  bbs::speech::LogMel features;
  if (model.input_shape().kind != bbs::nn::DataKind::sequence || model.input_shape().features != features.bands() ||
      model.output_shape().features != bbs::speech::ctc_classes) {
    bbs::detail::throw_error<bbs::config_error>(
        model_path, ": takes ", model.input_shape().str(), " and gives ", model.output_shape().str(),
        "; a phone recognizer takes a sequence of ", features.bands(), " log-mel features and gives ",
        bbs::speech::ctc_classes, " classes (the blank and 38 phones, docs/SPEECH.md)");
  }
  bbs::nn::Stream<T> stream(model);
  const bbs::index hop = features.config().hop;
  const auto n = static_cast<bbs::index>(audio.samples.size());
  std::vector<std::string> decoded;
  std::vector<Eigen::VectorXf> logits;
  int previous = 0;
  for (bbs::index at = 0; at < n; at += hop) {
    const Eigen::MatrixXf frames = features.push(audio.samples.data() + at, std::min(hop, n - at));
    for (bbs::index f = 0; f < frames.cols(); ++f) {
      bbs::nn::Matrix<A> x(frames.rows(), 1);
      for (bbs::index i = 0; i < x.rows(); ++i) x(i, 0) = bbs::nn::elementwise<A>::from_float(frames(i, f));
      const bbs::nn::Matrix<A> y = stream.step(x);
      Eigen::VectorXf scores(y.rows());
      for (bbs::index i = 0; i < y.rows(); ++i)
        scores(i) = static_cast<float>(bbs::nn::elementwise<A>::to_double(y(i, 0)));
      bbs::index best = 0;
      scores.maxCoeff(&best);
      if (best != previous && best != 0) {
        decoded.emplace_back(bbs::speech::phones[static_cast<std::size_t>(best - 1)]);
        if (!quiet) std::printf("%.2f s\t%s\n", 0.01 * double(stream.frames() - 1), decoded.back().c_str());
      }
      previous = static_cast<int>(best);
      if (!logits_path.empty()) logits.push_back(scores);
    }
  }
  if (!logits_path.empty()) {
    Eigen::MatrixXf m(static_cast<bbs::index>(logits.size()), bbs::speech::ctc_classes);
    for (std::size_t t = 0; t < logits.size(); ++t) m.row(static_cast<bbs::index>(t)) = logits[t].transpose();
    bbs::save_npy(m, logits_path);
  }
  return decoded;
}

}  // namespace

int transcribe(int argc, char** argv) {
  const Args args(argc, argv, {"type", "backend", "logits"}, {"quiet"});
  args.expect_positional(2, "MODEL.bbsm AUDIO.wav");
  const TypeSpec type = parse_type(args.get("type", "float32"));
  if (args.has("backend")) {
    const std::string backend = args.get("backend");
    bool known = false;
    for (const std::string& name : bbs::backend_names()) known = known || name == backend;
    if (!known) throw UsageError("--backend " + backend + ": not a backend of this build");
    bbs::set_default_backend(backend);
  }
  const bbs::speech::Audio audio = bbs::speech::read_wav(args.positional[1]);
  const bbs::speech::LogMelConfig expected;
  if (audio.sample_rate != expected.sample_rate) {
    bbs::detail::throw_error<bbs::file_error>(args.positional[1], ": ", audio.sample_rate,
                                              " Hz; the features are defined at ", expected.sample_rate,
                                              " Hz (resample it, e.g. sox IN -r 16000 OUT)");
  }
  const std::vector<std::string> phones = with_model_type(type, [&](auto t) {
    return recognize<decltype(t)>(args.positional[0], audio, args.flags.count("quiet") != 0, args.get("logits"));
  });
  std::string line;
  for (const std::string& p : phones) line += (line.empty() ? "" : " ") + p;
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace bbs_cli

#else

namespace bbs_cli {
int transcribe(int, char**) {
  throw UsageError("transcribe: this bbs was built without libsndfile (Debian: libsndfile1-dev)");
}
}  // namespace bbs_cli

#endif
