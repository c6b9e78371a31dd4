// Log-mel filterbank features for speech, computed frame by frame as audio arrives (streaming).
// The definition is tools/speech/features.py's, which training uses (docs/SPEECH.md): 25 ms
// frames every 10 ms at 16 kHz, a periodic Hann window, a 512-point FFT (Eigen's), |X|^2, 40
// triangular filters on the HTK mel scale from 0 to 8000 Hz, ln(max(energy, 1e-10)). Everything
// in double, features as float. The test holds both sides to float precision on the same audio.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/FFT>

#include "bbs/core/config.hpp"
#include "bbs/core/error.hpp"

namespace bbs {
namespace speech {

/// The feature definition; the defaults are the corpus's (docs/SPEECH.md).
struct LogMelConfig {
  index sample_rate = 16000;
  index window = 400;    ///< samples per frame (25 ms)
  index hop = 160;       ///< samples between frame starts (10 ms)
  index fft_size = 512;  ///< the frame, windowed, zero-padded to this many points
  index bands = 40;
  double low_hz = 0.0;
  double high_hz = 8000.0;
  double floor = 1e-10;  ///< energies below it are taken as it before the log

  /// Throws config_error naming the first setting that cannot work.
  void validate() const {
    const auto fail = [](auto... parts) { detail::throw_error<config_error>("bbs::speech::LogMelConfig: ", parts...); };
    if (sample_rate < 1) fail("sample_rate ", sample_rate, " must be positive");
    if (window < 1 || hop < 1) fail("window ", window, " and hop ", hop, " must be positive");
    if (fft_size < window) fail("fft_size ", fft_size, " is smaller than the window ", window);
    if (bands < 1) fail("bands ", bands, " must be positive");
    if (!(low_hz >= 0 && low_hz < high_hz && high_hz <= 0.5 * static_cast<double>(sample_rate))) {
      fail("the band ", low_hz, " .. ", high_hz, " Hz must lie in 0 .. ", 0.5 * static_cast<double>(sample_rate),
           " Hz (half the sample rate) and not be empty");
    }
    if (!(floor > 0)) fail("floor ", floor, " must be positive");
  }
};

/// A stream of log-mel frames. push() takes samples in [-1, 1) (16-bit audio / 32768) in chunks
/// of any size and returns the frames they complete, bands x frames; frame t covers samples
/// [t hop, t hop + window) of everything pushed since construction or reset(). No padding: a
/// partial last frame waits for more samples.
class LogMel {
 public:
  explicit LogMel(const LogMelConfig& config = {}) : c_(config) {
    c_.validate();
    const auto n = static_cast<std::size_t>(c_.window);
    window_.resize(n);
    const double pi = 3.14159265358979323846;
    for (std::size_t i = 0; i < n; ++i) window_[i] = 0.5 - 0.5 * std::cos(2.0 * pi * double(i) / double(n));
    // Triangles with corners equally spaced in mel, evaluated at the bin frequencies.
    const auto mel = [](double f) { return 2595.0 * std::log10(1.0 + f / 700.0); };
    const auto hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
    std::vector<double> corners(static_cast<std::size_t>(c_.bands + 2));
    const double lo = mel(c_.low_hz), hi = mel(c_.high_hz);
    for (std::size_t i = 0; i < corners.size(); ++i) {
      corners[i] = hz(lo + (hi - lo) * double(i) / double(c_.bands + 1));
    }
    const index bins = c_.fft_size / 2 + 1;
    filters_ = Eigen::MatrixXd::Zero(c_.bands, bins);
    for (index m = 0; m < c_.bands; ++m) {
      const double left = corners[std::size_t(m)], mid = corners[std::size_t(m + 1)],
                   right = corners[std::size_t(m + 2)];
      for (index k = 0; k < bins; ++k) {
        const double f = double(k) * double(c_.sample_rate) / double(c_.fft_size);
        filters_(m, k) = std::max(0.0, std::min((f - left) / (mid - left), (right - f) / (right - mid)));
      }
    }
    // Each triangle covers a few bins: the frame sums over those only (a 20th of the dense
    // product at the defaults).
    support_.resize(static_cast<std::size_t>(c_.bands));
    for (index m = 0; m < c_.bands; ++m) {
      index first = 0, last = -1;
      for (index k = 0; k < bins; ++k) {
        if (filters_(m, k) > 0) {
          if (last < 0) first = k;
          last = k;
        }
      }
      support_[std::size_t(m)] = {first, last + 1};
    }
    fft_.SetFlag(Eigen::FFT<double>::HalfSpectrum);
    frame_.assign(static_cast<std::size_t>(c_.fft_size), 0.0);
    power_.resize(static_cast<std::size_t>(bins));
  }

