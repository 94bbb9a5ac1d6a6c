// Test rig of the oneM2M CSE tests and benchmark: a real mosquitto broker on 127.0.0.1 (free port,
// generated config, stopped by PID) and an independent MQTT client (libmosquitto with its own
// network thread) that speaks the oneM2M binding with hand-built primitives — JSON via
// nlohmann, CBOR via nlohmann::json::to_cbor, XML as literal text — not through the codec under test.
#pragma once

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "gateway.h"
#include "gw/event_loop.h"
#include "test_util.h"

namespace m2mtest {

using Json = nlohmann::ordered_json;

// One turn of `loop`, waiting at most max_ms for I/O. EventLoop::run_once arms its guard timer
// against libuv's cached loop time; when the caller did anything else since the loop last ran (ran
// another gateway's loop, waited on a client), that time is stale, the guard is due at once, and
// the poll then sleeps until the loop's next real timer or I/O — up to the CSE's 1 s tick. With two
// gateways pumped alternately every hop cost ~1 s (the Mcc test took minutes). Refresh the time
// first (gw::EventLoop::now_ms updates it).
inline void turn(gw::EventLoop& loop, uint64_t max_ms) {
  loop.now_ms();
  loop.run_once(max_ms);
}

// The live status (status_json) of adapter `name` of a gateway, or null.
inline Json adapter_status(gw::Gateway& g, const std::string& name) {
  auto* in = g.host().find(name);
  if (!in || !in->self() || !in->module()->desc->status) return Json();
  gw_buf b{};
  if (in->module()->desc->status(in->self(), &b) != GW_OK || !b.data) return Json();
  std::string s(reinterpret_cast<const char*>(b.data), b.len);
  std::free(b.data);
  return Json::parse(s, nullptr, false);
}

inline int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

class Broker {
 public:
  explicit Broker(const gwtest::TempDir& dir) : dir_(dir), port_(free_port()) { start(); }
  ~Broker() { stop(); }
  void stop() {
    if (!proc_) return;
    proc_->signal(SIGTERM);
    proc_->wait(std::chrono::seconds(5));
    proc_.reset();
  }
  void start() {
    auto conf = dir_.write("mosquitto.conf", "listener " + std::to_string(port_) +
                                                " 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
                                                "persistence false\nmax_inflight_messages 1000\nmax_queued_messages 100000\n");
    proc_ = std::make_unique<gwtest::Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf},
                                              dir_.file("mosquitto.log"));
    for (int i = 0; i < 300 && !port_open(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int port() const { return port_; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

 private:
  const gwtest::TempDir& dir_;
  int port_;
  std::unique_ptr<gwtest::Process> proc_;
};

struct Msg {
  std::string topic;
  std::string payload;
};

// An MQTT client with its own libmosquitto thread. Everything it receives is queued; an optional
// auto-responder answers incoming requests (e.g. notifications) from that thread.
class Client {
 public:
  Client(int port, const std::string& client_id, const std::vector<std::string>& subs) : subs_(subs) {
    static int init = mosquitto_lib_init();
    (void)init;
    m_ = mosquitto_new(client_id.c_str(), true, this);
    mosquitto_int_option(m_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m_, 1000);
    mosquitto_connect_callback_set(m_, [](mosquitto* m, void* u, int rc) {
      auto* c = static_cast<Client*>(u);
      if (rc == 0)
        for (auto& s : c->subs_) mosquitto_subscribe(m, &c->sub_mid_, s.c_str(), 1);
    });
    mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* u, int, int, const int*) {
      auto* c = static_cast<Client*>(u);
      std::lock_guard<std::mutex> g(c->mu_);
      ++c->subscribed_;
      c->cv_.notify_all();
    });
    mosquitto_message_callback_set(m_, [](mosquitto* m, void* u, const mosquitto_message* msg) {
      auto* c = static_cast<Client*>(u);
      Msg x{msg->topic, std::string(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen))};
      if (c->responder) {
        auto r = c->responder(x);
        if (!r.topic.empty())
          mosquitto_publish(m, nullptr, r.topic.c_str(), static_cast<int>(r.payload.size()), r.payload.data(), 1, false);
      }
      std::lock_guard<std::mutex> g(c->mu_);
      c->inbox_.push_back(std::move(x));
      c->cv_.notify_all();
    });
    mosquitto_connect(m_, "127.0.0.1", port, 30);
    mosquitto_loop_start(m_);
    std::unique_lock<std::mutex> g(mu_);
    cv_.wait_for(g, std::chrono::seconds(5), [&] { return subscribed_ >= static_cast<int>(subs_.size()); });
  }
  ~Client() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  void publish(const std::string& topic, const std::string& payload, int qos = 1) {
    mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, false);
  }
  // Removes and returns the first message matching pred, waiting (while calling pump) up to ms.
  bool take(const std::function<bool(const Msg&)>& pred, Msg& out, int ms, const std::function<void()>& pump) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      {
        std::unique_lock<std::mutex> g(mu_);
        for (auto it = inbox_.begin(); it != inbox_.end(); ++it)
          if (pred(*it)) {
            out = std::move(*it);
            inbox_.erase(it);
            return true;
          }
        if (!pump) cv_.wait_for(g, std::chrono::milliseconds(5));
      }
      if (std::chrono::steady_clock::now() > end) return false;
      if (pump) pump();
    }
  }
  size_t count(const std::function<bool(const Msg&)>& pred) {
    std::lock_guard<std::mutex> g(mu_);
    size_t n = 0;
    for (auto& m : inbox_) n += pred(m) ? 1 : 0;
    return n;
  }
  void clear() {
    std::lock_guard<std::mutex> g(mu_);
    inbox_.clear();
  }
  std::function<Msg(const Msg&)> responder;  // runs on the client's thread

 private:
  mosquitto* m_ = nullptr;
  std::vector<std::string> subs_;
  int sub_mid_ = 0;
  int subscribed_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Msg> inbox_;
};

inline std::string fmt_payload(const Json& j, const std::string& fmt) {
  if (fmt == "cbor") {
    auto v = Json::to_cbor(j);
    return std::string(v.begin(), v.end());
  }
  return j.dump();
}

inline Json parse_payload(const std::string& p, const std::string& fmt) {
  if (fmt == "cbor") return Json::from_cbor(p, true, false);
  return Json::parse(p, nullptr, false);
}

}  // namespace m2mtest
