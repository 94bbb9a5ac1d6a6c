// The one event loop of gatewayd (libuv). Everything runs on the thread that calls run():
// adapters' sockets (their own and libmosquitto's / gloox's / libcoap's fds), timers, signals,
// the router. Foreign threads may only call post().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

struct uv_loop_s;

namespace gw {

class EventLoop {
 public:
  using FdCallback = std::function<void(int fd, uint32_t events)>;  // GW_FD_* bits

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watch an fd for GW_FD_READ / GW_FD_WRITE. One watch per fd. Unwatch before closing the fd.
  // Returns 0 on failure (e.g. the fd is not pollable).
  uint64_t watch_fd(int fd, uint32_t events, FdCallback cb);
  bool update_fd(uint64_t id, uint32_t events);
  void unwatch_fd(uint64_t id);

  // One-shot (repeat_ms = 0) or repeating timer. Cancelling an unknown id is a no-op.
  uint64_t start_timer(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> cb);
  void stop_timer(uint64_t id);

  // Thread-safe: runs cb on the loop thread. Returns false once the loop is shutting down.
  bool post(std::function<void()> cb);

  // Runs cb on the loop thread when signum arrives (SIGTERM, SIGINT, SIGHUP).
  void on_signal(int signum, std::function<void()> cb);

  // Runs cb once per loop iteration while enabled (used by the router to drain its queue).
  void set_idle(std::function<void()> cb);
  void enable_idle(bool on);

  void run();   // until stop()
  void stop();  // from the loop thread
  bool run_once(uint64_t max_wait_ms);  // one iteration (tests); false if nothing is left to do

  uint64_t now_ms() const;  // monotonic
  static int64_t wall_ms();

  // How long the loop's callbacks ran (fd events, timers, posted work, the idle hook): every
  // callback is one turn during which nothing else on the gateway is served, so the longest turns
  // are the latency a device or a cloud peer sees added. A turn over 50 ms is logged (component
  // "loop", WARN); over 5 ms at DEBUG.
  struct Stats {
    static constexpr int kBuckets = 6;  // < 0.1, < 1, < 2, < 5, < 50 ms, >= 50 ms
    uint64_t turns = 0;
    uint64_t by_duration[kBuckets] = {};
    uint64_t busy_us = 0;  // sum of all turns
    uint64_t max_us = 0;
    const char* max_kind = "";
  };
  const Stats& stats() const;
  uv_loop_s* uv();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw
