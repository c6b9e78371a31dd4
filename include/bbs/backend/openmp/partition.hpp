// Row partitioning for the OpenMP backend: every row carries the same work in BBS, so equal row
// ranges are equal work. Decides how many threads a product is worth and runs one range each.
//
// On a busy machine a thread of a parallel product can lose its core to another process, and the
// product then waits for it: measured on a 2-core Zen 5 with a busy process pinned to one core, a
// 4096 x 4096 SpMV took 304 us on two threads against 154 us on one. ParallelGate watches for that:
// the same equal-work rows give every product its own measure of what one thread would have
// needed, and products that do not beat it send the backend to one thread for a while.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

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

/// Nanoseconds on the monotonic clock.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Whether parallel products pay off right now. record() is told, after each parallel product, its
/// wall time and what one thread would have needed for all its rows (the fastest thread's time
/// per row times the rows). Products are judged together, in windows of 10 ms of one-thread work:
/// when a window's products took at least 90 % of that in wall time (threads waited for cores
/// other processes held, or the machine is oversubscribed), the gate closes, and products run on
/// one thread for 10 ms, then try several threads again.
/// - Windows of time, because a competing process takes a core in time slices: most products fall
///   between its slices and pay off, and one in a few dozen waits a whole slice (milliseconds) and
///   costs more than the others gained. A virtual machine's host preempting a product now and
///   then costs far less per window.
/// - The first product after the gate reopens is not counted: it wakes threads that went to sleep
///   (tens of microseconds).
/// - Closing again within 1 s of reopening doubles the wait, up to 1 s; a second open without
///   closing starts it at 10 ms again. Under a steady competing load that costs about one window
///   of slower products a second.
/// Thread-safe; shared by every product in the process.
class ParallelGate {
 public:
  static constexpr std::int64_t first_backoff_ns = 10'000'000;
  static constexpr std::int64_t max_backoff_ns = 1'000'000'000;
  /// Open this long without closing, the next closing waits first_backoff_ns again.
  static constexpr std::int64_t forget_after_ns = 1'000'000'000;
  /// One-thread work (summed one_thread times) judged together.
  static constexpr std::int64_t window_ns = 10'000'000;

  /// Whether a product starting at `now` may use several threads.
  bool open(std::int64_t now) const { return now >= closed_until_.load(std::memory_order_relaxed); }

  /// A parallel product took `wall` ns where one thread would have taken `one_thread` ns; it
  /// finished at `now`.
  void record(std::int64_t wall, std::int64_t one_thread, std::int64_t now) {
    if (skip_next_.exchange(false, std::memory_order_relaxed)) return;
    wall_sum_.fetch_add(wall, std::memory_order_relaxed);
    if (one_thread_sum_.fetch_add(one_thread, std::memory_order_relaxed) + one_thread < window_ns) return;
    const std::int64_t walls = wall_sum_.exchange(0, std::memory_order_relaxed);
    const std::int64_t one_threads = one_thread_sum_.exchange(0, std::memory_order_relaxed);
    if (walls * 10 < one_threads * 9) return;  // they paid off
    const std::int64_t previous = backoff_.load(std::memory_order_relaxed);
    const bool recent = previous > 0 && now - closed_until_.load(std::memory_order_relaxed) < forget_after_ns;
    const std::int64_t next = recent ? std::min(2 * previous, max_backoff_ns) : first_backoff_ns;
    backoff_.store(next, std::memory_order_relaxed);
    skip_next_.store(true, std::memory_order_relaxed);
    closed_until_.store(now + next, std::memory_order_relaxed);
  }

  /// How long the gate was last closed for (0: never, or since reset()).
  std::int64_t backoff() const { return backoff_.load(std::memory_order_relaxed); }

