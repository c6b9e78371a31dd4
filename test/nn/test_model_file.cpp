// bbs model files and the Sequential container (include/bbs/nn/model_file.hpp, sequential.hpp):
// models built from a manifest and dense or packed tensors against the same layers wired by
// hand, save / load round trips bit for bit, every documented error with its message, and
// (test/data/models/, written by tools/fixtures/make_model_fixtures.py) PyTorch's own outputs.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <bbs/bbs.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "nn/nn_fixtures.hpp"

namespace {

using bbs_test::max_abs_difference;
namespace fs = std::filesystem;

Eigen::MatrixXf random_matrix(bbs::index rows, bbs::index cols, std::mt19937& gen, float scale = 0.5f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  Eigen::MatrixXf m(rows, cols);
  for (bbs::index i = 0; i < m.size(); ++i) m.data()[i] = u(gen);
  return m;
}

Eigen::VectorXf positive_vector(bbs::index n, std::mt19937& gen) {
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  Eigen::VectorXf v(n);
  for (bbs::index i = 0; i < n; ++i) v(i) = u(gen);
  return v;
}

std::string temp_path(const std::string& file) {
  return (fs::temp_directory_path() / (std::to_string(::getpid()) + "_" + file)).string();
}

/// A model file assembled entry by entry, as a test writes it.
struct Archive {
  bbs::detail::zip::Writer zip{"test"};
  void text(const std::string& name, const std::string& t) { zip.add(name, t); }
  void dense(const std::string& name, const Eigen::MatrixXf& m, std::vector<bbs::index> shape = {}) {
    if (shape.empty())
      shape = m.cols() == 1 ? std::vector<bbs::index>{m.rows()} : std::vector<bbs::index>{m.rows(), m.cols()};
    zip.add(name + ".npy", bbs::npy_bytes(m, shape));
  }
  void packed(const std::string& name, const bbs::BbsMatrix<float>& a) { zip.add(name + ".bbs", bbs::serialize(a)); }
  /// A name of its own per process: CTest runs the test cases of this file in parallel processes.
  std::string write(const std::string& file) {
    const std::string path = temp_path(file);
    zip.write(path);
    return path;
  }
};

/// The test CNN's dense PyTorch-style weights.
struct CnnWeights {
  Eigen::MatrixXf conv0, dw, pw, fc;
  Eigen::VectorXf conv0_b, pw_b, fc_b;
  bbs::nn::BatchNorm2dParams bn0, bn1, bn2;
};

bbs::nn::BatchNorm2dParams random_bn(bbs::index c, std::mt19937& gen) {
  return {positive_vector(c, gen), random_matrix(c, 1, gen).col(0), random_matrix(c, 1, gen).col(0),
          positive_vector(c, gen), 1e-5};
}

CnnWeights cnn_weights() {
  std::mt19937 gen(7);
  CnnWeights w;
  w.conv0 = random_matrix(6, 2 * 9, gen);
  w.conv0_b = random_matrix(6, 1, gen).col(0);
  w.dw = random_matrix(6, 9, gen);
  w.pw = random_matrix(10, 6, gen);
  w.pw_b = random_matrix(10, 1, gen).col(0);
  w.fc = random_matrix(5, 10, gen);
  w.fc_b = random_matrix(5, 1, gen).col(0);
  w.bn0 = random_bn(6, gen);
  w.bn1 = random_bn(6, gen);
  w.bn2 = random_bn(10, gen);
  return w;
}

const char* const cnn_manifest =
    "bbs-model 1\n"
    "# a test CNN\n"
    "input image channels=2 height=9 width=7\n"
    "conv2d name=c0 in=2 out=6 kernel=3 padding=1 bank=9 nnz=9\n"
    "batch_norm2d name=b0\n"
    "relu6\n"
    "depthwise_conv2d name=dw channels=6 kernel=3 stride=2 padding=1\n"
    "batch_norm2d name=b1 eps=1e-05\n"
    "relu\n"
    "conv2d name=pw in=6 out=10 kernel=1 bank=4 nnz=1\n"
    "batch_norm2d name=b2\n"
    "relu6\n"
    "max_pool2d kernel=2\n"
    "global_avg_pool2d\n"
    "flatten\n"
    "linear name=fc in=10 out=5 bank=5 nnz=2\n";

void add_bn(Archive& a, const std::string& name, const bbs::nn::BatchNorm2dParams& bn) {
  a.dense(name + ".weight", bn.weight);
  a.dense(name + ".bias", bn.bias);
  a.dense(name + ".running_mean", bn.running_mean);
  a.dense(name + ".running_var", bn.running_var);
}

/// The CNN as a model file with every weight dense, pruned by the loader.
Archive cnn_archive(const CnnWeights& w, const std::string& manifest = cnn_manifest) {
  Archive a;
  a.text("model.txt", manifest);
  a.dense("c0.weight", w.conv0, {6, 2, 3, 3});
  a.dense("c0.bias", w.conv0_b);
  add_bn(a, "b0", w.bn0);
  a.dense("dw.weight", w.dw, {6, 1, 3, 3});
  add_bn(a, "b1", w.bn1);
  a.dense("pw.weight", w.pw, {10, 6, 1, 1});
  a.dense("pw.bias", w.pw_b);
  add_bn(a, "b2", w.bn2);
  a.dense("fc.weight", w.fc);
  a.dense("fc.bias", w.fc_b);
  return a;
}

/// The same CNN wired by hand from the layer classes.
template <typename T>
Eigen::MatrixXd cnn_by_hand(const CnnWeights& w, const bbs::nn::Tensor<bbs::activation_t<T>>& x) {
  using namespace bbs::nn;
  const auto c0 = Conv2d<T>::from_dense({w.conv0, w.conv0_b, w.bn0}, 2, {3, 1, 1}, {9, 9});
  const auto dw = DepthwiseConv2d<T>::from_dense({w.dw, {}, w.bn1}, {3, 2, 1});
  const auto pw = Conv2d<T>::pointwise({w.pw, w.pw_b, w.bn2}, {4, 1});
  const auto fc = Linear<T>::from_dense(w.fc, w.fc_b, {5, 2});
  auto h = c0.forward(x);
  relu6(h);
  h = dw.forward(h);
  relu(h);
  h = pw.forward(h);
  relu6(h);
  h = global_avg_pool2d(max_pool2d(h, 2));
  return bbs_test::to_double<bbs::activation_t<T>>(fc.forward(h.as_columns()));
}

template <typename A>
bbs::nn::Tensor<A> random_images(bbs::index n, bbs::index c, bbs::index h, bbs::index w, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  bbs::nn::Tensor<A> t(n, c, h, w);
  for (bbs::index i = 0; i < t.size(); ++i) t.data()[i] = bbs::nn::elementwise<A>::from_float(u(gen));
  return t;
}

std::vector<unsigned char> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEMPLATE_TEST_CASE("a model file with dense weights builds the layers it names, pruned and with BatchNorm folded",
                   "[nn][model]", float, bbs::fixed16<10>) {
  using A = bbs::activation_t<TestType>;
  const CnnWeights w = cnn_weights();
  const std::string path = cnn_archive(w).write("bbs_test_cnn_dense.bbsm");
  const auto model = bbs::nn::load_model<TestType>(path);
  CHECK(model.size() == 10);  // three BatchNorms folded away
  CHECK(model.output_shape() == bbs::nn::DataShape::feature_batch(5));
  const auto x = random_images<A>(3, 2, 9, 7, 11);
  const Eigen::MatrixXd got = bbs_test::to_double<A>(model.forward(x));
  // Same layers, same code paths: bit for bit.
  CHECK(max_abs_difference(got, cnn_by_hand<TestType>(w, x)) == 0.0);
  fs::remove(path);
}

TEMPLATE_TEST_CASE("save_model then load_model gives the same outputs bit for bit and the same bytes again",
                   "[nn][model]", float, bbs::fixed16<10>) {
  using A = bbs::activation_t<TestType>;
  const std::string dense_path = cnn_archive(cnn_weights()).write("bbs_test_cnn_src.bbsm");
  const auto model = bbs::nn::load_model<TestType>(dense_path);
  const std::string saved = temp_path("bbs_test_cnn_saved.bbsm");
  bbs::nn::save_model(model, saved);
  const auto again = bbs::nn::load_model<TestType>(saved);
  const auto x = random_images<A>(2, 2, 9, 7, 5);
  CHECK(max_abs_difference(bbs_test::to_double<A>(again.forward(x)), bbs_test::to_double<A>(model.forward(x))) == 0.0);
  // The same file's bytes, loaded from memory.
  const std::vector<unsigned char> saved_bytes = file_bytes(saved);
  const auto from_memory = bbs::nn::load_model_from_memory<TestType>(saved_bytes.data(), saved_bytes.size());
  CHECK(max_abs_difference(bbs_test::to_double<A>(from_memory.forward(x)), bbs_test::to_double<A>(model.forward(x))) ==
        0.0);
  // Packed weights keep their type and pattern; nothing is pruned twice.
  const std::string resaved = temp_path("bbs_test_cnn_resaved.bbsm");
  bbs::nn::save_model(again, resaved);
  CHECK(file_bytes(saved) == file_bytes(resaved));
  // The manifest is the documented text.
  const std::string manifest = bbs::nn::manifest_of(model);
  CHECK_THAT(manifest, Catch::Contains("conv2d name=pw in=6 out=10 kernel=1 stride=1 padding=0 bank=4 nnz=1"));
  CHECK_THAT(manifest, Catch::Contains("input image channels=2 height=9 width=7"));
  CHECK_THAT(manifest, !Catch::Contains("batch_norm2d"));
  for (const auto& p : {dense_path, saved, resaved}) fs::remove(p);
}

TEST_CASE("an LSTM classifier model matches the layers run by hand, and options choose the bank configuration",
          "[nn][model]") {
  std::mt19937 gen(3);
  const bbs::index in = 5, hidden = 8, classes = 3, frames = 4, batch = 2;
  std::vector<bbs::nn::RecurrentDenseWeights> weights;
  Archive a;
  a.text("model.txt",
         "bbs-model 1\ninput sequence features=5\nlstm name=rnn input=5 hidden=8 layers=2 bidirectional=1\n"
         "relu\nlast_step\nlinear name=fc in=16 out=3 bank=8 nnz=2\n");
  for (bbs::index l = 0; l < 2; ++l) {
    for (bbs::index d = 0; d < 2; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      bbs::nn::RecurrentDenseWeights w{random_matrix(4 * hidden, l == 0 ? in : 2 * hidden, gen),
                                       random_matrix(4 * hidden, hidden, gen),
                                       random_matrix(4 * hidden, 1, gen).col(0),
                                       random_matrix(4 * hidden, 1, gen).col(0),
                                       {}};
      a.dense("rnn.weight_ih" + sfx, w.weight_ih);
      a.dense("rnn.weight_hh" + sfx, w.weight_hh);
      a.dense("rnn.bias_ih" + sfx, w.bias_ih);
      a.dense("rnn.bias_hh" + sfx, w.bias_hh);
      weights.push_back(w);
    }
  }
  const Eigen::MatrixXf fc = random_matrix(classes, 2 * hidden, gen);
  const Eigen::VectorXf fc_b = random_matrix(classes, 1, gen).col(0);
  a.dense("fc.weight", fc);
  a.dense("fc.bias", fc_b);
  const std::string path = a.write("bbs_test_lstm.bbsm");

  // The LSTM has no bank= / nnz=: without a default the loader refuses, naming the tensor.
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::load_model<float>(path), bbs::file_error,
                              "line 3 (lstm): tensor \"rnn.weight_ih_l0\" is stored dense and the layer has no bank=");
  bbs::nn::ModelOptions options;
  options.default_bank = bbs::BankConfig{4, 2};
  options.banks["fc"] = bbs::BankConfig{16, 16};  // overrides the manifest's bank=8 nnz=2
  const auto model = bbs::nn::load_model<float>(path, options);

