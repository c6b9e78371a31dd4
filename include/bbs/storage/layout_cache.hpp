// LayoutCache: arrangements of a matrix's CSB arrays that a backend derives for its own kernels
// (the SIMD backend's row groups, say), built on first use and kept next to the canonical arrays.
// The canonical arrays stay the only source: an arrangement is never written back, never saved,
// and is dropped whenever the owner's values may have changed.
//
// Type-erased so that storage knows nothing about backends: an arrangement type L is its own key.
// get<L>() is safe to call from several threads at once; the first caller builds, the others wait.
// It hands out shared ownership, so dropping the cache never pulls an arrangement from under a
// product that is using it.
#pragma once

#include <memory>
#include <mutex>
#include <typeindex>
#include <utility>
#include <vector>

namespace bbs {

class LayoutCache {
 public:
  LayoutCache() = default;
  /// Copies start empty: an arrangement is rebuilt from the copy's own arrays on first use.
  LayoutCache(const LayoutCache&) {}
  LayoutCache& operator=(const LayoutCache&) {
    clear();
    return *this;
  }
  /// Moves keep the arrangements: the moved-to owner holds the same arrays (std::vector moves).
  LayoutCache(LayoutCache&& other) noexcept {
    std::lock_guard<std::mutex> lock(other.mutex_);
    entries_ = std::move(other.entries_);
    other.entries_.clear();
  }
  LayoutCache& operator=(LayoutCache&& other) noexcept {
    if (this != &other) {
      std::scoped_lock lock(mutex_, other.mutex_);
      entries_ = std::move(other.entries_);
      other.entries_.clear();
    }
    return *this;
  }

  /// The arrangement of type L, built by make() (returning L) if this cache does not hold one.
  /// Shared ownership: a product that holds it stays safe even if clear() runs meanwhile.
  template <typename L, typename Make>
  std::shared_ptr<const L> get(Make&& make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& e : entries_) {
      if (e.first == std::type_index(typeid(L))) return std::static_pointer_cast<const L>(e.second);
    }
    auto built = std::make_shared<const L>(make());
    entries_.emplace_back(std::type_index(typeid(L)), built);
    return built;
  }

  /// Whether an arrangement of type L is held (tests use it to see which path ran).
  template <typename L>
  bool holds() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& e : entries_) {
      if (e.first == std::type_index(typeid(L))) return true;
    }
    return false;
  }

  /// Drops every arrangement; the owner calls it when its values may change.
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.clear();
  }

  /// Number of arrangements held.
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::pair<std::type_index, std::shared_ptr<const void>>> entries_;
};

}  // namespace bbs
