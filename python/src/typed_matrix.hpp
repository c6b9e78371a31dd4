// TypedMatrix<T>: AnyMatrix for one value type. Products go through bbs::kernel with the backend
// tag the caller chose; the right-hand side is read in place whenever its dtype and layout let a
// kernel read it, and converted otherwise (docs/PYTHON.md, "Zero copy"). Included only by the
// matrix_*.cpp files, each of which instantiates wrap<T> for its value types.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "any_matrix.hpp"

namespace bbs_python {
namespace detail {

/// How a kernel reads a right-hand side X (and writes Y): a vector, or a matrix whose rows
/// (row_major, NumPy's C order) or columns (col_major, Fortran order) are contiguous.
enum class Layout { vector, row_major, col_major };

/// x as a NumPy array of a real type (bool, integer or floating point); other kinds raise TypeError.
inline py::array real_array(py::handle x) {
  py::array a = py::isinstance<py::array>(x) ? py::reinterpret_borrow<py::array>(x) : py::array::ensure(x);
  if (!a) throw py::type_error("bbs: the right-hand side must be a NumPy array or convertible to one");
  const char kind = a.dtype().kind();
  if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f') {
    throw py::type_error(std::string("bbs: the right-hand side has dtype ") + py::str(a.dtype()).cast<std::string>() +
                         "; expected a real (bool, integer or floating-point) array");
  }
  return a;
}

inline bool is_aligned(const py::array& a) { return (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0; }

/// The leading dimension (in elements) under which a kernel can read the 1-D or 2-D array `a`
/// in place with `layout`, or -1 when it cannot. Strides of dimensions of length 0 or 1 do not
/// matter (NumPy may report anything there).
inline bbs::index leading_dimension(const py::array& a, Layout layout) {
  const auto item = static_cast<bbs::index>(a.itemsize());
  if (layout == Layout::vector) return a.shape(0) <= 1 || a.strides(0) == item ? 1 : -1;
  const bbs::index m = a.shape(0);
  const bbs::index n = a.shape(1);
  // Row major: elements of a row adjacent, rows ld apart; column major: the same with the roles swapped.
  const bool row_major = layout == Layout::row_major;
  const bbs::index inner_length = row_major ? n : m;
  const bbs::index outer_length = row_major ? m : n;
  if (m == 0 || n == 0) return std::max<bbs::index>(inner_length, 1);  // nothing is read
  const bbs::index inner_stride = a.strides(row_major ? 1 : 0);
  const bbs::index outer_stride = a.strides(row_major ? 0 : 1);
  if (inner_length > 1 && inner_stride != item) return -1;
  if (outer_length <= 1) return std::max<bbs::index>(inner_length, 1);
  if (outer_stride <= 0 || outer_stride % item != 0 || outer_stride / item < inner_length) return -1;
  return outer_stride / item;
}

/// Calls f with the tag of the chosen backend.
template <typename F>
void with_backend(BackendChoice choice, F&& f) {
  if (choice.slot == BackendChoice::automatic) {
    f(bbs::backend::automatic{});
  } else {
    bbs::visit_backend(choice.slot, f);
  }
}

/// Y = op(A) X (alpha 1, beta 0) with the kernel for the layout. A transposed product with
/// several columns takes column-major X and Y (kernel::spmm_transposed).
template <typename Backend, typename T>
void run_kernel(Backend tag, const bbs::CsbView<T>& a, Layout layout, bool transposed, bbs::index n,
                const bbs::activation_t<T>* x, bbs::index ldx, bbs::activation_t<T>* y, bbs::index ldy) {
  const bbs::scalar_t<T> one(1);
  const bbs::scalar_t<T> zero(0);
  if (layout == Layout::vector) {
    if (transposed) {
      bbs::kernel::spmv_transposed(tag, a, one, x, zero, y);
    } else {
      bbs::kernel::spmv(tag, a, one, x, zero, y);
    }
  } else if (transposed) {
    bbs::kernel::spmm_transposed(tag, a, n, one, x, ldx, zero, y, ldy);
  } else if (layout == Layout::row_major) {
    bbs::kernel::spmm_row_major(tag, a, n, one, x, ldx, zero, y, ldy);
  } else {
    bbs::kernel::spmm(tag, a, n, one, x, ldx, zero, y, ldy);
  }
}

/// Allocates a result of `rows` (x `n` for matrices) elements of R in the layout.
template <typename R>
py::array_t<R> new_result(Layout layout, bbs::index rows, bbs::index n) {
  if (layout == Layout::vector) return py::array_t<R>(rows);
  if (layout == Layout::col_major) return py::array_t<R, py::array::f_style>({rows, n});
  return py::array_t<R>({rows, n});
}

}  // namespace detail

/// T is the stored type. fixed8<Fw, Fx> is held as fixed8<Fw, 0> (the same int8 values, the same
/// kernels) with Fx at run time: activation_frac_bits, and code (the true type's file code).
template <typename T>
class TypedMatrix final : public AnyMatrix {
 public:
  using Activation = bbs::activation_t<T>;
  static constexpr bool fixed_point = bbs::is_fixed_point<T>::value;
  static constexpr bool int8_weights = bbs::is_fixed8<T>::value;
  /// The element type of products and to_dense(): the activation type, or float32 for fixed
  /// point, which holds every fixed16 and fixed8 value exactly.
  using Result = std::conditional_t<fixed_point, float, Activation>;

