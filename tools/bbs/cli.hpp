// What the bbs tool's commands share: argument parsing, usage errors, progress on stderr and
// timing. The commands live in main.cpp (matrices) and models.cpp (model files).
#pragma once

#include <bbs/bbs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace bbs_cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Positional arguments and --options of one command; every option must be known to it.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::set<std::string> flags;

  Args(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& flag_names) {
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        positional.push_back(a);
        continue;
      }
      std::string value;
      const std::size_t eq = a.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
      const std::string name = a.substr(2);
      if (flag_names.count(name) != 0 && !inline_value) {
        flags.insert(name);
      } else if (valued.count(name) != 0) {
        if (!inline_value) {
          if (i + 1 >= argc) throw UsageError("option --" + name + " needs a value");
          value = argv[++i];
        }
        options[name] = value;
      } else {
        throw UsageError("unknown option --" + name);
      }
    }
  }

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    const auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  void expect_positional(std::size_t n, const char* what) const {
    if (positional.size() != n) {
      throw UsageError(std::string("expected ") + what + ", got " + std::to_string(positional.size()) + " arguments");
    }
  }
};

inline long long parse_integer(const std::string& name, const std::string& text, long long lo, long long hi) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < lo || v > hi) {
    throw UsageError("--" + name + " " + text + ": expected an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  }
  return v;
}

inline double parse_number(const std::string& name, const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) throw UsageError("--" + name + " " + text + ": expected a number");
  return v;
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Step-by-step progress on stderr: "bbs prune: reading w.npy ... 0.12 s".
class Progress {
 public:
  Progress(const char* command, bool quiet) : command_(command), quiet_(quiet) {}
  template <typename F>
  auto step(const std::string& what, F&& f) {
    if (!quiet_) std::cerr << "bbs " << command_ << ": " << what << " ..." << std::flush;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      if constexpr (std::is_void<decltype(f())>::value) {
        f();
        done(t0);
      } else {
        auto result = f();
        done(t0);
        return result;
      }
    } catch (...) {
      if (!quiet_) std::cerr << " failed\n";
      throw;
    }
  }

 private:
  void done(std::chrono::steady_clock::time_point t0) const {
    if (quiet_) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char text[32];
    std::snprintf(text, sizeof(text), " %.2f s\n", s);
    std::cerr << text;
  }
  const char* command_;
  bool quiet_;
};

/// Median seconds of one call of f over `repeats` timed runs of at least min_time each.
template <typename F>
double median_seconds(F&& f, int repeats, double min_time) {
  f();  // warm-up: caches, derived arrangements, thread pools
  std::vector<double> samples;
  for (int r = 0; r < repeats; ++r) {
    long iterations = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double elapsed = 0;
    do {
      f();
      ++iterations;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (elapsed < min_time);
    samples.push_back(elapsed / double(iterations));
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

/// A model file (a ZIP archive: "PK\3\4"), not a CSB matrix file.
inline bool is_model_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  unsigned char magic[4] = {0, 0, 0, 0};
  const std::size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  return n == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

/// float32 or fixed16<F>: the value types a model runs in.
template <typename F>
auto with_model_type(const bbs::ValueTypeSpec& t, F&& f) {
  if (t.kind == bbs::ValueTypeSpec::Kind::float32) return f(float{});
  if (t.kind == bbs::ValueTypeSpec::Kind::fixed16) {
    switch (t.frac_bits) {
      case 8:
        return f(bbs::fixed16<8>{});
      case 9:
        return f(bbs::fixed16<9>{});
      case 10:
        return f(bbs::fixed16<10>{});
      case 11:
        return f(bbs::fixed16<11>{});
      case 12:
        return f(bbs::fixed16<12>{});
      case 13:
        return f(bbs::fixed16<13>{});
      default:
        break;
    }
  }
  throw UsageError("--type: models run as float32 or fixed16<F> with F from 8 to 13");
}

/// The model commands (models.cpp).
int eval(int argc, char** argv);
int calibrate(int argc, char** argv);
int model_info(const std::string& path);
int model_bench(int argc, char** argv);
/// Streaming phone recognition (transcribe.cpp).
int transcribe(int argc, char** argv);

}  // namespace bbs_cli
