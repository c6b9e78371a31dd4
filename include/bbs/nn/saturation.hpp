// Saturation is never silent: while a SaturationCounter is alive on a thread, the fixed-point
// layers run on that thread count, per tensor, the values that reached the limits of their int16
// format (-32768 or 32767 raw). Every saturating rule of fixed_rules clamps to exactly those
// values, so a count is the number of saturated results, plus any result that landed exactly on
// a limit without saturating (rare, and then as worrying: the format has no room left). Counting
// is a pass over each tensor a layer writes, after the kernels, so it adds nothing to the
// products and is the same on every backend. Without a counter the layers skip it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "bbs/core/fixed_formats.hpp"
#include "bbs/core/fixed_point.hpp"
#include "bbs/nn/elementwise.hpp"

namespace bbs {
namespace nn {

/// Per-tensor counts of values at the limits of their fixed-point format, gathered on the thread
/// that constructs it, until it is destroyed (counters nest: an inner one hides the outer).
class SaturationCounter {
 public:
  struct Count {
    std::uint64_t saturated = 0;  ///< values at -32768 or 32767 raw
    std::uint64_t values = 0;     ///< values examined
  };

  SaturationCounter() : previous_(slot()) { slot() = this; }
  ~SaturationCounter() { slot() = previous_; }
  SaturationCounter(const SaturationCounter&) = delete;
  SaturationCounter& operator=(const SaturationCounter&) = delete;

  /// The counter of this thread, or nullptr.
  static SaturationCounter* active() { return slot(); }

  /// Counts by tensor name: "<layer>.<tensor>", e.g. "rnn.l1.cell", "fc.output".
  const std::map<std::string, Count>& counts() const { return counts_; }
  /// Saturated values over all tensors.
  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (const auto& c : counts_) n += c.second.saturated;
    return n;
  }

  void add(const std::string& tensor, std::uint64_t saturated, std::uint64_t values) {
    Count& c = counts_[scope_.empty() ? tensor : scope_.back() + "." + tensor];
    c.saturated += saturated;
    c.values += values;
  }

  /// Names the tensors counted while it lives "<name>.<tensor>" (nested scopes join with '.').
  /// Without an active counter it does nothing, and a name given as a function is never built:
  /// layers open scopes on every step.
  class Scope {
   public:
    explicit Scope(const char* name) : Scope([name] { return std::string(name); }) {}
    explicit Scope(const std::string& name) : Scope([&name] { return name; }) {}
    /// make_name() returns the name; called only when a counter is active.
    template <typename MakeName, typename = std::enable_if_t<std::is_invocable_r<std::string, MakeName&>::value>>
    explicit Scope(MakeName&& make_name) : counter_(active()) {
      if (counter_ != nullptr) {
        const std::string name = make_name();
        counter_->scope_.push_back(counter_->scope_.empty() ? name : counter_->scope_.back() + "." + name);
      }
    }
    ~Scope() {
      if (counter_ != nullptr) counter_->scope_.pop_back();
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    SaturationCounter* counter_;
  };

 private:
  static SaturationCounter*& slot() {
    thread_local SaturationCounter* current = nullptr;
    return current;
  }

  SaturationCounter* previous_;
  std::map<std::string, Count> counts_;
  std::vector<std::string> scope_;
};

namespace impl {

/// Adds the values of p[0, n) at the int16 limits to the thread's counter under `tensor`
/// (fixed-point activations only; nothing without a counter).
template <typename A>
void count_saturation(const char* tensor, const A* p, index n) {
  if constexpr (is_fixed16<A>::value) {
    SaturationCounter* c = SaturationCounter::active();
    if (c == nullptr) return;
    std::uint64_t k = 0;
    for (index i = 0; i < n; ++i) {
      const std::int16_t r = p[i].raw();
      k += (r == fixed_rules::raw_max || r == fixed_rules::raw_min) ? 1 : 0;
    }
    c->add(tensor, k, static_cast<std::uint64_t>(n));
  } else if constexpr (std::is_same<A, std::int32_t>::value) {  // a wide LSTM cell state, raw int32
    SaturationCounter* c = SaturationCounter::active();
    if (c == nullptr) return;
    std::uint64_t k = 0;
    for (index i = 0; i < n; ++i) k += (p[i] == fixed_rules::raw32_max || p[i] == fixed_rules::raw32_min) ? 1 : 0;
    c->add(tensor, k, static_cast<std::uint64_t>(n));
  }
}

}  // namespace impl
}  // namespace nn
}  // namespace bbs