  explicit TypedMatrix(bbs::BbsMatrix<T> m) : TypedMatrix(std::move(m), own_activation_frac_bits()) {
    static_assert(!int8_weights, "fixed8 matrices name their activation format: TypedMatrix(m, Fx)");
  }
  TypedMatrix(bbs::BbsMatrix<T> m, int activation_frac_bits)
      : m_(std::move(m)), activation_frac_bits_(activation_frac_bits) {
    if (int8_weights && (activation_frac_bits < 0 || activation_frac_bits > 15)) {
      bbs::detail::throw_error<bbs::config_error>(bbs::value_traits<T>::name, ": Fx (activation fraction bits) is ",
                                                  activation_frac_bits, "; it must be 0..15");
    }
  }

  const char* type_name() const override { return bbs::value_type_name(code()); }
  bool is_floating_point() const override { return std::is_floating_point<T>::value; }
  bbs::index rows() const override { return m_.rows(); }
  bbs::index cols() const override { return m_.cols(); }
  bbs::BankConfig bank_config() const override { return m_.bankConfig(); }
  bbs::index nonzeros() const override { return m_.nonZeros(); }
  std::size_t memory_bytes() const override { return m_.memoryBytes(); }
  py::dtype result_dtype() const override { return py::dtype::of<Result>(); }
  const bbs::BbsMatrix<float>* float32_matrix() const override {
    if constexpr (std::is_same<T, float>::value) return &m_;
    return nullptr;
  }

  py::array to_dense() const override {
    py::array_t<Result> dense({m_.rows(), m_.cols()});
    Result* out = dense.mutable_data();
    std::fill(out, out + dense.size(), Result(0));
    const bbs::index cols = m_.cols();
    m_.forEach([&](bbs::index r, bbs::index c, T v) { out[r * cols + c] = to_result(v); });
    return std::move(dense);
  }

  py::tuple csr_arrays() const override {
    // SciPy keeps 32-bit indices when they suffice.
    const bool narrow = m_.nonZeros() <= std::numeric_limits<std::int32_t>::max() &&
                        m_.cols() <= std::numeric_limits<std::int32_t>::max();
    return narrow ? csr_arrays_with<std::int32_t>() : csr_arrays_with<std::int64_t>();
  }

