// bbs.nn's part of the extension: loaded models (Model), streams with explicit state (Stream,
// StreamState), load_model / save_model, and the float32 LSTM stack that bbs.torch builds
// nn.LSTM replacements from (Lstm). They live in bbs._bbs beside the matrices, so that one stub
// file types them; python/bbs/nn.py is their public home. docs/PYTHON.md documents them.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "any_matrix.hpp"
#include "any_model.hpp"

namespace bbs_python {
namespace {

py::dict shape_dict(const bbs::nn::DataShape& s) {
  py::dict d;
  switch (s.kind) {
    case bbs::nn::DataKind::image:
      d["kind"] = "image";
      d["channels"] = s.channels;
      d["height"] = s.height;
      d["width"] = s.width;
      break;
    case bbs::nn::DataKind::sequence:
      d["kind"] = "sequence";
      d["features"] = s.features;
      break;
    default:
      d["kind"] = "features";
      d["features"] = s.features;
      break;
  }
  return d;
}

std::shared_ptr<AnyModel> load_model(const std::filesystem::path& file, const std::string& type) {
  const std::string path = file.string();
  const bbs::ValueTypeSpec t = bbs::parse_value_type(type);
  if (t.kind == bbs::ValueTypeSpec::Kind::float32) return load_model_float32(path);
  if (t.kind == bbs::ValueTypeSpec::Kind::fixed16 && t.frac_bits >= 0) return load_model_fixed16(path, t.frac_bits);
  bbs::detail::throw_error<bbs::config_error>("bbs.nn.load_model: type \"", type,
                                              "\": models run as float32 or fixed16<F> with F from 8 to 13");
}

// ---------------------------------------------------------------------------------------------
// Lstm: a float32 bbs::nn::Lstm from bank-balanced matrices, with PyTorch's nn.LSTM interface.

using LstmStack = bbs::nn::Lstm<float>;
using FloatMatrix = bbs::nn::Matrix<float>;

const bbs::BbsMatrix<float>& float32_of(const std::shared_ptr<AnyMatrix>& m, const std::string& what) {
  if (!m) bbs::detail::throw_error<bbs::config_error>("bbs.nn.Lstm: ", what, " is missing");
  const bbs::BbsMatrix<float>* f = m->float32_matrix();
  if (f == nullptr) {
    bbs::detail::throw_error<bbs::config_error>("bbs.nn.Lstm: ", what, " holds ", m->type_name(),
                                                " values; LSTM layers from matrices take float32");
  }
  return *f;
}

/// A float32 C-order array of exactly `shape`, or shape_error naming `what`.
detail::FloatArray float_input(py::handle x, const std::vector<bbs::index>& shape, const std::string& what) {
  detail::FloatArray a = detail::float_array(x, "bbs.nn.Lstm: " + what);
  bool fits = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (std::size_t i = 0; fits && i < shape.size(); ++i) fits = a.shape(static_cast<py::ssize_t>(i)) == shape[i];
  if (!fits) {
    std::string want = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) want += bbs::detail::concat(i ? ", " : "", shape[i]);
    bbs::detail::throw_error<bbs::shape_error>("bbs.nn.Lstm: ", what, " is ", detail::shape_of(a), ", expected ", want,
                                               shape.size() == 1 ? ",)" : ")");
  }
  return a;
}

class PyLstm {
 public:
  PyLstm(const std::vector<py::tuple>& cells, bbs::index num_layers, bool bidirectional) {
    std::vector<bbs::nn::LstmCell<float>> built;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::string where = bbs::detail::concat("cell ", i);
      if (cells[i].size() != 4) {
        bbs::detail::throw_error<bbs::config_error>("bbs.nn.Lstm: ", where,
                                                    " must be (weight_ih, weight_hh, bias, weight_hr or None)");
      }
      const auto w_ih = cells[i][0].cast<std::shared_ptr<AnyMatrix>>();
      const auto w_hh = cells[i][1].cast<std::shared_ptr<AnyMatrix>>();
      const auto& ih = float32_of(w_ih, where + " weight_ih");
      const auto& hh = float32_of(w_hh, where + " weight_hh");
      const auto bias = float_input(cells[i][2], {ih.rows()}, where + " bias (4 * hidden_size,)");
      bbs::BbsMatrix<float> hr;
      if (!cells[i][3].is_none()) hr = float32_of(cells[i][3].cast<std::shared_ptr<AnyMatrix>>(), where + " weight_hr");
      built.emplace_back(ih, hh, Eigen::Map<const bbs::nn::Vector<float>>(bias.data(), ih.rows()), std::move(hr));
    }
    stack_ = LstmStack(std::move(built), num_layers, bidirectional);
  }

