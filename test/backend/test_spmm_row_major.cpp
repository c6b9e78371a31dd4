// Row-major SpMM (kernel::spmm_row_major, X and Y stored row by row as NCHW images are): the
// reference backend against its definition (column p is the reference SpMV of column p, bit for
// bit, every value type) and against dense Eigen; every other backend (each SIMD variant the CPU
// runs, openmp with 1, 2 and 3 threads, automatic) against the reference: fixed point bit for
// bit, floating point within the reordered-sum bound; leading dimensions, beta == 0, shape errors.
#include <cmath>
#include <limits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend/conformance.hpp"

using bbs::fixed16;
using bbs::fixed8;
using Index = bbs::index;
using bbs_test::Shape;

namespace {

template <typename A>
using RowMatrix = Eigen::Matrix<A, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Pixel counts: none, one, a vector and one, a full 64-pixel tile plus a partial one. Large
/// shapes take the last only (the reference is plain loops).
std::vector<Index> batches_for(const Shape& s) {
  if (s.rows * s.cols > 20000) return {67};
  return {0, 1, 17, 67};
}

/// Every third tiny shape (each size 0..6 still appears with several banks), the awkward ones, and
/// the large ones when asked (float and fixed16 only: time).
std::vector<Shape> shapes_for(bool with_tiny, bool with_large) {
  std::vector<Shape> shapes;
  if (with_tiny) {
    const std::vector<Shape> tiny = bbs_test::tiny_shapes();
    for (std::size_t i = 0; i < tiny.size(); i += 3) shapes.push_back(tiny[i]);
  }
  for (const auto& s : bbs_test::awkward_shapes()) shapes.push_back(s);
  if (with_large) {
    for (const auto& s : bbs_test::large_shapes()) shapes.push_back(s);
  }
  return shapes;
}

/// A random bank-balanced matrix of T: Gaussian values pruned in float, then converted (fixed16<12>
/// holds them without saturation; fixed8 weights saturate at +-1, which is just another value).
template <typename T>
bbs::BbsMatrix<T> random_matrix(const Shape& s, std::uint32_t seed) {
  if constexpr (std::is_same<T, float>::value || std::is_same<T, double>::value) {
    return bbs_test::random_bbs<T>(s, seed);
  } else {
    return bbs::quantize<T>(bbs_test::random_bbs<float>(s, seed)).value;
  }
}

/// rows x cols activations of A in row-major storage with leading dimension ld >= cols; the
/// columns past cols hold `pad`.
template <typename A>
std::vector<A> random_rows(Index rows, Index cols, Index ld, std::uint32_t seed, A pad) {
  const Eigen::MatrixXd v = bbs_test::random_dense<double>(rows, cols, seed);
  std::vector<A> out(static_cast<std::size_t>(rows * ld), pad);
  for (Index r = 0; r < rows; ++r)
    for (Index p = 0; p < cols; ++p) out[static_cast<std::size_t>(r * ld + p)] = A(static_cast<float>(v(r, p)));
  return out;
}

template <typename T>
bool is_fixed() {
  return bbs::is_fixed_point<T>::value;
}

template <typename A>
double to_double(A v) {
  return static_cast<double>(static_cast<float>(v));
}
template <>
double to_double<double>(double v) {
  return v;
}

/// Y (rows x n, leading dimension ld) as a column-major double matrix.
template <typename A>
Eigen::MatrixXd as_matrix(const std::vector<A>& y, Index rows, Index n, Index ld) {
  Eigen::MatrixXd m(rows, n);
  for (Index r = 0; r < rows; ++r)
    for (Index p = 0; p < n; ++p) m(r, p) = to_double(y[static_cast<std::size_t>(r * ld + p)]);
  return m;
}

/// One product's inputs: A, X (cols x n, ldx = n + 3), Y0 (rows x n, ldy = n + 2), with NaN (zero
/// for fixed point, which has none) in the padding columns.
template <typename T>
struct Case {
  using A = bbs::activation_t<T>;
  Shape s;
  Index n;
  Index ldx, ldy;
  bbs::BbsMatrix<T> a;
  std::vector<A> x, y0;

  Case(const Shape& shape, Index batch, std::uint32_t seed)
      : s(shape),
        n(batch),
        ldx(batch + 3),
        ldy(batch + 2),
        a(random_matrix<T>(shape, seed)),
        x(random_rows<A>(shape.cols, batch, ldx, seed + 1, pad())),
        y0(random_rows<A>(shape.rows, batch, ldy, seed + 2, pad())) {}

