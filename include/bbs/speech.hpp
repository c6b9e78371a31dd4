// bbs's speech front end, opt-in (not part of bbs.hpp): streaming log-mel features, audio files,
// nn::Stream to run a model frame by frame, and Recognizer (audio in, phones out). Link the CMake
// target bbs::speech (it adds libsndfile). docs/SPEECH.md.
#pragma once

#include "bbs/bbs.hpp"
#include "bbs/nn/streaming.hpp"
#include "bbs/speech/features.hpp"
#include "bbs/speech/phones.hpp"
#include "bbs/speech/recognizer.hpp"
#include "bbs/speech/wav.hpp"
