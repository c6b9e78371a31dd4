// Reference backend transposed SpMV against dense Eigen on every testbed shape.
#include "backend/conformance.hpp"

TEMPLATE_TEST_CASE("reference spmv_transposed matches dense Eigen on every shape", "[backend][reference][spmv_t]",
                   float, double) {
  std::uint32_t seed = 200;
  for (const auto& s : bbs_test::all_shapes()) {
    INFO(s.name());
    bbs_test::check_spmv_transposed<bbs::backend::reference, TestType>(s, seed += 3);
  }
}