  bbs::index input_size() const { return stack_.input_size(); }
  bbs::index hidden_size() const { return stack_.cell(0, 0).hidden_size(); }
  bbs::index proj_size() const { return stack_.cell(0, 0).has_projection() ? stack_.cell(0, 0).output_size() : 0; }
  bbs::index num_layers() const { return stack_.num_layers(); }
  bool bidirectional() const { return stack_.num_directions() == 2; }

  /// x: (T, batch, input_size); h0: (layers * directions, batch, output), c0: (..., hidden), or
  /// None for zeros. Returns (y (T, batch, directions * output), h_n, c_n) as nn.LSTM does.
  py::tuple forward(py::handle x, py::handle h0, py::handle c0) const {
    const detail::FloatArray xa = detail::float_array(x, "bbs.nn.Lstm: the input");
    if (xa.ndim() != 3 || xa.shape(2) != input_size()) {
      bbs::detail::throw_error<bbs::shape_error>("bbs.nn.Lstm: the input is ", detail::shape_of(xa),
                                                 ", expected (T, batch, ", input_size(), ")");
    }
    const bbs::index steps = xa.shape(0), batch = xa.shape(1);
    const bbs::index cells = num_layers() * stack_.num_directions();
    const bbs::index out = stack_.cell(0, 0).output_size(), hidden = hidden_size();
    LstmStack::State state = stack_.zero_state(batch);
    if (!h0.is_none()) {
      const auto h = float_input(h0, {cells, batch, out}, "h0 (layers * directions, batch, output size)");
      for (bbs::index i = 0; i < cells; ++i) {
        state[static_cast<std::size_t>(i)].h = Eigen::Map<const FloatMatrix>(h.data() + i * batch * out, out, batch);
      }
    }
    if (!c0.is_none()) {
      const auto c = float_input(c0, {cells, batch, hidden}, "c0 (layers * directions, batch, hidden size)");
      for (bbs::index i = 0; i < cells; ++i) {
        state[static_cast<std::size_t>(i)].c =
            Eigen::Map<const FloatMatrix>(c.data() + i * batch * hidden, hidden, batch);
      }
    }
    FloatMatrix y;
    {
      py::gil_scoped_release release;
      // (T, batch, F) in C order is F x (T * batch) column-major, frame t at columns t * batch...
      y = stack_.forward(Eigen::Map<const FloatMatrix>(xa.data(), input_size(), steps * batch), batch, state);
    }
    py::array_t<float> ya(std::vector<py::ssize_t>{steps, batch, y.rows()});
    std::copy(y.data(), y.data() + y.size(), ya.mutable_data());
    py::array_t<float> hn(std::vector<py::ssize_t>{cells, batch, out});
    py::array_t<float> cn(std::vector<py::ssize_t>{cells, batch, hidden});
    for (bbs::index i = 0; i < cells; ++i) {
      const auto& s = state[static_cast<std::size_t>(i)];
      std::copy(s.h.data(), s.h.data() + s.h.size(), hn.mutable_data() + i * batch * out);
      std::copy(s.c.data(), s.c.data() + s.c.size(), cn.mutable_data() + i * batch * hidden);
    }
    return py::make_tuple(std::move(ya), std::move(hn), std::move(cn));
  }

 private:
  LstmStack stack_;
};

}  // namespace

