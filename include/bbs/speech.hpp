// bbs's speech front end, opt-in (not part of bbs.hpp): streaming log-mel features and audio
// files. Link the CMake target bbs::speech (it adds libsndfile). docs/SPEECH.md.
#pragma once

#include "bbs/bbs.hpp"
#include "bbs/speech/features.hpp"
#include "bbs/speech/wav.hpp"
