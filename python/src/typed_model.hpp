// TypedModel<T>, TypedStream<T> and TypedStreamState<T>: AnyModel, AnyStream and AnyStreamState for
// one value type. Included only by model_float.cpp and model_fixed16.cpp.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bbs/nn/streaming.hpp>

#include "any_model.hpp"

namespace bbs_python {
namespace detail {

/// The activations of T as float32, and back: fixed-point values round and saturate as
/// fixed16<F>(double) does (a NaN raises bbs.InvalidValueError).
template <typename A>
A activation_from(float v) {
  return bbs::nn::elementwise<A>::from_float(v);
}
template <typename A>
float activation_to_float(A v) {
  return static_cast<float>(bbs::nn::elementwise<A>::to_double(v));
}

/// A raw fixed-point state value in Q(frac) as a real number.
inline double raw_value(double raw, int frac) { return std::ldexp(raw, -frac); }

}  // namespace detail

template <typename T>
class TypedModel;

template <typename T>
class TypedStreamState : public AnyStreamState {
 public:
  using Stream = bbs::nn::Stream<T>;
  TypedStreamState(std::shared_ptr<const TypedModel<T>> model, typename Stream::State state)
      : model_(std::move(model)), state_(std::move(state)) {}

  const char* type_name() const override;
  bbs::index frames() const override { return state_.frames; }
  bbs::index batch() const override { return state_.batch; }
  py::list arrays() const override;
  const typename Stream::State& state() const { return state_; }

 private:
  std::shared_ptr<const TypedModel<T>> model_;
  typename Stream::State state_;
};

template <typename T>
class TypedStream : public AnyStream {
 public:
  using A = bbs::activation_t<T>;
  explicit TypedStream(std::shared_ptr<const TypedModel<T>> model)
      : model_(std::move(model)), stream_(model_->model()) {}

  py::array step(py::handle frame) override {
    const auto x = detail::float_array(frame, "bbs.nn.Stream.step: the frame");
    const bbs::index features = stream_.input_size();
    if (!((x.ndim() == 1 || x.ndim() == 2) && x.shape(x.ndim() - 1) == features)) {
      bbs::detail::throw_error<bbs::shape_error>("bbs.nn.Stream.step: the frame is ", detail::shape_of(x),
                                                 ", expected (", features, ",) or (batch, ", features, ")");
    }
    const bbs::index batch = x.ndim() == 1 ? 1 : x.shape(0);
    bbs::nn::Matrix<A> in(features, batch);
    const float* src = x.data();
    for (bbs::index i = 0; i < in.size(); ++i) in.data()[i] = detail::activation_from<A>(src[i]);
    bbs::nn::Matrix<A> out;
    {
      py::gil_scoped_release release;
      out = stream_.step(in);
    }
    py::array_t<float> y(x.ndim() == 1 ? std::vector<py::ssize_t>{out.rows()}
                                       : std::vector<py::ssize_t>{out.cols(), out.rows()});
    float* dst = y.mutable_data();
    for (bbs::index i = 0; i < out.size(); ++i) dst[i] = detail::activation_to_float(out.data()[i]);
    return std::move(y);
  }

  void reset() override { stream_.reset(); }
  bbs::index frames() const override { return stream_.frames(); }
  std::shared_ptr<AnyStreamState> state() const override {
    return std::make_shared<TypedStreamState<T>>(model_, stream_.state());
  }
  void set_state(const AnyStreamState& state) override {
    const auto* typed = dynamic_cast<const TypedStreamState<T>*>(&state);
    if (typed == nullptr) {
      bbs::detail::throw_error<bbs::config_error>("bbs.nn.Stream.set_state: the state is of a ", state.type_name(),
                                                  " model, this stream runs ", bbs::value_traits<T>::name);
    }
    stream_.set_state(typed->state());
  }

 private:
  std::shared_ptr<const TypedModel<T>> model_;
  bbs::nn::Stream<T> stream_;
};

template <typename T>
class TypedModel : public AnyModel {
 public:
  using A = bbs::activation_t<T>;
  explicit TypedModel(bbs::nn::Sequential<T> model) : model_(std::move(model)) {}

  const bbs::nn::Sequential<T>& model() const { return model_; }
  const char* type_name() const override { return bbs::value_traits<T>::name; }
  const bbs::nn::DataShape& input_shape() const override { return model_.input_shape(); }
  const bbs::nn::DataShape& output_shape() const override { return model_.output_shape(); }

