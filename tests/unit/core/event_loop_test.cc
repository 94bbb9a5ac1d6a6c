#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "gw/event_loop.h"

TEST_CASE("event loop: run_once(max_wait) returns within its bound even when a far timer is pending") {
  gw::EventLoop loop;
  bool far_fired = false;
  loop.start_timer(30000, 0, [&] { far_fired = true; });
  for (uint64_t wait : {0u, 1u, 5u}) {
    CAPTURE(wait);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) loop.run_once(wait);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    // 20 turns of at most 2 x wait each; generous slack for a loaded machine, far below the 30 s timer.
    CHECK(ms < 20 * 2 * static_cast<long>(wait) + 2000);
  }
  CHECK_FALSE(far_fired);
}

TEST_CASE("event loop: every callback turn is counted and timed (stats)") {
  gw::EventLoop loop;
  const auto before = loop.stats();
  CHECK(before.turns == 0);
  int fired = 0;
  // A timer that holds the loop for 3 ms (at least: sleeping never returns early), one quick post.
  loop.start_timer(0, 0, [&] {
    ++fired;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  });
  loop.post([&] { ++fired; });
  for (int i = 0; i < 20 && fired < 2; ++i) loop.run_once(5);
  REQUIRE(fired == 2);
  const auto& s = loop.stats();
  CHECK(s.turns >= 2);
  CHECK(s.max_us >= 3000);
  CHECK(std::string(s.max_kind) == "timer");
  CHECK(s.busy_us >= 3000);
  uint64_t total = 0, at_least_2ms = 0;
  for (int b = 0; b < gw::EventLoop::Stats::kBuckets; ++b) total += s.by_duration[b];
  for (int b = 3; b < gw::EventLoop::Stats::kBuckets; ++b) at_least_2ms += s.by_duration[b];
  CHECK(total == s.turns);
  CHECK(at_least_2ms >= 1);  // the 3 ms timer turn
}
