#include "gw/event_loop.h"

#include <uv.h>

#include <chrono>
#include <ctime>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "gw/adapter_abi.h"
#include "log.h"

namespace gw {

struct EventLoop::Impl {
  uv_loop_t loop{};
  uint64_t next_id = 1;

  struct Poll {
    uv_poll_t handle{};
    FdCallback cb;
    uint64_t id;
    Impl* impl;
  };
  struct Timer {
    uv_timer_t handle{};
    std::function<void()> cb;
    uint64_t id;
    Impl* impl;
    bool repeating;
  };
  struct Signal {
    uv_signal_t handle{};
    std::function<void()> cb;
  };
  std::unordered_map<uint64_t, Poll*> polls;
  std::unordered_map<uint64_t, Timer*> timers;
  std::vector<Signal*> signals;

  uv_async_t async{};
  std::mutex post_mu;
  std::deque<std::function<void()>> posted;
  bool closing = false;

  uv_idle_t idle{};
  std::function<void()> idle_cb;
  bool idle_on = false;

  Stats stats;
};

namespace {
uint64_t mono_us() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000 + uint64_t(t.tv_nsec) / 1000;
}

// Times one callback turn into the loop's Stats (see event_loop.h).
class Turn {
 public:
  Turn(EventLoop::Stats& s, const char* kind) : s_(s), kind_(kind), t0_(mono_us()) {}
  ~Turn() {
    uint64_t us = mono_us() - t0_;
    ++s_.turns;
    s_.busy_us += us;
    int b = us < 100 ? 0 : us < 1000 ? 1 : us < 2000 ? 2 : us < 5000 ? 3 : us < 50000 ? 4 : 5;
    ++s_.by_duration[b];
    if (us > s_.max_us) {
      s_.max_us = us;
      s_.max_kind = kind_;
    }
    if (us >= 50000) GW_LOG(Warn, "loop", "a " << kind_ << " callback held the loop for " << us / 1000 << " ms");
    else if (us >= 5000) GW_LOG(Debug, "loop", "a " << kind_ << " callback held the loop for " << us / 1000 << " ms");
  }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

 private:
  EventLoop::Stats& s_;
  const char* kind_;
  uint64_t t0_;
};
}  // namespace

namespace {
int to_uv(uint32_t ev) {
  int e = 0;
  if (ev & GW_FD_READ) e |= UV_READABLE | UV_DISCONNECT;
  if (ev & GW_FD_WRITE) e |= UV_WRITABLE;
  return e;
}
}  // namespace

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
  uv_loop_init(&impl_->loop);
  impl_->async.data = impl_.get();
  uv_async_init(&impl_->loop, &impl_->async, [](uv_async_t* a) {
    auto* impl = static_cast<Impl*>(a->data);
    Turn turn(impl->stats, "posted");
    std::deque<std::function<void()>> work;
    {
      std::lock_guard lk(impl->post_mu);
      work.swap(impl->posted);
    }
    for (auto& f : work) f();
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl_->async));
  impl_->idle.data = impl_.get();
  uv_idle_init(&impl_->loop, &impl_->idle);
}

EventLoop::~EventLoop() {
  {
    std::lock_guard lk(impl_->post_mu);
    impl_->closing = true;
  }
  for (auto& [id, p] : impl_->polls) {
    uv_poll_stop(&p->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) { delete static_cast<Impl::Poll*>(h->data); });
  }
  impl_->polls.clear();
  for (auto& [id, t] : impl_->timers) {
    uv_timer_stop(&t->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&t->handle), [](uv_handle_t* h) { delete static_cast<Impl::Timer*>(h->data); });
  }
  impl_->timers.clear();
  for (auto* s : impl_->signals) {
    uv_signal_stop(&s->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->handle), [](uv_handle_t* h) { delete static_cast<Impl::Signal*>(h->data); });
  }
  impl_->signals.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->async), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->idle), nullptr);
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
  uv_loop_close(&impl_->loop);
}

uint64_t EventLoop::watch_fd(int fd, uint32_t events, FdCallback cb) {
  auto* p = new Impl::Poll{};
  p->cb = std::move(cb);
  p->id = impl_->next_id++;
  p->impl = impl_.get();
  p->handle.data = p;
  int rc = uv_poll_init(&impl_->loop, &p->handle, fd);
  if (rc != 0) {
    GW_LOG(Error, "loop", "cannot watch fd " << fd << ": " << uv_strerror(rc));
    delete p;
    return 0;
  }
  impl_->polls[p->id] = p;
  if (events) update_fd(p->id, events);
  return p->id;
}

