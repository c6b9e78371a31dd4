// SIMD SpMV: the best variant this CPU runs (AVX-512 for float), the reference loops otherwise
// (double, 16-bit fixed point until its kernels exist, CPUs without AVX-512).
#pragma once

#include <limits>

namespace bbs {
namespace simd_detail {

/// Whether the AVX-512 kernel can take this matrix: its column arithmetic is 32-bit.
template <typename T>
bool avx512_applies(const CsbView<T>& a) {
  return std::is_same<T, float>::value && a.num_banks() * a.bank_size() <= std::numeric_limits<int>::max();
}

/// Runs one variant; tests call it for every variant the CPU supports.
template <typename T>
void spmv(Isa isa, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
#ifdef BBS_SIMD_HAVE_AVX512
  if constexpr (std::is_same<T, float>::value) {
    if (isa == Isa::avx512 && avx512_applies(a)) {
      spmv_avx512(a, alpha, x, beta, y);
      return;
    }
  }
#endif
  (void)isa;
  backend::spmv(backend::reference{}, a, alpha, x, beta, y);
}

}  // namespace simd_detail

namespace backend {

template <typename T>
void spmv(simd, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
  simd_detail::spmv(simd_detail::best_isa(), a, alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