  py::array forward(py::handle input) const override {
    const auto x = detail::float_array(input, "bbs.nn.Model.forward: the input");
    const bbs::nn::DataShape& in = model_.input_shape();
    const bool image = in.kind == bbs::nn::DataKind::image;
    const bool sequence = in.kind == bbs::nn::DataKind::sequence;
    // The dimensions after the batch, and how many there are with and without a batch.
    const std::vector<bbs::index> item =
        image ? std::vector<bbs::index>{in.channels, in.height, in.width} : std::vector<bbs::index>{in.features};
    const py::ssize_t lead = sequence ? 1 : 0;  // the time dimension of a sequence
    const py::ssize_t unbatched = lead + static_cast<py::ssize_t>(item.size());
    bool fits = x.ndim() == unbatched || x.ndim() == unbatched + 1;
    for (std::size_t i = 0; fits && i < item.size(); ++i) {
      fits = x.shape(x.ndim() - static_cast<py::ssize_t>(item.size()) + static_cast<py::ssize_t>(i)) == item[i];
    }
    if (!fits) {
      std::string want = image      ? bbs::detail::concat("(N, ", in.channels, ", ", in.height, ", ", in.width, ")")
                         : sequence ? bbs::detail::concat("(T, batch, ", in.features, ") or (T, ", in.features, ")")
                                    : bbs::detail::concat("(batch, ", in.features, ") or (", in.features, ",)");
      if (image) want += bbs::detail::concat(" or (", in.channels, ", ", in.height, ", ", in.width, ")");
      bbs::detail::throw_error<bbs::shape_error>("bbs.nn.Model.forward: the input is ", detail::shape_of(x),
                                                 ", the model takes ", in.str(), ": expected ", want);
    }
    const bool batched = x.ndim() == unbatched + 1;
    const bbs::index batch = batched ? x.shape(lead) : 1;
    const bbs::index steps = sequence ? x.shape(0) : 1;
    bbs::nn::Matrix<A> out;
    const float* src = x.data();
    if (image) {
      bbs::nn::Tensor<A> t = bbs::nn::Tensor<A>::uninitialized(batch, in.channels, in.height, in.width);
      for (bbs::index i = 0; i < t.size(); ++i) t.data()[i] = detail::activation_from<A>(src[i]);
      py::gil_scoped_release release;
      out = model_.forward(t);
    } else {
      // (T, batch, F) and (batch, F) in C order are F x (T * batch) column-major: frame t's
      // batch is columns t * batch ... (t + 1) * batch - 1, as the layers read them.
      bbs::nn::Matrix<A> m(in.features, steps * batch);
      for (bbs::index i = 0; i < m.size(); ++i) m.data()[i] = detail::activation_from<A>(src[i]);
      py::gil_scoped_release release;
      out = model_.forward(m, batch);
    }
    const bbs::nn::DataShape& o = model_.output_shape();
    std::vector<py::ssize_t> shape;
    if (sequence && o.kind == bbs::nn::DataKind::sequence) shape.push_back(steps);
    if (batched) shape.push_back(batch);
    if (o.kind == bbs::nn::DataKind::image) {
      shape.insert(shape.end(), {o.channels, o.height, o.width});
    } else {
      shape.push_back(out.rows());
    }
    py::array_t<float> y(shape);
    float* dst = y.mutable_data();
    for (bbs::index i = 0; i < out.size(); ++i) dst[i] = detail::activation_to_float(out.data()[i]);
    return std::move(y);
  }

  std::shared_ptr<AnyStream> stream() const override {
    return std::make_shared<TypedStream<T>>(std::static_pointer_cast<const TypedModel<T>>(shared_from_this()));
  }

  void save(const std::string& path) const override {
    py::gil_scoped_release release;
    bbs::nn::save_model(model_, path);
  }

  py::list layers() const override {
    py::list out;
    for (std::size_t i = 0; i < model_.size(); ++i) {
      const auto r = model_.layer(i).record();
      py::dict keys;
      for (const auto& k : r.keys) keys[py::str(k.first)] = k.second;
      out.append(py::make_tuple(r.keyword, model_.layer(i).name(), keys));
    }
    return out;
  }

  void set_check_finite(bool on) override { model_.set_check_finite(on); }
  bool checks_finite() const override { return model_.checks_finite(); }

 private:
  bbs::nn::Sequential<T> model_;
};

template <typename T>
const char* TypedStreamState<T>::type_name() const {
  return bbs::value_traits<T>::name;
}

template <typename T>
py::list TypedStreamState<T>::arrays() const {
  using A = bbs::activation_t<T>;
  using Stream = bbs::nn::Stream<T>;
  const auto& model = model_->model();
  // A (rows x batch) state matrix as (batch, rows) float64: raw Q(frac) values for fixed point
  // under per-tensor formats, activations otherwise.
  const auto as_array = [](const auto& m, int frac) {
    py::array_t<double> a(std::vector<py::ssize_t>{m.cols(), m.rows()});
    double* dst = a.mutable_data();
    for (bbs::index i = 0; i < m.size(); ++i) {
      const auto v = m.data()[i];
      if constexpr (std::is_same<std::decay_t<decltype(v)>, std::int32_t>::value) {
        dst[i] = detail::raw_value(v, frac);
      } else if constexpr (bbs::is_fixed16<A>::value) {
        dst[i] = detail::raw_value(v.raw(), frac);
      } else {
        dst[i] = static_cast<double>(v);
      }
    }
    return a;
  };
  py::list out;
  for (std::size_t i = 0; i < state_.layers.size(); ++i) {
    const std::any& s = state_.layers[i];
    const auto* lstm = dynamic_cast<const typename Stream::LstmLayer*>(&model.layer(i));
    if (!s.has_value() || state_.frames == 0) {
      out.append(lstm || dynamic_cast<const typename Stream::GruLayer*>(&model.layer(i)) ? py::object(py::list())
                                                                                         : py::object(py::none()));
      continue;
    }
    py::list cells;
    if (lstm) {
      const auto& cells_state = std::any_cast<const typename bbs::nn::Lstm<T>::State&>(s);
      for (std::size_t l = 0; l < cells_state.size(); ++l) {
        const auto f = lstm->stack().cell(static_cast<bbs::index>(l), 0).formats();
        const auto& c = cells_state[l];
        py::dict d;
        d["h"] = as_array(c.h, f.output);
        d["c"] = c.c_wide.size() > 0 ? as_array(c.c_wide, f.cell) : as_array(c.c, f.cell);
        cells.append(d);
      }
    } else {
      for (const auto& c : std::any_cast<const typename bbs::nn::Gru<T>::State&>(s)) {
        py::dict d;
        int frac = 0;
        if constexpr (bbs::is_fixed16<A>::value) frac = A::frac_bits;
        d["h"] = as_array(c.h, frac);
        cells.append(d);
      }
    }
    out.append(cells);
  }
  return out;
}

}  // namespace bbs_python
