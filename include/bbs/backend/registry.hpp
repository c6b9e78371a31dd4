// The list of compiled-in backends and the process-wide default: the one place a backend is
// registered for run-time choice by name (CLI, benchmarks) and for backend::automatic.
#pragma once

#include <atomic>
#include <string>
#include <utility>
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

template <typename F, typename... B>
void for_each_in(F& f, backend_list<B...>) {
  (f(B{}), ...);
}

/// Calls f with a default-constructed tag of the current default backend.
template <typename F>
void visit_default_backend(F&& f) {
  visit_backend_at(default_backend_slot().load(std::memory_order_relaxed), f, compiled_backends{});
}

}  // namespace detail

/// Names of the backends compiled into this build ("reference", ...).
inline std::vector<std::string> backend_names() { return detail::names_of(compiled_backends{}); }

/// Position of the backend called `name` in backend_names(). Throws config_error naming the
/// available backends if `name` is not one of them.
inline int backend_index(const std::string& name) {
  const std::vector<std::string> names = backend_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  detail::throw_error<config_error>("unknown backend \"", name, "\"; this build has: ", known);
}

/// Calls f with a default-constructed tag of the backend at `index` of backend_names(): a backend
/// chosen at run time for one call, without touching the process default. Throws config_error
/// for an index outside the list.
template <typename F>
void visit_backend(int index, F&& f) {
  const int count = static_cast<int>(backend_names().size());
  if (index < 0 || index >= count) {
    detail::throw_error<config_error>("visit_backend: backend index ", index, " is outside 0..", count - 1);
  }
  detail::visit_backend_at(index, f, compiled_backends{});
}

/// visit_backend(backend_index(name), f).
template <typename F>
void visit_backend(const std::string& name, F&& f) {
  visit_backend(backend_index(name), std::forward<F>(f));
}

/// Calls f with a default-constructed tag of every compiled backend, in backend_names() order.
template <typename F>
void for_each_backend(F&& f) {
  detail::for_each_in(f, compiled_backends{});
}

/// Makes `name` the backend that backend::automatic (every product without bbs::on) runs.
/// Throws config_error naming the available backends if `name` is not one of them.
inline void set_default_backend(const std::string& name) {
  detail::default_backend_slot().store(backend_index(name), std::memory_order_relaxed);
}

/// Name of the backend that backend::automatic currently runs.
inline std::string default_backend() {
  return backend_names()[static_cast<std::size_t>(detail::default_backend_slot().load(std::memory_order_relaxed))];
}

}  // namespace bbs
