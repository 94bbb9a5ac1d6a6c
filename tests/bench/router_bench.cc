// Router throughput: REQUEST/RESPONSE round trips between an in-process probe adapter and the real
// loopback module (loaded through the real loader), and REPORT fan-out. Prints envelopes/s, heap
// allocations per envelope, and the ratio to a baseline measured in the same run: serializing and
// parsing the same envelope once per hop (the floor of crossing the C ABI), with no routing.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "gateway.h"
#include "gw/adapter_sdk.h"
#include "gw/value.h"
#include "log.h"
#include "test_util.h"

static std::atomic<uint64_t> g_allocs{0};
void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace {

struct Probe;
Probe* g_probe = nullptr;

struct Probe : gw::sdk::Adapter {
  explicit Probe(const gw_host_api* api) : Adapter(api) { g_probe = this; }
  std::string configure(const std::string&) override { return ""; }
  std::string start() override { return ""; }
  int deliver(const gw::v1::Envelope& env) override {
    if (env.kind() == gw::v1::RESPONSE) ++responses;
    return GW_OK;
  }
  uint64_t responses = 0;
};
const gw_adapter_descriptor kProbe = gw::sdk::make_descriptor<Probe>("probe", "1", "bench probe", nullptr);

gw::v1::Envelope sample_request(uint64_t i) {
  gw::v1::Envelope e;
  e.set_kind(gw::v1::REQUEST);
  e.set_op(gw::v1::UPDATE);
  e.set_correlation_id("b-" + std::to_string(i));
  e.mutable_target()->set_adapter("devices");
  e.mutable_target()->set_path("0/video/sensitivity");
  gw::v1::Value v;
  gw::map_set(v, "value", gw::make_int(static_cast<int64_t>(i % 100)));
  gw::map_set(v, "unit", gw::make_string("percent"));
  *e.mutable_content() = v;
  return e;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = argc > 1 && std::strcmp(argv[1], "--smoke") == 0;
  const uint64_t round_trips = smoke ? 20000 : 400000;
  const uint64_t window = 256;
  gw::log::set_level(gw::log::Level::Warn);

  gwtest::TempDir t;
  t.write("maps/routes.textproto",
          "route { name: \"up\" from_adapter: \"probe\" kind: REPORT to_adapter: \"devices\" }\n");
  auto cfg = t.write("gw.textproto", R"(gateway_id: "bench"
mapping_file: "maps"
router { request_timeout_ms: 60000 max_pending: 100000 }
adapter { name: "devices" module: "loopback"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { respond: true } } }
adapter { name: "probe" module: "probe" }
)");
  gw::EventLoop loop;
  gw::Gateway::Options o;
  o.config_path = cfg;
  o.module_dir = gwtest::module_dir();
  o.state_dir = t.file("state");
  o.builtins = {&kProbe};
  auto g = gw::Gateway::create(loop, o);
  if (!g || !g.value()->start()) {
    std::fprintf(stderr, "router_bench: cannot start gateway: %s\n", g ? "start failed" : g.error().message.c_str());
    return 1;
  }
  auto& router = g.value()->router();

  // Pre-build requests so the measured phase counts the router's work, not the probe's.
  std::vector<std::string> wire(window);
  for (uint64_t i = 0; i < window; ++i) sample_request(i).SerializeToString(&wire[i]);
  const auto* api = g_probe->host().api();

  // --- Baseline: one serialize + one parse per hop (4 hops per round trip), no routing.
  uint64_t allocs0 = g_allocs.load();
  auto t0 = std::chrono::steady_clock::now();
  uint64_t sink = 0;
  for (uint64_t i = 0; i < round_trips * 2; ++i) {
    gw::v1::Envelope e;
    e.ParseFromString(wire[i % window]);
    std::string out;
    e.SerializeToString(&out);
    gw::v1::Envelope e2;
    e2.ParseFromString(out);
    sink += e2.correlation_id().size();
  }
  double base_s = seconds_since(t0);
  double base_rate = (round_trips * 2) / base_s;
  double base_allocs = double(g_allocs.load() - allocs0) / double(round_trips * 2);

  // --- Request/response round trips through router + host + loopback module.
  uint64_t sent = 0;
  allocs0 = g_allocs.load();
  t0 = std::chrono::steady_clock::now();
  while (g_probe->responses < round_trips) {
    while (sent < round_trips && sent - g_probe->responses < window) {
      // Unique correlation ids: patch the pre-built request's id in a copy.
      gw::v1::Envelope e;
      e.ParseFromString(wire[sent % window]);
      e.set_correlation_id("b-" + std::to_string(sent));
      std::string s;
      e.SerializeToString(&s);
      api->emit(api->ctx, reinterpret_cast<const uint8_t*>(s.data()), s.size());
      ++sent;
    }
    loop.run_once(0);
  }
  double rr_s = seconds_since(t0);
  uint64_t envelopes = round_trips * 2;  // each round trip moves a request and a response
  double rr_rate = envelopes / rr_s;
  double rr_allocs = double(g_allocs.load() - allocs0) / double(envelopes);

  // --- REPORT fan-out probe -> loopback (fire and forget).
  gw::v1::Envelope rep;
  rep.set_kind(gw::v1::REPORT);
  rep.mutable_origin()->set_path("0/motion/vmd");
  *rep.mutable_content() = gw::make_bool(true);
  std::string rep_wire;
  rep.SerializeToString(&rep_wire);
  const uint64_t reports = round_trips;
  allocs0 = g_allocs.load();
  t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < reports; ++i) {
    while (api->emit(api->ctx, reinterpret_cast<const uint8_t*>(rep_wire.data()), rep_wire.size()) == GW_ERR_BUSY)
      loop.run_once(0);
    if ((i & 255) == 0) loop.run_once(0);
  }
  router.drain_all();
  double rep_s = seconds_since(t0);
  double rep_rate = reports / rep_s;
  double rep_allocs = double(g_allocs.load() - allocs0) / double(reports);

  std::printf("router_bench (%s): %llu round trips, window %llu\n", smoke ? "smoke" : "full",
              static_cast<unsigned long long>(round_trips), static_cast<unsigned long long>(window));
  std::printf("  baseline  serialize+parse per hop : %10.0f envelopes/s  %5.1f allocs/envelope\n", base_rate, base_allocs);
  std::printf("  request/response via router       : %10.0f envelopes/s  %5.1f allocs/envelope  ratio to baseline %.2f\n",
              rr_rate, rr_allocs, rr_rate / base_rate);
  std::printf("  report fan-out via router         : %10.0f envelopes/s  %5.1f allocs/envelope  ratio to baseline %.2f\n",
              rep_rate, rep_allocs, rep_rate / base_rate);
  std::printf("  router: delivered %llu, timeouts %llu, pending %zu (sink %llu)\n",
              static_cast<unsigned long long>(router.stats().delivered),
              static_cast<unsigned long long>(router.stats().timeouts), router.pending(),
              static_cast<unsigned long long>(sink % 7));
  bool ok = router.stats().timeouts == 0 && router.pending() == 0 && g_probe->responses == round_trips;
  if (!ok) std::printf("router_bench: FAILED: lost or timed-out requests\n");
  return ok ? 0 : 1;
}