void register_nn(py::module_& m) {
  py::class_<AnyStreamState, std::shared_ptr<AnyStreamState>>(
      m, "StreamState", "A copy of a stream's state: Stream.state gives one, Stream.state = s continues from it.")
      .def_property_readonly("frames", &AnyStreamState::frames, "Frames run to reach this state.")
      .def_property_readonly("batch", &AnyStreamState::batch, "The batch of those frames (0 before the first).")
      .def_property_readonly("type", &AnyStreamState::type_name, "The value type of the model.")
      .def("arrays", &AnyStreamState::arrays,
           "Per layer: None (frame-wise) or, per stacked cell, {'h': (batch, output), 'c': (batch, hidden)} as "
           "float64 (a GRU has no 'c'); copies.")
      .def("__repr__", [](const AnyStreamState& s) {
        return bbs::detail::concat("StreamState(", s.type_name(), ", frames=", s.frames(), ", batch=", s.batch(), ")");
      });

  py::class_<AnyStream, std::shared_ptr<AnyStream>>(
      m, "Stream", "A model run one frame at a time; its state carries from frame to frame (bbs::nn::Stream).")
      .def("step", &AnyStream::step, py::arg("frame"),
           "One frame, (features,) or (batch, features), to the output of that frame (float32).")
      .def("__call__", &AnyStream::step, py::arg("frame"))
      .def("reset", &AnyStream::reset, "Back to frame 0: every state zero.")
      .def_property_readonly("frames", &AnyStream::frames, "Frames run since the start or reset().")
      .def_property("state", &AnyStream::state, &AnyStream::set_state,
                    "A copy of the state; assigning one (of this model) continues from it.");

  py::class_<AnyModel, std::shared_ptr<AnyModel>>(m, "Model", "A loaded bbs model (bbs::nn::Sequential).")
      .def_property_readonly("type", &AnyModel::type_name, "The value type it runs in.")
      .def_property_readonly(
          "input_shape", [](const AnyModel& a) { return shape_dict(a.input_shape()); }, "What it takes.")
      .def_property_readonly(
          "output_shape", [](const AnyModel& a) { return shape_dict(a.output_shape()); }, "What it gives.")
      .def_property_readonly("layers", &AnyModel::layers, "Per layer: (keyword, name, {key: value}).")
      .def("forward", &AnyModel::forward, py::arg("x"),
           "Runs a batch: images (N, C, H, W), sequences (T, batch, features), feature batches (batch, "
           "features), each also without the batch dimension; returns float32.")
      .def("__call__", &AnyModel::forward, py::arg("x"))
      .def("stream", &AnyModel::stream, "A Stream over this model, at frame 0.")
      .def(
          "save", [](const AnyModel& a, const std::filesystem::path& path) { a.save(path.string()); }, py::arg("path"),
          "save_model(self, path).")
      .def_property("check_finite", &AnyModel::checks_finite, &AnyModel::set_check_finite,
                    "Whether forward checks the input and every layer's output for NaN and infinity.")
      .def("__repr__", [](const AnyModel& a) {
        return bbs::detail::concat("Model(", a.type_name(), ", ", a.input_shape().str(), " -> ", a.output_shape().str(),
                                   ", ", py::len(a.layers()), " layers)");
      });

  m.def("load_model", &load_model, py::arg("path"), py::arg("type") = "float32",
        "Loads a bbs model file (.bbsm) to run as float32 or fixed16<F>, F = 8..13.");
  m.def(
      "save_model", [](const AnyModel& a, const std::filesystem::path& path) { a.save(path.string()); },
      py::arg("model"), py::arg("path"),
      "Writes a model as a bbs model file, atomically; load_model of it gives the same outputs.");

  py::class_<PyLstm>(m, "Lstm",
                     "A float32 LSTM stack from bank-balanced matrices, wired as PyTorch's nn.LSTM (bbs::nn::Lstm).")
      .def(py::init<const std::vector<py::tuple>&, bbs::index, bool>(), py::arg("cells"), py::arg("num_layers"),
           py::arg("bidirectional"),
           "cells[layer * directions + direction] = (weight_ih, weight_hh, bias, weight_hr or None): BbsMatrix "
           "objects of float32 values and the summed bias (4 * hidden_size,).")
      .def_property_readonly("input_size", &PyLstm::input_size)
      .def_property_readonly("hidden_size", &PyLstm::hidden_size)
      .def_property_readonly("proj_size", &PyLstm::proj_size)
      .def_property_readonly("num_layers", &PyLstm::num_layers)
      .def_property_readonly("bidirectional", &PyLstm::bidirectional)
      .def("forward", &PyLstm::forward, py::arg("x"), py::arg("h0") = py::none(), py::arg("c0") = py::none(),
           "x: (T, batch, input_size). Returns (output, h_n, c_n) as nn.LSTM does with batch_first=False.");
}

}  // namespace bbs_python
