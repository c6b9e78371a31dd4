// Where the source tree's files are, for tests and benchmarks: BBS_TEST_DATA_DIR (test/data),
// BBS_MODELS_DIR (models/) and BBS_CLI (the bbs tool), found at run time from the running
// program's own location. CMake gives each as a path relative to the directory of the program
// (BBS_TEST_DATA_RELATIVE, ...), the same string in every checkout; an absolute path compiled in
// made every object that used it differ between checkouts, and the compiler cache could not share
// them with CI's clone. Each macro is a std::string expression.
#pragma once

#include <unistd.h>

#include <climits>
#include <string>

namespace bbs_test {

/// `relative` to the directory of the running program, as a path.
inline std::string beside_executable(const char* relative) {
  static const std::string dir = [] {
    char buffer[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer);
    const std::string exe = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string("./program");
    return exe.substr(0, exe.find_last_of('/'));
  }();
  return dir + "/" + relative;
}

}  // namespace bbs_test

#ifdef BBS_TEST_DATA_RELATIVE
#define BBS_TEST_DATA_DIR ::bbs_test::beside_executable(BBS_TEST_DATA_RELATIVE)
#endif
#ifdef BBS_MODELS_RELATIVE
#define BBS_MODELS_DIR ::bbs_test::beside_executable(BBS_MODELS_RELATIVE)
#endif
#ifdef BBS_CLI_RELATIVE
#define BBS_CLI ::bbs_test::beside_executable(BBS_CLI_RELATIVE)
#endif
