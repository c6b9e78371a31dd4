// The extension's type-erased matrix. One Python class, bbs.BbsMatrix, holds a bbs::BbsMatrix of
// any value type behind the AnyMatrix interface; typed_matrix.hpp implements it once per value
// type, in the translation unit that instantiates that type's kernels (matrix_*.cpp), so that no
// single file compiles every kernel and the files build in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <bbs/sparse.hpp>

namespace bbs_python {

namespace py = pybind11;

/// The backend that runs one product: the process default (backend::automatic, which follows
/// bbs::set_default_backend) or the backend at a position of bbs::backend_names().
struct BackendChoice {
  static constexpr int automatic = -1;
  int slot = automatic;
};

/// A bank-balanced matrix of some value type, seen from Python.
class AnyMatrix : public std::enable_shared_from_this<AnyMatrix> {
 public:
  virtual ~AnyMatrix() = default;

  /// The bbs name of the value type: "float32", "float64", "bfloat16", "float16", "fixed16<F>",
  /// "fixed8<Fw,Fx>".
  virtual const char* type_name() const = 0;
  /// Whether the values are float32 or float64 (what quantize() takes).
  virtual bool is_floating_point() const = 0;
  virtual bbs::index rows() const = 0;
  virtual bbs::index cols() const = 0;
  virtual bbs::BankConfig bank_config() const = 0;
  virtual bbs::index nonzeros() const = 0;
  virtual std::size_t memory_bytes() const = 0;
  /// NumPy dtype of products and of to_dense(): float64 for float64 matrices, float32 otherwise.
  virtual py::dtype result_dtype() const = 0;

  /// The dense matrix (C order) in result_dtype(); every stored value is exact there.
  virtual py::array to_dense() const = 0;
  /// (data, indices, indptr) of the CSR matrix with the same stored entries, explicit zeros
  /// included, columns ascending in every row.
  virtual py::tuple csr_arrays() const = 0;

  /// op(A) @ x for a 1-D or 2-D x, op(A) = A or A^T; the rules for converting x are in
  /// docs/PYTHON.md. The GIL is released while the kernel runs.
  virtual py::array multiply(py::handle x, BackendChoice backend, bool transposed) const = 0;

  /// bbs::save: atomic, checksummed.
  virtual void save(const std::string& path) const = 0;
  /// The bytes save() writes (bbs::serialize), for pickling.
  virtual py::bytes serialize() const = 0;

  /// bbs::quantize to `to` (float32 and float64 matrices only), with its report.
  virtual std::shared_ptr<AnyMatrix> quantize(const bbs::ValueTypeSpec& to, bbs::QuantizationReport& report) const = 0;
  /// bbs::dequantize: the float32 matrix a quantized one stands for; float matrices return themselves.
  virtual std::shared_ptr<AnyMatrix> dequantize() const = 0;

  /// The C++ matrix when it holds float32 values (what bbs.nn's layers are built from), else null.
  virtual const bbs::BbsMatrix<float>* float32_matrix() const { return nullptr; }
};

/// Wraps a matrix for Python. Explicitly instantiated for every supported T in the matrix_*.cpp
/// file that compiles T's kernels; other files only call it.
template <typename T>
std::shared_ptr<AnyMatrix> wrap(bbs::BbsMatrix<T> m);

/// Wraps int8 weights in Q(7-Fw).Fw that multiply fixed16<activation_frac_bits> activations: a
/// bbs::fixed8<Fw, Fx> matrix. The kernels depend on Fw only (Fx changes what the int16
/// activations mean, not one instruction), so every Fx shares fixed8<Fw, 0>'s kernels: 8
/// instantiations instead of 128. Instantiated for Fw = 0..7 in matrix_fixed8.cpp.
template <int Fw>
std::shared_ptr<AnyMatrix> wrap_fixed8(bbs::BbsMatrix<bbs::fixed8<Fw, 0>> m, int activation_frac_bits);

/// Dense weights (a 2-D array) to a bank-balanced matrix (bbs::prune) of float32 values when
/// `dtype` is "float32", or is empty and w is float32; of float64 values otherwise.
std::shared_ptr<AnyMatrix> prune_dense(py::handle w, const bbs::BankConfig& cfg, const std::string& dtype);

/// A CSR matrix (sorted column indices, no duplicates) whose pattern is bank-balanced, through
/// BbsMatrix::fromSparse; keep < 0 infers nnz_per_bank from the fullest bank.
std::shared_ptr<AnyMatrix> from_csr(py::handle data, py::handle indices, py::handle indptr, bbs::index rows,
                                    bbs::index cols, bbs::index bank_size, bbs::index keep);

/// Test hook: the address of the right-hand side the last product handed to a kernel, so tests
/// can check that an input was used in place rather than copied.
std::uintptr_t last_kernel_input();
void note_kernel_input(const void* x);

}  // namespace bbs_python