  const Eigen::MatrixXf xs = random_matrix(in, frames * batch, gen, 1.0f);
  const auto lstm = bbs::nn::Lstm<float>::from_dense(weights, 2, true, {4, 2});
  auto state = lstm.zero_state(batch);
  Eigen::MatrixXf h = lstm.forward(xs, batch, state).rightCols(batch).cwiseMax(0.0f);
  const Eigen::MatrixXf want = bbs::nn::Linear<float>::from_dense(fc, fc_b, {16, 16}).forward(h);
  CHECK(max_abs_difference(model.forward(xs, batch), want) == 0.0);
  // The dense configuration of fc is the dense product.
  CHECK(max_abs_difference(model.forward(xs, batch), (fc * h).colwise() + fc_b) < 1e-5);
  BBS_CHECK_THROWS_CONTAINING(model.forward(xs, 3), bbs::shape_error, "multiple of the batch 3");
  fs::remove(path);
}

TEST_CASE("save_model writes an LSTM whose matrices have different bank configurations, and it loads back",
          "[nn][model]") {
  std::mt19937 gen(11);
  const bbs::index in = 6, hidden = 4, frames = 3;
  const auto lstm_model = [&](const bbs::BankConfig& ih, const bbs::BankConfig& hh) {
    std::vector<bbs::nn::LstmCell<float>> cells;
    cells.emplace_back(bbs::prune<float>(random_matrix(4 * hidden, in, gen), ih),
                       bbs::prune<float>(random_matrix(4 * hidden, hidden, gen), hh),
                       random_matrix(4 * hidden, 1, gen).col(0));
    bbs::nn::Sequential<float> model(bbs::nn::DataShape::sequence(in));
    model.add(std::make_unique<bbs::nn::RecurrentLayer<float, bbs::backend::automatic, bbs::nn::Lstm<float>>>(
        "rnn", bbs::nn::Lstm<float>(std::move(cells), 1, false)));
    return model;
  };
  // A dense LSTM as PyTorch's exporter packs it: one bank per row of each matrix, so W_ih has
  // banks of the input size and W_hh of the hidden size. The layer's line claims neither.
  const auto model = lstm_model({in, in}, {hidden, hidden});
  CHECK_THAT(bbs::nn::manifest_of(model), Catch::Contains("lstm name=rnn input=6 hidden=4 layers=1 bidirectional=0 "
                                                          "proj=0\n"));
  const std::string path = temp_path("bbs_test_lstm_two_banks.bbsm");
  bbs::nn::save_model(model, path);
  const auto loaded = bbs::nn::load_model<float>(path);
  const Eigen::MatrixXf xs = random_matrix(in, frames, gen, 1.0f);
  CHECK(max_abs_difference(loaded.forward(xs, 1), model.forward(xs, 1)) == 0.0);
  fs::remove(path);
  // One configuration shared by every matrix is written.
  CHECK_THAT(bbs::nn::manifest_of(lstm_model({2, 1}, {2, 1})), Catch::Contains("proj=0 bank=2 nnz=1"));
}

