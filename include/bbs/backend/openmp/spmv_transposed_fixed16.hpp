// OpenMP transposed SpMV for 16-bit fixed point: one thread. Partial sums requantized per thread
// and then added would round twice and not match the reference bit for bit; exact int32 partial
// sums need a kernel that exposes its accumulators (future work, issue: fast CPU backends).
// Partial ordering picks this overload over the generic one for every fixed16<F>.
#pragma once

#ifndef BBS_UMBRELLA_INCLUDED
#error "Internal bbs header: include <bbs/bbs.hpp> instead."
#endif

namespace bbs {
namespace backend {

template <typename Inner, int F>
void spmv_transposed(openmp_over<Inner>, const CsbView<fixed16<F>>& a, float alpha, const fixed16<F>* x, float beta,
                     fixed16<F>* y) {
  spmv_transposed(Inner{}, a, alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
