// Shared by the speech tests: greedy CTC decoding written out plainly, the independent check of
// bbs::speech::Recognizer's decoding.
#pragma once

#include <string>

#include <bbs/speech.hpp>

namespace bbs_test {

/// Greedy CTC over steps x classes scores: the best class per step, repeats merged, blanks
/// (class 0) dropped, phones space-separated.
inline std::string greedy_text(const Eigen::MatrixXf& logits) {
  std::string line;
  bbs::index previous = 0;
  for (bbs::index t = 0; t < logits.rows(); ++t) {
    bbs::index best = 0;
    logits.row(t).maxCoeff(&best);
    if (best != previous && best != 0) (line += line.empty() ? "" : " ") += bbs::speech::phones[best - 1];
    previous = best;
  }
  return line;
}

}  // namespace bbs_test
