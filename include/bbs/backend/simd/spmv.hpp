// SIMD SpMV: the best variant this CPU runs, the reference loops otherwise (double, 16-bit fixed
// point until its kernels exist, CPUs without AVX-512).
//
// For float on AVX-512 the kernel reads the matrix's row groups (row_groups.hpp), derived once and
// cached by the owning BbsMatrix; views without a cache (a BbsMap, a row slice) and banks wider
// than 128 use the gather kernel on the canonical layout.
#pragma once

#include <limits>

namespace bbs {
namespace simd_detail {

/// Whether the AVX-512 gather kernel can take this matrix: its column arithmetic is 32-bit.
template <typename T>
bool avx512_applies(const CsbView<T>& a) {
  return std::is_same<T, float>::value && a.num_banks() * a.bank_size() <= std::numeric_limits<int>::max();
}

/// The cached row groups of a when the permute kernels can take it, else null.
inline const RowGroups<float>* row_groups_for_avx512(const CsbView<float>& a) {
#ifdef BBS_SIMD_HAVE_AVX512
  if (a.cols == 0 || a.nnz_per_bank() == 0 || slice_registers(a.bank_size()) == 0) return nullptr;
  return cached_row_groups(a);
#else
  (void)a;
  return nullptr;
#endif
}

/// Rows [first, last) of y = alpha * A * x + beta * y with one variant; y is the whole vector.
/// Tests call it for every variant the CPU supports.
template <typename T>
void spmv_rows(Isa isa, const CsbView<T>& a, index first, index last, T alpha, const T* x, T beta, T* y) {
#ifdef BBS_SIMD_HAVE_AVX512
  if constexpr (std::is_same<T, float>::value) {
    if (isa == Isa::avx512) {
      if (const RowGroups<float>* groups = row_groups_for_avx512(a)) {
        spmv_avx512_row_groups(*groups, first, last, alpha, x, beta, y);
        return;
      }
      if (avx512_applies(a)) {
        spmv_avx512_canonical(a.rows_slice(first, last), alpha, x, beta, y + first);
        return;
      }
    }
  }
#endif
  (void)isa;
  backend::spmv(backend::reference{}, a.rows_slice(first, last), alpha, x, beta, y + first);
}

/// y = alpha * A * x + beta * y with one variant.
template <typename T>
void spmv(Isa isa, const CsbView<T>& a, T alpha, const T* x, T beta, T* y) {
  spmv_rows(isa, a, 0, a.rows, alpha, x, beta, y);
}

}  // namespace simd_detail

namespace backend {

template <typename T>
void spmv(simd, const CsbView<T>& a, T alpha, const T* x, T beta, T* y) {
  simd_detail::spmv(simd_detail::best_isa(), a, alpha, x, beta, y);
}

template <typename T>
void spmv_rows(simd, const CsbView<T>& a, index first, index last, T alpha, const T* x, T beta, T* y) {
  simd_detail::spmv_rows(simd_detail::best_isa(), a, first, last, alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
