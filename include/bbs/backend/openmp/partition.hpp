// Row partitioning for the OpenMP backend: every row carries the same work in BBS, so equal row
// ranges are equal work. Decides how many threads a product is worth and runs one range each.
#pragma once

#include <algorithm>
#include <atomic>

#include <omp.h>

#include "bbs/core/config.hpp"

namespace bbs {
namespace backend {
namespace openmp_impl {

/// Default of min_entries_per_thread(): 131072 stored entries take the AVX-512 kernel about 10 us
/// on one core, and a parallel region's fork and join costs microseconds; measured, a 1024 x 1024
/// matrix at 87.5 % (131072 entries) gains nothing from a second thread, 2048 x 1024 gains 1.4x.
constexpr index default_min_entries_per_thread = index(1) << 17;

/// Below this many stored entries per thread a product runs on one thread.
inline std::atomic<index>& min_entries_per_thread() {
  static std::atomic<index> value{default_min_entries_per_thread};
  return value;
}

/// Threads worth using for `entries` stored entries: 1 inside an enclosing parallel region (so a
/// product called from parallel code stays on its thread), else up to omp_get_max_threads().
inline int threads_for(index entries, index rows) {
  if (omp_in_parallel()) return 1;
  const index per_thread = std::max<index>(1, min_entries_per_thread().load(std::memory_order_relaxed));
  const index by_work = entries / per_thread;
  return static_cast<int>(std::max<index>(1, std::min<index>({by_work, rows, index(omp_get_max_threads())})));
}

/// Calls f(thread, first_row, last_row) on `threads` threads with equal row ranges.
template <typename F>
void for_row_ranges(index rows, int threads, F&& f) {
  if (threads <= 1) {
    f(0, index(0), rows);
    return;
  }
  const index chunk = (rows + threads - 1) / threads;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const index first = std::min(rows, t * chunk);
    const index last = std::min(rows, first + chunk);
    if (first < last) f(t, first, last);
  }
}

}  // namespace openmp_impl
}  // namespace backend

/// Sets the work below which OpenMP products run on one thread (default 131072 stored entries per
/// thread). Tests set 1 to split even tiny matrices.
inline void set_openmp_min_entries_per_thread(index entries) {
  backend::openmp_impl::min_entries_per_thread().store(entries, std::memory_order_relaxed);
}

}  // namespace bbs
