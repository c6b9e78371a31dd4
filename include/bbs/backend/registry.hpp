// The list of compiled-in backends and the process-wide default: the one place a backend is
// registered for run-time choice by name (CLI, benchmarks) and for backend::automatic.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "bbs/backend/reference.hpp"
#include "bbs/backend/simd.hpp"
#ifdef _OPENMP
#include "bbs/backend/openmp.hpp"
#endif
#include "bbs/core/error.hpp"

namespace bbs {
namespace detail {
template <typename... Backends>
struct backend_list {};
}  // namespace detail

/// Every backend this build can run; the first is the default until set_default_backend. A new
/// backend that backend::automatic may choose adds its module header above and its tag here
/// (guarded by its feature macro). OpenMP is opt-in: a library should not start threads unasked.
#ifdef _OPENMP
using compiled_backends = detail::backend_list<backend::simd, backend::reference, backend::openmp>;
#else
using compiled_backends = detail::backend_list<backend::simd, backend::reference>;
#endif

namespace detail {

template <typename... B>
std::vector<std::string> names_of(backend_list<B...>) {
  return {B::name...};
}

/// Position in compiled_backends of the default; 0 is the first (most preferred) entry.
inline std::atomic<int>& default_backend_slot() {
  static std::atomic<int> slot{0};
  return slot;
}

template <typename F, typename First, typename... Rest>
void visit_backend_at(int position, F&& f, backend_list<First, Rest...>) {
  if (position == 0 || sizeof...(Rest) == 0) {
    f(First{});
  } else if constexpr (sizeof...(Rest) > 0) {
    visit_backend_at(position - 1, f, backend_list<Rest...>{});
  }
}

/// Calls f with a default-constructed tag of the current default backend.
template <typename F>
void visit_default_backend(F&& f) {
  visit_backend_at(default_backend_slot().load(std::memory_order_relaxed), f, compiled_backends{});
}

}  // namespace detail

/// Names of the backends compiled into this build ("reference", ...).
inline std::vector<std::string> backend_names() { return detail::names_of(compiled_backends{}); }

/// Makes `name` the backend that backend::automatic (every product without bbs::on) runs.
/// Throws config_error naming the available backends if `name` is not one of them.
inline void set_default_backend(const std::string& name) {
  const std::vector<std::string> names = backend_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      detail::default_backend_slot().store(static_cast<int>(i), std::memory_order_relaxed);
      return;
    }
  }
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  detail::throw_error<config_error>("unknown backend \"", name, "\"; this build has: ", known);
}

/// Name of the backend that backend::automatic currently runs.
inline std::string default_backend() {
  return backend_names()[static_cast<std::size_t>(detail::default_backend_slot().load(std::memory_order_relaxed))];
}

}  // namespace bbs