  static A pad() { return is_fixed<T>() ? A(0.0f) : A(std::numeric_limits<float>::quiet_NaN()); }

  template <typename Backend>
  std::vector<A> run(Backend tag, double alpha, double beta) const {
    std::vector<A> y = y0;
    if (beta == 0 && !is_fixed<T>()) std::fill(y.begin(), y.end(), pad());  // beta == 0 must not read Y
    bbs::kernel::spmm_row_major(tag, a.view(), n, bbs::scalar_t<T>(alpha), x.data(), ldx, bbs::scalar_t<T>(beta),
                                y.data(), ldy);
    return y;
  }

  /// |alpha| |A| |X| + |beta| |Y0| in double: the scale of the floating-point tolerance.
  Eigen::MatrixXd scale(double alpha, double beta) const {
    if (abs_ax.size() == 0 && s.rows * n > 0) {
      abs_ax = a.toDense().template cast<double>().cwiseAbs() * as_matrix(x, s.cols, n, ldx).cwiseAbs();
      abs_y0 = as_matrix(y0, s.rows, n, ldy).cwiseAbs();
    }
    if (s.rows * n == 0) return Eigen::MatrixXd(s.rows, n);
    return std::abs(alpha) * abs_ax + std::abs(beta) * abs_y0;
  }
  mutable Eigen::MatrixXd abs_ax, abs_y0;
};

/// got == want bit for bit (fixed point), or within twice the reordered-sum bound (floating
/// point); the padding columns of Y untouched either way.
template <typename T>
void require_matches(const Case<T>& c, const std::vector<bbs::activation_t<T>>& got,
                     const std::vector<bbs::activation_t<T>>& want, double alpha, double beta) {
  const Eigen::MatrixXd g = as_matrix(got, c.s.rows, c.n, c.ldy);
  const Eigen::MatrixXd w = as_matrix(want, c.s.rows, c.n, c.ldy);
  if (is_fixed<T>()) {
    for (Index r = 0; r < c.s.rows; ++r) {
      for (Index p = 0; p < c.n; ++p) {
        if (g(r, p) != w(r, p)) {
          INFO("entry (" << r << ", " << p << ")");
          REQUIRE(g(r, p) == w(r, p));
        }
      }
    }
  } else {
    bbs_test::require_close(g, w, c.scale(alpha, beta), 2 * bbs::dot_error_bound<T>(bbs_test::terms_of(c.s) + 2));
  }
  for (Index r = 0; r < c.s.rows; ++r) {
    for (Index p = c.n; p < c.ldy; ++p) {
      const auto i = static_cast<std::size_t>(r * c.ldy + p);
      if (is_fixed<T>()) {
        REQUIRE(got[i] == c.y0[i]);
      } else {
        REQUIRE(std::isnan(to_double(got[i])));
      }
    }
  }
}

const std::vector<std::pair<double, double>> scales = {{1.0, 0.0}, {1.0, 1.0}, {0.75, -1.5}};

}  // namespace