  py::array multiply(py::handle x_object, BackendChoice backend, bool transposed) const override {
    const py::array x = detail::real_array(x_object);
    if (x.ndim() != 1 && x.ndim() != 2) {
      bbs::detail::throw_error<bbs::shape_error>("product ", transposed ? "A^T * x" : "A * x",
                                                 ": the right-hand side must be 1-D or 2-D, it has ", x.ndim(),
                                                 " dimensions");
    }
    const bool vector = x.ndim() == 1;
    const bbs::index x_rows = x.shape(0);
    const bbs::index n = vector ? 1 : x.shape(1);
    const bbs::index out_rows = transposed ? m_.cols() : m_.rows();
    bbs::detail::check_product_shape(transposed ? m_.cols() : m_.rows(), transposed ? m_.rows() : m_.cols(), x_rows, n,
                                     transposed);

    // The layout in which the kernel reads x in place, if any; the one x is copied to otherwise.
    // Non-transposed matrices: row-major (C order) first, the order NumPy makes by default.
    detail::Layout layout = detail::Layout::vector;
    if (!vector) {
      if (transposed) {
        layout = detail::Layout::col_major;
      } else {
        const bool c_usable = detail::leading_dimension(x, detail::Layout::row_major) > 0;
        const bool f_usable = detail::leading_dimension(x, detail::Layout::col_major) > 0;
        layout = !c_usable && f_usable ? detail::Layout::col_major : detail::Layout::row_major;
      }
    }
    if (fixed_point) return multiply_fixed_point(x, layout, backend, transposed, out_rows, n);
    return multiply_in_place_or_converted(x, layout, backend, transposed, out_rows, n);
  }

  // The file code is T's own except for fixed8, whose Fx lives here (bbs::save would write Fx = 0).
  void save(const std::string& path) const override { bbs::detail::csb_file::save_with_code(m_, code(), path); }

  py::bytes serialize() const override {
    const bbs::CsbView<T> view = m_.view();
    view.validate();
    std::string bytes;
    bbs::detail::csb_file::write_bytes(
        view, [&](const void* p, std::size_t n) { bytes.append(static_cast<const char*>(p), n); }, code());
    return py::bytes(bytes);
  }

  std::shared_ptr<AnyMatrix> quantize(const bbs::ValueTypeSpec& target,
                                      bbs::QuantizationReport& report) const override {
    if constexpr (std::is_floating_point<T>::value) {
      using Kind = bbs::ValueTypeSpec::Kind;
      const bbs::ValueTypeSpec to = target.resolved(max_abs_value());
      switch (to.kind) {
        case Kind::bfloat16:
          return quantized<Eigen::bfloat16>(report);
        case Kind::float16:
          return quantized<Eigen::half>(report);
        case Kind::fixed16:
          return quantized_fixed<16>(to, report, std::make_integer_sequence<int, 16>{});
        case Kind::fixed8:
          return quantized_fixed<8>(to, report, std::make_integer_sequence<int, 8>{});
        default:
          bbs::detail::throw_error<bbs::config_error>(
              "quantize: the target type must be fixed16<F>, fixed8<Fw,Fx> (F and Fw 0..15 / 0..7 or auto), "
              "bfloat16 or float16");
      }
    } else {
      (void)target;
      (void)report;
      bbs::detail::throw_error<bbs::config_error>("quantize: the matrix holds ", type_name(),
                                                  " values; quantize takes a float32 or float64 matrix "
                                                  "(dequantize() gives the float32 one)");
    }
  }

  std::shared_ptr<AnyMatrix> dequantize() const override {
    if constexpr (std::is_floating_point<T>::value) {
      return std::const_pointer_cast<AnyMatrix>(shared_from_this());
    } else {
      return wrap(bbs::dequantize(m_));
    }
  }

 private:
  static Result to_result(T v) { return static_cast<Result>(bbs::value_traits<T>::to_float(v)); }

