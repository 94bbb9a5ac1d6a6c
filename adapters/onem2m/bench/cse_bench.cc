// Benchmark of the oneM2M CSE over MQTT, measured against a baseline on the same broker in the
// same run:
//   baseline  a null echo responder (libmosquitto client "C::id-echo") answering every request with
//             a canned response — the cost of the MQTT round trip through mosquitto alone
//   cse       RETRIEVE of a container through gw_onem2m (in-process Gateway, real module)
//   cse       contentInstance CREATE (mni 100, so eviction runs; SQLite synchronous=FULL)
// A load client keeps `window` requests outstanding; p50/p99 are per-request round trips.
// Usage: onem2m_cse_bench [requests=5000] [window=16]
#include <mosquitto.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "gateway.h"
#include "rig.h"

using m2mtest::Json;
using Clock = std::chrono::steady_clock;

namespace {

std::string rqi_of(const std::string& p) {
  auto k = p.find("\"rqi\":\"");
  if (k == std::string::npos) return "";
  k += 7;
  return p.substr(k, p.find('"', k) - k);
}

// Null echo responder on its own libmosquitto thread.
struct Echo {
  mosquitto* m;
  explicit Echo(int port) {
    m = mosquitto_new("C::id-echo", true, this);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m, 1000);
    mosquitto_connect_callback_set(m, [](mosquitto* mm, void*, int) { mosquitto_subscribe(mm, nullptr, "/oneM2M/req/+/id-echo/#", 1); });
    mosquitto_message_callback_set(m, [](mosquitto* mm, void*, const mosquitto_message* msg) {
      std::string p(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
      std::string topic = msg->topic;
      topic.replace(0, std::string("/oneM2M/req/").size(), "/oneM2M/resp/");
      std::string r = R"({"rsc":2000,"rqi":")" + rqi_of(p) +
                      R"(","to":"Cbench","fr":"/id-echo","rvi":"3","pc":{"m2m:cnt":{"rn":"cnt","ty":3,"ri":"cnt1","pi":"Cbench","cni":0,"cbs":0,"st":0,"ct":"20260101T000000","lt":"20260101T000000"}}})";
      mosquitto_publish(mm, nullptr, topic.c_str(), static_cast<int>(r.size()), r.data(), 1, false);
    });
    mosquitto_connect(m, "127.0.0.1", port, 30);
    mosquitto_loop_start(m);
  }
  ~Echo() {
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
  }
};

// The load client: keeps `window` requests in flight; request i is make(i).
struct Load {
  mosquitto* m;
  std::mutex mu;
  std::unordered_map<std::string, Clock::time_point> sent_at;
  std::vector<double> lat_us;
  std::atomic<int> sent{0}, done{0}, errors{0};
  int total = 0;
  std::string topic;
  std::function<std::string(int)> make;
  std::atomic<bool> subscribed{false};

