// The simd backend's SpMV reads the row groups (row_groups.hpp) wherever spmv_path says so:
// prepare builds them now, and they hold every entry, so a prepared matrix may drop its canonical
// arrays and rebuild them from the groups (restore_canonical). The openmp backend derives from
// simd and splits the same kernels by rows, so it inherits both functions.
#pragma once

#include <functional>
#include <type_traits>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/backend/simd/spmv.hpp"
#include "bbs/backend/simd/tag.hpp"
#include "bbs/core/fixed_point.hpp"

namespace bbs {
namespace backend {

template <typename Backend, typename T>
std::function<CanonicalArrays<T>()> prepare_spmv(Backend, requires_backend<simd>, const CsbView<T>& a) {
  using namespace simd_impl;
  if (spmv_path(best_isa(), a) != SpmvPath::row_groups) return {};
  if constexpr (is_fixed_point<T>::value) {
    auto groups = cached_row_groups(raw_view(a));
    return [groups] { return restore_canonical<T>(*groups); };
  } else {
    auto groups = cached_row_groups(a);
    return [groups] { return restore_canonical<T>(*groups); };
  }
}

template <typename Backend, typename T>
bool spmv_reads_arrangement(Backend, requires_backend<simd>, const CsbView<T>& a) {
  using namespace simd_impl;
  if (a.layouts == nullptr || spmv_path(best_isa(), a) != SpmvPath::row_groups) return false;
  if constexpr (is_fixed_point<T>::value) {
    return a.layouts->template holds<RowGroups<typename T::raw_type>>();
  } else {
    return a.layouts->template holds<RowGroups<T>>();
  }
}

}  // namespace backend
}  // namespace bbs
