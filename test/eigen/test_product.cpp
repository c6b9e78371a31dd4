// Every Eigen form of the product against Eigen::SparseMatrix, on awkward and tiny shapes:
// assignment, +=, -=, scaled sums, transpose, SpMM, Map / segment / block / row arguments,
// aliasing, backend choice, and shape errors.
#include "testbed.hpp"

using bbs::BankConfig;
using bbs::BbsMatrix;
using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;

namespace {
constexpr double kTol = 1e-12;

struct Fixture {
  BbsMatrix<double> a;
  Eigen::SparseMatrix<double, Eigen::RowMajor> s;
  explicit Fixture(const bbs_test::Shape& shape, std::uint32_t seed = 7)
      : a(bbs_test::random_bbs<double>(shape, seed)), s(a.toSparse()) {}
};
}  // namespace

TEST_CASE("Eigen vector forms agree with Eigen::SparseMatrix", "[eigen][product]") {
  for (const auto& shape : bbs_test::awkward_shapes()) {
    INFO(shape.name());
    const Fixture f(shape);
    const Vec x = bbs_test::random_vector<double>(shape.cols, 1);
    const Vec z = bbs_test::random_vector<double>(shape.rows, 2);
    const Vec want = f.s * x;

    Vec y = f.a * x;
    CHECK((y - want).norm() <= kTol * (1 + want.norm()));

    Vec acc = z;
    acc.noalias() += f.a * x;
    CHECK((acc - (z + want)).norm() <= kTol * (1 + acc.norm()));

    acc = z;
    acc -= f.a * x;
    CHECK((acc - (z - want)).norm() <= kTol * (1 + acc.norm()));

    Vec combo = 2 * (f.a * x) + z;
    CHECK((combo - (2 * want + z)).norm() <= kTol * (1 + combo.norm()));

    combo = z - 0.5 * (f.a * x);
    CHECK((combo - (z - 0.5 * want)).norm() <= kTol * (1 + combo.norm()));

    const Vec xt = bbs_test::random_vector<double>(shape.rows, 3);
    const Vec yt = f.a.transpose() * xt;
    const Vec want_t = f.s.transpose() * xt;
    CHECK((yt - want_t).norm() <= kTol * (1 + want_t.norm()));
    CHECK(f.a.transpose().rows() == shape.cols);

    // A^T^T is A again.
    const Vec back = f.a.transpose().transpose() * x;
    CHECK((back - want).norm() <= kTol * (1 + want.norm()));
  }
}

TEST_CASE("SpMM forms agree with Eigen::SparseMatrix", "[eigen][product][spmm]") {
  const Fixture f({67, 127, BankConfig(16, 4)});
  const Mat x = bbs_test::random_dense<double>(127, 5, 11);
  const Mat want = f.s * x;
  Mat y = f.a * x;
  CHECK((y - want).norm() <= kTol * want.norm());

  Mat acc = Mat::Ones(67, 5);
  acc.noalias() += f.a * x;
  CHECK((acc - (Mat::Ones(67, 5) + want)).norm() <= kTol * acc.norm());

  // Row-major destination and right-hand side go through the general path.
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> y_rm = f.a * x;
  CHECK((y_rm - want).norm() <= kTol * want.norm());
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x_rm = x;
  y = f.a * x_rm;
  CHECK((y - want).norm() <= kTol * want.norm());

  const Mat xt = bbs_test::random_dense<double>(67, 4, 12);
  const Mat yt = f.a.transpose() * xt;
  const Mat want_t = f.s.transpose() * xt;
  CHECK((yt - want_t).norm() <= kTol * want_t.norm());
}

