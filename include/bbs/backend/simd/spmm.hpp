// SIMD SpMM: for float on AVX-512 and AVX2 kernels that read A once per 16 right-hand sides
// (spmm_panel.hpp); otherwise one SIMD SpMV per right-hand side.
#pragma once

namespace bbs {
namespace simd_detail {

/// Rows [first, last) of Y = alpha * A * X + beta * Y with one variant; Y is the whole matrix.
/// Tests call it for every variant the CPU supports.
template <typename T>
void spmm_rows(Isa isa, const CsbView<T>& a, index first, index last, index n, scalar_t<T> alpha,
               const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  if constexpr (std::is_same<T, float>::value) {
    // One right-hand side is SpMV, whose kernels are faster than a one-column panel.
    if (n > 1 && a.stored_entries() > 0) {
#ifdef BBS_SIMD_HAVE_AVX512
      if (isa == Isa::avx512) {
        spmm_avx512(a, first, last, n, alpha, x, ldx, beta, y, ldy);
        return;
      }
#endif
#ifdef BBS_SIMD_HAVE_AVX2
      if (isa == Isa::avx2) {
        spmm_avx2(a, first, last, n, alpha, x, ldx, beta, y, ldy);
        return;
      }
#endif
    }
  }
  for (index j = 0; j < n; ++j) spmv_rows(isa, a, first, last, alpha, x + j * ldx, beta, y + j * ldy);
}

}  // namespace simd_detail

namespace backend {

template <typename T>
void spmm(simd, const CsbView<T>& a, index n, scalar_t<T> alpha, const activation_t<T>* x, index ldx, scalar_t<T> beta,
          activation_t<T>* y, index ldy) {
  simd_detail::spmm_rows(simd_detail::best_isa(), a, 0, a.rows, n, alpha, x, ldx, beta, y, ldy);
}

template <typename T>
void spmm_rows(simd, const CsbView<T>& a, index first, index last, index n, scalar_t<T> alpha,
               const activation_t<T>* x, index ldx, scalar_t<T> beta, activation_t<T>* y, index ldy) {
  simd_detail::spmm_rows(simd_detail::best_isa(), a, first, last, n, alpha, x, ldx, beta, y, ldy);
}

}  // namespace backend
}  // namespace bbs
