// Streaming phone recognition: audio in, phones out as soon as they are decided. Recognizer
// chains the pieces of docs/SPEECH.md: LogMel frames, FrameStack steps, nn::Stream through a CTC
// acoustic model, and greedy CTC decoding (the best class per step; a phone is decided at the
// first step where it becomes the best after a different class; the blank is dropped).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "bbs/nn/streaming.hpp"
#include "bbs/speech/features.hpp"
#include "bbs/speech/phones.hpp"

namespace bbs {
namespace speech {

/// A decided phone and the start of the step that decided it.
struct RecognizedPhone {
  const char* phone;  ///< one of speech::phones
  index step;         ///< the model step (0-based)
  double seconds;     ///< where that step's audio starts
};

template <typename T, typename Backend = backend::automatic>
class Recognizer {
 public:
  /// A recognizer over `model`, which must outlive it. The model must take a sequence of k x
  /// bands features for some k >= 1 (k stacked log-mel frames per step) and give ctc_classes
  /// scores per step; config_error says what it takes and gives otherwise.
  explicit Recognizer(const nn::Sequential<T, Backend>& model, const LogMelConfig& features = {})
      : features_(features), stack_(frames_per_step_of(model, features), features.bands), stream_(model) {}

  /// Log-mel frames per model step.
  index frames_per_step() const { return stack_.frames_per_step(); }
  /// Audio per model step, in seconds.
  double seconds_per_step() const {
    return double(frames_per_step() * features_.config().hop) / double(features_.config().sample_rate);
  }
  const LogMelConfig& feature_config() const { return features_.config(); }

  /// Appends n samples in [-1, 1) and returns the phones they decide (often none).
  std::vector<RecognizedPhone> push(const float* samples, index n) {
    const Eigen::MatrixXf steps = stack_.push(features_.push(samples, n));
    std::vector<RecognizedPhone> decided;
    for (index s = 0; s < steps.cols(); ++s) {
      Matrix x(steps.rows(), 1);
      for (index i = 0; i < x.rows(); ++i) x(i, 0) = nn::elementwise<A>::from_float(steps(i, s));
      const Matrix y = stream_.step(x);
      Eigen::VectorXf scores(y.rows());
      for (index i = 0; i < y.rows(); ++i) scores(i) = static_cast<float>(nn::elementwise<A>::to_double(y(i, 0)));
      index best = 0;
      scores.maxCoeff(&best);
      const index step = stream_.frames() - 1;
      if (best != previous_ && best != 0) {
        decided.push_back({phones[static_cast<std::size_t>(best - 1)], step, double(step) * seconds_per_step()});
      }
      previous_ = best;
      if (keep_logits_) logits_.push_back(scores);
    }
    phones_.insert(phones_.end(), decided.begin(), decided.end());
    return decided;
  }
  std::vector<RecognizedPhone> push(const std::vector<float>& samples) {
    return push(samples.data(), static_cast<index>(samples.size()));
  }

  /// Model steps run so far.
  index steps() const { return stream_.frames(); }
  /// Every phone decided so far.
  const std::vector<RecognizedPhone>& phones_so_far() const { return phones_; }
  /// The phones decided so far, space-separated.
  std::string text() const {
    std::string line;
    for (const RecognizedPhone& p : phones_) (line += line.empty() ? "" : " ") += p.phone;
    return line;
  }

  /// Keeps every step's scores from now on (logits(): steps x ctc_classes).
  void keep_logits(bool keep = true) { keep_logits_ = keep; }
  Eigen::MatrixXf logits() const {
    Eigen::MatrixXf m(static_cast<index>(logits_.size()), ctc_classes);
    for (std::size_t t = 0; t < logits_.size(); ++t) m.row(static_cast<index>(t)) = logits_[t].transpose();
    return m;
  }

  /// Runs one step of zeros through the model and forgets it: the kernels' first-use work (row
  /// groups, packed layouts) happens here rather than in the first step of the audio.
  void warm_up() {
    stream_.step(Matrix::Zero(stack_.features(), 1));
    stream_.reset();
  }

  /// A new utterance: no samples, no state, no phones.
  void reset() {
    features_.reset();
    stack_.reset();
    stream_.reset();
    phones_.clear();
    logits_.clear();
    previous_ = 0;
  }

 private:
  using A = typename nn::Stream<T, Backend>::activation_type;
  using Matrix = nn::Matrix<A>;

  static index frames_per_step_of(const nn::Sequential<T, Backend>& model, const LogMelConfig& features) {
    const nn::DataShape in = model.input_shape();
    const nn::DataShape out = model.output_shape();
    if (in.kind != nn::DataKind::sequence || in.features < 1 || in.features % features.bands != 0 ||
        out.features != ctc_classes) {
      detail::throw_error<config_error>("bbs::speech::Recognizer: the model takes ", in.str(), " and gives ", out.str(),
                                        "; a phone recognizer takes a sequence of k x ", features.bands,
                                        " log-mel features (k stacked frames) and gives ", ctc_classes,
                                        " classes (the blank and 38 phones, docs/SPEECH.md)");
    }
    return in.features / features.bands;
  }

  LogMel features_;
  FrameStack stack_;
  nn::Stream<T, Backend> stream_;
  std::vector<RecognizedPhone> phones_;
  std::vector<Eigen::VectorXf> logits_;
  index previous_ = 0;
  bool keep_logits_ = false;
};

}  // namespace speech
}  // namespace bbs
