// xtensor integration: SpMV with 1-D xt::xtensor / xt::xarray vectors, pruning from 2-D xtensor
// expressions, and loading dense weights from .npy files (xtensor's npy reader).
//
// The product is spelled bbs::spmv(A, x, y) or y = bbs::multiply(A, x), not A * x: xtensor's own
// operator* accepts any type as a scalar operand and fails hard on a BbsMatrix, so an A * x
// overload for xtensor arguments could never be selected.
#pragma once

#include <fstream>
#include <new>
#include <string>
#include <type_traits>

#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xtensor.hpp>

#include "bbs/sparse.hpp"

namespace bbs {
namespace detail {

template <typename E>
void check_vector_dimension(const xt::xexpression<E>& e, const char* what) {
  if (e.derived_cast().dimension() != 1) {
    throw_error<shape_error>(what, " must be a 1-D xtensor expression, got ", e.derived_cast().dimension(),
                             " dimensions");
  }
}

/// y = op(A) x for an xtensor vector; y is resized to op(A).rows().
template <typename T, typename Backend, bool Transposed, typename E, typename Y>
void xtensor_spmv(const MatrixOperand<T, Backend, Transposed>& op, const xt::xexpression<E>& x, Y& y) {
  check_vector_dimension(x, "x");
  // Evaluates x once into contiguous storage (a no-op copy for a contiguous container).
  const xt::xtensor<T, 1> xv = x.derived_cast();
  check_product_shape(op.rows(), op.cols(), static_cast<index>(xv.size()), 1, Transposed);
  y.resize({static_cast<std::size_t>(op.rows())});
  if (Transposed) {
    kernel::spmv_transposed(Backend{}, op.view(), T(1), xv.data(), T(0), y.data());
  } else {
    kernel::spmv(Backend{}, op.view(), T(1), xv.data(), T(0), y.data());
  }
}

}  // namespace detail

/// y = A * x into an existing xtensor container (resized if needed; no other allocation when x
/// is contiguous). A may be a matrix, A.transpose() or bbs::on<Backend>(A).
template <typename T, typename Backend, bool Transposed, typename E, typename Y>
void spmv(const MatrixOperand<T, Backend, Transposed>& a, const xt::xexpression<E>& x, Y& y) {
  detail::xtensor_spmv(a, x, y);
}
template <typename Derived, typename E, typename Y>
void spmv(const BbsBase<Derived>& a, const xt::xexpression<E>& x, Y& y) {
  detail::xtensor_spmv(on<backend::automatic>(a), x, y);
}

/// Returns A * x as a new xt::xtensor<T, 1>.
template <typename A, typename E>
auto multiply(const A& a, const xt::xexpression<E>& x) {
  xt::xtensor<typename A::Scalar, 1> y;
  spmv(a, x, y);
  return y;
}

/// Prunes a 2-D xtensor expression to bank-balanced sparsity (same rules as the Eigen overload).
template <typename T, typename E>
BbsMatrix<T> prune(const xt::xexpression<E>& w, const BankConfig& cfg) {
  const auto& e = w.derived_cast();
  if (e.dimension() != 2) {
    detail::throw_error<shape_error>("prune: the weight matrix must be 2-D, got ", e.dimension(), " dimensions");
  }
  const xt::xtensor<typename E::value_type, 2> m = e;
  return detail::prune_source<T>(
      static_cast<index>(m.shape()[0]), static_cast<index>(m.shape()[1]), cfg,
      [&](index r, index c) { return m(static_cast<std::size_t>(r), static_cast<std::size_t>(c)); });
}

namespace detail {
template <typename Stored, typename T>
bool try_load_npy(const std::string& path, xt::xtensor<T, 2>& out) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw_error<file_error>("load_npy: cannot open \"", path, "\"");
  auto a = xt::load_npy<Stored>(stream);
  if (stream.fail()) throw_error<file_error>("load_npy: \"", path, "\" is truncated");
  if (a.dimension() != 2) {
    throw_error<shape_error>("load_npy: \"", path, "\" holds a ", a.dimension(), "-D array, expected a 2-D matrix");
  }
  out = xt::cast<T>(a);
  return true;
}
}  // namespace detail

/// Loads a 2-D float32 or float64 .npy file (C or Fortran order) as an xt::xtensor<T, 2>.
/// Throws file_error for a missing, malformed or truncated file or another dtype, and shape_error
/// when the array is not 2-D.
template <typename T>
xt::xtensor<T, 2> load_npy(const std::string& path) {
  xt::xtensor<T, 2> out;
  try {
    try {
      detail::try_load_npy<float>(path, out);
    } catch (const bbs::error&) {
      throw;
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).find("formats not matching") == std::string::npos) throw;
      detail::try_load_npy<double>(path, out);
    }
  } catch (const bbs::error&) {
    throw;
  } catch (const std::bad_alloc&) {
    detail::throw_error<file_error>("load_npy: \"", path, "\" declares an array too large to allocate");
  } catch (const std::exception& e) {
    detail::throw_error<file_error>("load_npy: \"", path, "\": ", e.what(), " (float32 or float64 expected)");
  }
  return out;
}

}  // namespace bbs