TEST_CASE("packed weights are used as they are and must agree with the manifest", "[nn][model]") {
  std::mt19937 gen(9);
  const Eigen::MatrixXf w = random_matrix(4, 12, gen);
  const auto packed = bbs::prune<float>(w, {4, 1});
  Archive a;
  a.text("model.txt", "bbs-model 1\ninput features features=12\nlinear name=fc in=12 out=4\n");
  a.packed("fc.weight", packed);
  const std::string path = a.write("bbs_test_packed.bbsm");
  const auto model = bbs::nn::load_model<float>(path);
  const Eigen::MatrixXf x = random_matrix(12, 3, gen);
  CHECK(max_abs_difference(model.forward(x, 3), packed.toDense() * x) < 1e-6);

  Archive b;
  b.text("model.txt", "bbs-model 1\ninput features features=12\nlinear name=fc in=12 out=4 bank=4 nnz=2\n");
  b.packed("fc.weight", packed);
  const std::string mismatch = b.write("bbs_test_packed_mismatch.bbsm");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::load_model<float>(mismatch), bbs::file_error,
                              "bank=4 nnz=2 but tensor \"fc.weight\" is packed with bank 4 nnz 1");
  for (const auto& p : {path, mismatch}) fs::remove(p);
}

TEST_CASE("set_check_finite names a NaN input and the layer whose output overflowed; off, nothing is checked",
          "[nn][model][errors]") {
  std::mt19937 gen(13);
  Archive a;
  a.text("model.txt", "bbs-model 1\ninput features features=12\nlinear name=fc in=12 out=4 bank=4 nnz=2\nrelu\n");
  a.dense("fc.weight", random_matrix(4, 12, gen));
  const std::string path = a.write("bbs_test_check_finite.bbsm");
  auto model = bbs::nn::load_model<float>(path);
  Eigen::MatrixXf nan_input = random_matrix(12, 3, gen);
  nan_input(5, 1) = std::numeric_limits<float>::quiet_NaN();
  const Eigen::MatrixXf huge = Eigen::MatrixXf::Constant(12, 2, 3e38f);  // finite, but no sum of it is
  CHECK_FALSE(model.checks_finite());
  CHECK_NOTHROW(model.forward(nan_input, 3));  // the default: no check (here ReLU may even hide the NaN)
  model.set_check_finite(true);
  BBS_CHECK_THROWS_CONTAINING(model.forward(nan_input, 3), bbs::value_error,
                              "Sequential: the input: entry (row 5, column 1) is NaN");
  BBS_CHECK_THROWS_CONTAINING(model.forward(huge, 2), bbs::value_error, "Sequential: the output of layer 1 (");
  BBS_CHECK_THROWS_CONTAINING(model.forward(huge, 2), bbs::value_error, "infinity");
  const Eigen::MatrixXf x = random_matrix(12, 3, gen);
  CHECK(model.forward(x, 3).allFinite());
  // Fixed point cannot hold NaN: its conversion refuses it, and its models pass the check.
  auto fixed = bbs::nn::load_model<bbs::fixed16<10>>(path);
  fixed.set_check_finite(true);
  CHECK_NOTHROW(fixed.forward(bbs::nn::quantize_activations<bbs::fixed16<10>>(x, 10), 3));
  fs::remove(path);
}

TEST_CASE("load_model_from_state_dict prunes a PyTorch state_dict with the manifest's bank configurations",
          "[nn][model]") {
  const CnnWeights w = cnn_weights();
  Archive a = cnn_archive(w);
  const std::string model_path = a.write("bbs_test_cnn_for_sd.bbsm");
  const auto from_model = bbs::nn::load_model<float>(model_path);
  const std::string manifest = temp_path("bbs_test_model.txt");
  std::ofstream(manifest) << cnn_manifest;
  // The same tensors as a state_dict .npz, which also holds BatchNorm's num_batches_tracked.
  Archive tensors;
  tensors.dense("c0.weight", w.conv0, {6, 2, 3, 3});
  tensors.dense("c0.bias", w.conv0_b);
  add_bn(tensors, "b0", w.bn0);
  tensors.dense("dw.weight", w.dw, {6, 1, 3, 3});
  add_bn(tensors, "b1", w.bn1);
  tensors.dense("pw.weight", w.pw, {10, 6, 1, 1});
  tensors.dense("pw.bias", w.pw_b);
  add_bn(tensors, "b2", w.bn2);
  tensors.dense("fc.weight", w.fc);
  tensors.dense("fc.bias", w.fc_b);
  tensors.zip.add("b0.num_batches_tracked.npy", bbs::npy_bytes(Eigen::MatrixXf::Zero(1, 1), {1}));
  const std::string npz = tensors.write("bbs_test_sd.npz");
  const auto model = bbs::nn::load_model_from_state_dict<float>(manifest, npz);
  const auto x = random_images<float>(2, 2, 9, 7, 1);
  CHECK(max_abs_difference(model.forward(x), from_model.forward(x)) == 0.0);
  for (const auto& p : {model_path, npz, manifest}) fs::remove(p);
}

TEST_CASE("model file errors name the file, the line, the layer and what was expected", "[nn][model][errors]") {
  const CnnWeights w = cnn_weights();
  const auto load_with = [&](const std::string& manifest) {
    const std::string path = cnn_archive(w, manifest).write("bbs_test_bad.bbsm");
    try {
      bbs::nn::load_model<float>(path);
    } catch (...) {
      fs::remove(path);
      throw;
    }
    fs::remove(path);
  };
  const auto replace = [](std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  const std::string m = cnn_manifest;
  // Layers whose shapes do not chain.
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "linear name=fc in=10", "linear name=fc in=12")), bbs::file_error,
                              "tensor \"fc.weight\" has shape (5, 10), expected (5, 12)");
  BBS_CHECK_THROWS_CONTAINING(
      load_with(replace(m, "flatten\n", "")), bbs::shape_error,
      "line 15 (linear): layer 9 (linear 'fc'): linear: expects 10 features (in=10), the data is "
      "image 10 x 1 x 1");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "in=6 out=10", "in=5 out=10")), bbs::file_error,
                              "tensor \"pw.weight\" has shape (10, 6, 1, 1), expected (10, 5, 1, 1)");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "max_pool2d kernel=2", "max_pool2d kernel=9")), bbs::shape_error,
                              "max_pool2d: expects an image of at least 9 x 9 pixels, the data is image 10 x 5 x 4");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "flatten\n", "flatten\nlast_step\n")), bbs::shape_error,
                              "last_step: expects a sequence, the data is 10 features");
  // Syntax.
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "bbs-model 1", "bbs-model 2")), bbs::file_error,
                              "model.txt line 1: expected \"bbs-model 1\", found \"bbs-model 2\"");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "relu\n", "gelu\n")), bbs::file_error,
                              "model.txt line 9 (gelu): unknown layer \"gelu\"");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "kernel=3 stride=2", "kernel=3 strides=2")), bbs::file_error,
                              "line 7 (depthwise_conv2d): unknown key \"strides\"");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "kernel=3 stride=2", "kernel=0 stride=2")), bbs::file_error,
                              "kernel=0: expected an integer from 1 to");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, " bank=5 nnz=2", " bank=5 nnz=6")), bbs::file_error,
                              "nnz=6: expected an integer from 0 to 5");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "relu6\nmax_pool2d", "batch_norm2d name=b2\nmax_pool2d")),
                              bbs::file_error, "batch_norm2d must follow conv2d or depthwise_conv2d directly");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "input image", "input picture")), bbs::file_error,
                              "unknown input kind \"picture\"");
  // Tensors: missing, unused.
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "name=fc", "name=head")), bbs::file_error,
                              "no tensor \"head.weight\"; the file holds b0.bias");
  BBS_CHECK_THROWS_CONTAINING(load_with(replace(m, "batch_norm2d name=b2\n", "")), bbs::file_error,
                              "tensor \"b2.bias\" is not used by any layer");
}

