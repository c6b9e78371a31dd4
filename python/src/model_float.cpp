// bbs.nn models of float32 values (typed_model.hpp).
#include "typed_model.hpp"

namespace bbs_python {

std::shared_ptr<AnyModel> load_model_float32(const std::string& path) {
  bbs::nn::Sequential<float> model;
  {
    py::gil_scoped_release release;  // reading, checking and packing a large model takes a while
    model = bbs::nn::load_model<float>(path);
  }
  return std::make_shared<TypedModel<float>>(std::move(model));
}

}  // namespace bbs_python
