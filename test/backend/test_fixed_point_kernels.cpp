// Fixed point (fixed16<F>, and fixed8<Fw, Fx> int8 weights against fixed16<Fx> activations)
// through every kernel: the reference backend against a scalar oracle written here (exact int64
// sums reduced mod 2^32, a different traversal order, division-based rounding), bit for bit on
// every testbed shape; every other backend (simd variants, openmp with 1, 2, 3 threads) bit for
// bit against the reference; and the Eigen product forms.
#include <cstdint>
#include <random>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend/conformance.hpp"

using bbs::fixed16;
using bbs::fixed8;
using bbs_test::Shape;

namespace {

template <typename Q>
using VecQ = Eigen::Matrix<Q, Eigen::Dynamic, 1>;
/// x and y of a matrix of Q: fixed16 for both families.
template <typename Q>
using VecX = VecQ<bbs::activation_t<Q>>;

/// A bank-balanced fixed-point matrix with raw values drawn from the whole raw range (so long
/// rows overflow int32 and exercise wrap-around), or from [-limit, limit] (capped at that range)
/// when limit > 0.
template <typename Q>
bbs::BbsMatrix<Q> random_fixed_matrix(const Shape& s, std::uint32_t seed, int limit = 0) {
  using Raw = typename Q::raw_type;
  const int lo = std::numeric_limits<Raw>::min();
  const int hi = std::numeric_limits<Raw>::max();
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> raw(limit > 0 ? std::max(lo, -limit) : lo, limit > 0 ? std::min(hi, limit) : hi);
  Eigen::MatrixXf dense(s.rows, s.cols);
  for (bbs::index j = 0; j < s.cols; ++j)
    for (bbs::index i = 0; i < s.rows; ++i) dense(i, j) = static_cast<float>(raw(gen)) / float(1 << Q::frac_bits);
  // Every value is exactly representable, so quantize only changes the type.
  const auto q = bbs::quantize<Q>(bbs::prune<float>(dense, s.config));
  REQUIRE(q.report.max_abs_error == 0);
  REQUIRE(q.report.saturated == 0);
  return q.value;
}

template <typename Q>
VecQ<Q> random_fixed_vector(bbs::index n, std::uint32_t seed, int limit = 0) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> raw(limit > 0 ? -limit : -32768, limit > 0 ? limit : 32767);
  VecQ<Q> v(n);
  for (bbs::index i = 0; i < n; ++i) v(i) = Q::from_raw(static_cast<std::int16_t>(raw(gen)));
  return v;
}

std::int64_t floor_div(std::int64_t n, std::int64_t d) {
  std::int64_t q = n / d;
  if (n % d != 0 && n < 0) --q;
  return q;
}

/// The oracle: y_i = clamp(round_half_up((wrap32(sum_j A_ij x_j) * alpha_q + y_i * beta_q * 2^F)
/// / 2^(F+16))) with alpha_q = round(alpha * 2^16) (ties away: llround) and F the weights'
/// fraction bits. Sums are exact in int64 and visit entries through forEach (bank by bank, not the
/// kernels' slot order).
template <typename Q>
VecX<Q> oracle(const bbs::BbsMatrix<Q>& a, bool transposed, const VecX<Q>& x, double alpha, double beta,
               const VecX<Q>& y0) {
  const bbs::index n = transposed ? a.cols() : a.rows();
  std::vector<std::int64_t> exact(static_cast<std::size_t>(n), 0);
  a.forEach([&](bbs::index r, bbs::index c, Q v) {
    const bbs::index out = transposed ? c : r;
    const bbs::index in = transposed ? r : c;
    exact[static_cast<std::size_t>(out)] += std::int64_t(v.raw()) * x(in).raw();
  });
  const std::int64_t alpha_q = std::llround(alpha * 65536);
  const std::int64_t beta_q = std::llround(beta * 65536);
  const int f = Q::frac_bits;
  const std::int64_t unit = std::int64_t(1) << (f + 16);
  VecX<Q> y(n);
  for (bbs::index i = 0; i < n; ++i) {
    std::int64_t m = ((exact[static_cast<std::size_t>(i)] % 4294967296LL) + 4294967296LL) % 4294967296LL;
    if (m >= 2147483648LL) m -= 4294967296LL;
    const std::int64_t old = beta_q == 0 ? 0 : y0(i).raw();
    const std::int64_t v = m * alpha_q + old * beta_q * (std::int64_t(1) << f);
    const std::int64_t r = floor_div(v + unit / 2, unit);
    y(i) = bbs::activation_t<Q>::from_raw(static_cast<std::int16_t>(r > 32767 ? 32767 : (r < -32768 ? -32768 : r)));
  }
  return y;
}