TEST_CASE("a damaged model file is refused and save_model leaves nothing partial behind", "[nn][model][errors]") {
  const std::string path = cnn_archive(cnn_weights()).write("bbs_test_damaged.bbsm");
  std::vector<unsigned char> bytes = file_bytes(path);
  const auto write = [&](const std::vector<unsigned char>& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
  };
  std::vector<unsigned char> flipped = bytes;
  flipped[100] ^= 0x40;
  write(flipped);
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::load_model<float>(path), bbs::file_error, "CRC-32 mismatch");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::load_model_from_memory<float>(flipped.data(), flipped.size()), bbs::file_error,
                              "bbs::nn::load_model_from_memory [");
  write(std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)));
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::load_model<float>(path), bbs::file_error, "not a ZIP archive");
  Archive no_manifest;
  no_manifest.dense("fc.weight", Eigen::MatrixXf::Ones(2, 2));
  const std::string bare = no_manifest.write("bbs_test_no_manifest.bbsm");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::load_model<float>(bare), bbs::file_error, "no model.txt entry");
  BBS_CHECK_THROWS_CONTAINING(bbs::nn::load_model<float>(path + ".missing"), bbs::file_error, ".missing");

  write(bytes);
  const auto model = bbs::nn::load_model<float>(path);
  const fs::path dir = temp_path("bbs_test_no_such_dir");
  CHECK_THROWS_AS(bbs::nn::save_model(model, (dir / "m.bbsm").string()), bbs::file_error);
  CHECK_FALSE(fs::exists(dir));
  for (const auto& p : {path, bare}) fs::remove(p);
}

TEST_CASE("a loaded model runs on every backend: fixed16 bit for bit, float within rounding of the reference",
          "[nn][model][backend]") {
  const std::string path = cnn_archive(cnn_weights()).write("bbs_test_cnn_backends.bbsm");
  using F = bbs::fixed16<10>;
  const auto x = random_images<float>(3, 2, 9, 7, 21);
  const auto xq = random_images<F>(3, 2, 9, 7, 21);
  const Eigen::MatrixXf want = bbs::nn::load_model<float, bbs::backend::reference>(path).forward(x);
  const Eigen::MatrixXd want_q =
      bbs_test::to_double<F>(bbs::nn::load_model<F, bbs::backend::reference>(path).forward(xq));
  const auto check = [&](auto backend) {
    using B = decltype(backend);
    INFO(B::name);
    CHECK(max_abs_difference(bbs::nn::load_model<float, B>(path).forward(x), want) < 1e-5);
    CHECK(max_abs_difference(bbs_test::to_double<F>(bbs::nn::load_model<F, B>(path).forward(xq)), want_q) == 0.0);
  };
  check(bbs::backend::simd{});
  check(bbs::backend::openmp{});
  fs::remove(path);
}

