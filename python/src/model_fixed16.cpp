// bbs.nn models of fixed16<F> values for F = 8..13, the widths the bbs tool runs
// (typed_model.hpp). An LSTM's per-tensor formats, when its file has them, come with it.
#include <utility>

#include "typed_model.hpp"

namespace bbs_python {
namespace {

template <int F>
std::shared_ptr<AnyModel> load_as(const std::string& path) {
  bbs::nn::Sequential<bbs::fixed16<F>> model;
  {
    py::gil_scoped_release release;
    model = bbs::nn::load_model<bbs::fixed16<F>>(path);
  }
  return std::make_shared<TypedModel<bbs::fixed16<F>>>(std::move(model));
}

template <int... F>
std::shared_ptr<AnyModel> load_fixed16(const std::string& path, int frac_bits, std::integer_sequence<int, F...>) {
  std::shared_ptr<AnyModel> result;
  ((F + 8 == frac_bits ? (result = load_as<F + 8>(path), true) : false) || ...);
  return result;
}

}  // namespace

std::shared_ptr<AnyModel> load_model_fixed16(const std::string& path, int frac_bits) {
  if (frac_bits < 8 || frac_bits > 13) {
    bbs::detail::throw_error<bbs::config_error>(
        "bbs.nn.load_model: models run as float32 or fixed16<F> with F from 8 "
        "to 13, not fixed16<",
        frac_bits, ">");
  }
  return load_fixed16(path, frac_bits, std::make_integer_sequence<int, 6>{});
}

}  // namespace bbs_python
