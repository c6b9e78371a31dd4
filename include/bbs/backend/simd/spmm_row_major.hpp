// SIMD row-major SpMM: the AVX-512 float kernel (spmm_row_major_avx512.hpp) where the CPU runs it;
// the reference loops otherwise (double, bfloat16, half, fixed16, fixed8, and CPUs without
// AVX-512: the reference's tile-of-pixels loops vectorize with the compiler's baseline ISA).
#pragma once

#include <type_traits>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/reference/spmm_row_major.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/spmm_row_major_avx512.hpp"
#include "bbs/backend/simd/tag.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

/// Y = alpha * A * X + beta * Y (row-major) with one variant; tests call it for every variant the
/// CPU supports.
template <typename T>
void spmm_row_major(Isa isa, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx,
                    scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if constexpr (std::is_same<T, float>::value) {
#ifdef BBS_SIMD_HAVE_AVX512
    if (uses_avx512(isa)) {
      spmm_row_major_avx512(a, n, alpha, x, ldx, beta, y, ldy);
      return;
    }
#endif
  }
  (void)isa;
  spmm_row_major(simd::parent{}, simd::parent{}, a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace simd_impl

template <typename Backend, typename T>
void spmm_row_major(Backend, requires_backend<simd>, const CsbView<T>& a, index n, scalar_t<T> alpha,
                    const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  simd_impl::spmm_row_major(simd_impl::best_isa(), a, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs
