// The phone set of bbs's speech workload (docs/SPEECH.md): Lee & Hon's folding of TIMIT's
// phones, the 38 classes that are not silence. A CTC recognizer's class 0 is the blank and class
// i + 1 is phones[i]. tools/speech/phones.py holds the same list (its test compares them).
#pragma once

#include <array>

namespace bbs {
namespace speech {

inline constexpr std::array<const char*, 38> phones = {
    "aa", "ae", "ah", "aw", "ay", "b",  "ch", "d", "dh", "dx", "eh", "er", "ey", "f",  "g",  "hh", "ih", "iy", "jh",
    "k",  "l",  "m",  "n",  "ng", "ow", "oy", "p", "r",  "s",  "sh", "t",  "th", "uh", "uw", "v",  "w",  "y",  "z"};

/// Classes of a CTC phone recognizer's output: the blank and the phones.
inline constexpr int ctc_classes = static_cast<int>(phones.size()) + 1;

}  // namespace speech
}  // namespace bbs
