// Reference backend SpMM against dense Eigen on every testbed shape and several batch sizes.
#include "backend/conformance.hpp"

TEMPLATE_TEST_CASE("reference spmm matches dense Eigen on every shape", "[backend][reference][spmm]", float, double) {
  std::uint32_t seed = 300;
  for (const auto& s : bbs_test::all_shapes()) {
    for (bbs::index n : {0, 1, 3, 16}) {
      INFO(s.name() << " batch " << n);
      bbs_test::check_spmm<bbs::backend::reference, TestType>(s, n, seed += 3);
    }
  }
}
