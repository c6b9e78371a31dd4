// SIMD backend: every variant this CPU supports (not only the one dispatch picks), on the layouts
// it reads (the cached row groups of a BbsMatrix, the canonical arrays of a map or slice), against
// dense Eigen on every testbed shape; and the dispatching tag through the conformance suite.
#include <random>

#include "backend/conformance.hpp"

using bbs::backend::simd_impl::Isa;

namespace {

const auto& all_variants = bbs::backend::simd_impl::all_isas;

bool skip_unsupported(Isa isa) {
  if (bbs::backend::simd_impl::cpu_supports(isa)) return false;
  WARN("this CPU cannot run the " << bbs::backend::simd_impl::isa_name(isa) << " variant; not tested here");
  return true;
}

}  // namespace

TEMPLATE_TEST_CASE("every SIMD variant the CPU runs matches dense Eigen on every shape and layout", "[backend][simd]",
                   float, double) {
  for (Isa isa : all_variants) {
    if (skip_unsupported(isa)) continue;
    for (bool cached : {true, false}) {
      std::uint32_t seed = 700;
      for (const auto& s : bbs_test::all_shapes()) {
        INFO(s.name() << ", variant " << bbs::backend::simd_impl::isa_name(isa)
                      << (cached ? ", row groups" : ", canonical"));
        bbs_test::check_spmv_with<TestType>(
            s, seed += 3, [&](bbs::CsbView<TestType> a, TestType alpha, const TestType* x, TestType beta, TestType* y) {
              if (!cached) a.layouts = nullptr;  // as a BbsMap's view: no arrangement to use
              bbs::backend::simd_impl::spmv(isa, a, alpha, x, beta, y);
            });
      }
    }
  }
}

