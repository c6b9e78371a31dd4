// SIMD SpMV: the best variant this CPU runs, the reference loops otherwise (fixed point without
// AVX-512; CPUs without AVX2). spmv_path says which kernel takes a matrix.
//
// A matrix that keeps every weight (bank = keep: a dense layer in a model file) runs the dense GEMV
// kernels (spmv_dense.hpp): float, bfloat16, half and double on AVX-512 and AVX2, fixed16 and
// fixed8 on AVX-512. Otherwise the kernels read the row groups (row_groups.hpp), derived once and
// cached by the owning BbsMatrix: permutes for float, bfloat16, half, fixed16 and fixed8 on AVX-512
// (spmv_avx512*.hpp), gathers for double on AVX-512 and for every float type on AVX2
// (spmv_avx2.hpp). Views without a cache (a BbsMap, a row slice) and banks wider than 256 (16-bit
// indices) use the AVX-512 gather kernel on the canonical layout for float and the reference loops
// otherwise.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "bbs/backend/common/requires_backend.hpp"
#include "bbs/backend/common/row_ranges.hpp"
#include "bbs/backend/reference/spmv.hpp"
#include "bbs/backend/simd/isa.hpp"
#include "bbs/backend/simd/row_groups.hpp"
#include "bbs/backend/simd/spmv_avx2.hpp"
#include "bbs/backend/simd/spmv_avx512.hpp"
#include "bbs/backend/simd/spmv_avx512_fixed_point.hpp"
#include "bbs/backend/simd/spmv_dense.hpp"
#include "bbs/backend/simd/tag.hpp"

