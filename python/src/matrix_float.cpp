// float32 and float64 matrices: their kernels, pruning from NumPy and construction from SciPy's CSR.
#include <cstdint>
#include <vector>

#include "typed_matrix.hpp"

namespace bbs_python {

template std::shared_ptr<AnyMatrix> wrap<float>(bbs::BbsMatrix<float>);
template std::shared_ptr<AnyMatrix> wrap<double>(bbs::BbsMatrix<double>);

namespace {

template <typename T>
std::shared_ptr<AnyMatrix> prune_as(const py::array& w, const bbs::BankConfig& cfg) {
  // C order so the row-major Map below reads it in place; NumPy copies only other layouts and dtypes.
  const auto dense = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(w);
  if (!dense) throw py::error_already_set();
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const RowMajor> map(dense.data(), dense.shape(0), dense.shape(1));
  bbs::BbsMatrix<T> pruned;
  {
    py::gil_scoped_release release;
    pruned = bbs::prune<T>(map, cfg);
  }
  return wrap(std::move(pruned));
}

template <typename T>
std::shared_ptr<AnyMatrix> from_csr_as(const py::array& data, const py::array_t<bbs::index>& indices,
                                       const py::array_t<bbs::index>& indptr, bbs::index rows, bbs::index cols,
                                       bbs::index bank_size, bbs::index keep) {
  const auto values = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(data);
  if (!values) throw py::error_already_set();
  const bbs::index nnz = values.size();
  if (rows < 0 || cols < 0)
    bbs::detail::throw_error<bbs::shape_error>("from_scipy: negative shape ", rows, " x ", cols);
  if (indices.size() != nnz || indptr.size() != rows + 1) {
    bbs::detail::throw_error<bbs::format_error>("from_scipy: a ", rows, " x ", cols, " CSR matrix with ", nnz,
                                                " values needs ", nnz, " column indices and ", rows + 1,
                                                " row pointers, got ", indices.size(), " and ", indptr.size());
  }
  const bbs::index* col = indices.data();
  const bbs::index* ptr = indptr.data();
  // Eigen's sparse map trusts its arrays; fromSparse reads each row's columns in ascending order.
  if (ptr[0] != 0 || ptr[rows] != nnz) {
    bbs::detail::throw_error<bbs::format_error>("from_scipy: row pointers run from ", ptr[0], " to ", ptr[rows],
                                                ", expected 0 to ", nnz);
  }
  for (bbs::index r = 0; r < rows; ++r) {
    if (ptr[r + 1] < ptr[r]) {
      bbs::detail::throw_error<bbs::format_error>("from_scipy: row pointers decrease at row ", r);
    }
    for (bbs::index e = ptr[r]; e < ptr[r + 1]; ++e) {
      if (col[e] < 0 || col[e] >= cols || (e > ptr[r] && col[e] <= col[e - 1])) {
        bbs::detail::throw_error<bbs::format_error>("from_scipy: row ", r, " has column index ", col[e],
                                                    " out of order or outside 0..", cols - 1);
      }
    }
  }
  if (keep < 0) {
    // The fullest bank: every full bank stores exactly nnz_per_bank entries in a bank-balanced pattern.
    bbs::BankConfig probe(bank_size, 0);  // validates bank_size
    keep = 0;
    for (bbs::index r = 0; r < rows; ++r) {
      bbs::index bank = -1;
      bbs::index count = 0;
      for (bbs::index e = ptr[r]; e < ptr[r + 1]; ++e) {
        const bbs::index b = col[e] / probe.bank_size;
        count = b == bank ? count + 1 : 1;
        bank = b;
        keep = std::max(keep, count);
      }
    }
  }
  const bbs::BankConfig cfg(bank_size, keep);
  const Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, bbs::index>> csr(rows, cols, nnz, ptr, col,
                                                                                  values.data());
  bbs::BbsMatrix<T> m;
  {
    py::gil_scoped_release release;
    m = bbs::BbsMatrix<T>::fromSparse(csr, cfg);
  }
  return wrap(std::move(m));
}

}  // namespace

std::shared_ptr<AnyMatrix> prune_dense(py::handle w, const bbs::BankConfig& cfg, const std::string& dtype) {
  const py::array dense = detail::real_array(w);
  if (dense.ndim() != 2) {
    bbs::detail::throw_error<bbs::shape_error>("BbsMatrix.prune: W must be 2-D, it has ", dense.ndim(), " dimensions");
  }
  if (!dtype.empty() && dtype != "float32" && dtype != "float64") {
    bbs::detail::throw_error<bbs::config_error>("BbsMatrix.prune: dtype must be float32 or float64, got ", dtype,
                                                " (quantize the pruned matrix for other types)");
  }
  const bool float32 = dtype.empty() ? py::isinstance<py::array_t<float>>(dense) : dtype == "float32";
  if (float32) return prune_as<float>(dense, cfg);
  return prune_as<double>(dense, cfg);
}

std::shared_ptr<AnyMatrix> from_csr(py::handle data, py::handle indices, py::handle indptr, bbs::index rows,
                                    bbs::index cols, bbs::index bank_size, bbs::index keep) {
  const py::array values = detail::real_array(data);
  const auto column_indices = py::array_t<bbs::index, py::array::c_style | py::array::forcecast>::ensure(indices);
  const auto row_pointers = py::array_t<bbs::index, py::array::c_style | py::array::forcecast>::ensure(indptr);
  if (!column_indices || !row_pointers) throw py::error_already_set();
  if (py::isinstance<py::array_t<float>>(values)) {
    return from_csr_as<float>(values, column_indices, row_pointers, rows, cols, bank_size, keep);
  }
  return from_csr_as<double>(values, column_indices, row_pointers, rows, cols, bank_size, keep);
}

}  // namespace bbs_python