template <typename Q>
void require_same_bits(const VecQ<Q>& got, const VecQ<Q>& want) {
  REQUIRE(got.size() == want.size());
  for (bbs::index i = 0; i < got.size(); ++i) {
    if (got(i) != want(i)) {
      INFO("entry " << i << ": got " << got(i) << ", want " << want(i));
      REQUIRE(got(i) == want(i));
    }
  }
}

/// The (alpha, beta) pairs every kernel is checked with: plain product, +=, -=, general.
const std::vector<std::pair<double, double>> scales = {{1.0, 0.0}, {1.0, 1.0}, {-1.0, 1.0}, {0.75, -1.5}, {0.3, 2.0}};

/// spmv and spmv_transposed of Backend against the oracle on one shape.
template <typename Backend, typename Q>
void check_against_oracle(const Shape& s, std::uint32_t seed, int limit) {
  const auto a = random_fixed_matrix<Q>(s, seed, limit);
  for (bool transposed : {false, true}) {
    const bbs::index in = transposed ? s.rows : s.cols;
    const bbs::index out = transposed ? s.cols : s.rows;
    const VecX<Q> x = random_fixed_vector<bbs::activation_t<Q>>(in, seed + 1, limit);
    const VecX<Q> y0 = random_fixed_vector<bbs::activation_t<Q>>(out, seed + 2);
    for (const auto& ab : scales) {
      INFO((transposed ? "A^T x" : "A x") << ", alpha " << ab.first << ", beta " << ab.second);
      VecX<Q> y = y0;
      if (transposed) {
        bbs::kernel::spmv_transposed(Backend{}, a.view(), float(ab.first), x.data(), float(ab.second), y.data());
      } else {
        bbs::kernel::spmv(Backend{}, a.view(), float(ab.first), x.data(), float(ab.second), y.data());
      }
      require_same_bits<bbs::activation_t<Q>>(y, oracle(a, transposed, x, ab.first, ab.second, y0));
    }
  }
}

/// Every kernel of Backend bit for bit against the reference backend on one shape (SpMM too).
template <typename Backend, typename Q>
void check_against_reference(const Shape& s, std::uint32_t seed) {
  using MatQ = Eigen::Matrix<bbs::activation_t<Q>, Eigen::Dynamic, Eigen::Dynamic>;
  const auto a = random_fixed_matrix<Q>(s, seed);
  const VecX<Q> x = random_fixed_vector<bbs::activation_t<Q>>(s.cols, seed + 1);
  const VecX<Q> xt = random_fixed_vector<bbs::activation_t<Q>>(s.rows, seed + 2);
  for (const auto& ab : scales) {
    INFO("alpha " << ab.first << ", beta " << ab.second);
    const auto alpha = float(ab.first);
    const auto beta = float(ab.second);
    VecX<Q> want = random_fixed_vector<bbs::activation_t<Q>>(s.rows, seed + 3);
    VecX<Q> got = want;
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), alpha, x.data(), beta, want.data());
    bbs::kernel::spmv(Backend{}, a.view(), alpha, x.data(), beta, got.data());
    require_same_bits<bbs::activation_t<Q>>(got, want);

    VecX<Q> want_t = random_fixed_vector<bbs::activation_t<Q>>(s.cols, seed + 4);
    VecX<Q> got_t = want_t;
    bbs::kernel::spmv_transposed(bbs::backend::reference{}, a.view(), alpha, xt.data(), beta, want_t.data());
    bbs::kernel::spmv_transposed(Backend{}, a.view(), alpha, xt.data(), beta, got_t.data());
    require_same_bits<bbs::activation_t<Q>>(got_t, want_t);
  }
  // SpMM: every column is the reference SpMV of that column.
  const bbs::index n = 3;
  MatQ xs(s.cols, n), ys(s.rows, n);
  for (bbs::index j = 0; j < n; ++j)
    xs.col(j) = random_fixed_vector<bbs::activation_t<Q>>(s.cols, seed + 10 + std::uint32_t(j));
  bbs::kernel::spmm(Backend{}, a.view(), n, 1.0f, xs.data(), s.cols, 0.0f, ys.data(), s.rows);
  for (bbs::index j = 0; j < n; ++j) {
    VecX<Q> col(s.rows);
    const VecX<Q> xj = xs.col(j);
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, xj.data(), 0.0f, col.data());
    require_same_bits<bbs::activation_t<Q>>(VecX<Q>(ys.col(j)), col);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("reference fixed-point kernels match the oracle bit for bit on every shape",
                   "[backend][reference][fixed_point]", fixed16<0>, fixed16<7>, fixed16<12>, fixed16<15>,
                   (fixed8<7, 12>), (fixed8<0, 0>), (fixed8<3, 15>)) {
  std::uint32_t seed = 100;
  for (const auto& s : bbs_test::all_shapes()) {
    INFO(s.name());
    check_against_oracle<bbs::backend::reference, TestType>(s, seed += 5, 0);
  }
  // Small values too: sums that never overflow and results away from saturation.
  for (const auto& s : bbs_test::awkward_shapes()) {
    INFO(s.name() << ", small values");
    check_against_oracle<bbs::backend::reference, TestType>(s, seed += 5, 300);
  }
}

