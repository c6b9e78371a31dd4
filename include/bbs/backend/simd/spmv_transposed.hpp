// SIMD transposed SpMV: the reference loops for now (a scatter; no vector kernel yet).
#pragma once

namespace bbs {
namespace backend {

template <typename T>
void spmv_transposed(simd, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
                     activation_t<T>* y) {
  spmv_transposed(reference{}, a, alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
