// LayoutCache: one arrangement per type, built once even when many threads ask at once; copies
// start empty, moves keep what was built, clear() drops everything.
#include <atomic>
#include <thread>

#include "testbed.hpp"

namespace {

struct Arrangement {
  int value;
};
struct Other {
  double value;
};

}  // namespace

TEST_CASE("a layout cache builds each arrangement once, also under concurrent first use", "[storage][layout_cache]") {
  bbs::LayoutCache cache;
  std::atomic<int> builds{0};
  std::vector<std::thread> threads;
  std::vector<const Arrangement*> seen(8, nullptr);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      seen[static_cast<std::size_t>(t)] = cache.get<Arrangement>([&] {
        ++builds;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return Arrangement{42};
      }).get();
    });
  }
  for (auto& th : threads) th.join();
  CHECK(builds == 1);
  for (const Arrangement* p : seen) {
    REQUIRE(p == seen[0]);
    CHECK(p->value == 42);
  }
  CHECK(cache.holds<Arrangement>());
  CHECK_FALSE(cache.holds<Other>());
  CHECK(cache.get<Other>([] { return Other{1.5}; })->value == 1.5);
  CHECK(cache.size() == 2);

  const bbs::LayoutCache copy = cache;
  CHECK(copy.size() == 0);
  bbs::LayoutCache moved = std::move(cache);
  CHECK(moved.size() == 2);
  CHECK(moved.get<Arrangement>([] { return Arrangement{0}; }).get() == seen[0]);
  // A holder keeps its arrangement alive across clear(); the cache builds a fresh one.
  const auto held = moved.get<Arrangement>([] { return Arrangement{0}; });
  moved.clear();
  CHECK_FALSE(moved.holds<Arrangement>());
  CHECK(held->value == 42);
  CHECK(moved.get<Arrangement>([] { return Arrangement{7}; })->value == 7);
}