TEST_CASE("Map, segment, block and strided arguments work on both sides", "[eigen][product][views]") {
  const Fixture f({33, 65, BankConfig(64, 64)});
  std::vector<double> x_buffer(65 + 10);
  for (std::size_t i = 0; i < x_buffer.size(); ++i) x_buffer[i] = std::sin(double(i));
  const Eigen::Map<const Vec> x_map(x_buffer.data() + 10, 65);
  const Vec x = x_map;
  const Vec want = f.s * x;

  // Map on the right, Map on the left.
  std::vector<double> y_buffer(33, 0.0);
  Eigen::Map<Vec> y_map(y_buffer.data(), 33);
  y_map = f.a * x_map;
  CHECK((Vec(y_map) - want).norm() <= kTol * want.norm());

  // segment() of a longer vector on both sides.
  Vec long_x = Vec::Zero(100);
  long_x.segment(20, 65) = x;
  Vec long_y = Vec::Constant(50, -1.0);
  long_y.segment(5, 33) = f.a * long_x.segment(20, 65);
  CHECK((long_y.segment(5, 33) - want).norm() <= kTol * want.norm());
  CHECK(long_y(4) == -1.0);
  CHECK(long_y(38) == -1.0);

  // block() columns of a matrix, and a row (strided, so it is copied) as the right-hand side.
  Mat big = Mat::Zero(70, 3);
  big.block(2, 1, 65, 1) = x;
  Mat out = Mat::Zero(40, 4);
  out.block(3, 2, 33, 1) = f.a * big.block(2, 1, 65, 1);
  CHECK((out.block(3, 2, 33, 1) - want).norm() <= kTol * want.norm());
  Mat rows = Mat::Zero(2, 65);
  rows.row(1) = x.transpose();
  const Vec from_row = f.a * rows.row(1).transpose();
  CHECK((from_row - want).norm() <= kTol * want.norm());

  // A strided destination (a row of a column-major matrix) goes through a temporary.
  Mat dst = Mat::Zero(3, 33);
  dst.row(2).transpose() = f.a * x;
  CHECK((dst.row(2).transpose() - want).norm() <= kTol * want.norm());
  dst.row(2).transpose() += f.a * x;
  CHECK((dst.row(2).transpose() - 2 * want).norm() <= kTol * want.norm());

  // Eigen::Ref arguments.
  const Eigen::Ref<const Vec> x_ref(x);
  Vec y_from_ref = f.a * x_ref;
  CHECK((y_from_ref - want).norm() <= kTol * want.norm());
}

TEST_CASE("Aliasing: x = A * x is computed as if x were copied first", "[eigen][product][alias]") {
  const Fixture f({40, 40, BankConfig(8, 3)});
  const Vec x0 = bbs_test::random_vector<double>(40, 5);
  const Vec want = f.s * x0;

  Vec x = x0;
  x = f.a * x;
  CHECK((x - want).norm() <= kTol * want.norm());

  x = x0;
  x += f.a * x;
  CHECK((x - (x0 + want)).norm() <= kTol * want.norm());

  x = x0;
  x.noalias() -= f.a * x;
  CHECK((x - (x0 - want)).norm() <= kTol * want.norm());

  // Partial overlap: the destination is a shifted window of the same buffer.
  Vec buffer = Vec::Zero(45);
  buffer.head(40) = x0;
  buffer.segment(5, 40) = f.a * buffer.head(40);
  CHECK((buffer.segment(5, 40) - want).norm() <= kTol * want.norm());

  // Transposed product in place.
  x = x0;
  x = f.a.transpose() * x;
  const Vec want_t = f.s.transpose() * x0;
  CHECK((x - want_t).norm() <= kTol * want_t.norm());
}

TEST_CASE("Tiny shapes through the Eigen forms", "[eigen][product][tiny]") {
  std::uint32_t seed = 1;
  for (const auto& shape : bbs_test::tiny_shapes()) {
    INFO(shape.name());
    const Fixture f(shape, seed++);
    const Vec x = bbs_test::random_vector<double>(shape.cols, seed);
    const Vec want = f.s * x;
    Vec y = Vec::Constant(shape.rows, 7.0);
    y = f.a * x;
    REQUIRE(y.size() == shape.rows);
    REQUIRE((y - want).norm() <= kTol * (1 + want.norm()));
    const Vec xt = bbs_test::random_vector<double>(shape.rows, seed);
    const Vec yt = f.a.transpose() * xt;
    REQUIRE((yt - Vec(f.s.transpose() * xt)).norm() <= kTol * (1 + yt.norm()));
  }
}

TEST_CASE("float matrices work with float Eigen vectors", "[eigen][product][float]") {
  const auto a = bbs_test::random_bbs<float>({1024, 1000, BankConfig(64, 8)}, 4);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(1000, 5);
  const Eigen::VectorXf y = a * x;
  bbs_test::require_product_close<float>(y, a.toDense(), x, a.numBanks() * a.nnzPerBank());
}

