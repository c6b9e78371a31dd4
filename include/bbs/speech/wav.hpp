// Audio files for the speech features, read with libsndfile (WAV and whatever else it reads):
// mono samples as float in [-1, 1) and the sample rate. Link bbs::speech (CMake), which adds
// libsndfile (Debian: libsndfile1-dev).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <sndfile.h>

#include "bbs/core/error.hpp"

namespace bbs {
namespace speech {

struct Audio {
  std::vector<float> samples;  ///< 16-bit audio comes as value / 32768
  int sample_rate = 0;
};

/// Reads a mono audio file. Throws file_error naming the file for a file that cannot be opened or
/// is not audio (libsndfile's reason), for more than one channel, and for a file shorter than its
/// header declares (truncated: libsndfile's chunk-length complaint is quoted).
inline Audio read_wav(const std::string& path) {
  const std::string who = "bbs::speech::read_wav: " + path;
  SF_INFO info{};
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> file(sf_open(path.c_str(), SFM_READ, &info), sf_close);
  if (!file) detail::throw_error<file_error>(who, ": ", sf_strerror(nullptr));
  if (info.channels != 1) {
    detail::throw_error<file_error>(who, ": ", info.channels, " channels; expected mono audio");
  }
  // libsndfile reads what a truncated file holds and notes the mismatch in its log only: a chunk
  // length "(should be N)". That is a damaged file here.
  char log[2048] = {};
  sf_command(file.get(), SFC_GET_LOG_INFO, log, static_cast<int>(sizeof log));
  const std::string text(log);
  const std::size_t mismatch = text.find("(should be");
  if (mismatch != std::string::npos) {
    const std::size_t line = text.rfind('\n', mismatch);
    const std::size_t from = line == std::string::npos ? 0 : line + 1;
    detail::throw_error<file_error>(who,
                                    ": truncated or damaged: ", text.substr(from, text.find('\n', mismatch) - from));
  }
  Audio a;
  a.sample_rate = info.samplerate;
  a.samples.resize(static_cast<std::size_t>(info.frames));
  const sf_count_t got = sf_readf_float(file.get(), a.samples.data(), info.frames);
  if (got != info.frames) {
    detail::throw_error<file_error>(who, ": truncated: the header declares ", info.frames, " samples, the file holds ",
                                    got);
  }
  return a;
}

}  // namespace speech
}  // namespace bbs