namespace {

/// A fixture of tools/fixtures/make_model_fixtures.py: the model file and PyTorch's outputs on `x`.
struct TorchCase {
  const char* model;
  const char* io;
  bbs::index layers;  ///< matrix products on the longest path (recurrent: per frame, times frames)
  bbs::index fan_in;  ///< the largest number of terms in one sum
};

std::string models_dir() { return std::string(BBS_TEST_DATA_DIR) + "/models/"; }

/// Runs the model on the fixture's x (N x C x H x W images or N x T x F sequences).
template <typename T>
Eigen::MatrixXd run_fixture(const bbs::nn::Sequential<T>& model, const bbs::NpyArray& x) {
  using A = bbs::activation_t<T>;
  const bbs::index n = x.shape[0];
  bbs::NpyArray flat = x;
  flat.shape = {n, x.size() / n};
  const Eigen::MatrixXf rows = flat.matrix<float>();
  if (model.input_shape().kind == bbs::nn::DataKind::image) {
    bbs::nn::Tensor<A> t(n, x.shape[1], x.shape[2], x.shape[3]);
    for (bbs::index i = 0; i < n; ++i)
      for (bbs::index j = 0; j < rows.cols(); ++j) t.data()[i * rows.cols() + j] = A(rows(i, j));
    return bbs_test::to_double<A>(model.forward(t));
  }
  const bbs::index frames = x.shape[1], f = x.shape[2];
  bbs::nn::Matrix<A> xs(f, frames * n);  // column t * n + b
  for (bbs::index b = 0; b < n; ++b)
    for (bbs::index t = 0; t < frames; ++t)
      for (bbs::index i = 0; i < f; ++i) xs(i, t * n + b) = A(rows(b, t * f + i));
  return bbs_test::to_double<A>(model.forward(xs, n));
}

}  // namespace

TEST_CASE("models exported from PyTorch by tools/python/bbs_model.py give PyTorch's outputs", "[nn][model][pytorch]") {
  const std::vector<TorchCase> cases = {
      {"tiny_cnn.bbsm", "tiny_cnn_io.npz", 4, 27},
      {"tiny_cnn_dense.bbsm", "tiny_cnn_io.npz", 4, 27},  // weights stored dense, pruned by the loader
      {"tiny_lstm.bbsm", "tiny_lstm_io.npz", 2 * 5 + 1, 6 + 10 + 2},
      {"tiny_gru.bbsm", "tiny_gru_io.npz", 4 + 1, 9 + 2},
  };
  for (const TorchCase& c : cases) {
    INFO(c.model);
    std::map<std::string, bbs::NpyArray> io;
    for (auto& a : bbs::read_npz(models_dir() + c.io)) io.emplace(a.first, std::move(a.second));
    const Eigen::MatrixXd want = io.at("out").matrix<double>().transpose();  // classes x N
    const double scale = std::max(1.0, want.cwiseAbs().maxCoeff());
    // float: each product on the path rounds its sum on both sides (bbs and PyTorch); 8 for the
    // BatchNorm folding and the activation functions' own rounding.
    const Eigen::MatrixXd got = run_fixture(bbs::nn::load_model<float>(models_dir() + c.model), io.at("x"));
    const double d = max_abs_difference(got, want);
    std::printf("%s: float max |bbs - PyTorch| %.3g\n", c.model, d);
    CHECK(d <= 2.0 * double(c.layers) * bbs::dot_error_bound<float>(c.fan_in) * scale * 8);
    for (bbs::index i = 0; i < want.cols(); ++i) {
      Eigen::Index a = 0, b = 0;
      got.col(i).maxCoeff(&a);
      want.col(i).maxCoeff(&b);
      CHECK(a == b);
    }
    // fixed16<10>: half a step per weight, input and rounding of every sum on the path, with
    // the activations' approximation (docs/NN.md) on the recurrent ones.
    using Q = bbs::fixed16<10>;
    const Eigen::MatrixXd q = run_fixture(bbs::nn::load_model<Q>(models_dir() + c.model), io.at("x"));
    const double dq = max_abs_difference(q, want);
    std::printf("%s: fixed16<10> max |bbs - PyTorch| %.3g\n", c.model, dq);
    CHECK(dq <= Q::resolution / 2 * double(c.layers) * double(2 * c.fan_in + 2) * scale);
  }
}