TEMPLATE_TEST_CASE("the fixed-point product is the real product within half a step when nothing overflows",
                   "[backend][reference][fixed_point]", fixed16<12>, (fixed8<6, 12>)) {
  // Small raw values, activations Q3.12: every sum stays far inside int32 and every result inside
  // int16 (|w| <= 1000 / 4096 and |x| <= 1000 / 4096 for fixed16; |w| <= 2 and |x| <= 300 / 4096
  // for int8 weights in Q1.6), so the only error is the final requantization, at most half a step
  // of the output (2^-13).
  using Q = TestType;
  const int x_limit = bbs::is_fixed8<Q>::value ? 300 : 1000;
  for (const auto& s : bbs_test::awkward_shapes()) {
    INFO(s.name());
    const auto a = random_fixed_matrix<Q>(s, 3, 1000);
    const VecX<Q> x = random_fixed_vector<bbs::activation_t<Q>>(s.cols, 4, x_limit);
    VecX<Q> y(s.rows);
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, y.data());
    const Eigen::VectorXd want =
        bbs::dequantize(a).toDense().template cast<double>() * bbs::dequantize(x).template cast<double>();
    REQUIRE(want.cwiseAbs().maxCoeff() < 7.9);  // no saturation, or the test says nothing
    for (bbs::index i = 0; i < s.rows; ++i) {
      INFO("row " << i);
      REQUIRE(std::abs(static_cast<double>(y(i)) - want(i)) <= 1.0 / 8192);
    }
  }
}

TEMPLATE_TEST_CASE("every backend computes fixed point bit-exact to the reference", "[backend][fixed_point]",
                   fixed16<0>, fixed16<12>, fixed16<15>, (fixed8<7, 12>), (fixed8<0, 15>)) {
  using bbs::backend::simd_impl::Isa;
  std::uint32_t seed = 900;
  for (const auto& s : bbs_test::all_shapes()) {
    INFO(s.name());
    check_against_reference<bbs::backend::simd, TestType>(s, seed += 7);
    // Every SIMD variant this CPU runs, not only the one dispatch picks.
    const auto a = random_fixed_matrix<TestType>(s, seed);
    const VecX<TestType> x = random_fixed_vector<bbs::activation_t<TestType>>(s.cols, seed + 1);
    for (Isa isa : bbs::backend::simd_impl::all_isas) {
      if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
      VecX<TestType> want(s.rows), got(s.rows);
      bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, want.data());
      bbs::backend::simd_impl::spmv(isa, a.view(), 1.0f, x.data(), 0.0f, got.data());
      require_same_bits<bbs::activation_t<TestType>>(got, want);
    }
  }
#ifdef _OPENMP
  const bbs_test::ForceOpenmpSplitting split;  // split even tiny products
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (const auto& s : bbs_test::all_shapes()) {
      INFO(s.name() << ", openmp with " << threads << " threads");
      check_against_reference<bbs::backend::openmp, TestType>(s, seed += 7);
    }
  }
#endif
}