  /// Fx of types other than fixed8: F of fixed16<F> (the weights' own); unused for floats.
  static constexpr int own_activation_frac_bits() {
    if constexpr (bbs::is_fixed16<T>::value) return T::frac_bits;
    return -1;
  }

  /// The file code of the type this matrix stands for: T's own, or fixed8<Fw, Fx> with this Fx.
  std::uint32_t code() const {
    if constexpr (int8_weights) {
      return bbs::detail::fixed8_first_code + static_cast<std::uint32_t>(16 * T::frac_bits + activation_frac_bits_);
    }
    return bbs::value_traits<T>::file_code;
  }

  template <typename I>
  py::tuple csr_arrays_with() const {
    const bbs::index nnz = m_.nonZeros();
    py::array_t<Result> data(nnz);
    py::array_t<I> indices(nnz);
    py::array_t<I> indptr(m_.rows() + 1);
    Result* d = data.mutable_data();
    I* idx = indices.mutable_data();
    I* ptr = indptr.mutable_data();
    bbs::index n = 0;
    bbs::index row = 0;
    ptr[0] = 0;
    // forEach visits rows in ascending order and columns ascending within each row.
    m_.forEach([&](bbs::index r, bbs::index c, T v) {
      while (row < r) ptr[++row] = static_cast<I>(n);
      idx[n] = static_cast<I>(c);
      d[n] = to_result(v);
      ++n;
    });
    while (row < m_.rows()) ptr[++row] = static_cast<I>(n);
    return py::make_tuple(data, indices, indptr);
  }

  /// Float types: x is read in place when it has the activation dtype, is aligned and its layout
  /// suits the kernel; otherwise NumPy converts it (one copy) into that dtype and layout.
  py::array multiply_in_place_or_converted(const py::array& x, detail::Layout layout, BackendChoice backend,
                                           bool transposed, bbs::index out_rows, bbs::index n) const {
    if constexpr (!fixed_point) {
      py::array operand = x;
      bbs::index ldx = -1;
      if (py::isinstance<py::array_t<Activation>>(x) && detail::is_aligned(x))
        ldx = detail::leading_dimension(x, layout);
      if (ldx < 0) {
        operand = layout == detail::Layout::col_major
                      ? py::array(py::array_t<Activation, py::array::f_style | py::array::forcecast>::ensure(x))
                      : py::array(py::array_t<Activation, py::array::c_style | py::array::forcecast>::ensure(x));
        if (!operand) throw py::error_already_set();
        // NumPy returns a misaligned input unchanged when it already has the dtype and order.
        if (!detail::is_aligned(operand))
          operand = operand.attr("copy")(layout == detail::Layout::col_major ? "F" : "C");
        ldx = detail::leading_dimension(operand, layout);
        if (ldx < 0) bbs::detail::throw_error<bbs::error>("bbs: internal error: a converted operand has a bad layout");
      }
      py::array_t<Result> result = detail::new_result<Result>(layout, out_rows, n);
      const auto* x_data = static_cast<const Activation*>(operand.data());
      Result* y_data = result.mutable_data();
      const bbs::index ldy = layout == detail::Layout::col_major ? out_rows : n;
      note_kernel_input(x_data);
      if (result.size() == 0) return std::move(result);
      if (x_rows_of(transposed) == 0) {  // an empty sum: no kernel needs to see a 0-column matrix
        std::fill(y_data, y_data + result.size(), Result(0));
        return std::move(result);
      }
      const bbs::CsbView<T> view = m_.view();
      {
        py::gil_scoped_release release;
        detail::with_backend(backend, [&](auto tag) {
          detail::run_kernel(tag, view, layout, transposed, n, x_data, ldx, y_data, std::max<bbs::index>(ldy, 1));
        });
      }
      return std::move(result);
    } else {
      (void)x, (void)layout, (void)backend, (void)transposed, (void)out_rows, (void)n;
      return py::array();
    }
  }