  const LogMelConfig& config() const { return c_; }
  index bands() const { return c_.bands; }
  /// Frames returned since construction or reset().
  index frames_emitted() const { return emitted_; }
  /// The triangular filters, bands x (fft_size / 2 + 1).
  const Eigen::MatrixXd& filters() const { return filters_; }

  /// Forgets every pushed sample: the next push starts frame 0 again.
  void reset() {
    pending_.clear();
    emitted_ = 0;
  }

  /// Appends n samples and returns the frames they complete (bands x frames, maybe 0 frames).
  Eigen::MatrixXf push(const float* samples, index n) {
    if (n < 0) detail::throw_error<shape_error>("bbs::speech::LogMel::push: ", n, " samples");
    if (n > 0 && samples == nullptr) detail::throw_error<shape_error>("bbs::speech::LogMel::push: null samples");
    pending_.insert(pending_.end(), samples, samples + n);
    const index have = static_cast<index>(pending_.size());
    const index frames = have < c_.window ? 0 : 1 + (have - c_.window) / c_.hop;
    Eigen::MatrixXf out(c_.bands, frames);
    for (index t = 0; t < frames; ++t) compute_frame(pending_.data() + t * c_.hop, out.col(t).data());
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(frames * c_.hop));
    emitted_ += frames;
    return out;
  }
  Eigen::MatrixXf push(const std::vector<float>& samples) {
    return push(samples.data(), static_cast<index>(samples.size()));
  }

  /// The frames of a whole signal, as a fresh stream would return them (this stream is reset).
  Eigen::MatrixXf compute(const float* samples, index n) {
    reset();
    Eigen::MatrixXf out = push(samples, n);
    reset();
    return out;
  }

 private:
  void compute_frame(const double* x, float* out) {
    for (std::size_t i = 0; i < window_.size(); ++i) frame_[i] = x[i] * window_[i];
    std::fill(frame_.begin() + static_cast<std::ptrdiff_t>(window_.size()), frame_.end(), 0.0);
    fft_.fwd(spectrum_, frame_);
    for (std::size_t k = 0; k < power_.size(); ++k) power_[k] = std::norm(spectrum_[k]);
    for (index m = 0; m < c_.bands; ++m) {
      double energy = 0;
      for (index k = support_[std::size_t(m)].first; k < support_[std::size_t(m)].second; ++k) {
        energy += filters_(m, k) * power_[std::size_t(k)];
      }
      out[m] = static_cast<float>(std::log(std::max(energy, c_.floor)));
    }
  }

  LogMelConfig c_;
  std::vector<double> window_;
  Eigen::MatrixXd filters_;
  Eigen::FFT<double> fft_;
  std::vector<double> frame_;
  std::vector<std::complex<double>> spectrum_;
  std::vector<double> power_;
  std::vector<std::pair<index, index>> support_;  // per band: the bins [first, end) its filter covers
  std::vector<double> pending_;
  index emitted_ = 0;
};

/// Log-mel frames k at a time: every k frames make one step of k x bands features, frame k i
/// first (rows 0 .. bands - 1), then frame k i + 1, and so on. A model that takes such steps
/// runs at 1/k of the frame rate (docs/SPEECH.md's recognizers take 4 frames, one step every
/// 40 ms). tools/speech/features.py's stack() is the same; a partial group waits for its frames.
class FrameStack {
 public:
  FrameStack(index frames_per_step, index bands) : k_(frames_per_step), bands_(bands) {
    if (k_ < 1 || bands_ < 1) {
      detail::throw_error<config_error>("bbs::speech::FrameStack: ", k_, " frames per step of ", bands_,
                                        " bands; both must be positive");
    }
    pending_.resize(bands_ * k_);
  }

  index frames_per_step() const { return k_; }
  /// Features per step: frames_per_step() x bands.
  index features() const { return k_ * bands_; }

  /// Appends frames (bands x n) and returns the steps they complete (features() x steps).
  Eigen::MatrixXf push(const Eigen::MatrixXf& frames) {
    if (frames.rows() != bands_) {
      detail::throw_error<shape_error>("bbs::speech::FrameStack::push: frames of ", frames.rows(), " bands, expected ",
                                       bands_);
    }
    Eigen::MatrixXf out(features(), (have_ + frames.cols()) / k_);
    index steps = 0;
    for (index f = 0; f < frames.cols(); ++f) {
      pending_.segment(have_ * bands_, bands_) = frames.col(f);
      if (++have_ == k_) {
        out.col(steps++) = pending_;
        have_ = 0;
      }
    }
    return out;
  }

  /// Drops a partial group: the next frame starts a step.
  void reset() { have_ = 0; }

 private:
  index k_;
  index bands_;
  Eigen::VectorXf pending_;
  index have_ = 0;
};

}  // namespace speech
}  // namespace bbs