TEST_CASE("fixed-point kernels refuse alpha and beta they cannot represent", "[backend][fixed_point]") {
  using Q = fixed16<12>;
  const auto a = random_fixed_matrix<Q>({4, 8, bbs::BankConfig(4, 2)}, 1);
  const VecX<Q> x = random_fixed_vector<bbs::activation_t<Q>>(8, 2);
  VecX<Q> y(4);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(bbs::kernel::spmv(bbs::backend::reference{}, a.view(), nan, x.data(), 0.0f, y.data()),
                  bbs::value_error);
  CHECK_THROWS_WITH(bbs::kernel::spmv(bbs::backend::reference{}, a.view(), nan, x.data(), 0.0f, y.data()),
                    Catch::Contains("alpha = nan cannot be used") && Catch::Contains("|value| < 32768"));
  VecX<Q> yt(8);
  CHECK_THROWS_WITH(bbs::kernel::spmv_transposed(bbs::backend::simd{}, a.view(), 1.0f, y.data(), 40000.0f, yt.data()),
                    Catch::Contains("beta = 40000 cannot be used"));
  CHECK_THROWS_AS(bbs::kernel::spmv(bbs::backend::simd{}, a.view(), std::numeric_limits<float>::infinity(), x.data(),
                                    0.0f, y.data()),
                  bbs::value_error);
}

TEMPLATE_TEST_CASE("Eigen products of fixed-point matrices and vectors follow the kernel rules", "[eigen][fixed_point]",
                   fixed16<10>, (fixed8<5, 10>)) {
  using Q = TestType;
  const Shape s{67, 127, bbs::BankConfig(16, 4)};
  const auto a = random_fixed_matrix<Q>(s, 5, 2000);
  const VecX<Q> x = random_fixed_vector<bbs::activation_t<Q>>(s.cols, 6, 2000);
  const VecX<Q> z = random_fixed_vector<bbs::activation_t<Q>>(s.rows, 7);
  const auto kernel = [&](float alpha, float beta, const VecX<Q>& y0) {
    VecX<Q> y = y0;
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), alpha, x.data(), beta, y.data());
    return y;
  };

  VecX<Q> y = a * x;
  require_same_bits<bbs::activation_t<Q>>(y, kernel(1, 0, z));
  y = z;
  y.noalias() += a * x;
  require_same_bits<bbs::activation_t<Q>>(y, kernel(1, 1, z));
  y = z;
  y -= a * x;
  require_same_bits<bbs::activation_t<Q>>(y, kernel(-1, 1, z));
  y = bbs::on<bbs::backend::reference>(a) * x;
  require_same_bits<bbs::activation_t<Q>>(y, kernel(1, 0, z));

  // A strided destination goes through a temporary and must round and saturate the same way.
  std::vector<bbs::activation_t<Q>> buffer(2 * static_cast<std::size_t>(s.rows));
  Eigen::Map<VecX<Q>, 0, Eigen::InnerStride<2>> strided(buffer.data(), s.rows);
  strided = z;
  strided.noalias() += a * x;
  require_same_bits<bbs::activation_t<Q>>(VecX<Q>(strided), kernel(1, 1, z));

  // Transposed product and aliasing (x = A^T x on a square matrix).
  const VecX<Q> xt = random_fixed_vector<bbs::activation_t<Q>>(s.rows, 8, 2000);
  const VecX<Q> yt = a.transpose() * xt;
  VecX<Q> want_t(s.cols);
  bbs::kernel::spmv_transposed(bbs::backend::reference{}, a.view(), 1.0f, xt.data(), 0.0f, want_t.data());
  require_same_bits<bbs::activation_t<Q>>(yt, want_t);
  const auto sq = random_fixed_matrix<Q>({40, 40, bbs::BankConfig(8, 3)}, 9, 2000);
  VecX<Q> v = random_fixed_vector<bbs::activation_t<Q>>(40, 10, 2000);
  VecX<Q> want_sq(40);
  bbs::kernel::spmv(bbs::backend::reference{}, sq.view(), 1.0f, v.data(), 0.0f, want_sq.data());
  v = sq * v;
  require_same_bits<bbs::activation_t<Q>>(v, want_sq);

  // Several right-hand sides.
  Eigen::Matrix<bbs::activation_t<Q>, Eigen::Dynamic, Eigen::Dynamic> xs(s.cols, 2), ys;
  xs.col(0) = x;
  xs.col(1) = random_fixed_vector<bbs::activation_t<Q>>(s.cols, 11, 2000);
  ys = a * xs;
  require_same_bits<bbs::activation_t<Q>>(VecX<Q>(ys.col(0)), kernel(1, 0, z));
}

