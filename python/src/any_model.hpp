// The extension's type-erased models (bbs.nn): a loaded bbs::nn::Sequential of any value type the
// bbs tool runs (float32, fixed16<8..13>) behind AnyModel, its frame-by-frame Stream behind
// AnyStream, and a stream's state behind AnyStreamState. typed_model.hpp implements them once per
// value type, in model_float.cpp and model_fixed16.cpp, which build in parallel.
#pragma once

#include <memory>
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <bbs/nn.hpp>

namespace bbs_python {

namespace py = pybind11;

namespace detail {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

/// x as float32 in C order (a copy only where it is not already); TypeError naming `what` for
/// anything that is not real numbers.
inline FloatArray float_array(py::handle x, const std::string& what) {
  FloatArray a = FloatArray::ensure(x);
  if (!a) throw py::type_error(what + " must be a NumPy array of real numbers or convertible to one");
  return a;
}

/// "(2, 3)", "(5,)": an array's shape as Python writes it, for messages.
inline std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += bbs::detail::concat(i == 0 ? "" : ", ", a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

}  // namespace detail

/// A copy of a stream's state (bbs::nn::Stream<T>::State), opaque to Python except for what
/// arrays() shows.
class AnyStreamState {
 public:
  virtual ~AnyStreamState() = default;
  virtual const char* type_name() const = 0;
  virtual bbs::index frames() const = 0;
  virtual bbs::index batch() const = 0;
  /// For every layer of the model: None for a frame-wise layer, else a list over its stacked
  /// cells of {"h": (batch, output), "c": (batch, hidden)} (no "c" for a GRU) as float64 values
  /// (fixed-point states divided by their format's scale).
  virtual py::list arrays() const = 0;
};

/// A model running one frame at a time (bbs::nn::Stream<T>); it keeps its model alive.
class AnyStream {
 public:
  virtual ~AnyStream() = default;
  /// One frame, (features,) or (batch, features); returns (out,) or (batch, out) as float32.
  virtual py::array step(py::handle frame) = 0;
  virtual void reset() = 0;
  virtual bbs::index frames() const = 0;
  virtual std::shared_ptr<AnyStreamState> state() const = 0;
  /// config_error for a state of another value type, and whatever Stream::set_state throws.
  virtual void set_state(const AnyStreamState& state) = 0;
};

/// A loaded model (bbs::nn::Sequential<T>).
class AnyModel : public std::enable_shared_from_this<AnyModel> {
 public:
  virtual ~AnyModel() = default;
  virtual const char* type_name() const = 0;
  virtual const bbs::nn::DataShape& input_shape() const = 0;
  virtual const bbs::nn::DataShape& output_shape() const = 0;
  /// The model on a batch in PyTorch's layouts (docs/PYTHON.md): images (N, C, H, W), sequences
  /// (T, batch, features), feature batches (batch, features), each also without the batch
  /// dimension; float32 out. The GIL is released while it runs.
  virtual py::array forward(py::handle x) const = 0;
  virtual std::shared_ptr<AnyStream> stream() const = 0;
  virtual void save(const std::string& path) const = 0;
  /// Per layer: (keyword, name, {key: value}) as the model file's manifest writes them.
  virtual py::list layers() const = 0;
  virtual void set_check_finite(bool on) = 0;
  virtual bool checks_finite() const = 0;
};

/// bbs::nn::load_model as float32, or as fixed16<F> for F in 8..13 (the widths the bbs tool
/// runs); config_error for other widths. Defined in model_float.cpp / model_fixed16.cpp.
std::shared_ptr<AnyModel> load_model_float32(const std::string& path);
std::shared_ptr<AnyModel> load_model_fixed16(const std::string& path, int frac_bits);

}  // namespace bbs_python
