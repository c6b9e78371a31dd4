// A PyTorch state_dict exported as an .npz archive (tools/python/export_state_dict.py: one array per
// tensor, named as in the state_dict) and the layers' dense weights read from it by PyTorch's
// names, with errors that name the missing tensor or the shape that does not fit. The layers
// prune (and quantize) these weights when they are built (from_dense).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "bbs/core/error.hpp"
#include "bbs/io/npy.hpp"
#include "bbs/nn/recurrent.hpp"

namespace bbs {
namespace nn {

/// The tensors of a state_dict by name.
class StateDict {
 public:
  StateDict() = default;
  explicit StateDict(std::vector<std::pair<std::string, NpyArray>> arrays, std::string source = "state_dict")
      : source_(std::move(source)) {
    for (auto& a : arrays) tensors_.emplace(std::move(a.first), std::move(a.second));
  }

  /// Reads an .npz written by numpy.savez (bbs::read_npz: file_error for a broken archive).
  static StateDict load_npz(const std::string& path) { return StateDict(read_npz(path), path); }

  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& t : tensors_) n.push_back(t.first);
    return n;
  }

  /// A tensor as a float matrix: 2-D as it is, 1-D as a column, and 3-D or 4-D (convolution
  /// weights) flattened per leading index, out x (in * k * k). file_error when it is missing.
  Eigen::MatrixXf matrix(const std::string& name) const {
    NpyArray a = tensor(name);
    if (a.shape.size() > 2) {
      if (a.fortran_order) {
        detail::throw_error<file_error>(source_, ": tensor \"", name,
                                        "\" is in Fortran order; expected C order for a tensor of rank ",
                                        a.shape.size());
      }
      const index rows = a.shape[0];
      a.shape = {rows, rows == 0 ? 0 : a.size() / rows};
    }
    return a.matrix<float>();
  }

  /// A 1-D tensor (a bias) as a vector; shape_error for another rank.
  Eigen::VectorXf vector(const std::string& name) const {
    const NpyArray& a = tensor(name);
    if (a.shape.size() != 1) {
      detail::throw_error<shape_error>(source_, ": tensor \"", name, "\" has ", a.shape.size(),
                                       " dimensions, expected 1 (a vector)");
    }
    return a.matrix<float>().col(0);
  }

 private:
  const NpyArray& tensor(const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      std::string have;
      for (const auto& t : tensors_) have += (have.empty() ? "" : ", ") + t.first;
      detail::throw_error<file_error>(source_, ": no tensor \"", name, "\"; it holds ",
                                      have.empty() ? std::string("none") : have);
    }
    return it->second;
  }

  std::string source_;
  std::map<std::string, NpyArray> tensors_;
};

/// The dense weights of a torch.nn.LSTM or torch.nn.GRU (`prefix` is its name in the model plus a
/// dot, "" for the module itself): weight_ih_l{k}[_reverse], weight_hh_..., bias_ih_...,
/// bias_hh_... and, with `projection`, weight_hr_..., in the order StackedRecurrent::from_dense
/// takes them. file_error names a missing tensor; the cells check the shapes.
inline std::vector<RecurrentDenseWeights> recurrent_weights(const StateDict& sd, const std::string& prefix,
                                                            index num_layers, bool bidirectional,
                                                            bool projection = false) {
  std::vector<RecurrentDenseWeights> weights;
  for (index l = 0; l < num_layers; ++l) {
    for (index d = 0; d < (bidirectional ? 2 : 1); ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      RecurrentDenseWeights w;
      w.weight_ih = sd.matrix(prefix + "weight_ih" + suffix);
      w.weight_hh = sd.matrix(prefix + "weight_hh" + suffix);
      w.bias_ih = sd.vector(prefix + "bias_ih" + suffix);
      w.bias_hh = sd.vector(prefix + "bias_hh" + suffix);
      if (projection) w.weight_hr = sd.matrix(prefix + "weight_hr" + suffix);
      weights.push_back(std::move(w));
    }
  }
  return weights;
}

}  // namespace nn
}  // namespace bbs
