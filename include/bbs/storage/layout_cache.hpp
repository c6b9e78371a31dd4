// LayoutCache: arrangements of a matrix's CSB arrays that a backend derives for its own kernels
// (the SIMD backend's row groups, say), built on first use or by BbsMatrix::prepare and kept next
// to the canonical arrays. An arrangement is never written back, never saved, and is dropped
// whenever the owner's values may have changed.
//
// A prepared matrix may drop its canonical arrays when an arrangement holds every entry
// (BbsMatrix::prepare with Canonical::drop). The cache then also holds how to rebuild them from
// that arrangement (set_restore), and rebuilds them once, on the first call that reads them
// (restored()): saving, toDense, another backend's kernel.
//
// Type-erased so that storage knows nothing about backends: an arrangement type L is its own key.
// get<L>() is safe to call from several threads at once; the first caller builds, the others wait.
// It hands out shared ownership, so dropping the cache never pulls an arrangement from under a
// product that is using it. bytes() is what the arrangements hold (L::memory_bytes(), where L has
// one), so that BbsMatrix::memoryBytes() reports what is really resident.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

namespace bbs {

/// Canonical CSB arrays rebuilt from an arrangement (LayoutCache::restored): values, and the
/// in-bank indices in the width the bank size needs (the other vector stays empty).
template <typename T>
struct CanonicalArrays {
  std::vector<T> values;
  std::vector<std::uint8_t> idx8;
  std::vector<std::uint16_t> idx16;

  const void* index_data() const {
    return idx16.empty() ? static_cast<const void*>(idx8.data()) : static_cast<const void*>(idx16.data());
  }
  std::size_t memory_bytes() const {
    return values.size() * sizeof(T) + idx8.size() + idx16.size() * sizeof(std::uint16_t);
  }
};

namespace detail {
template <typename L, typename = void>
struct has_memory_bytes : std::false_type {};
template <typename L>
struct has_memory_bytes<L, std::void_t<decltype(std::declval<const L&>().memory_bytes())>> : std::true_type {};

/// The bytes an arrangement holds: L::memory_bytes() where L has one, else 0.
template <typename L>
std::size_t arrangement_bytes(const L& l) {
  if constexpr (has_memory_bytes<L>::value) {
    return l.memory_bytes();
  } else {
    (void)l;
    return 0;
  }
}
}  // namespace detail

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
    take(other);
  }
  LayoutCache& operator=(LayoutCache&& other) noexcept {
    if (this != &other) {
      std::scoped_lock lock(mutex_, other.mutex_);
      take(other);
    }
    return *this;
  }

  /// The arrangement of type L, built by make() (returning L) if this cache does not hold one.
  /// Shared ownership: a product that holds it stays safe even if clear() runs meanwhile.
  template <typename L, typename Make>
  std::shared_ptr<const L> get(Make&& make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& e : entries_) {
      if (e.type == std::type_index(typeid(L))) return std::static_pointer_cast<const L>(e.value);
    }
    auto built = std::make_shared<const L>(make());
    entries_.push_back(Entry{std::type_index(typeid(L)), built, detail::arrangement_bytes(*built)});
    return built;
  }

  /// Whether an arrangement of type L is held (tests use it to see which path ran).
  template <typename L>
  bool holds() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& e : entries_) {
      if (e.type == std::type_index(typeid(L))) return true;
    }
    return false;
  }

  /// Drops every arrangement, the restored canonical arrays and how to restore them; the owner
  /// calls it when its values may change (after taking its canonical arrays back, if it had
  /// dropped them).
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.clear();
    restore_ = nullptr;
    restored_.reset();
    restored_bytes_ = 0;
  }

  /// How to rebuild the owner's canonical arrays, an A = CanonicalArrays<T>, from an arrangement
  /// this cache holds: set by an owner that drops its own copy. Replaces a previous one and drops
  /// arrays restored before (prepare again: one copy again).
  template <typename A>
  void set_restore(std::function<A()> restore) {
    std::lock_guard<std::mutex> lock(mutex_);
    restore_ = [restore = std::move(restore)]() {
      auto arrays = std::make_shared<const A>(restore());
      const std::size_t bytes = detail::arrangement_bytes(*arrays);
      return std::make_pair(std::shared_ptr<const void>(std::move(arrays)), bytes);
    };
    restored_.reset();
    restored_bytes_ = 0;
  }

  /// The canonical arrays rebuilt by the function set_restore set, built on the first call and
  /// kept; null when none is set.
  template <typename A>
  std::shared_ptr<const A> restored() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!restored_ && restore_) std::tie(restored_, restored_bytes_) = restore_();
    return std::static_pointer_cast<const A>(restored_);
  }

  /// Whether restored() has rebuilt the canonical arrays (they are resident again).
  bool holds_restored() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return restored_ != nullptr;
  }

  /// Bytes the arrangements and the restored arrays hold (what they add to the owner's memory).
  std::size_t bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t total = restored_bytes_;
    for (const auto& e : entries_) total += e.bytes;
    return total;
  }

  /// Number of arrangements held.
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::type_index type;
    std::shared_ptr<const void> value;
    std::size_t bytes;
  };

  /// Takes other's contents; both mutexes are held.
  void take(LayoutCache& other) {
    entries_ = std::move(other.entries_);
    other.entries_.clear();
    restore_ = std::move(other.restore_);
    other.restore_ = nullptr;
    restored_ = std::move(other.restored_);
    restored_bytes_ = other.restored_bytes_;
    other.restored_bytes_ = 0;
  }

  mutable std::mutex mutex_;
  mutable std::vector<Entry> entries_;
  std::function<std::pair<std::shared_ptr<const void>, std::size_t>()> restore_;
  mutable std::shared_ptr<const void> restored_;
  mutable std::size_t restored_bytes_ = 0;
};

}  // namespace bbs
