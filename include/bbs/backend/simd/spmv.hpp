// SIMD SpMV: the best variant this CPU runs, the reference loops otherwise (double; bfloat16, half
// and fixed point without AVX-512; CPUs without AVX2).
//
// For float (AVX-512, AVX2), bfloat16, half, fixed16 and fixed8 (AVX-512) the kernels read the row groups
// (row_groups.hpp), derived once and cached by the owning BbsMatrix. Views without a cache (a
// BbsMap, a row slice) and banks wider than 256 (16-bit indices) use the AVX-512 gather kernel on
// the canonical layout for float and the reference loops otherwise.
#pragma once

#include <limits>
#include <memory>
#include <type_traits>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/common/row_ranges.hpp"
#include "bbs/backend/reference/spmv.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/backend/simd/spmv_avx2.hpp"
#include "bbs/backend/simd/spmv_avx512.hpp"
#include "bbs/backend/simd/spmv_avx512_fixed_point.hpp"
#include "bbs/backend/simd/tag.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

/// Whether the AVX-512 gather kernel can take this float matrix: its column arithmetic is 32-bit.
inline bool avx512_applies(const CsbView<float>& a) {
  return a.num_banks() * a.bank_size() <= std::numeric_limits<int>::max();
}

/// The cached row groups of a when a row-group kernel can take it (at most max_bank columns per
/// bank), else null.
template <typename T>
std::shared_ptr<const RowGroups<T>> usable_row_groups(const CsbView<T>& a, index max_bank) {
  if (a.cols == 0 || a.nnz_per_bank() == 0 || a.bank_size() > max_bank) return nullptr;
  return cached_row_groups(a);
}

/// The same arrays seen as raw integers (fixed16<F> is one int16, fixed8<Fw, Fx> one int8), so
/// that one arrangement type serves every fraction width.
template <typename T>
CsbView<typename T::raw_type> raw_view(const CsbView<T>& a) {
  static_assert(sizeof(T) == sizeof(typename T::raw_type), "a fixed-point value is its raw integer");
  return CsbView<typename T::raw_type>{
      a.rows, a.cols, a.config, reinterpret_cast<const typename T::raw_type*>(a.values), a.indices, a.layouts};
}

/// Rows [first, last) of y = alpha * A * x + beta * y with a kernel of variant `isa`, if one
/// takes A; returns whether one did. y is the whole vector.
template <typename T>
bool try_spmv_rows(Isa isa, const CsbView<T>& a, index first, index last, scalar_t<T> alpha, const activation_t<T>* x,
                   scalar_t<T> beta, activation_t<T>* y) {
#ifdef BBS_SIMD_HAVE_AVX512
  if (uses_avx512(isa)) {
    if constexpr (is_fixed_point<T>::value) {
      if (const auto groups = usable_row_groups(raw_view(a), 256)) {
        spmv_avx512_fixed_point(*groups, T::frac_bits, isa == Isa::avx512_vnni, first, last,
                                detail::fixed_scale(alpha, "alpha"), detail::fixed_scale(beta, "beta"), x, y);
        return true;
      }
    } else if constexpr (std::is_same<T, float>::value || std::is_same<T, Eigen::bfloat16>::value ||
                         std::is_same<T, Eigen::half>::value) {
      if (const auto groups = usable_row_groups(a, 16 * max_slice_registers)) {
        spmv_avx512_row_groups(*groups, first, last, alpha, x, beta, y);
        return true;
      }
      if constexpr (std::is_same<T, float>::value) {
        if (avx512_applies(a)) {
          spmv_avx512_canonical(a.rows_slice(first, last), alpha, x, beta, y + first);
          return true;
        }
      }
    }
  }
#endif
#ifdef BBS_SIMD_HAVE_AVX2
  if constexpr (std::is_same<T, float>::value) {
    if (isa == Isa::avx2) {
      if (const auto groups = usable_row_groups(a, 256)) {
        spmv_avx2_row_groups(*groups, first, last, alpha, x, beta, y);
        return true;
      }
    }
  }
#endif
  (void)isa, (void)a, (void)first, (void)last, (void)alpha, (void)x, (void)beta, (void)y;
  return false;
}

/// Rows [first, last) of y = alpha * A * x + beta * y with one variant, the reference loops where
/// no kernel of that variant takes A; y is the whole vector. Tests call it for every variant the
/// CPU supports.
template <typename T>
void spmv_rows(Isa isa, const CsbView<T>& a, index first, index last, scalar_t<T> alpha, const activation_t<T>* x,
               scalar_t<T> beta, activation_t<T>* y) {
  if (!try_spmv_rows(isa, a, first, last, alpha, x, beta, y)) {
    spmv(simd::parent{}, simd::parent{}, a.rows_slice(first, last), alpha, x, beta, y + first);
  }
}

/// y = alpha * A * x + beta * y with one variant.
template <typename T>
void spmv(Isa isa, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x, scalar_t<T> beta,
          activation_t<T>* y) {
  spmv_rows(isa, a, 0, a.rows, alpha, x, beta, y);
}

}  // namespace simd_impl

template <typename Backend, typename T>
void spmv(Backend, requires_backend<simd>, const CsbView<T>& a, scalar_t<T> alpha, const activation_t<T>* x,
          scalar_t<T> beta, activation_t<T>* y) {
  simd_impl::spmv(simd_impl::best_isa(), a, alpha, x, beta, y);
}

template <typename Backend, typename T>
void spmv_rows(Backend, requires_backend<simd>, const CsbView<T>& a, index first, index last, scalar_t<T> alpha,
               const activation_t<T>* x, scalar_t<T> beta, activation_t<T>* y) {
  simd_impl::spmv_rows(simd_impl::best_isa(), a, first, last, alpha, x, beta, y);
}

}  // namespace backend
}  // namespace bbs
