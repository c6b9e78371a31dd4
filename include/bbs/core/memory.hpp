// Aligned memory for arrays that vector kernels read: a backend's arrangements of a matrix, a
// layer's scratch buffers.
#pragma once

#include <cstddef>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace bbs {
namespace detail {

/// Arrays of at least this many bytes are aligned to 2 MiB and, on Linux, advised to use
/// transparent huge pages (madvise, where the system leaves the choice to the program). First
/// touching 4 KiB pages cost about 4 ms per MiB on the shared development VM (a matrix's 42 MB
/// of row groups: 125 ms, the whole of its first product); with huge pages, about 0.2 ms per MiB.
inline constexpr std::size_t huge_page_bytes = std::size_t(2) << 20;

/// std::allocator with 64-byte (cache line, zmm) alignment; huge pages for large arrays.
template <typename T>
struct cacheline_allocator {
  using value_type = T;
  cacheline_allocator() = default;
  template <typename U>
  cacheline_allocator(const cacheline_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    void* p = ::operator new(bytes, alignment(bytes));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= huge_page_bytes) ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept { ::operator delete(p, alignment(n * sizeof(T))); }
  template <typename U>
  bool operator==(const cacheline_allocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const cacheline_allocator<U>&) const noexcept {
    return false;
  }

 private:
  static std::align_val_t alignment(std::size_t bytes) {
    return std::align_val_t(bytes >= huge_page_bytes ? huge_page_bytes : 64);
  }
};

}  // namespace detail
}  // namespace bbs
