// BbsMatrix::prepare: the arrangement a backend's SpMV reads, built ahead of the first product,
// and Canonical::drop, which leaves it as the only copy in memory: products on that backend read
// it, everything else rebuilds the canonical arrays from it bit for bit, memoryBytes() says what is
// resident at every step.
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "testbed.hpp"

using bbs::BankConfig;
using bbs::BbsMatrix;
using bbs::Canonical;
using bbs::backend::simd_impl::best_isa;
using bbs::backend::simd_impl::Isa;

namespace {

/// Whether the simd backend's SpMV reads row groups on this CPU for a sparse matrix of these types
/// (AVX-512: every type; AVX2: the floating ones; generic CPUs: none).
template <typename T>
bool simd_arranges() {
  if (best_isa() == Isa::generic) return false;
  return best_isa() != Isa::avx2 || !bbs::is_fixed_point<T>::value;
}

template <typename T>
BbsMatrix<T> sample(const bbs_test::Shape& s, std::uint32_t seed) {
  if constexpr (std::is_same<T, float>::value || std::is_same<T, double>::value) {
    return bbs_test::random_bbs<T>(s, seed);
  } else {
    return bbs::quantize<T>(bbs_test::random_bbs<float>(s, seed)).value;
  }
}

/// y = A x on Backend through the Eigen product.
template <typename Backend, typename T>
Eigen::Matrix<bbs::activation_t<T>, Eigen::Dynamic, 1> product(const BbsMatrix<T>& a,
                                                               const Eigen::Matrix<bbs::activation_t<T>, -1, 1>& x) {
  return bbs::on<Backend>(a) * x;
}

template <typename T>
Eigen::Matrix<bbs::activation_t<T>, Eigen::Dynamic, 1> input(bbs::index n, std::uint32_t seed) {
  const Eigen::VectorXf xf = bbs_test::random_vector<float>(n, seed);
  Eigen::Matrix<bbs::activation_t<T>, Eigen::Dynamic, 1> x(n);
  for (bbs::index i = 0; i < n; ++i) x[i] = bbs::activation_t<T>(xf[i]);
  return x;
}

}  // namespace

TEMPLATE_TEST_CASE("a prepared matrix that dropped its arrays multiplies from the arrangement alone",
                   "[matrix][prepare]", float, double, bbs::fixed16<12>, (bbs::fixed8<6, 12>), Eigen::bfloat16,
                   Eigen::half) {
  using T = TestType;
  for (const bbs_test::Shape& s :
       {bbs_test::Shape{300, 512, BankConfig(64, 8)}, bbs_test::Shape{37, 70, BankConfig(16, 5)},
        bbs_test::Shape{9, 200, BankConfig(64, 33)}}) {
    INFO(s.name());
    const BbsMatrix<T> original = sample<T>(s, 3);
    const auto x = input<T>(s.cols, 4);
    const auto xt = input<T>(s.rows, 5);
    const auto want = product<bbs::backend::simd>(original, x);
    const Eigen::Matrix<bbs::activation_t<T>, -1, 1> want_t =
        bbs::on<bbs::backend::reference>(original).transpose() * xt;
    const auto file = bbs::serialize(original);

    BbsMatrix<T> a = original;
    CHECK(a.memoryBytes() == a.csbBytes());
    const bool arranged = a.template prepare<bbs::backend::simd>(Canonical::drop);
    CHECK(arranged == simd_arranges<T>());
    if (!arranged) {
      CHECK(a.holdsCanonical());
      CHECK(a.memoryBytes() == a.csbBytes());
      continue;
    }
    // One copy: the row groups. Their padding is nil at keep 8 of 64 (the target: at most
    // 1.1x the CSB bytes); awkward shapes pad lanes (an even count for fixed point) and a last
    // group of rows, but stay below two copies.
    const std::size_t limit = s.config.nnz_per_bank == 8 ? a.csbBytes() * 11 / 10 : 2 * a.csbBytes() - 1;
    CHECK_FALSE(a.holdsCanonical());
    CHECK(a.memoryBytes() <= limit);
    CHECK(a.memoryBytes() >= a.csbBytes());
    CHECK(a.rows() == s.rows);
    CHECK(a.nonZeros() == original.nonZeros());

    // simd and openmp products read the arrangement: the same bits, nothing rebuilt.
    CHECK(bool(product<bbs::backend::simd>(a, x) == want));
#ifdef _OPENMP
    {
      const bbs_test::ForceOpenmpSplitting split;
      omp_set_num_threads(2);
      CHECK(bool(product<bbs::backend::openmp>(a, x) == want));
    }
#endif
    CHECK_FALSE(a.layouts().holds_restored());
    CHECK(a.memoryBytes() <= limit);

    // Everything else rebuilds the canonical arrays, once, exactly.
    CHECK(bool(product<bbs::backend::reference>(a, x) == product<bbs::backend::reference>(original, x)));
    CHECK(a.layouts().holds_restored());
    CHECK(a.memoryBytes() >= 2 * a.csbBytes());
    CHECK(bool(Eigen::Matrix<bbs::activation_t<T>, -1, 1>(bbs::on<bbs::backend::reference>(a).transpose() * xt) ==
               want_t));
    CHECK(bbs::serialize(a) == file);
    CHECK(bool(a.toDense() == original.toDense()));
    CHECK(a.coeff(s.rows - 1, s.cols - 1) == original.coeff(s.rows - 1, s.cols - 1));

    // Preparing again drops the rebuilt copy.
    CHECK(a.template prepare<bbs::backend::simd>(Canonical::drop));
    CHECK_FALSE(a.layouts().holds_restored());
    CHECK(a.memoryBytes() <= limit);

    // Copies hold canonical arrays; moves keep the single copy.
    const BbsMatrix<T> copy = a;
    CHECK(copy.holdsCanonical());
    CHECK(bbs::serialize(copy) == file);
    BbsMatrix<T> moved = std::move(a);
    CHECK_FALSE(moved.holdsCanonical());
    CHECK(bool(product<bbs::backend::simd>(moved, x) == want));

    // valueData() takes the arrays back for good; the next product sees new values.
    T* values = moved.valueData();
    CHECK(moved.holdsCanonical());
    CHECK(moved.memoryBytes() == moved.csbBytes());
    for (bbs::index e = 0; e < moved.storedEntries(); ++e) values[e] = T(0);
    const auto zero = product<bbs::backend::simd>(moved, x);
    for (bbs::index r = 0; r < s.rows; ++r) CHECK(zero[r] == bbs::activation_t<T>(0));
  }
}

