// bbs transcribe: streaming phone recognition with a CTC acoustic model (docs/SPEECH.md). Audio
// is fed 10 ms at a time, from a file or (--stream) raw 16-bit PCM on stdin as a microphone would
// deliver it; speech::Recognizer runs each complete model step at once and prints a phone as
// soon as greedy CTC decoding decides it. stderr gets the real-time factor and the per-step
// latency.
#include "cli.hpp"

#ifdef BBS_CLI_HAVE_SPEECH

#include <bbs/speech.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace bbs_cli {
namespace {

struct Options {
  bool quiet = false;
  bool stream = false;
  std::string logits_path;
  std::string type_name;
};

// Replaces `chunk` with the source's next samples, at most `max` of them; false at its end.
using Source = std::function<bool(std::vector<float>& chunk, std::size_t max)>;

template <typename T>
std::string recognize(const std::string& model_path, const Source& source, const Options& o) {
  const auto model = bbs::nn::load_model<T>(model_path);
  bbs::speech::Recognizer<T> recognizer = [&] {
    try {
      return bbs::speech::Recognizer<T>(model);
    } catch (const bbs::config_error& e) {
      throw bbs::config_error(model_path + ": " + e.what());
    }
  }();
  recognizer.keep_logits(!o.logits_path.empty());
  recognizer.warm_up();  // as a live recognizer would before the microphone opens
  const auto hop = static_cast<std::size_t>(recognizer.feature_config().hop);
  std::vector<float> chunk;
  std::vector<double> latency;  // seconds per push that ran a model step
  double busy = 0;
  bbs::index samples = 0;
  while (source(chunk, hop)) {
    const bbs::index before = recognizer.steps();
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<bbs::speech::RecognizedPhone> decided = recognizer.push(chunk);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    busy += dt;
    samples += static_cast<bbs::index>(chunk.size());
    if (recognizer.steps() > before) latency.push_back(dt);
    if (!o.quiet) {
      for (const bbs::speech::RecognizedPhone& p : decided) std::printf("%.2f s\t%s\n", p.seconds, p.phone);
      if (!decided.empty()) std::fflush(stdout);
    }
  }
  if (!o.logits_path.empty()) bbs::save_npy(recognizer.logits(), o.logits_path);
  if (!o.quiet) {
    const double audio_seconds = double(samples) / double(recognizer.feature_config().sample_rate);
    std::sort(latency.begin(), latency.end());
    const auto quantile = [&](double q) {
      return latency.empty() ? 0.0 : latency[static_cast<std::size_t>(q * double(latency.size() - 1) + 0.5)];
    };
    std::fprintf(stderr,
                 "transcribe: %.2f s of audio, %lld steps of %.0f ms, %s on %s: real-time factor %.4f, "
                 "per-step latency median %.1f us, p99 %.1f us\n",
                 audio_seconds, static_cast<long long>(recognizer.steps()), 1e3 * recognizer.seconds_per_step(),
                 o.type_name.c_str(), bbs::default_backend().c_str(), audio_seconds > 0 ? busy / audio_seconds : 0.0,
                 1e6 * quantile(0.5), 1e6 * quantile(0.99));
  }
  return recognizer.text();
}

// Raw 16-bit little-endian mono PCM from stdin, chunk by chunk as it arrives.
bool read_pcm(std::FILE* in, std::vector<float>& chunk, std::size_t samples) {
  std::vector<unsigned char> bytes(2 * samples);
  const std::size_t got = std::fread(bytes.data(), 1, bytes.size(), in);
  if (got % 2 != 0) {
    bbs::detail::throw_error<bbs::file_error>("stdin: the stream ends inside a sample (", got,
                                              " bytes in the last read); expected 16-bit PCM");
  }
  chunk.resize(got / 2);
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const auto v = static_cast<std::int16_t>(static_cast<std::uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
    chunk[i] = static_cast<float>(v) / 32768.0f;
  }
  return !chunk.empty();
}

}  // namespace

int transcribe(int argc, char** argv) {
  const Args args(argc, argv, {"type", "backend", "logits"}, {"quiet", "stream"});
  Options o;
  o.quiet = args.flags.count("quiet") != 0;
  o.stream = args.flags.count("stream") != 0;
  o.logits_path = args.get("logits");
  if (o.stream) {
    args.expect_positional(1, "MODEL.bbsm --stream (raw 16-bit 16 kHz mono PCM on stdin)");
  } else {
    args.expect_positional(2, "MODEL.bbsm AUDIO.wav");
  }
  const bbs::ValueTypeSpec type = bbs::parse_value_type(args.get("type", "float32"));
  o.type_name = args.get("type", "float32");
  if (args.has("backend")) {
    const std::string backend = args.get("backend");
    bool known = false;
    for (const std::string& name : bbs::backend_names()) known = known || name == backend;
    if (!known) throw UsageError("--backend " + backend + ": not a backend of this build");
    bbs::set_default_backend(backend);
  }
  Source source;
  bbs::speech::Audio audio;
  if (o.stream) {
    source = [](std::vector<float>& chunk, std::size_t max) { return read_pcm(stdin, chunk, max); };
  } else {
    audio = bbs::speech::read_wav(args.positional[1]);
    const bbs::speech::LogMelConfig expected;
    if (audio.sample_rate != expected.sample_rate) {
      bbs::detail::throw_error<bbs::file_error>(args.positional[1], ": ", audio.sample_rate,
                                                " Hz; the features are defined at ", expected.sample_rate,
                                                " Hz (resample it, e.g. sox IN -r 16000 OUT)");
    }
    if (audio.samples.empty()) bbs::detail::throw_error<bbs::file_error>(args.positional[1], ": no samples");
    source = [&audio, at = std::size_t(0)](std::vector<float>& chunk, std::size_t max) mutable {
      const std::size_t n = std::min(max, audio.samples.size() - at);
      chunk.assign(audio.samples.begin() + static_cast<std::ptrdiff_t>(at),
                   audio.samples.begin() + static_cast<std::ptrdiff_t>(at + n));
      at += n;
      return n > 0;
    };
  }
  const std::string phones =
      with_model_type(type, [&](auto t) { return recognize<decltype(t)>(args.positional[0], source, o); });
  std::printf("%s\n", phones.c_str());
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
