// What a backend builds ahead of its SpMV (BbsMatrix::prepare, through kernel::prepare), and
// whether its SpMV runs on a view whose canonical arrays were dropped (kernel::spmv). The
// reference reads the canonical arrays: it builds nothing, and needs them.
#pragma once

#include <functional>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/tag.hpp"
#include "bbs/storage/csb_view.hpp"
#include "bbs/storage/layout_cache.hpp"

namespace bbs {
namespace backend {

/// Builds the arrangement Backend's SpMV reads for A, in A's layout cache, and returns how to
/// rebuild A's canonical arrays from it; empty (nothing built) for a backend that reads them.
template <typename Backend, typename T>
std::function<CanonicalArrays<T>()> prepare_spmv(Backend, requires_backend<reference>, const CsbView<T>&) {
  return {};
}

/// Whether Backend's SpMV of A reads only an arrangement A's layout cache already holds, so that
/// it runs on a view without canonical arrays.
template <typename Backend, typename T>
bool spmv_reads_arrangement(Backend, requires_backend<reference>, const CsbView<T>&) {
  return false;
}

}  // namespace backend
}  // namespace bbs
