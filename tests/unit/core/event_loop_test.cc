#include <doctest/doctest.h>

#include <chrono>

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
