// The extension module bbs._bbs: the exception classes, backends, value types, files, and the
// Python classes BbsMatrix, TransposedBbsMatrix and QuantizationReport. The package bbs
// (python/bbs/__init__.py) re-exports all of it; docs/PYTHON.md documents it.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "any_matrix.hpp"

namespace bbs_python {

/// Adds bbs.nn's classes and functions (nn.cpp, with the model headers this file does not need).
void register_nn(py::module_& m);

namespace {

std::atomic<std::uintptr_t> last_input{0};

// ---------------------------------------------------------------------------------------------
// Exceptions: one Python class per bbs::error subtype, with the C++ message.

struct ExceptionTypes {
  PyObject* error = nullptr;
  PyObject* shape = nullptr;
  PyObject* config = nullptr;
  PyObject* value = nullptr;
  PyObject* format = nullptr;
  PyObject* file = nullptr;
  PyObject* device = nullptr;
};

// Created once at import and kept for the life of the process (the module holds them too), as
// pybind11's own py::exception objects are.
ExceptionTypes exception_types;

PyObject* new_exception(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  const std::string qualified = std::string("bbs.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

void register_exceptions(py::module_& m) {
  ExceptionTypes& t = exception_types;
  t.error = new_exception(m, "Error", py::make_tuple(py::handle(PyExc_Exception)),
                          "Root of every exception bbs raises (C++ bbs::error).");
  const py::handle error(t.error);
  t.shape = new_exception(m, "ShapeError", py::make_tuple(error, py::handle(PyExc_ValueError)),
                          "Operand dimensions that do not fit together (C++ bbs::shape_error).");
  t.config = new_exception(m, "ConfigError", py::make_tuple(error, py::handle(PyExc_ValueError)),
                           "An invalid bank configuration, backend name, value type or option (bbs::config_error).");
  t.value = new_exception(m, "InvalidValueError", py::make_tuple(error, py::handle(PyExc_ValueError)),
                          "A value that cannot be processed, such as NaN or infinity (bbs::value_error).");
  t.format = new_exception(m, "FormatError", py::make_tuple(error, py::handle(PyExc_ValueError)),
                           "CSB arrays or a sparse pattern that break an invariant (bbs::format_error).");
  t.file = new_exception(m, "FileError", py::make_tuple(error, py::handle(PyExc_OSError)),
                         "A bbs file that cannot be read or written: missing, truncated, corrupt, wrong type "
                         "(bbs::file_error).");
  t.device = new_exception(m, "DeviceError", py::make_tuple(error, py::handle(PyExc_RuntimeError)),
                           "A device or runtime failure (bbs::device_error).");
  // Module-local: other pybind11 modules in the process keep their own translation.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const bbs::shape_error& e) {
      PyErr_SetString(exception_types.shape, e.what());
    } catch (const bbs::config_error& e) {
      PyErr_SetString(exception_types.config, e.what());
    } catch (const bbs::value_error& e) {
      PyErr_SetString(exception_types.value, e.what());
    } catch (const bbs::format_error& e) {
      PyErr_SetString(exception_types.format, e.what());
    } catch (const bbs::file_error& e) {
      PyErr_SetString(exception_types.file, e.what());
    } catch (const bbs::device_error& e) {
      PyErr_SetString(exception_types.device, e.what());
    } catch (const bbs::error& e) {
      PyErr_SetString(exception_types.error, e.what());
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Files: bbs::load of whatever value type the file holds.

template <typename T>
struct TypeTag {
  using type = T;
};

template <typename Load, int... F>
std::shared_ptr<AnyMatrix> load_fixed16(int frac_bits, Load& load, std::integer_sequence<int, F...>) {
  std::shared_ptr<AnyMatrix> result;
  ((F == frac_bits ? (result = wrap(load(TypeTag<bbs::fixed16<F>>{})), true) : false) || ...);
  return result;
}

template <int... Fw>
std::shared_ptr<AnyMatrix> load_fixed8(int weight_frac_bits, int activation_frac_bits, const bbs::BbsMatrix<float>& a,
                                       std::integer_sequence<int, Fw...>) {
  std::shared_ptr<AnyMatrix> result;
  // Exact: every value of a fixed8<Fw, Fx> file is raw / 2^Fw, which float holds and quantize maps back to raw.
  ((Fw == weight_frac_bits
        ? (result = wrap_fixed8<Fw>(bbs::quantize<bbs::fixed8<Fw, 0>>(a).value, activation_frac_bits), true)
        : false) ||
   ...);
  return result;
}

/// load(TypeTag<T>) reads the matrix as T (bbs::load<T> or bbs::load_from_memory<T>) for the value
/// type of file code `code`; load_float() reads it as float32 (bbs::load_as_float or
/// bbs::load_as_float_from_memory), for fixed8 files, whose Fx the C++ type would have to name.
template <typename Load, typename LoadFloat>
std::shared_ptr<AnyMatrix> load_by_code(std::uint32_t code, Load&& load, LoadFloat&& load_float) {
  if (code == bbs::value_traits<float>::file_code) return wrap(load(TypeTag<float>{}));
  if (code == bbs::value_traits<double>::file_code) return wrap(load(TypeTag<double>{}));
  if (code == bbs::value_traits<Eigen::bfloat16>::file_code) return wrap(load(TypeTag<Eigen::bfloat16>{}));
  if (code == bbs::value_traits<Eigen::half>::file_code) return wrap(load(TypeTag<Eigen::half>{}));
  if (code >= bbs::detail::fixed16_first_code && code < bbs::detail::fixed16_first_code + 16) {
    return load_fixed16(static_cast<int>(code - bbs::detail::fixed16_first_code), load,
                        std::make_integer_sequence<int, 16>{});
  }
  if (code >= bbs::detail::fixed8_first_code && code < bbs::detail::fixed_codes_end) {
    const auto fixed8_code = static_cast<int>(code - bbs::detail::fixed8_first_code);
    return load_fixed8(fixed8_code / 16, fixed8_code % 16, load_float(), std::make_integer_sequence<int, 8>{});
  }
  // An unknown code: bbs::load itself reports it.
  return wrap(load(TypeTag<float>{}));
}

std::shared_ptr<AnyMatrix> load_file(const std::filesystem::path& path, bool as_float) {
  const std::string p = path.string();
  py::gil_scoped_release release;  // reading and verifying a large file takes a while
  if (as_float) return wrap(bbs::load_as_float(p));
  const bbs::FileHeader header = bbs::read_header(p);
  return load_by_code(
      header.value_type_code, [&](auto tag) { return bbs::load<typename decltype(tag)::type>(p); },
      [&] { return bbs::load_as_float(p); });
}

std::shared_ptr<AnyMatrix> load_bytes(const py::bytes& bytes) {
  const std::string data = bytes;
  const bbs::FileHeader header = bbs::read_header_from_memory(data.data(), data.size());
  return load_by_code(
      header.value_type_code,
      [&](auto tag) { return bbs::load_from_memory<typename decltype(tag)::type>(data.data(), data.size()); },
      [&] { return bbs::load_as_float_from_memory(data.data(), data.size()); });
}

// ---------------------------------------------------------------------------------------------
// Python classes.

/// A.T: A^T as an operand, without forming it.
struct TransposedView {
  std::shared_ptr<AnyMatrix> matrix;
};

BackendChoice backend_argument(const std::optional<std::string>& name) {
  return name ? BackendChoice{bbs::backend_index(*name)} : BackendChoice{};
}

std::string describe(const AnyMatrix& a) {
  const bbs::BankConfig cfg = a.bank_config();
  return bbs::detail::concat("BbsMatrix(", a.type_name(), ", ", a.rows(), " x ", a.cols(), ", bank_size ",
                             cfg.bank_size, ", keep ", cfg.nnz_per_bank, ", nnz ", a.nonzeros(), ")");
}

std::shared_ptr<AnyMatrix> prune(py::handle w, bbs::index bank_size, std::optional<bbs::index> keep,
                                 std::optional<double> sparsity, std::optional<std::string> dtype) {
  if (keep.has_value() == sparsity.has_value()) {
    bbs::detail::throw_error<bbs::config_error>("BbsMatrix.prune: give exactly one of keep and sparsity, got ",
                                                keep ? "both" : "neither");
  }
  const bbs::BankConfig cfg =
      keep ? bbs::BankConfig(bank_size, *keep) : bbs::BankConfig::from_sparsity(bank_size, *sparsity);
  return prune_dense(w, cfg, dtype.value_or(""));
}

py::tuple quantize(const AnyMatrix& a, const std::string& type) {
  bbs::QuantizationReport report;
  std::shared_ptr<AnyMatrix> q = a.quantize(bbs::parse_value_type(type), report);
  return py::make_tuple(std::move(q), report);
}

}  // namespace

std::uintptr_t last_kernel_input() { return last_input.load(std::memory_order_relaxed); }
void note_kernel_input(const void* x) {
  last_input.store(reinterpret_cast<std::uintptr_t>(x), std::memory_order_relaxed);
}

}  // namespace bbs_python

PYBIND11_MODULE(_bbs, m) {
  namespace py = pybind11;
  using bbs_python::AnyMatrix;
  using bbs_python::TransposedView;
  m.doc() = "bbs: bank-balanced sparse matrices (Compressed Sparse Banks) with NumPy and SciPy interop";
  m.attr("__version__") = bbs::detail::concat(BBS_VERSION_MAJOR, ".", BBS_VERSION_MINOR, ".", BBS_VERSION_PATCH);
  bbs_python::register_exceptions(m);
  bbs_python::register_nn(m);

  py::class_<bbs::QuantizationReport>(m, "QuantizationReport",
                                      "What a quantization cost, over every converted value (bbs::QuantizationReport).")
      .def_readonly("count", &bbs::QuantizationReport::count, "Values converted (padding not counted).")
      .def_readonly("saturated", &bbs::QuantizationReport::saturated,
                    "Values outside the target's range, clamped to its largest or smallest value.")
      .def_readonly("max_abs_error", &bbs::QuantizationReport::max_abs_error, "Largest |quantized - original|.")
      .def_readonly("rms_error", &bbs::QuantizationReport::rms_error, "Root mean square of |quantized - original|.")
      .def("__repr__", [](const bbs::QuantizationReport& r) {
        return bbs::detail::concat("QuantizationReport(count=", r.count, ", saturated=", r.saturated,
                                   ", max_abs_error=", r.max_abs_error, ", rms_error=", r.rms_error, ")");
      });

  py::class_<AnyMatrix, std::shared_ptr<AnyMatrix>> matrix(m, "BbsMatrix",
                                                           "A bank-balanced sparse matrix in Compressed Sparse Banks "
                                                           "(bbs::BbsMatrix) of float32, float64, bfloat16, float16, "
                                                           "fixed16<F> or fixed8<Fw,Fx> values. Immutable.");
  py::class_<TransposedView> transposed(m, "TransposedBbsMatrix",
                                        "A.T: the transpose of a BbsMatrix as an operand of @, not formed.");

  matrix
      .def_static("prune", &bbs_python::prune, py::arg("W"), py::arg("bank_size"), py::kw_only(),
                  py::arg("keep") = py::none(), py::arg("sparsity") = py::none(), py::arg("dtype") = py::none(),
                  "Prunes a 2-D array to bank-balanced sparsity: every bank of bank_size consecutive columns of "
                  "every row keeps its `keep` largest-magnitude entries (ties: the lower column). Give exactly one "
                  "of keep and sparsity (keep = round(bank_size * (1 - sparsity)), halves up, at least 1 below "
                  "sparsity 1). float32 W gives a float32 matrix, any other real dtype float64, unless dtype says.")
      .def_property_readonly("shape", [](const AnyMatrix& a) { return py::make_tuple(a.rows(), a.cols()); })
      .def_property_readonly("nnz", &AnyMatrix::nonzeros,
                             "Stored entries that are not padding (explicitly stored zeros count, as in SciPy).")
      .def_property_readonly(
          "bank_size", [](const AnyMatrix& a) { return a.bank_config().bank_size; }, "Columns per bank.")
      .def_property_readonly(
          "keep", [](const AnyMatrix& a) { return a.bank_config().nnz_per_bank; }, "Entries kept per bank.")
      .def_property_readonly(
          "sparsity", [](const AnyMatrix& a) { return a.bank_config().sparsity(); },
          "Nominal sparsity, 1 - keep / bank_size.")
      .def_property_readonly("memory_bytes", &AnyMatrix::memory_bytes,
                             "Bytes of the CSB arrays: (value size + index width) per stored entry.")
      .def_property_readonly(
          "dtype", &AnyMatrix::type_name,
          "The value type's bbs name: float32, float64, bfloat16, float16, fixed16<F> or fixed8<Fw,Fx>.")
      .def_property_readonly("result_dtype", &AnyMatrix::result_dtype,
                             "NumPy dtype of products and to_dense(): float64 for float64 matrices, else float32.")
      .def_property_readonly(
          "T", [](const std::shared_ptr<AnyMatrix>& a) { return TransposedView{a}; }, "A^T as an operand of @.")
      .def("to_dense", &AnyMatrix::to_dense, "The dense matrix (C order) in result_dtype.")
      .def(
          "to_scipy",
          [](const AnyMatrix& a) {
            const py::object csr_matrix = py::module_::import("scipy.sparse").attr("csr_matrix");
            return csr_matrix(a.csr_arrays(), py::arg("shape") = py::make_tuple(a.rows(), a.cols()));
          },
          "A scipy.sparse.csr_matrix with the same stored entries (explicit zeros included).")
      .def(
          "matmul",
          [](const AnyMatrix& a, py::handle x, std::optional<std::string> backend) {
            return a.multiply(x, bbs_python::backend_argument(backend), false);
          },
          py::arg("x"), py::kw_only(), py::arg("backend") = py::none(),
          "A @ x on the named backend (default: bbs.get_backend()).")
      .def(
          "__matmul__", [](const AnyMatrix& a, py::handle x) { return a.multiply(x, {}, false); }, py::is_operator())
      .def(
          "save", [](const AnyMatrix& a, const std::filesystem::path& path) { a.save(path.string()); }, py::arg("path"),
          "bbs.save(A, path).")
      .def("dequantize", &AnyMatrix::dequantize,
           "The float32 matrix a quantized one stands for (exact); float matrices return themselves.")
      .def("__repr__", &bbs_python::describe)
      .def(py::pickle([](const AnyMatrix& a) { return a.serialize(); },
                      [](const py::bytes& bytes) { return bbs_python::load_bytes(bytes); }));
  // NumPy defers x @ A to BbsMatrix (which refuses it) instead of treating A as an object array.
  matrix.attr("__array_ufunc__") = py::none();

  transposed
      .def_property_readonly("shape",
                             [](const TransposedView& t) { return py::make_tuple(t.matrix->cols(), t.matrix->rows()); })
      .def_property_readonly(
          "T", [](const TransposedView& t) { return t.matrix; }, "The matrix itself.")
      .def_property_readonly("dtype", [](const TransposedView& t) { return t.matrix->type_name(); })
      .def_property_readonly("result_dtype", [](const TransposedView& t) { return t.matrix->result_dtype(); })
      .def(
          "to_dense",
          [](const TransposedView& t) {
            const py::array dense = t.matrix->to_dense();
            return py::object(dense.attr("T"));
          },
          "The dense transpose (a NumPy view of A.to_dense()).")
      .def(
          "matmul",
          [](const TransposedView& t, py::handle x, std::optional<std::string> backend) {
            return t.matrix->multiply(x, bbs_python::backend_argument(backend), true);
          },
          py::arg("x"), py::kw_only(), py::arg("backend") = py::none(),
          "A.T @ x on the named backend (default: bbs.get_backend()).")
      .def(
          "__matmul__", [](const TransposedView& t, py::handle x) { return t.matrix->multiply(x, {}, true); },
          py::is_operator())
      .def("__repr__", [](const TransposedView& t) { return bbs_python::describe(*t.matrix) + ".T"; });
  transposed.attr("__array_ufunc__") = py::none();

  m.def(
      "matmul",
      [](const AnyMatrix& a, py::handle x, std::optional<std::string> backend) {
        return a.multiply(x, bbs_python::backend_argument(backend), false);
      },
      py::arg("A"), py::arg("x"), py::kw_only(), py::arg("backend") = py::none(),
      "A @ x on the named backend (default: bbs.get_backend()); A may be a BbsMatrix or A.T.");
  m.def(
      "matmul",
      [](const TransposedView& t, py::handle x, std::optional<std::string> backend) {
        return t.matrix->multiply(x, bbs_python::backend_argument(backend), true);
      },
      py::arg("A"), py::arg("x"), py::kw_only(), py::arg("backend") = py::none());

  m.def("quantize", &bbs_python::quantize, py::arg("A"), py::arg("type"),
        "Converts a float32 or float64 matrix to `type` (\"fixed16<F>\" with F 0..15 or auto, \"fixed8<Fw,Fx>\" "
        "with Fw 0..7 or auto and Fx 0..15, \"bfloat16\", \"float16\"): returns (matrix, QuantizationReport).");
  m.def(
      "save", [](const AnyMatrix& a, const std::filesystem::path& path) { a.save(path.string()); }, py::arg("A"),
      py::arg("path"), "Writes A as a CSB file (docs/FILE_FORMAT.md): atomically, with a CRC-32.");
  m.def("load", &bbs_python::load_file, py::arg("path"), py::kw_only(), py::arg("as_float") = false,
        "Reads a CSB file as the value type it holds (as_float: as float32, whatever it holds).");
  m.def("_from_csr", &bbs_python::from_csr, py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("rows"),
        py::arg("cols"), py::arg("bank_size"), py::arg("keep"),
        "CSR arrays (sorted, no duplicates) to a BbsMatrix; keep < 0 infers it. Use bbs.from_scipy.");

  m.def("backends", &bbs::backend_names, "Names of the backends compiled into this build.");
  m.def("set_backend", &bbs::set_default_backend, py::arg("name"),
        "Makes `name` the backend of every product that names none (process-wide).");
  m.def("get_backend", &bbs::default_backend, "The backend products run on unless they name one.");

  m.def("_last_kernel_input", &bbs_python::last_kernel_input,
        "Test hook: the address of the right-hand side the last product handed to a kernel.");
}
