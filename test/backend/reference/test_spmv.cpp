// Reference backend SpMV against dense Eigen on every testbed shape.
#include "backend/conformance.hpp"

TEMPLATE_TEST_CASE("reference spmv matches dense Eigen on every shape", "[backend][reference][spmv]", float, double) {
  std::uint32_t seed = 100;
  for (const auto& s : bbs_test::all_shapes()) {
    INFO(s.name());
    bbs_test::check_spmv<bbs::backend::reference, TestType>(s, seed += 3);
  }
}
