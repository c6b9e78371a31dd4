// bfloat16 and half weights (Eigen::bfloat16, Eigen::half) with float activations and float
// sums: every kernel of every backend against a double computation on every testbed shape, with
// the tolerance of a float dot product (stored weights) or that plus the storage rounding
// (original weights); simd and openmp bit-identical to the reference; the Eigen product forms.
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend/conformance.hpp"

using bbs_test::Shape;

namespace {

/// A matrix of T pruned from a Gaussian float matrix, and that float matrix's pruned values.
template <typename T>
struct Weights {
  bbs::BbsMatrix<float> original;
  bbs::BbsMatrix<T> stored;
  Weights(const Shape& s, std::uint32_t seed)
      : original(bbs_test::random_bbs<float>(s, seed)), stored(bbs::quantize<T>(original).value) {}
};

/// Kernel `Backend` for (alpha, beta), spmv or transposed, against double arithmetic on the
/// stored weights (float-sum bound) and on the original weights (plus the storage rounding).
template <typename Backend, typename T>
void check_against_double(const Shape& s, std::uint32_t seed) {
  const Weights<T> w(s, seed);
  for (bool transposed : {false, true}) {
    const bbs::index in = transposed ? s.rows : s.cols;
    const bbs::index out = transposed ? s.cols : s.rows;
    const bbs::index terms = transposed ? s.rows : bbs_test::terms_of(s);
    const Eigen::VectorXf x = bbs_test::random_vector<float>(in, seed + 1);
    const Eigen::VectorXf y0 = bbs_test::random_vector<float>(out, seed + 2);
    for (const auto& ab : {std::pair<float, float>{1.0f, 0.0f}, {0.75f, -1.5f}}) {
      INFO((transposed ? "A^T x" : "A x") << ", alpha " << ab.first << ", beta " << ab.second);
      Eigen::VectorXf y = ab.second == 0 ? Eigen::VectorXf::Constant(out, std::numeric_limits<float>::quiet_NaN()) : y0;
      if (transposed) {
        bbs::kernel::spmv_transposed(Backend{}, w.stored.view(), ab.first, x.data(), ab.second, y.data());
      } else {
        bbs::kernel::spmv(Backend{}, w.stored.view(), ab.first, x.data(), ab.second, y.data());
      }
      for (const bool stored : {true, false}) {
        INFO((stored ? "against the stored weights" : "against the original float weights"));
        Eigen::MatrixXd a = stored ? bbs::dequantize(w.stored).toDense().template cast<double>()
                                   : w.original.toDense().template cast<double>();
        if (transposed) a.transposeInPlace();
        const Eigen::VectorXd xd = x.cast<double>();
        const Eigen::MatrixXd want = ab.first * (a * xd) + ab.second * y0.cast<double>();
        Eigen::MatrixXd scale =
            std::abs(ab.first) * (a.cwiseAbs() * xd.cwiseAbs()) + std::abs(ab.second) * y0.cast<double>().cwiseAbs();
        const double bound = stored ? bbs::dot_error_bound<T>(terms + 2) : bbs::quantized_dot_error_bound<T>(terms + 2);
        if (!stored) {
          // A weight stored as a subnormal (|w| < 2^-14 in half) is off by up to half the smallest
          // subnormal absolutely, not relatively: allow that per stored weight.
          const double subnormal = static_cast<double>(std::numeric_limits<T>::denorm_min()) / 2;
          const Eigen::MatrixXd pattern = (a.array() != 0.0).template cast<double>().matrix();
          scale += std::abs(ab.first) * subnormal / bound * (pattern * xd.cwiseAbs());
        }
        bbs_test::require_close(y, want, scale, bound);
      }
    }
  }
}

/// One SIMD variant's SpMV, on the matrix's row groups and on its canonical arrays (no cache),
/// against double arithmetic on the stored weights.
template <typename T>
void check_variant_against_double(const Shape& s, std::uint32_t seed, bbs::backend::simd_impl::Isa isa) {
  INFO("variant " << bbs::backend::simd_impl::isa_name(isa));
  const Weights<T> w(s, seed);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(s.cols, seed + 1);
  const Eigen::MatrixXd a = bbs::dequantize(w.stored).toDense().template cast<double>();
  const Eigen::VectorXd want = a * x.cast<double>();
  const Eigen::VectorXd scale = a.cwiseAbs() * x.cast<double>().cwiseAbs();
  for (bool cached : {true, false}) {
    bbs::CsbView<T> v = w.stored.view();
    if (!cached) v.layouts = nullptr;
    Eigen::VectorXf y = Eigen::VectorXf::Constant(s.rows, std::numeric_limits<float>::quiet_NaN());
    bbs::backend::simd_impl::spmv(isa, v, 1.0f, x.data(), 0.0f, y.data());
    bbs_test::require_close(y, want, scale, bbs::dot_error_bound<T>(bbs_test::terms_of(s) + 2));
  }
}

/// Every kernel of Backend bit for bit against Same (openmp against its inner backend: the threads
/// split rows, never a sum).
template <typename Same, typename Backend, typename T>
void check_identical(const Shape& s, std::uint32_t seed) {
  const Weights<T> w(s, seed);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(s.cols, seed + 1);
  Eigen::VectorXf want = bbs_test::random_vector<float>(s.rows, seed + 2), got = want;
  bbs::kernel::spmv(Same{}, w.stored.view(), 0.5f, x.data(), 2.0f, want.data());
  bbs::kernel::spmv(Backend{}, w.stored.view(), 0.5f, x.data(), 2.0f, got.data());
  REQUIRE(bool(got == want));
  const Eigen::MatrixXf xs = bbs_test::random_dense<float>(s.cols, 3, seed + 3);
  Eigen::MatrixXf want_m(s.rows, 3), got_m(s.rows, 3);
  bbs::kernel::spmm(Same{}, w.stored.view(), 3, 1.0f, xs.data(), s.cols, 0.0f, want_m.data(), s.rows);
  bbs::kernel::spmm(Backend{}, w.stored.view(), 3, 1.0f, xs.data(), s.cols, 0.0f, got_m.data(), s.rows);
  REQUIRE(bool(got_m == want_m));
}

}  // namespace