  /// Fixed point: x is converted to float64, then quantized to the activations' fixed16<Fx>
  /// (rounded, saturated) into a buffer in the kernel's layout; the fixed-point result is
  /// returned as float32.
  py::array multiply_fixed_point(const py::array& x, detail::Layout layout, BackendChoice backend, bool transposed,
                                 bbs::index out_rows, bbs::index n) const {
    if constexpr (fixed_point) {
      py::array source = layout == detail::Layout::col_major
                             ? py::array(py::array_t<double, py::array::f_style | py::array::forcecast>::ensure(x))
                             : py::array(py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(x));
      if (!source) throw py::error_already_set();
      if (!detail::is_aligned(source)) source = source.attr("copy")(layout == detail::Layout::col_major ? "F" : "C");
      const auto* x_values = static_cast<const double*>(source.data());
      const auto x_count = static_cast<std::size_t>(source.size());
      py::array_t<Result> result = detail::new_result<Result>(layout, out_rows, n);
      Result* y_data = result.mutable_data();
      const auto y_count = static_cast<std::size_t>(result.size());
      const bbs::CsbView<T> view = m_.view();
      const bbs::index x_rows = x_rows_of(transposed);
      {
        py::gil_scoped_release release;
        std::vector<Activation> x_fixed(x_count);
        // Rounded and saturated as bbs::quantize<fixed16<Fx>> does; NaN is a value_error there too.
        const int fx = activation_frac_bits_;
        for (std::size_t i = 0; i < x_count; ++i) {
          const double v = x_values[i];
          if (std::isnan(v)) {
            bbs::detail::throw_error<bbs::value_error>(bbs::value_type_name(bbs::detail::fixed16_first_code + fx),
                                                       ": cannot convert NaN to fixed point (x[", i, "])");
          }
          x_fixed[i] = Activation::from_raw(bbs::fixed_rules::quantize(v, fx));
        }
        std::vector<Activation> y_fixed(y_count);
        note_kernel_input(x_fixed.data());
        if (y_count > 0 && x_rows > 0) {
          const bbs::index ldx = layout == detail::Layout::col_major ? x_rows : n;
          const bbs::index ldy = layout == detail::Layout::col_major ? out_rows : n;
          detail::with_backend(backend, [&](auto tag) {
            detail::run_kernel(tag, view, layout, transposed, n, x_fixed.data(), ldx, y_fixed.data(), ldy);
          });
        }
        for (std::size_t i = 0; i < y_count; ++i)
          y_data[i] = static_cast<Result>(bbs::fixed_rules::dequantize(y_fixed[i].raw(), fx));
      }
      return std::move(result);
    } else {
      (void)x, (void)layout, (void)backend, (void)transposed, (void)out_rows, (void)n;
      return py::array();
    }
  }

  /// Length of x's first dimension for op(A) @ x.
  bbs::index x_rows_of(bool transposed) const { return transposed ? m_.rows() : m_.cols(); }

  double max_abs_value() const {
    double largest = 0;
    m_.forEach([&](bbs::index, bbs::index, T v) { largest = std::max(largest, std::abs(static_cast<double>(v))); });
    return largest;
  }

  template <typename Q>
  std::shared_ptr<AnyMatrix> quantized(bbs::QuantizationReport& report, int activation_frac_bits = -1) const {
    auto q = bbs::quantize<Q>(m_);
    report = q.report;
    if constexpr (bbs::is_fixed8<Q>::value) {
      return wrap_fixed8<Q::frac_bits>(std::move(q.value), activation_frac_bits);
    } else {
      return wrap(std::move(q.value));
    }
  }

