// placeholder
#include "backend/fpga/fpga_testbed.hpp"
TEST_CASE("fpga backend: placeholder") { REQUIRE(true); }