TEMPLATE_TEST_CASE("16-bit float weights: every backend matches double arithmetic on every shape", "[backend][float16]",
                   Eigen::bfloat16, Eigen::half) {
  std::uint32_t seed = 1300;
  for (const auto& s : bbs_test::all_shapes()) {
    INFO(s.name());
    check_against_double<bbs::backend::reference, TestType>(s, seed += 3);
    check_against_double<bbs::backend::simd, TestType>(s, seed);
    // Every SIMD variant the CPU runs, on the cached row groups and on the canonical arrays.
    for (auto isa : bbs::backend::simd_impl::all_isas) {
      if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
      check_variant_against_double<TestType>(s, seed, isa);
    }
  }
#ifdef _OPENMP
  const bbs_test::ForceOpenmpSplitting split;  // split even tiny products
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (const auto& s : bbs_test::all_shapes()) {
      INFO(s.name() << ", openmp with " << threads << " threads");
      check_against_double<bbs::backend::openmp, TestType>(s, seed += 3);
      check_identical<bbs::backend::openmp::inner, bbs::backend::openmp, TestType>(s, seed);
    }
  }
#endif
}

TEMPLATE_TEST_CASE("Eigen products of 16-bit float matrices with float vectors", "[eigen][float16]", Eigen::bfloat16,
                   Eigen::half) {
  const Shape s{67, 127, bbs::BankConfig(16, 4)};
  const Weights<TestType> w(s, 21);
  const bbs::BbsMatrix<TestType>& a = w.stored;
  const Eigen::VectorXf x = bbs_test::random_vector<float>(s.cols, 22);
  const Eigen::VectorXf z = bbs_test::random_vector<float>(s.rows, 23);
  // Products run on the default backend; the same kernel called directly must give the same bits.
  const auto kernel = [&](float alpha, float beta) {
    Eigen::VectorXf y = z;
    bbs::kernel::spmv(bbs::backend::automatic{}, a.view(), alpha, x.data(), beta, y.data());
    return y;
  };
  Eigen::VectorXf y = a * x;
  CHECK(bool(y == kernel(1, 0)));
  y = z;
  y.noalias() += a * x;
  CHECK(bool(y == kernel(1, 1)));
  y = z;
  y -= a * x;
  CHECK(bool(y == kernel(-1, 1)));
  y = bbs::on<bbs::backend::reference>(a) * x;
  Eigen::VectorXf by_reference(s.rows);
  bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, by_reference.data());
  CHECK(bool(y == by_reference));
  // Scaled sums are plain float expressions around the product.
  const Eigen::VectorXf combo = 2 * (a * x) + z;
  CHECK((combo - (2 * kernel(1, 0) + z)).cwiseAbs().maxCoeff() <= 1e-5f * (1 + combo.cwiseAbs().maxCoeff()));

  const Eigen::VectorXf xt = bbs_test::random_vector<float>(s.rows, 24);
  const Eigen::VectorXf yt = a.transpose() * xt;
  Eigen::VectorXf want_t(s.cols);
  bbs::kernel::spmv_transposed(bbs::backend::reference{}, a.view(), 1.0f, xt.data(), 0.0f, want_t.data());
  CHECK(bool(yt == want_t));

  const Eigen::MatrixXf xs = bbs_test::random_dense<float>(s.cols, 3, 25);
  const Eigen::MatrixXf ys = a * xs;
  Eigen::VectorXf col0(s.rows);
  const Eigen::VectorXf x0 = xs.col(0);
  bbs::kernel::spmv(bbs::backend::automatic{}, a.view(), 1.0f, x0.data(), 0.0f, col0.data());
  CHECK(bool(Eigen::VectorXf(ys.col(0)) == col0));

  // A map over the stored arrays multiplies the same way.
  const bbs::BbsMap<TestType> m(a);
  const Eigen::VectorXf ym = m * x;
  // (a map keeps no row groups, so its sums may run in another order)
  CHECK((ym - kernel(1, 0)).cwiseAbs().maxCoeff() <= 1e-5f * (1 + ym.cwiseAbs().maxCoeff()));
}