TEST_CASE("prepare builds the arrangement before the first product, and nothing where SpMV reads the arrays",
          "[matrix][prepare]") {
  using Groups = bbs::backend::simd_impl::RowGroups<float>;
  BbsMatrix<float> a = bbs_test::random_bbs<float>({64, 256, BankConfig(64, 8)}, 7);
  CHECK_FALSE(a.prepare<bbs::backend::reference>(Canonical::drop));  // the reference reads the arrays
  CHECK(a.holdsCanonical());
  CHECK(a.layouts().size() == 0);
  const bool arranged = a.prepare<bbs::backend::simd>();  // Canonical::keep
  CHECK(arranged == simd_arranges<float>());
  CHECK(a.holdsCanonical());
  CHECK(a.layouts().holds<Groups>() == arranged);
  if (arranged) CHECK(a.memoryBytes() == 2 * a.csbBytes());  // k = 8 of 64: no padding

  // A matrix that keeps every weight runs the dense kernels on its canonical arrays.
  BbsMatrix<float> dense = bbs_test::random_bbs<float>({16, 64, BankConfig(64, 64)}, 8);
  CHECK_FALSE(dense.prepare<bbs::backend::simd>(Canonical::drop));
  CHECK(dense.holdsCanonical());
  CHECK(dense.memoryBytes() == dense.csbBytes());

  // An empty matrix has nothing to arrange.
  BbsMatrix<float> empty(0, 64, BankConfig(64, 8));
  CHECK_FALSE(empty.prepare<bbs::backend::simd>(Canonical::drop));
  CHECK(empty.holdsCanonical());
}

TEST_CASE("threads multiply a prepared matrix while another rebuilds its arrays", "[matrix][prepare]") {
  if (!simd_arranges<float>()) return;
  BbsMatrix<float> a = bbs_test::random_bbs<float>({256, 512, BankConfig(64, 8)}, 9);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(512, 10);
  const Eigen::VectorXf want = bbs::on<bbs::backend::simd>(a) * x;
  const Eigen::MatrixXf dense = a.toDense();
  REQUIRE(a.prepare<bbs::backend::simd>(Canonical::drop));
  bool products_equal = true, dense_equal = true;
  std::thread spmv([&] {
    for (int i = 0; i < 50; ++i) {
      const Eigen::VectorXf y = bbs::on<bbs::backend::simd>(a) * x;
      products_equal = products_equal && y == want;
    }
  });
  std::thread restore([&] {
    for (int i = 0; i < 5; ++i) dense_equal = dense_equal && a.toDense() == dense;
  });
  spmv.join();
  restore.join();
  CHECK(products_equal);
  CHECK(dense_equal);
}