namespace bbs {
namespace backend {
namespace simd_impl {

/// Whether the AVX-512 gather kernel can take this float matrix: its column arithmetic is 32-bit.
template <typename T>
bool avx512_applies(const CsbView<T>& a) {
  return a.num_banks() * a.bank_size() <= std::numeric_limits<int>::max();
}

/// The same arrays seen as raw integers (fixed16<F> is one int16, fixed8<Fw, Fx> one int8), so
/// that one arrangement type serves every fraction width.
template <typename T>
CsbView<typename T::raw_type> raw_view(const CsbView<T>& a) {
  static_assert(sizeof(T) == sizeof(typename T::raw_type), "a fixed-point value is its raw integer");
  return CsbView<typename T::raw_type>{
      a.rows, a.cols, a.config, reinterpret_cast<const typename T::raw_type*>(a.values), a.indices, a.layouts};
}

/// The kernels of backend::simd's SpMV, as spmv_path chooses among them.
enum class SpmvPath {
  reference,   ///< the reference loops (no kernel of the variant takes A)
  dense,       ///< spmv_dense.hpp: every weight kept (bank = keep), a GEMV on the canonical arrays
  row_groups,  ///< the permute kernels on the cached row groups (row_groups.hpp)
  canonical,   ///< the AVX-512 gather kernel on the canonical arrays (float, no row groups)
};

/// Which kernel of variant `isa` runs y = A * x. Deciding builds nothing: the row groups are
/// derived on the first product that takes that path.
template <typename T>
SpmvPath spmv_path(Isa isa, const CsbView<T>& a) {
  constexpr bool is_float = std::is_same<T, float>::value;
  constexpr bool is_16bit_float = std::is_same<T, Eigen::bfloat16>::value || std::is_same<T, Eigen::half>::value;
  constexpr bool is_floating = is_float || is_16bit_float || std::is_same<T, double>::value;
  constexpr bool is_fixed = is_fixed_point<T>::value;
  // Row groups need one-byte in-bank indices, so banks of at most 256 columns.
  const bool has_groups =
      a.layouts != nullptr && a.cols > 0 && a.nnz_per_bank() > 0 && a.config.index_width() == IndexWidth::u8;
#ifdef BBS_SIMD_HAVE_AVX512
  if (uses_avx512(isa)) {
    if ((is_floating || is_fixed) && is_dense_configuration(a)) return SpmvPath::dense;
    if ((is_floating || is_fixed) && has_groups) return SpmvPath::row_groups;
    if (is_float && avx512_applies(a)) return SpmvPath::canonical;
  }
#endif
#ifdef BBS_SIMD_HAVE_AVX2
  if (is_floating && isa == Isa::avx2) {
    if (is_dense_configuration(a)) return SpmvPath::dense;
    if (has_groups) return SpmvPath::row_groups;
  }
#endif
  (void)isa, (void)a, (void)has_groups;
  return SpmvPath::reference;
}

/// The kernel spmv_path picks, as benchmark tables and the CLI name it: "dense_avx512",
/// "row_groups_avx2", "canonical_avx512_vnni", "reference".
template <typename T>
std::string spmv_kernel_name(Isa isa, const CsbView<T>& a) {
  switch (spmv_path(isa, a)) {
    case SpmvPath::dense:
      return std::string("dense_") + isa_name(isa);
    case SpmvPath::row_groups:
      return std::string("row_groups_") + isa_name(isa);
    case SpmvPath::canonical:
      return std::string("canonical_") + isa_name(isa);
    default:
      return "reference";
  }
}

/// Rows [first, last) of y = alpha * A * x + beta * y with a kernel of variant `isa`, if one
/// takes A (spmv_path); returns whether one did. y is the whole vector.
template <typename T>
bool try_spmv_rows(Isa isa, const CsbView<T>& a, index first, index last, scalar_t<T> alpha, const activation_t<T>* x,
                   scalar_t<T> beta, activation_t<T>* y) {
  const SpmvPath path = spmv_path(isa, a);
  if (path == SpmvPath::reference) return false;
#ifdef BBS_SIMD_HAVE_AVX512
  if (uses_avx512(isa)) {
    if constexpr (is_fixed_point<T>::value) {
      const std::int32_t alpha_q = detail::fixed_scale(alpha, "alpha");
      const std::int32_t beta_q = detail::fixed_scale(beta, "beta");
      const bool vnni = isa == Isa::avx512_vnni;
      const auto raw = raw_view(a);
      const auto* xs = reinterpret_cast<const std::int16_t*>(x);
      auto* ys = reinterpret_cast<std::int16_t*>(y);
      if (path == SpmvPath::dense) {
        thread_local std::vector<std::int16_t> buffer;
        spmv_dense_avx512_fixed_point(raw.values, a.row_entries(), T::frac_bits, vnni, first, last, alpha_q, beta_q,
                                      storage_order_x(a, xs, buffer), ys);
      } else {
        spmv_avx512_fixed_point(*cached_row_groups(raw), T::frac_bits, vnni, first, last, alpha_q, beta_q, x, y);
      }
      return true;
    } else {
      if (path == SpmvPath::dense) {
        thread_local std::vector<activation_t<T>> buffer;
        spmv_dense_avx512(a.values, a.row_entries(), first, last, alpha, storage_order_x(a, x, buffer), beta, y);
        return true;
      }
      if constexpr (std::is_same<T, double>::value) {
        // Double lanes make the permutes twice as long per entry: the gather kernel wins.
        spmv_avx2_row_groups(*cached_row_groups(a), first, last, alpha, x, beta, y);
        return true;
      } else {
        if constexpr (std::is_same<T, float>::value) {
          if (path == SpmvPath::canonical) {
            spmv_avx512_canonical(a.rows_slice(first, last), alpha, x, beta, y + first);
            return true;
          }
        }
        spmv_avx512_row_groups(*cached_row_groups(a), first, last, alpha, x, beta, y);
        return true;
      }
    }
  }
#endif
#ifdef BBS_SIMD_HAVE_AVX2
  if constexpr (!is_fixed_point<T>::value) {
    if (isa == Isa::avx2) {
      if (path == SpmvPath::dense) {
        thread_local std::vector<activation_t<T>> buffer;
        spmv_dense_avx2(a.values, a.row_entries(), first, last, alpha, storage_order_x(a, x, buffer), beta, y);
      } else {
        spmv_avx2_row_groups(*cached_row_groups(a), first, last, alpha, x, beta, y);
      }
      return true;
    }
  }
#endif
  (void)first, (void)last, (void)alpha, (void)x, (void)beta, (void)y;
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

/// The kernel backend::simd runs for y = A * x on this CPU (simd_impl::spmv_kernel_name), so that
/// benchmark tables and tools can say what ran.
template <typename T>
std::string simd_spmv_kernel(const CsbView<T>& a) {
  return simd_impl::spmv_kernel_name(simd_impl::best_isa(), a);
}

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
