// Aligned memory for arrays that vector kernels read: a backend's arrangements of a matrix, a
// layer's scratch buffers.
#pragma once

#include <cstddef>
#include <new>

namespace bbs {
namespace detail {

/// std::allocator with 64-byte (cache line, zmm) alignment.
template <typename T>
struct cacheline_allocator {
  using value_type = T;
  cacheline_allocator() = default;
  template <typename U>
  cacheline_allocator(const cacheline_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(64)); }
  template <typename U>
  bool operator==(const cacheline_allocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const cacheline_allocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace detail
}  // namespace bbs