bool EventLoop::update_fd(uint64_t id, uint32_t events) {
  auto it = impl_->polls.find(id);
  if (it == impl_->polls.end()) return false;
  auto* p = it->second;
  if (events == 0) return uv_poll_stop(&p->handle) == 0;
  return uv_poll_start(&p->handle, to_uv(events), [](uv_poll_t* h, int status, int ev) {
           auto* p = static_cast<Impl::Poll*>(h->data);
           Turn turn(p->impl->stats, "fd");
           uint32_t out = 0;
           if (status < 0) out |= GW_FD_ERROR | GW_FD_READ;
           if (ev & (UV_READABLE | UV_DISCONNECT)) out |= GW_FD_READ;
           if (ev & UV_WRITABLE) out |= GW_FD_WRITE;
           auto cb = p->cb;  // the callback may unwatch this fd
           cb(h->io_watcher.fd, out);
         }) == 0;
}

void EventLoop::unwatch_fd(uint64_t id) {
  auto it = impl_->polls.find(id);
  if (it == impl_->polls.end()) return;
  auto* p = it->second;
  impl_->polls.erase(it);
  uv_poll_stop(&p->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) { delete static_cast<Impl::Poll*>(h->data); });
}

uint64_t EventLoop::start_timer(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> cb) {
  auto* t = new Impl::Timer{};
  t->cb = std::move(cb);
  t->id = impl_->next_id++;
  t->impl = impl_.get();
  t->repeating = repeat_ms != 0;
  t->handle.data = t;
  uv_timer_init(&impl_->loop, &t->handle);
  impl_->timers[t->id] = t;
  uv_timer_start(&t->handle, [](uv_timer_t* h) {
    auto* t = static_cast<Impl::Timer*>(h->data);
    uint64_t id = t->id;
    Impl* impl = t->impl;
    Turn turn(impl->stats, "timer");
    auto cb = t->cb;  // copy: the callback may stop this timer
    if (!t->repeating) {
      impl->timers.erase(id);
      uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* hh) { delete static_cast<Impl::Timer*>(hh->data); });
    }
    cb();
  }, timeout_ms, repeat_ms);
  return t->id;
}

void EventLoop::stop_timer(uint64_t id) {
  auto it = impl_->timers.find(id);
  if (it == impl_->timers.end()) return;
  auto* t = it->second;
  impl_->timers.erase(it);
  uv_timer_stop(&t->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->handle), [](uv_handle_t* h) { delete static_cast<Impl::Timer*>(h->data); });
}

bool EventLoop::post(std::function<void()> cb) {
  {
    std::lock_guard lk(impl_->post_mu);
    if (impl_->closing) return false;
    impl_->posted.push_back(std::move(cb));
  }
  uv_async_send(&impl_->async);
  return true;
}

void EventLoop::on_signal(int signum, std::function<void()> cb) {
  auto* s = new Impl::Signal{};
  s->cb = std::move(cb);
  s->handle.data = s;
  uv_signal_init(&impl_->loop, &s->handle);
  uv_signal_start(&s->handle, [](uv_signal_t* h, int) { static_cast<Impl::Signal*>(h->data)->cb(); }, signum);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->handle));
  impl_->signals.push_back(s);
}

void EventLoop::set_idle(std::function<void()> cb) { impl_->idle_cb = std::move(cb); }

void EventLoop::enable_idle(bool on) {
  if (on == impl_->idle_on) return;
  impl_->idle_on = on;
  if (on)
    uv_idle_start(&impl_->idle, [](uv_idle_t* h) {
      auto* impl = static_cast<Impl*>(h->data);
      Turn turn(impl->stats, "idle");
      if (impl->idle_cb) impl->idle_cb();
    });
  else
    uv_idle_stop(&impl_->idle);
}

void EventLoop::run() {
  uv_ref(reinterpret_cast<uv_handle_t*>(&impl_->async));
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl_->async));
}

void EventLoop::stop() { uv_stop(&impl_->loop); }

bool EventLoop::run_once(uint64_t max_wait_ms) {
  // A guard timer bounds the wait so tests never hang. It repeats: if it already fires in the timer
  // phase before the poll (the machine was slow, or max_wait_ms is 0), it is due again max_wait_ms
  // later, so the poll can never wait for some far-away timer instead (at most 2 x max_wait_ms).
  uv_timer_t guard;
  uv_timer_init(&impl_->loop, &guard);
  uv_update_time(&impl_->loop);
  uint64_t period = max_wait_ms ? max_wait_ms : 1;
  uv_timer_start(&guard, [](uv_timer_t*) {}, max_wait_ms, period);
  uv_ref(reinterpret_cast<uv_handle_t*>(&impl_->async));
  int alive = uv_run(&impl_->loop, UV_RUN_ONCE);
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl_->async));
  uv_timer_stop(&guard);
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  uv_run(&impl_->loop, UV_RUN_NOWAIT);
  return alive != 0;
}

uint64_t EventLoop::now_ms() const {
  uv_update_time(&impl_->loop);
  return uv_now(&impl_->loop);
}

int64_t EventLoop::wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

uv_loop_s* EventLoop::uv() { return &impl_->loop; }

const EventLoop::Stats& EventLoop::stats() const { return impl_->stats; }

}  // namespace gw
