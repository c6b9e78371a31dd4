// 10: streaming phone recognition. The shipped recognizer (models/speech_bbs.bbsm: 4 stacked
// log-mel frames per step, an LSTM 128 x 2 pruned to 87.5 % bank-balanced sparsity, CTC phones)
// hears a held-out voice 10 ms at a time, as from a microphone, and prints each phone as soon as
// it is decided. The program checks that streaming recognized what one offline pass over the
// whole recording recognizes, and exits non-zero otherwise. docs/SPEECH.md.
#include <bbs/speech.hpp>

#include <algorithm>
#include <cstdio>

int main() {
  const auto model = bbs::nn::load_model<float>(BBS_MODELS_DIR "/speech_bbs.bbsm");
  const bbs::speech::Audio audio = bbs::speech::read_wav(BBS_SPEECH_SAMPLE_DIR "/test/test_00000.wav");
  bbs::speech::Recognizer<float> live(model);
  const std::size_t chunk = 160;  // 10 ms at 16 kHz
  for (std::size_t at = 0; at < audio.samples.size(); at += chunk) {
    const auto n = static_cast<bbs::index>(std::min(chunk, audio.samples.size() - at));
    for (const bbs::speech::RecognizedPhone& p : live.push(audio.samples.data() + at, n))
      std::printf("%5.2f s  %s\n", p.seconds, p.phone);
  }
  std::printf("streamed: %s\n", live.text().c_str());

  bbs::speech::Recognizer<float> offline(model);  // the whole recording at once
  offline.push(audio.samples);
  std::printf("offline:  %s\n", offline.text().c_str());
  return live.text() == offline.text() && !live.text().empty() ? 0 : 1;
}
