// xtensor integration: SpMV with xt::xtensor / xt::xarray vectors, pruning from xtensor, and
// loading dense weights from .npy files.
#include <cstdio>
#include <fstream>

#include "testbed.hpp"

using bbs::BankConfig;

namespace {
xt::xtensor<double, 1> to_xtensor(const Eigen::VectorXd& v) {
  xt::xtensor<double, 1> t = xt::zeros<double>({static_cast<std::size_t>(v.size())});
  for (bbs::index i = 0; i < v.size(); ++i) t(static_cast<std::size_t>(i)) = v(i);
  return t;
}

template <typename X>
void require_equal(const X& got, const Eigen::VectorXd& want) {
  REQUIRE(got.dimension() == 1);
  REQUIRE(got.size() == static_cast<std::size_t>(want.size()));
  for (bbs::index i = 0; i < want.size(); ++i) REQUIRE(got(static_cast<std::size_t>(i)) == want(i));
}

std::string temp_path(const std::string& name) { return "bbs_test_xtensor_" + name + ".npy"; }
}  // namespace

TEST_CASE("spmv and multiply with xtensor and xarray vectors match the Eigen product", "[xtensor]") {
  for (const auto& shape : bbs_test::awkward_shapes()) {
    INFO(shape.name());
    const auto a = bbs_test::random_bbs<double>(shape, 3);
    const Eigen::VectorXd x = bbs_test::random_vector<double>(shape.cols, 4);
    const Eigen::VectorXd want = a * x;
    const xt::xtensor<double, 1> xt_x = to_xtensor(x);

    const xt::xtensor<double, 1> y = bbs::multiply(a, xt_x);
    require_equal(y, want);
    xt::xarray<double> y_array;
    bbs::spmv(a, xt::xarray<double>(xt_x), y_array);
    require_equal(y_array, want);

    // Into an existing container, and an unevaluated xtensor expression as x.
    xt::xtensor<double, 1> out;
    bbs::spmv(a, xt_x, out);
    require_equal(out, want);
    bbs::spmv(a, 2.0 * xt_x, out);
    require_equal(out, Eigen::VectorXd(2.0 * want));

    const Eigen::VectorXd xt_in = bbs_test::random_vector<double>(shape.rows, 5);
    const xt::xtensor<double, 1> yt = bbs::multiply(a.transpose(), to_xtensor(xt_in));
    require_equal(yt, Eigen::VectorXd(a.transpose() * xt_in));
    // Another backend sums in another order: the same bits as that backend's Eigen product.
    const xt::xtensor<double, 1> y_on = bbs::multiply(bbs::on<bbs::backend::reference>(a), xt_x);
    require_equal(y_on, Eigen::VectorXd(bbs::on<bbs::backend::reference>(a) * x));
  }
}

TEST_CASE("xtensor products check their shapes", "[xtensor][errors]") {
  const auto a = bbs_test::random_bbs<double>({4, 6, BankConfig(3, 1)}, 3);
  xt::xtensor<double, 1> y;
  CHECK_THROWS_AS(bbs::spmv(a, xt::xtensor<double, 1>(xt::ones<double>({5})), y), bbs::shape_error);
  CHECK_THROWS_WITH(bbs::spmv(a, xt::xarray<double>(xt::ones<double>({6, 1})), y),
                    Catch::Contains("x must be a 1-D xtensor expression, got 2 dimensions"));
}

TEST_CASE("prune from an xtensor matrix equals prune from the same Eigen matrix", "[xtensor][prune]") {
  const Eigen::MatrixXd w = bbs_test::random_dense<double>(67, 127, 8);
  xt::xtensor<double, 2> t = xt::zeros<double>({67, 127});
  for (bbs::index r = 0; r < 67; ++r)
    for (bbs::index c = 0; c < 127; ++c) t(std::size_t(r), std::size_t(c)) = w(r, c);
  const auto cfg = BankConfig(16, 5);
  CHECK(bbs::prune<double>(t, cfg).toDense() == bbs::prune<double>(w, cfg).toDense());
  CHECK(bbs::prune<float>(xt::xarray<double>(t), cfg).toDense() == bbs::prune<float>(w, cfg).toDense());
  CHECK_THROWS_AS(bbs::prune<double>(xt::xarray<double>(xt::ones<double>({2, 2, 2})), cfg), bbs::shape_error);
}

TEST_CASE("load_npy reads float32 and float64 matrices in C and Fortran order", "[xtensor][npy]") {
  const Eigen::MatrixXd w = bbs_test::random_dense<double>(5, 9, 2);
  xt::xtensor<double, 2> t = xt::zeros<double>({5, 9});
  for (bbs::index r = 0; r < 5; ++r)
    for (bbs::index c = 0; c < 9; ++c) t(std::size_t(r), std::size_t(c)) = w(r, c);

  const std::string f64 = temp_path("f64");
  xt::dump_npy(f64, t);
  const auto loaded = bbs::load_npy<double>(f64);
  CHECK(bool(loaded == t));
  const auto pruned = bbs::prune<double>(bbs::load_npy<double>(f64), BankConfig(3, 1));
  CHECK(pruned.toDense() == bbs::prune<double>(w, BankConfig(3, 1)).toDense());

  const std::string f32 = temp_path("f32");
  xt::xtensor<float, 2> tf = xt::cast<float>(t);
  xt::dump_npy(f32, tf);
  CHECK(bool(bbs::load_npy<float>(f32) == tf));
  CHECK(bool(bbs::load_npy<double>(f32) == xt::cast<double>(tf)));

  const std::string fortran = temp_path("fortran");
  xt::xtensor<double, 2, xt::layout_type::column_major> tc = t;
  xt::dump_npy(fortran, tc);
  CHECK(bool(bbs::load_npy<double>(fortran) == t));

  for (const auto& p : {f64, f32, fortran}) std::remove(p.c_str());
}

TEST_CASE("load_npy rejects missing, truncated, 1-D and integer files", "[xtensor][npy][errors]") {
  CHECK_THROWS_AS(bbs::load_npy<float>("does/not/exist.npy"), bbs::file_error);
  CHECK_THROWS_WITH(bbs::load_npy<float>("does/not/exist.npy"), Catch::Contains("cannot open"));

  const std::string one_d = temp_path("one_d");
  xt::dump_npy(one_d, xt::xtensor<float, 1>(xt::ones<float>({4})));
  CHECK_THROWS_AS(bbs::load_npy<float>(one_d), bbs::shape_error);
  CHECK_THROWS_WITH(bbs::load_npy<float>(one_d), Catch::Contains("1-D array, expected a 2-D matrix"));

  const std::string ints = temp_path("ints");
  xt::dump_npy(ints, xt::xtensor<int, 2>(xt::ones<int>({2, 2})));
  CHECK_THROWS_AS(bbs::load_npy<float>(ints), bbs::file_error);

  const std::string truncated = temp_path("truncated");
  xt::dump_npy(truncated, xt::xtensor<double, 2>(xt::ones<double>({30, 30})));
  {
    std::ifstream in(truncated, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    std::ofstream out(truncated, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  CHECK_THROWS_WITH(bbs::load_npy<double>(truncated), Catch::Contains("truncated"));

  const std::string garbage = temp_path("garbage");
  std::ofstream(garbage) << "this is not an npy file";
  CHECK_THROWS_AS(bbs::load_npy<double>(garbage), bbs::file_error);

  for (const auto& p : {one_d, ints, truncated, garbage}) std::remove(p.c_str());
}