TEMPLATE_TEST_CASE("reference row-major SpMM is the reference SpMV of every column, bit for bit",
                   "[backend][reference][spmm_row_major]", float, double, Eigen::bfloat16, Eigen::half, fixed16<12>,
                   (fixed8<7, 12>)) {
  using A = bbs::activation_t<TestType>;
  std::uint32_t seed = 100;
  for (const auto& s : shapes_for(true, false)) {
    for (Index n : batches_for(s)) {
      const Case<TestType> c(s, n, seed += 3);
      for (const auto& ab : scales) {
        INFO(s.name() << ", n " << n << ", alpha " << ab.first << ", beta " << ab.second);
        const std::vector<A> got = c.run(bbs::backend::reference{}, ab.first, ab.second);
        for (Index p = 0; p < n; ++p) {
          std::vector<A> xp(static_cast<std::size_t>(s.cols)), yp(static_cast<std::size_t>(s.rows));
          for (Index i = 0; i < s.cols; ++i)
            xp[static_cast<std::size_t>(i)] = c.x[static_cast<std::size_t>(i * c.ldx + p)];
          for (Index r = 0; r < s.rows; ++r)
            yp[static_cast<std::size_t>(r)] = c.y0[static_cast<std::size_t>(r * c.ldy + p)];
          bbs::kernel::spmv(bbs::backend::reference{}, c.a.view(), bbs::scalar_t<TestType>(ab.first), xp.data(),
                            bbs::scalar_t<TestType>(ab.second), yp.data());
          for (Index r = 0; r < s.rows; ++r) {
            const A g = got[static_cast<std::size_t>(r * c.ldy + p)];
            if (!(g == yp[static_cast<std::size_t>(r)])) {
              INFO("entry (" << r << ", " << p << ")");
              REQUIRE(to_double(g) == to_double(yp[static_cast<std::size_t>(r)]));
            }
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("reference row-major SpMM matches dense Eigen on every shape",
                   "[backend][reference][spmm_row_major]", float, double) {
  Eigen::setNbThreads(1);  // the dense products are small; OpenMP threads only spin on a busy machine
  std::uint32_t seed = 200;
  for (const auto& s : shapes_for(true, true)) {
    for (Index n : batches_for(s)) {
      INFO(s.name() << ", n " << n);
      const Case<TestType> c(s, n, seed += 3);
      const Eigen::MatrixXd ad = c.a.toDense().template cast<double>();
      const Eigen::MatrixXd xd = as_matrix(c.x, s.cols, n, c.ldx);
      const Eigen::MatrixXd y0 = as_matrix(c.y0, s.rows, n, c.ldy);
      const Eigen::MatrixXd want = 0.75 * (ad * xd) - 1.5 * y0;
      const auto got = c.run(bbs::backend::reference{}, 0.75, -1.5);
      bbs_test::require_close(as_matrix(got, s.rows, n, c.ldy), want, c.scale(0.75, -1.5),
                              bbs::dot_error_bound<TestType>(bbs_test::terms_of(s) + 2));
      // beta == 0 never reads Y (NaN there), and leaves Y's padding columns alone.
      const auto plain = c.run(bbs::backend::reference{}, 1.0, 0.0);
      bbs_test::require_close(as_matrix(plain, s.rows, n, c.ldy), (ad * xd).eval(), c.scale(1.0, 0.0),
                              bbs::dot_error_bound<TestType>(bbs_test::terms_of(s) + 2));
    }
  }
}

TEMPLATE_TEST_CASE("every backend's row-major SpMM matches the reference", "[backend][spmm_row_major]", float,
                   fixed16<12>, double, Eigen::bfloat16, (fixed8<7, 12>)) {
  using A = bbs::activation_t<TestType>;
  using bbs::backend::simd_impl::Isa;
  const bool common_type = std::is_same<TestType, float>::value || std::is_same<TestType, fixed16<12>>::value;
  std::uint32_t seed = 300;
  for (const auto& s : shapes_for(true, common_type)) {
    for (Index n : batches_for(s)) {
      const Case<TestType> c(s, n, seed += 3);
      for (const auto& ab : scales) {
        INFO(s.name() << ", n " << n << ", alpha " << ab.first << ", beta " << ab.second);
        const std::vector<A> want = c.run(bbs::backend::reference{}, ab.first, ab.second);
        require_matches(c, c.run(bbs::backend::simd{}, ab.first, ab.second), want, ab.first, ab.second);
        require_matches(c, c.run(bbs::backend::automatic{}, ab.first, ab.second), want, ab.first, ab.second);
        for (Isa isa : bbs::backend::simd_impl::all_isas) {
          if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
          INFO("variant " << bbs::backend::simd_impl::isa_name(isa));
          std::vector<A> got = c.y0;
          if (ab.second == 0 && !is_fixed<TestType>()) std::fill(got.begin(), got.end(), Case<TestType>::pad());
          bbs::backend::simd_impl::spmm_row_major(isa, c.a.view(), n, bbs::scalar_t<TestType>(ab.first), c.x.data(),
                                                  c.ldx, bbs::scalar_t<TestType>(ab.second), got.data(), c.ldy);
          require_matches(c, got, want, ab.first, ab.second);
        }
      }
    }
  }
#ifdef _OPENMP
  const bbs_test::ForceOpenmpSplitting split;  // split even tiny products
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (const auto& s : shapes_for(false, common_type)) {
      for (Index n : batches_for(s)) {
        INFO(s.name() << ", n " << n << ", openmp with " << threads << " threads");
        const Case<TestType> c(s, n, seed += 3);
        // openmp over simd runs simd's kernel on row slices: the same sums, bit for bit.
        const std::vector<A> want = c.run(bbs::backend::simd{}, 0.75, -1.5);
        const std::vector<A> got = c.run(bbs::backend::openmp{}, 0.75, -1.5);
        for (std::size_t i = 0; i < want.size(); ++i) {
          if (!(to_double(got[i]) == to_double(want[i]) ||
                (std::isnan(to_double(got[i])) && std::isnan(to_double(want[i]))))) {
            INFO("element " << i);
            REQUIRE(to_double(got[i]) == to_double(want[i]));
          }
        }
      }
    }
  }
#endif
}

TEST_CASE("an infinite x outside a row's columns stays out of the row-major product", "[backend][spmm_row_major]") {
  // Bank 4 with 2 kept of 5 columns: the last bank is partial, its padding entries must not read X.
  const Shape s{3, 5, bbs::BankConfig(4, 2)};
  const auto a = random_matrix<float>(s, 7);
  const Eigen::MatrixXf dense = a.toDense();
  for (Index col = 0; col < s.cols; ++col) {
    RowMatrix<float> x = RowMatrix<float>::Ones(s.cols, 20);
    x.row(col).setConstant(std::numeric_limits<float>::infinity());
    RowMatrix<float> y(s.rows, 20);
    for (const bool simd : {false, true}) {
      if (simd) {
        bbs::kernel::spmm_row_major(bbs::backend::simd{}, a.view(), 20, 1.0f, x.data(), 20, 0.0f, y.data(), 20);
      } else {
        bbs::kernel::spmm_row_major(bbs::backend::reference{}, a.view(), 20, 1.0f, x.data(), 20, 0.0f, y.data(), 20);
      }
      for (Index r = 0; r < s.rows; ++r) {
        INFO("column " << col << ", row " << r << (simd ? ", simd" : ", reference"));
        REQUIRE(std::isfinite(y(r, 0)) == (dense(r, col) == 0.0f));
      }
    }
  }
}

TEST_CASE("row-major SpMM refuses bad dimensions and scales with clear errors", "[backend][spmm_row_major]") {
  const Shape s{4, 8, bbs::BankConfig(4, 2)};
  const auto a = random_matrix<float>(s, 1);
  std::vector<float> x(8 * 10, 1.0f), y(4 * 10, 0.0f);
  REQUIRE_THROWS_AS(
      bbs::kernel::spmm_row_major(bbs::backend::reference{}, a.view(), 10, 1.0f, x.data(), 9, 0.0f, y.data(), 10),
      bbs::shape_error);
  CHECK_THROWS_WITH(
      bbs::kernel::spmm_row_major(bbs::backend::reference{}, a.view(), 10, 1.0f, x.data(), 9, 0.0f, y.data(), 10),
      "spmm_row_major: n = 10, ldx = 9, ldy = 10, expected n >= 0 and leading dimensions of at least n (X is 8 x n, "
      "Y is 4 x n, row-major)");
  REQUIRE_THROWS_AS(
      bbs::kernel::spmm_row_major(bbs::backend::simd{}, a.view(), 10, 1.0f, x.data(), 10, 0.0f, y.data(), 3),
      bbs::shape_error);
  REQUIRE_THROWS_AS(
      bbs::kernel::spmm_row_major(bbs::backend::automatic{}, a.view(), -1, 1.0f, x.data(), 10, 0.0f, y.data(), 10),
      bbs::shape_error);

  using Q = fixed16<12>;
  const auto q = random_matrix<Q>(s, 2);
  std::vector<Q> xq(8 * 10, Q(0.5f)), yq(4 * 10, Q(0.0f));
  REQUIRE_THROWS_AS(
      bbs::kernel::spmm_row_major(bbs::backend::reference{}, q.view(), 10, 1e6f, xq.data(), 10, 0.0f, yq.data(), 10),
      bbs::value_error);
#ifdef _OPENMP
  const bbs_test::ForceOpenmpSplitting split;  // split even tiny products
  REQUIRE_THROWS_AS(bbs::kernel::spmm_row_major(bbs::backend::openmp{}, q.view(), 10, 1.0f, xq.data(), 10,
                                                std::numeric_limits<float>::quiet_NaN(), yq.data(), 10),
                    bbs::value_error);
#endif
}