  /// fixed16<F> (Bits 16) or fixed8<Fw, Fx> (Bits 8, held as fixed8<Fw, 0>) for a resolved spec.
  template <int Bits, int... F>
  std::shared_ptr<AnyMatrix> quantized_fixed(const bbs::ValueTypeSpec& to, bbs::QuantizationReport& report,
                                             std::integer_sequence<int, F...>) const {
    std::shared_ptr<AnyMatrix> result;
    if constexpr (Bits == 16) {
      ((F == to.frac_bits ? (result = quantized<bbs::fixed16<F>>(report), true) : false) || ...);
    } else {
      ((F == to.frac_bits ? (result = quantized<bbs::fixed8<F, 0>>(report, to.activation_frac_bits), true) : false) ||
       ...);
    }
    if (!result) bbs::detail::throw_error<bbs::config_error>("quantize: fraction width ", to.frac_bits, " is invalid");
    return result;
  }

  bbs::BbsMatrix<T> m_;
  int activation_frac_bits_ = -1;
};

template <typename T>
std::shared_ptr<AnyMatrix> wrap(bbs::BbsMatrix<T> m) {
  return std::make_shared<TypedMatrix<T>>(std::move(m));
}

template <int Fw>
std::shared_ptr<AnyMatrix> wrap_fixed8(bbs::BbsMatrix<bbs::fixed8<Fw, 0>> m, int activation_frac_bits) {
  return std::make_shared<TypedMatrix<bbs::fixed8<Fw, 0>>>(std::move(m), activation_frac_bits);
}

// Each value type's TypedMatrix, and with it its kernels, is compiled in one file only (the
// explicit instantiations in matrix_*.cpp); elsewhere wrap<T> is a call, as quantize needs.
extern template std::shared_ptr<AnyMatrix> wrap<float>(bbs::BbsMatrix<float>);
extern template std::shared_ptr<AnyMatrix> wrap<double>(bbs::BbsMatrix<double>);
extern template std::shared_ptr<AnyMatrix> wrap<Eigen::bfloat16>(bbs::BbsMatrix<Eigen::bfloat16>);
extern template std::shared_ptr<AnyMatrix> wrap<Eigen::half>(bbs::BbsMatrix<Eigen::half>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<0>>(bbs::BbsMatrix<bbs::fixed16<0>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<1>>(bbs::BbsMatrix<bbs::fixed16<1>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<2>>(bbs::BbsMatrix<bbs::fixed16<2>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<3>>(bbs::BbsMatrix<bbs::fixed16<3>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<4>>(bbs::BbsMatrix<bbs::fixed16<4>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<5>>(bbs::BbsMatrix<bbs::fixed16<5>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<6>>(bbs::BbsMatrix<bbs::fixed16<6>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<7>>(bbs::BbsMatrix<bbs::fixed16<7>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<8>>(bbs::BbsMatrix<bbs::fixed16<8>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<9>>(bbs::BbsMatrix<bbs::fixed16<9>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<10>>(bbs::BbsMatrix<bbs::fixed16<10>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<11>>(bbs::BbsMatrix<bbs::fixed16<11>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<12>>(bbs::BbsMatrix<bbs::fixed16<12>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<13>>(bbs::BbsMatrix<bbs::fixed16<13>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<14>>(bbs::BbsMatrix<bbs::fixed16<14>>);
extern template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<15>>(bbs::BbsMatrix<bbs::fixed16<15>>);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<0>(bbs::BbsMatrix<bbs::fixed8<0, 0>>, int);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<1>(bbs::BbsMatrix<bbs::fixed8<1, 0>>, int);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<2>(bbs::BbsMatrix<bbs::fixed8<2, 0>>, int);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<3>(bbs::BbsMatrix<bbs::fixed8<3, 0>>, int);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<4>(bbs::BbsMatrix<bbs::fixed8<4, 0>>, int);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<5>(bbs::BbsMatrix<bbs::fixed8<5, 0>>, int);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<6>(bbs::BbsMatrix<bbs::fixed8<6, 0>>, int);
extern template std::shared_ptr<AnyMatrix> wrap_fixed8<7>(bbs::BbsMatrix<bbs::fixed8<7, 0>>, int);

}  // namespace bbs_python