TEMPLATE_TEST_CASE("fixed-point SIMD kernels sum every row width and write exactly the rows of any range",
                   "[backend][fixed_point]", fixed16<12>, (fixed8<7, 12>)) {
  // A row's lanes are k rounded up to even; when half of that divides 16 (k = 1, 2, 3..4, 7..8,
  // 15..16, 31..32) the row sums are reduced in registers, else lane by lane. Row ranges that cut
  // a group fall back to the lane-by-lane sums and must leave other rows alone (openmp hands out
  // such ranges).
  using Q = TestType;
  using X = bbs::activation_t<Q>;
  using bbs::backend::simd_impl::Isa;
  std::vector<bbs::BankConfig> configs;
  for (bbs::index k = 1; k <= 34; ++k) configs.emplace_back(64, k);
  // Banks that keep every weight run the dense kernels: several banks with a padded last one, one
  // bank with padding, one bank with 16-bit indices.
  for (bbs::index bank : {16, 64, 150, 300}) configs.emplace_back(bank, bank);
  for (const bbs::BankConfig& cfg : configs) {
    const Shape s{45, 150, cfg};
    const auto a = random_fixed_matrix<Q>(s, 40 + static_cast<std::uint32_t>(cfg.nnz_per_bank));
    const VecX<Q> x = random_fixed_vector<X>(s.cols, 7);
    const VecX<Q> y0 = random_fixed_vector<X>(s.rows, 8);
    VecX<Q> want = y0;
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 0.5f, x.data(), 1.0f, want.data());
    for (Isa isa : bbs::backend::simd_impl::all_isas) {
      if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
      for (const auto& range :
           std::vector<std::pair<bbs::index, bbs::index>>{{0, 45}, {0, 13}, {5, 45}, {3, 4}, {17, 40}}) {
        INFO(s.name() << ", " << bbs::backend::simd_impl::isa_name(isa) << ", rows " << range.first << ".."
                      << range.second);
        VecX<Q> got = y0;
        bbs::backend::simd_impl::spmv_rows(isa, a.view(), range.first, range.second, 0.5f, x.data(), 1.0f, got.data());
        VecX<Q> expect = y0;
        expect.segment(range.first, range.second - range.first) = want.segment(range.first, range.second - range.first);
        require_same_bits<X>(got, expect);
      }
    }
  }
}

TEMPLATE_TEST_CASE("fixed-point SIMD kernels wrap like the reference at the integer extremes", "[backend][fixed_point]",
                   fixed16<15>, (fixed8<7, 15>)) {
  // -32768 * -32768 twice is 2^31: vpmaddwd returns -2^31, the same value modulo 2^32. Every
  // partial sum here overflows int32 many times over (with int8 weights, the long rows do); the
  // wrapped results must still agree.
  using Q = TestType;
  using bbs::backend::simd_impl::Isa;
  for (const bbs::BankConfig cfg : {bbs::BankConfig(64, 8), bbs::BankConfig(32, 7), bbs::BankConfig(256, 200),
                                    bbs::BankConfig(64, 64), bbs::BankConfig(300, 300)}) {
    INFO("bank " << cfg.bank_size << " k " << cfg.nnz_per_bank);
    bbs::BbsMatrix<Q> a(37, 3 * cfg.bank_size - 5, cfg);
    Q* values = a.valueData();
    // Padding entries (a partial last bank: the dense configurations) must stay zero.
    a.view().for_each_entry(
        [&](bbs::index, bbs::index, bbs::index e) { values[e] = e % 3 == 2 ? Q::max() : Q::lowest(); });
    a.validate();
    VecX<Q> x(a.cols());
    using X = bbs::activation_t<Q>;
    for (bbs::index i = 0; i < a.cols(); ++i) x[i] = i % 5 == 4 ? X::max() : X::lowest();
    VecX<Q> want(a.rows()), got(a.rows());
    for (float alpha : {1.0f, 0.25f, -3.0f}) {
      bbs::kernel::spmv(bbs::backend::reference{}, a.view(), alpha, x.data(), 0.0f, want.data());
      for (Isa isa : bbs::backend::simd_impl::all_isas) {
        if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
        bbs::backend::simd_impl::spmv(isa, a.view(), alpha, x.data(), 0.0f, got.data());
        require_same_bits<bbs::activation_t<Q>>(got, want);
      }
    }
  }
}
