// SIMD SpMV: the best variant this CPU runs, the reference loops otherwise (double, the 16-bit
// types until their kernels exist, CPUs without AVX2).
//
// For float the AVX-512 and AVX2 kernels read the matrix's row groups (row_groups.hpp), derived
// once and cached by the owning BbsMatrix. Views without a cache (a BbsMap, a row slice) and banks
// wider than 256 (16-bit indices) use the AVX-512 gather kernel on the canonical layout, or the
// reference loops under AVX2.
#pragma once

#include <limits>

namespace bbs {
namespace simd_detail {

/// Whether the AVX-512 gather kernel can take this matrix: its column arithmetic is 32-bit.
template <typename T>
bool avx512_applies(const CsbView<T>& a) {
  return std::is_same<T, float>::value && a.num_banks() * a.bank_size() <= std::numeric_limits<int>::max();
}

/// The cached row groups of a when a row-group kernel can take it (at most max_bank columns per
/// bank), else null.
inline const RowGroups<float>* usable_row_groups(const CsbView<float>& a, index max_bank) {
  if (a.cols == 0 || a.nnz_per_bank() == 0 || a.bank_size() > max_bank) return nullptr;
  return cached_row_groups(a);
}

/// Rows [first, last) of y = alpha * A * x + beta * y with one variant; y is the whole vector.
/// Tests call it for every variant the CPU supports.
template <typename T>
void spmv_rows(Isa isa, const CsbView<T>& a, index first, index last, scalar_t<T> alpha, const activation_t<T>* x,
               scalar_t<T> beta, activation_t<T>* y) {
  if constexpr (std::is_same<T, float>::value) {
#ifdef BBS_SIMD_HAVE_AVX512
    if (isa == Isa::avx512) {
      if (const RowGroups<float>* groups = usable_row_groups(a, 16 * max_slice_registers)) {
        spmv_avx512_row_groups(*groups, first, last, alpha, x, beta, y);
        return;
      }
      if (avx512_applies(a)) {
        spmv_avx512_canonical(a.rows_slice(first, last), alpha, x, beta, y + first);
        return;
      }
    }
#endif
#ifdef BBS_SIMD_HAVE_AVX2
    if (isa == Isa::avx2) {
      if (const RowGroups<float>* groups = usable_row_groups(a, 256)) {
        spmv_avx2_row_groups(*groups, first, last, alpha, x, beta, y);
        return;
      }
    }
#endif
  }
  (void)isa;
  backend::spmv(backend::reference{}, a.rows_slice(first, last), alpha, x, beta, y + first);
}

/// y = alpha * A * x + beta * y with one variant.
template <typename T>
void spmv(Isa isa, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
          activation_t<T>* y) {
  spmv_rows(isa, a, 0, a.rows, alpha, x, beta, y);
}

}  // namespace simd_detail

namespace backend {

template <typename T>
void spmv(simd, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
          activation_t<T>* y) {
  simd_detail::spmv(simd_detail::best_isa(), a, alpha, x, beta, y);
}

template <typename T>
void spmv_rows(simd, const CsbView<T>& a, index first, index last, scalar_t<T> alpha, const activation_t<T>* x,
               scalar_t<T> beta, activation_t<T>* y) {
  simd_detail::spmv_rows(simd_detail::best_isa(), a, first, last, alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
