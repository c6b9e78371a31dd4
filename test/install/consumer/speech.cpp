// The installed speech component (find_package(bbs COMPONENTS speech), bbs::speech): log-mel
// features of a tone, stacked as a recognizer reads them, and libsndfile linked (read_wav of a
// missing file is a file_error naming it).
#include <bbs/speech.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int main() {
  std::vector<float> tone(16000);
  for (std::size_t i = 0; i < tone.size(); ++i)
    tone[i] = 0.3f * std::sin(2.0f * 3.14159265f * 440.0f * float(i) / 16000.0f);
  bbs::speech::LogMel features;
  bbs::speech::FrameStack stack(4, features.bands());
  const Eigen::MatrixXf steps = stack.push(features.push(tone));
  if (steps.rows() != 160 || steps.cols() != 24) {
    std::printf("speech consumer: %ld x %ld steps, expected 160 x 24\n", long(steps.rows()), long(steps.cols()));
    return 1;
  }
  try {
    bbs::speech::read_wav("/nonexistent/consumer.wav");
  } catch (const bbs::file_error& e) {
    if (std::string(e.what()).find("consumer.wav") == std::string::npos) return 1;
    std::printf("speech consumer: 24 steps of 160 features from 1 s of audio; libsndfile linked\n");
    return 0;
  }
  return 1;
}