  explicit Load(int port) {
    m = mosquitto_new("A::Cbench", true, this);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m, 1000);
    mosquitto_connect_callback_set(m, [](mosquitto* mm, void*, int) { mosquitto_subscribe(mm, nullptr, "/oneM2M/resp/Cbench/#", 1); });
    mosquitto_subscribe_callback_set(m, [](mosquitto*, void* u, int, int, const int*) { static_cast<Load*>(u)->subscribed = true; });
    mosquitto_message_callback_set(m, [](mosquitto* mm, void* u, const mosquitto_message* msg) {
      auto* l = static_cast<Load*>(u);
      std::string p(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
      auto now = Clock::now();
      std::string rqi = rqi_of(p);
      {
        std::lock_guard<std::mutex> g(l->mu);
        auto it = l->sent_at.find(rqi);
        if (it == l->sent_at.end()) return;
        l->lat_us.push_back(std::chrono::duration<double, std::micro>(now - it->second).count());
        l->sent_at.erase(it);
      }
      if (p.find("\"rsc\":20") == std::string::npos) ++l->errors;
      ++l->done;
      l->send_next(mm);
    });
    mosquitto_connect(m, "127.0.0.1", port, 30);
    mosquitto_loop_start(m);
    for (int i = 0; i < 500 && !subscribed; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~Load() {
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
  }
  void send_next(mosquitto* mm) {
    int i = sent++;
    if (i >= total) return;
    std::string payload = make(i);
    {
      std::lock_guard<std::mutex> g(mu);
      sent_at[rqi_of(payload)] = Clock::now();
    }
    mosquitto_publish(mm, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  }
};

struct Result {
  double per_s = 0, p50 = 0, p99 = 0;
  int errors = 0;
};

Result run(Load& l, const std::string& topic, int total, int window, const std::function<std::string(int)>& make,
           const std::function<void()>& pump) {
  l.topic = topic;
  l.make = make;
  l.total = total;
  l.sent = 0;
  l.done = 0;
  l.errors = 0;
  l.lat_us.clear();
  auto t0 = Clock::now();
  for (int i = 0; i < window; ++i) l.send_next(l.m);
  auto deadline = t0 + std::chrono::seconds(total < 10 ? 5 : 120);
  while (l.done < total && Clock::now() < deadline) pump();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  Result r;
  r.per_s = l.done / secs;
  r.errors = l.errors + (total - l.done);
  std::lock_guard<std::mutex> g(l.mu);
  std::sort(l.lat_us.begin(), l.lat_us.end());
  if (!l.lat_us.empty()) {
    r.p50 = l.lat_us[l.lat_us.size() / 2] / 1000.0;
    r.p99 = l.lat_us[std::min(l.lat_us.size() - 1, l.lat_us.size() * 99 / 100)] / 1000.0;
  }
  return r;
}

void print(const char* name, const Result& r, double baseline) {
  std::printf("%-44s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %d", name, r.per_s, r.p50, r.p99, r.errors);
  if (baseline > 0) std::printf("  ratio %.2f", r.per_s / baseline);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int total = argc > 1 ? std::atoi(argv[1]) : 5000;
  int window = argc > 2 ? std::atoi(argv[2]) : 16;
  mosquitto_lib_init();
  gwtest::TempDir dir;
  m2mtest::Broker broker(dir);
  dir.write("maps/m.textproto", "");
  dir.write("gw.textproto", R"(gateway_id: "bench"
mapping_file: "maps"
adapter { name: "onem2m" module: "onem2m" config { [type.googleapis.com/gw.onem2m.v1.OneM2MConfig] {
  cse_id: "/id-mn" cse_name: "cse-mn" broker { url: ")" + broker.url() + R"(" } } } }
)");
  gw::EventLoop loop;
  gw::Gateway::Options o;
  o.config_path = dir.file("gw.textproto");
  o.module_dir = gwtest::module_dir();
  o.state_dir = dir.file("state");
  auto g = gw::Gateway::create(loop, o);
  if (!g.ok() || !g.value()->start().ok()) {
    std::fprintf(stderr, "gateway: %s\n", g.ok() ? "start failed" : g.error().message.c_str());
    return 1;
  }
  auto pump = [&] { loop.run_once(1); };
  auto t_start = Clock::now();
  while (Clock::now() - t_start < std::chrono::milliseconds(500)) pump();  // CSE connects and subscribes
  Echo echo(broker.port());
  Load load(broker.port());
  auto req = [](int i, const std::string& to, int op, const std::string& extra) {
    return R"({"op":)" + std::to_string(op) + R"(,"to":")" + to + R"(","fr":"Cbench","rqi":"b)" + std::to_string(i) +
           R"(","rvi":"3")" + extra + "}";
  };
  // Setup through the CSE: register the AE, create the container.
  auto setup = [&](const std::string& p) {
    load.topic = "/oneM2M/req/Cbench/id-mn/json";
    Result r = run(load, load.topic, 1, 1, [&](int) { return p; }, pump);
    return r.errors == 0;
  };
  if (!setup(R"({"op":1,"to":"cse-mn","fr":"Cbench","rqi":"s1","rvi":"3","ty":2,"pc":{"m2m:ae":{"rn":"bench","api":"Nbench","rr":true}}})") ||
      !setup(R"({"op":1,"to":"cse-mn/bench","fr":"Cbench","rqi":"s2","rvi":"3","ty":3,"pc":{"m2m:cnt":{"rn":"cnt","mni":100}}})")) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  std::printf("oneM2M CSE over MQTT (mosquitto, loopback, QoS 1, TCP_NODELAY), %d requests, window %d\n", total, window);
  for (int w : {1, window}) {
    int n = w == 1 ? std::max(500, total / 5) : total;
    Result base = run(load, "/oneM2M/req/Cbench/id-echo/json", n, w,
                      [&](int i) { return req(i, "/id-echo/cnt1", 2, ""); }, pump);
    Result ret = run(load, "/oneM2M/req/Cbench/id-mn/json", n, w,
                     [&](int i) { return req(i, "cse-mn/bench/cnt", 2, ""); }, pump);
    Result cin = run(load, "/oneM2M/req/Cbench/id-mn/json", n, w,
                     [&](int i) { return req(i, "cse-mn/bench/cnt", 1, R"(,"ty":4,"pc":{"m2m:cin":{"con":"payload-)" + std::to_string(i) + R"("}})"); },
                     pump);
    std::printf("-- window %d, %d requests each\n", w, n);
    print("baseline: null echo responder RETRIEVE", base, 0);
    print("CSE RETRIEVE container", ret, base.per_s);
    print("CSE CREATE contentInstance (sync=FULL)", cin, base.per_s);
    if (base.errors || ret.errors || cin.errors) return 2;
  }
  bool stopped = false;
  g.value()->begin_shutdown([&] { stopped = true; });
  for (int i = 0; i < 300 && !stopped; ++i) loop.run_once(10);
  return 0;
}