TEMPLATE_TEST_CASE("every SIMD variant computes any row range alone", "[backend][simd]", float, double) {
  // The openmp backend hands each thread a row range; ranges that cut a row group in two must
  // write exactly their own rows (y = A x + 0.5 y): a cut group goes through a copy. k = 1: one
  // group of 128 rows; 3, 12, 33: rows across vector boundaries.
  for (bbs::index k : {3, 1, 4, 8, 12, 16, 33}) {
    const auto a = bbs_test::random_bbs<TestType>({29, 200, bbs::BankConfig(64, k)}, 5);
    const auto x = bbs_test::random_vector<TestType>(200, 6);
    const Eigen::Matrix<TestType, Eigen::Dynamic, 1> want = a.toDense() * x;
    for (Isa isa : all_variants) {
      if (skip_unsupported(isa)) continue;
      for (bbs::index first : {0, 1, 7, 16, 28}) {
        for (bbs::index last : {first, first + 1, bbs::index(17), bbs::index(29)}) {
          if (last < first || last > 29) continue;
          INFO("k " << k << ", rows " << first << ".." << last << ", variant "
                    << bbs::backend::simd_impl::isa_name(isa));
          Eigen::Matrix<TestType, Eigen::Dynamic, 1> y = Eigen::Matrix<TestType, Eigen::Dynamic, 1>::Constant(29, 99);
          bbs::backend::simd_impl::spmv_rows(isa, a.view(), first, last, TestType(1), x.data(), TestType(0.5),
                                             y.data());
          for (bbs::index r = 0; r < 29; ++r) {
            if (r >= first && r < last) {
              CHECK(std::abs(y[r] - (want[r] + 49.5)) <= 1e-4 * (1 + std::abs(want[r] + 49.5)));
            } else {
              CHECK(y[r] == TestType(99));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("float products of a BbsMatrix derive its row groups once and drop them when values change",
          "[backend][simd]") {
  if (skip_unsupported(Isa::avx512)) return;
  using Groups = bbs::backend::simd_impl::RowGroups<float>;
  auto a = bbs_test::random_bbs<float>({40, 256, bbs::BankConfig(64, 8)}, 11);
  const Eigen::VectorXf x = bbs_test::random_vector<float>(256, 12);
  REQUIRE_FALSE(a.layouts().holds<Groups>());
  Eigen::VectorXf y = bbs::on<bbs::backend::simd>(a) * x;
  REQUIRE(a.layouts().holds<Groups>());
  REQUIRE(a.layouts().size() == 1);
  y = bbs::on<bbs::backend::simd>(a) * x;
  CHECK(a.layouts().size() == 1);

  // Writing through valueData() drops the row groups, so the next product sees the new values.
  float* values = a.valueData();
  CHECK_FALSE(a.layouts().holds<Groups>());
  for (bbs::index e = 0; e < a.storedEntries(); ++e) values[e] *= -2.0f;
  const Eigen::VectorXf doubled = bbs::on<bbs::backend::simd>(a) * x;
  CHECK((doubled + 2.0f * y).cwiseAbs().maxCoeff() <= 1e-4f);

  // A pointer kept across a product needs valuesChanged().
  for (bbs::index e = 0; e < a.storedEntries(); ++e) values[e] = 0.0f;
  a.valuesChanged();
  CHECK_FALSE(a.layouts().holds<Groups>());
  const Eigen::VectorXf zero = bbs::on<bbs::backend::simd>(a) * x;
  CHECK(zero.isZero(0.0f));

  // Copies start without arrangements and build their own; moves keep them.
  const Eigen::VectorXf y_again = bbs::on<bbs::backend::simd>(a) * x;
  bbs::BbsMatrix<float> copy = a;
  CHECK_FALSE(copy.layouts().holds<Groups>());
  bbs::BbsMatrix<float> moved = std::move(a);
  CHECK(moved.layouts().holds<Groups>());
  CHECK((bbs::on<bbs::backend::simd>(moved) * x).isZero(0.0f));
}

TEST_CASE("padding lanes of the row groups never turn an infinite x into NaN", "[backend][simd]") {
  // Padding lanes hold value 0 and in-bank index 0. With k > 64 they share an accumulator with real
  // lanes, so 0 * x[bank start] would poison the row if x there were infinite. No real entry uses
  // in-bank index 0 here (that column of the weights is zero and never among the largest).
  for (const bbs::BankConfig cfg : {bbs::BankConfig(128, 70), bbs::BankConfig(64, 5), bbs::BankConfig(200, 90)}) {
    INFO("bank " << cfg.bank_size << " k " << cfg.nnz_per_bank);
    const bbs::index rows = 13, cols = 3 * cfg.bank_size;
    Eigen::MatrixXf w = bbs_test::random_dense<float>(rows, cols, 3).array() + 10.0f;
    Eigen::VectorXf x = bbs_test::random_vector<float>(cols, 4);
    for (bbs::index b = 0; b < 3; ++b) {
      w.col(b * cfg.bank_size).setZero();
      x[b * cfg.bank_size] = std::numeric_limits<float>::infinity();
    }
    const auto a = bbs::prune<float>(w, cfg);
    Eigen::VectorXf ref(rows), got(rows);
    bbs::kernel::spmv(bbs::backend::reference{}, a.view(), 1.0f, x.data(), 0.0f, ref.data());
    REQUIRE(ref.allFinite());
    for (Isa isa : all_variants) {
      if (skip_unsupported(isa)) continue;
      bbs::backend::simd_impl::spmv(isa, a.view(), 1.0f, x.data(), 0.0f, got.data());
      CHECK(got.allFinite());
      CHECK((got - ref).cwiseAbs().maxCoeff() <= 1e-3f * ref.cwiseAbs().maxCoeff());
    }
  }
}

TEMPLATE_TEST_CASE("the simd backend passes the conformance suite", "[backend][simd]", float, double) {
  std::uint32_t seed = 800;
  for (const auto& s : bbs_test::all_shapes()) {
    INFO(s.name());
    bbs_test::check_spmv<bbs::backend::simd, TestType>(s, seed += 3);
    bbs_test::check_spmv_transposed<bbs::backend::simd, TestType>(s, seed);
    bbs_test::check_spmm<bbs::backend::simd, TestType>(s, 3, seed);
  }
}

TEST_CASE("no SIMD variant reads x past its end", "[backend][simd]") {
  // x sits at the very end of its allocation, so a read past cols is a heap overflow under ASan.
  for (const bbs::BankConfig cfg : {bbs::BankConfig(32, 20), bbs::BankConfig(64, 8), bbs::BankConfig(256, 90)}) {
    INFO("bank " << cfg.bank_size << " k " << cfg.nnz_per_bank);
    const auto a = bbs_test::random_bbs<float>({7, 70, cfg}, 3);
    std::vector<float> storage(70);
    for (std::size_t i = 0; i < storage.size(); ++i) storage[i] = float(i % 7) - 3.0f;
    const Eigen::VectorXf want = a.toDense() * Eigen::Map<const Eigen::VectorXf>(storage.data(), 70);
    for (Isa isa : all_variants) {
      if (skip_unsupported(isa)) continue;
      for (bool cached : {true, false}) {
        bbs::CsbView<float> v = a.view();
        if (!cached) v.layouts = nullptr;
        Eigen::VectorXf y(7);
        bbs::backend::simd_impl::spmv(isa, v, 1.0f, storage.data(), 0.0f, y.data());
        CHECK((y - want).cwiseAbs().maxCoeff() <= 1e-4f);
        // Without ASan: NaN right after x would reach y through a padding entry (value 0) if read.
        std::vector<float> nan_after(storage);
        nan_after.resize(70 + 256, std::numeric_limits<float>::quiet_NaN());
        bbs::backend::simd_impl::spmv(isa, v, 1.0f, nan_after.data(), 0.0f, y.data());
        CHECK((y - want).cwiseAbs().maxCoeff() <= 1e-4f);
      }
    }
  }
}

TEMPLATE_TEST_CASE("every SIMD variant's SpMM matches dense Eigen for batches across panel boundaries",
                   "[backend][simd][spmm]", float, double) {
  using Mat = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>;
  const bbs_test::Shape shapes[] = {{67, 127, bbs::BankConfig(64, 8)},
                                    {17, 70, bbs::BankConfig(32, 20)},
                                    {9, 513, bbs::BankConfig(257, 3)},
                                    {40, 256, bbs::BankConfig(64, 64)},
                                    {5, 6, bbs::BankConfig(4, 0)}};
  std::uint32_t seed = 900;
  for (Isa isa : all_variants) {
    if (skip_unsupported(isa)) continue;
    for (const auto& s : shapes) {
      for (bbs::index n : {1, 2, 4, 12, 16, 17, 33}) {
        INFO(s.name() << ", batch " << n << ", variant " << bbs::backend::simd_impl::isa_name(isa));
        const auto a = bbs_test::random_bbs<TestType>(s, seed += 3);
        const Mat x = bbs_test::random_dense<TestType>(s.cols, n, seed + 1);
        const Mat y0 = bbs_test::random_dense<TestType>(s.rows, n, seed + 2);
        Mat y = y0;
        bbs::backend::simd_impl::spmm_rows(isa, a.view(), 0, s.rows, n, TestType(0.5), x.data(), s.cols, TestType(-1),
                                           y.data(), s.rows);
        const Eigen::MatrixXd want =
            0.5 * (a.toDense().template cast<double>() * x.template cast<double>()) - y0.template cast<double>();
        const Eigen::MatrixXd scale =
            0.5 * (a.toDense().template cast<double>().cwiseAbs() * x.template cast<double>().cwiseAbs()) +
            y0.template cast<double>().cwiseAbs();
        bbs_test::require_close(y, want, scale, bbs::dot_error_bound<TestType>(bbs_test::terms_of(s) + 2));
      }
    }
  }
}

TEST_CASE("matrices that keep every weight run the dense kernels and derive no row groups", "[backend][simd]") {
  // A dense layer in a model file is a BBS matrix with bank = keep. The dense GEMV kernels read its
  // canonical arrays as they are (in storage order: columns permuted when there are several banks).
  using bbs::backend::simd_impl::spmv_kernel_name;
  using bbs::backend::simd_impl::spmv_path;
  using bbs::backend::simd_impl::SpmvPath;
  using Groups = bbs::backend::simd_impl::RowGroups<float>;
  std::uint32_t seed = 90;
  for (const bbs_test::Shape& s : std::vector<bbs_test::Shape>{{64, 256, bbs::BankConfig(256, 256)},
                                                               {33, 100, bbs::BankConfig(16, 16)},
                                                               {9, 700, bbs::BankConfig(700, 700)},
                                                               {7, 3, bbs::BankConfig(2, 2)}}) {
    for (Isa isa : all_variants) {
      if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
      INFO(s.name() << ", variant " << bbs::backend::simd_impl::isa_name(isa));
      auto a = bbs_test::random_bbs<float>(s, ++seed);
      const bool vector = isa != Isa::generic;
      CHECK((spmv_path(isa, a.view()) == SpmvPath::dense) == vector);
      CHECK(spmv_kernel_name(isa, a.view()) ==
            (vector ? std::string("dense_") + bbs::backend::simd_impl::isa_name(isa) : std::string("reference")));
      bbs_test::check_spmv_with<float>(
          s, seed, [&](bbs::CsbView<float> view, float alpha, const float* x, float beta, float* y) {
            bbs::backend::simd_impl::spmv(isa, view, alpha, x, beta, y);
          });
      const Eigen::VectorXf x = bbs_test::random_vector<float>(s.cols, seed);
      Eigen::VectorXf y(s.rows);
      bbs::backend::simd_impl::spmv(isa, a.view(), 1.0f, x.data(), 0.0f, y.data());
      CHECK_FALSE(a.layouts().holds<Groups>());
    }
  }
  // bfloat16, half and double weights take the dense kernels too (their results are checked on
  // every testbed shape, which include keep = bank, by test_float16_kernels and the tests above).
  const auto dense = bbs_test::random_bbs<float>({33, 100, bbs::BankConfig(16, 16)}, 5);
  const auto dense_double = bbs_test::random_bbs<double>({33, 100, bbs::BankConfig(16, 16)}, 5);
  const auto dense_bf16 = bbs::quantize<Eigen::bfloat16>(dense).value;
  const auto dense_half = bbs::quantize<Eigen::half>(dense).value;
  for (Isa isa : all_variants) {
    if (!bbs::backend::simd_impl::cpu_supports(isa)) continue;
    INFO("variant " << bbs::backend::simd_impl::isa_name(isa));
    const bool vector = isa != Isa::generic;
    CHECK((spmv_path(isa, dense_double.view()) == SpmvPath::dense) == vector);
    CHECK((spmv_path(isa, dense_bf16.view()) == SpmvPath::dense) == vector);
    CHECK((spmv_path(isa, dense_half.view()) == SpmvPath::dense) == vector);
  }
  // One weight fewer per bank is sparse again: the row groups take it.
  if (bbs::backend::simd_impl::cpu_supports(Isa::avx2)) {
    const auto sparse = bbs_test::random_bbs<float>({8, 64, bbs::BankConfig(16, 15)}, 3);
    CHECK(spmv_path(Isa::avx2, sparse.view()) == SpmvPath::row_groups);
    CHECK(spmv_kernel_name(Isa::avx2, sparse.view()) == "row_groups_avx2");
  }
}

TEST_CASE("dispatch runs the best variant the CPU supports", "[backend][simd]") {
  using bbs::backend::simd_impl::best_isa;
  using bbs::backend::simd_impl::cpu_supports;
  // Each variant implies the ones before it in this list; the first the CPU runs is the pick.
  const Isa preference[] = {Isa::avx512_vnni, Isa::avx512, Isa::avx2, Isa::generic};
  Isa want = Isa::generic;
  for (Isa isa : preference) {
    if (cpu_supports(isa)) {
      want = isa;
      break;
    }
  }
  CHECK(best_isa() == want);
  CHECK(cpu_supports(Isa::generic));
  if (cpu_supports(Isa::avx512_vnni)) CHECK(cpu_supports(Isa::avx512));
  CHECK(std::string(bbs::backend::simd_impl::isa_name(Isa::avx512_vnni)) == "avx512_vnni");
}

#ifdef BBS_SIMD_HAVE_AVX512
namespace {

template <int CH>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void check_row_sums(std::mt19937& rng) {
  using bbs::backend::simd_impl::RowSumsInRegisters;
  for (bbs::index p = 1; p <= 16 * CH; ++p) {
    const bbs::index rows = 16 * CH / p;
    INFO(CH << " vectors, " << p << " lanes per row, " << rows << " rows");
    alignas(64) float lanes[16 * CH];
    alignas(64) std::uint32_t words[16 * CH];
    for (int i = 0; i < 16 * CH; ++i) {
      // Small integers: every order of float addition gives the same sum.
      lanes[i] = i < rows * p ? float(int(rng() % 201) - 100) : 0.0f;
      words[i] = i < rows * p ? static_cast<std::uint32_t>(rng()) : 0u;  // sums wrap modulo 2^32
    }
    const RowSumsInRegisters sums(p, CH);
    for (bbs::index o = 0; 16 * o < rows; ++o) {
      alignas(64) float got[16];
      alignas(64) std::uint32_t got_words[16];
      _mm512_store_ps(got, sums.template rows<CH>(lanes, o));
      _mm512_store_si512(reinterpret_cast<void*>(got_words), sums.template rows<CH>(words, o));
      for (bbs::index j = 0; j < 16 && 16 * o + j < rows; ++j) {
        float want = 0.0f;
        std::uint32_t want_words = 0;
        for (bbs::index s = 0; s < p; ++s) {
          want += lanes[(16 * o + j) * p + s];
          want_words += words[(16 * o + j) * p + s];
        }
        CHECK(got[j] == want);
        CHECK(got_words[j] == want_words);
      }
    }
  }
}

}  // namespace

TEST_CASE("row sums in registers add every row of any lane count", "[backend][simd]") {
  // The epilogue of the AVX-512 row-group kernels, for every rows-of-P layout of 1 to 8 vectors:
  // P = 1 (128 rows) to 128 (one row), powers of two or not, rows across vector boundaries.
  if (skip_unsupported(Isa::avx512)) return;
  std::mt19937 rng(17);
  check_row_sums<1>(rng);
  check_row_sums<2>(rng);
  check_row_sums<3>(rng);
  check_row_sums<4>(rng);
  check_row_sums<5>(rng);
  check_row_sums<6>(rng);
  check_row_sums<7>(rng);
  check_row_sums<8>(rng);
}

TEST_CASE("the AVX-512 fixed-point epilogue equals fixed_rules::scale_and_add at the extremes",
          "[backend][simd][fixed_point]") {
  // Eight rows per int64 vector, the last step masked: every length up to 19 covers full and
  // partial steps. Sums, alpha, beta and y at their extremes make every saturation and rounding
  // branch happen.
  if (skip_unsupported(Isa::avx512)) return;
  namespace rules = bbs::fixed_rules;
  std::mt19937 rng(91);
  const std::uint32_t sum_edges[] = {0u, 1u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu, 0x8000u, 0xFFFF7FFFu};
  const std::int16_t y_edges[] = {0, 1, -1, 32767, -32768};
  const std::int32_t scale_edges[] = {0, 1, -1, 65536, -65536, 32768, 2147483647, -2147483647};
  for (int frac_bits : {0, 1, 7, 12, 15}) {
    for (std::int32_t alpha_q : scale_edges) {
      for (std::int32_t beta_q : scale_edges) {
        for (bbs::index n = 1; n <= 19; n += 6) {
          std::vector<std::uint32_t> sums(static_cast<std::size_t>(n));
          std::vector<std::int16_t> y(static_cast<std::size_t>(n) + 1), want;
          for (std::size_t i = 0; i < sums.size(); ++i) {
            sums[i] = rng() % 3 == 0 ? sum_edges[rng() % 7] : static_cast<std::uint32_t>(rng()) >> (rng() % 32);
            y[i] = rng() % 3 == 0 ? y_edges[rng() % 5] : static_cast<std::int16_t>(rng());
          }
          y.back() = 12345;  // past the end: must stay as it is
          want = y;
          for (std::size_t i = 0; i < sums.size(); ++i) {
            want[i] =
                rules::scale_and_add(rules::to_signed(sums[i]), alpha_q, beta_q, beta_q == 0 ? 0 : y[i], frac_bits);
          }
          bbs::backend::simd_impl::scale_and_add_avx512(sums.data(), n, alpha_q, beta_q, frac_bits, y.data());
          INFO("F " << frac_bits << ", alpha_q " << alpha_q << ", beta_q " << beta_q << ", n " << n);
          REQUIRE(y == want);
        }
      }
    }
  }
}
#endif