TEST_CASE("A backend can be chosen per product and as the default", "[eigen][product][backend]") {
  const Fixture f({67, 127, BankConfig(16, 4)});
  const Vec x = bbs_test::random_vector<double>(127, 1);
  const Vec want = f.s * x;
  const Vec y = bbs::on<bbs::backend::reference>(f.a) * x;
  CHECK((y - want).norm() <= kTol * want.norm());
  const Vec xt = bbs_test::random_vector<double>(67, 2);
  const Vec yt = bbs::on<bbs::backend::reference>(f.a).transpose() * xt;
  CHECK((yt - Vec(f.s.transpose() * xt)).norm() <= kTol * yt.norm());
  const Vec yt2 = bbs::on<bbs::backend::reference>(f.a.transpose()) * xt;
  CHECK(yt2 == yt);

  const auto names = bbs::backend_names();
  REQUIRE(!names.empty());
  CHECK(names.front() == "simd");
  CHECK(std::find(names.begin(), names.end(), "reference") != names.end());
  CHECK(bbs::default_backend() == "simd");
  CHECK_NOTHROW(bbs::set_default_backend("reference"));
  CHECK(bbs::default_backend() == "reference");
  CHECK_THROWS_AS(bbs::set_default_backend("cuda"), bbs::config_error);
  CHECK_THROWS_WITH(bbs::set_default_backend("cuda"),
                    Catch::Contains("unknown backend \"cuda\"") && Catch::Contains("reference"));
  CHECK(bbs::default_backend() == "reference");
  bbs::set_default_backend("simd");
}

TEST_CASE("A backend named at run time runs one call without changing the default", "[eigen][product][backend]") {
  const Fixture f({33, 70, BankConfig(7, 2)});
  const Vec x = bbs_test::random_vector<double>(70, 3);
  const Vec want = f.s * x;
  const auto names = bbs::backend_names();
  std::vector<std::string> visited;
  bbs::for_each_backend([&](auto tag) { visited.push_back(decltype(tag)::name); });
  CHECK(visited == names);  // every compiled backend, in the registry's order
  for (std::size_t i = 0; i < names.size(); ++i) {
    CHECK(bbs::backend_index(names[i]) == static_cast<int>(i));
    std::string ran;
    Vec y(33);
    bbs::visit_backend(names[i], [&](auto tag) {
      ran = decltype(tag)::name;
      y = bbs::on<decltype(tag)>(f.a) * x;
    });
    CHECK(ran == names[i]);
    CHECK((y - want).norm() <= kTol * want.norm());
    bbs::visit_backend(static_cast<int>(i), [&](auto tag) { ran = decltype(tag)::name; });
    CHECK(ran == names[i]);
  }
  CHECK(bbs::default_backend() == names.front());
  const auto ignore = [](auto) {};
  CHECK_THROWS_WITH(bbs::backend_index("cuda"),
                    Catch::Contains("unknown backend \"cuda\"") && Catch::Contains("reference"));
  CHECK_THROWS_AS(bbs::visit_backend("cuda", ignore), bbs::config_error);
  CHECK_THROWS_WITH(bbs::visit_backend(-1, ignore), Catch::Contains("backend index -1 is outside 0.."));
  CHECK_THROWS_WITH(bbs::visit_backend(static_cast<int>(names.size()), ignore),
                    Catch::Contains("is outside 0.." + std::to_string(names.size() - 1)));
}

TEST_CASE("Products with mismatched shapes throw shape_error", "[eigen][product][errors]") {
  const Fixture f({6, 10, BankConfig(4, 2)});
  const Vec wrong = Vec::Ones(9);
  Vec y;
  CHECK_THROWS_AS(y = f.a * wrong, bbs::shape_error);
  CHECK_THROWS_WITH(y = f.a * wrong, Catch::Contains("op(A) is 6 x 10") && Catch::Contains("it is 9 x 1"));
  CHECK_THROWS_WITH(y = f.a.transpose() * wrong, Catch::Contains("A^T * X") && Catch::Contains("needs 6 rows"));
  const Mat wrong_m = Mat::Ones(11, 2);
  Mat ym;
  CHECK_THROWS_AS(ym = f.a * wrong_m, bbs::shape_error);
#ifdef NDEBUG
  // In debug builds Eigen's own assertion on the destination size fires before bbs can throw.
  Vec small = Vec::Zero(5);
  CHECK_THROWS_WITH(small += f.a * Vec::Ones(10), Catch::Contains("destination is 5 x 1, expected 6 x 1"));
#endif
}