  /// Open, with no back-off and nothing counted.
  void reset() {
    wall_sum_.store(0, std::memory_order_relaxed);
    one_thread_sum_.store(0, std::memory_order_relaxed);
    skip_next_.store(false, std::memory_order_relaxed);
    backoff_.store(0, std::memory_order_relaxed);
    closed_until_.store(0, std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> closed_until_{0};
  std::atomic<std::int64_t> backoff_{0};
  std::atomic<std::int64_t> wall_sum_{0};
  std::atomic<std::int64_t> one_thread_sum_{0};
  std::atomic<bool> skip_next_{false};
};

inline ParallelGate& parallel_gate() {
  static ParallelGate gate;
  return gate;
}

/// Whether products consult parallel_gate() (default true; set_openmp_adaptive).
inline std::atomic<bool>& adaptive() {
  static std::atomic<bool> value{true};
  return value;
}

/// Threads worth using for `entries` stored entries: 1 inside an enclosing parallel region (so a
/// product called from parallel code stays on its thread) and while parallel_gate() is closed,
/// else up to omp_get_max_threads().
inline int threads_for(index entries, index rows) {
  if (omp_in_parallel()) return 1;
  const index per_thread = std::max<index>(1, min_entries_per_thread().load(std::memory_order_relaxed));
  const index by_work = entries / per_thread;
  const auto threads =
      static_cast<int>(std::max<index>(1, std::min<index>({by_work, rows, index(omp_get_max_threads())})));
  if (threads > 1 && adaptive().load(std::memory_order_relaxed) && !parallel_gate().open(now_ns())) return 1;
  return threads;
}

/// Calls f(thread, first_row, last_row) on `threads` threads with equal row ranges, and tells
/// parallel_gate() how the product went (adaptive() on).
template <typename F>
void for_row_ranges(index rows, int threads, F&& f) {
  if (threads <= 1) {
    f(0, index(0), rows);
    return;
  }
  const index chunk = (rows + threads - 1) / threads;
  const bool measure = adaptive().load(std::memory_order_relaxed);
  // The fastest thread's time per row, in picoseconds: every row costs the same.
  std::atomic<std::int64_t> fastest_row_ps{std::numeric_limits<std::int64_t>::max()};
  const std::int64_t start = measure ? now_ns() : 0;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const index first = std::min(rows, t * chunk);
    const index last = std::min(rows, first + chunk);
    if (first < last) {
      const std::int64_t t0 = measure ? now_ns() : 0;
      f(t, first, last);
      if (measure) {
        const std::int64_t per_row = (now_ns() - t0) * 1000 / static_cast<std::int64_t>(last - first);
        std::int64_t seen = fastest_row_ps.load(std::memory_order_relaxed);
        while (per_row < seen && !fastest_row_ps.compare_exchange_weak(seen, per_row, std::memory_order_relaxed)) {
        }
      }
    }
  }
  if (measure) {
    const std::int64_t end = now_ns();
    const std::int64_t fastest = fastest_row_ps.load(std::memory_order_relaxed);
    if (fastest != std::numeric_limits<std::int64_t>::max()) {
      parallel_gate().record(end - start, fastest * static_cast<std::int64_t>(rows) / 1000, end);
    }
  }
}

}  // namespace openmp_impl
}  // namespace backend

/// Sets the work below which OpenMP products run on one thread (default 131072 stored entries per
/// thread). Tests set 1 to split even tiny matrices.
inline void set_openmp_min_entries_per_thread(index entries) {
  backend::openmp_impl::min_entries_per_thread().store(entries, std::memory_order_relaxed);
}

/// Whether the openmp backend falls back to one thread while parallel products do not pay off
/// (default true; backend/openmp/partition.hpp, ParallelGate). false: every product large enough
/// uses omp_get_max_threads() threads whatever the load, as scaling measurements and tests of the
/// split paths want.
inline void set_openmp_adaptive(bool on) {
  backend::openmp_impl::adaptive().store(on, std::memory_order_relaxed);
  backend::openmp_impl::parallel_gate().reset();
}

}  // namespace bbs
