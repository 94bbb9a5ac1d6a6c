// gw_oic benchmark (tests/bench style: figures and ratios to a baseline measured in the same run,
// never timed assertions). Against one prosody on 127.0.0.1:
//   1. baseline: raw gloox <message/> echo between two clients (one outstanding at a time);
//   2. GET round trips over XEP-0047 to a bridged resource (client -> prosody -> gw_oic -> router ->
//      camera adapter -> back), one outstanding at a time;
//   3. login + presence of N bridged devices (N = 200 with --smoke, 1000 otherwise), against the
//      login of a single device.
// Usage: oic_bench [--smoke] [--devices N] [--seconds S] [--ping-ms MS]
// Also printed: the process's resident memory per logged-in bridged device (VmRSS delta / N).
#include <gloox/message.h>
#include <gloox/messagehandler.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "gateway.h"
#include "oic_rig.h"
#include "prosody_server.h"
#include "test_util.h"

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libgnutls.so\nleak:libtasn1.so\nleak:libgloox.so\n";
}

using namespace gw::oic;
using namespace gw::oic::itest;
using Clock = std::chrono::steady_clock;

namespace {

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

unsigned g_ping_ms = 0;  // --ping-ms; 0 = the product default (60 s)

std::string config(const ProsodyServer& xs, unsigned max_logins) {
  return R"(gateway_id: "oic-bench"
mapping_file: "maps"
log { level: WARN }
adapter { name: "cam" module: "camprobe" }
adapter {
  name: "oic"
  module: "oic"
  config {
    [type.googleapis.com/gw.oic.v1.OicConfig] {
      server_host: "127.0.0.1" server_port: )" +
         std::to_string(xs.port()) + R"( domain: "localhost" ca_file: ")" + xs.ca_file() + R"("
      user: "me" password: "pw" ping_interval_ms: )" + std::to_string(g_ping_ms) + R"( max_concurrent_logins: )" +
         std::to_string(max_logins) + R"( login_timeout_ms: 120000
    }
  }
}
)";
}

struct Echo : gloox::MessageHandler {
  gloox::Client* self = nullptr;
  bool echo = false;
  uint64_t got = 0;
  void handleMessage(const gloox::Message& m, gloox::MessageSession*) override {
    if (m.body().empty()) return;
    ++got;
    if (echo) self->send(gloox::Message(gloox::Message::Normal, m.from(), m.body()));
  }
};

bool spin(gw::EventLoop* loop, std::vector<OicClient*> cs, const std::function<bool()>& pred, double limit_s) {
  auto end = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(limit_s * 1000));
  while (!pred()) {
    if (Clock::now() > end) return false;
    if (loop) loop->run_once(1);
    for (auto* c : cs) c->pump(1000);
  }
  return true;
}

struct GatewayRun {
  gwtest::TempDir t;
  gw::EventLoop loop;
  std::unique_ptr<gw::Gateway> g;
  std::string start(const ProsodyServer& xs, unsigned devices, unsigned max_logins) {
    std::string maps = kMappings;  // without the loopback route: no loopback adapter here
    auto at = maps.find("route { name: \"loop-up\"");
    maps.erase(at, maps.find('\n', at) - at);
    t.write("maps/oic.textproto", maps);
    gw::Gateway::Options o;
    o.config_path = t.write("gw.textproto", config(xs, max_logins));
    o.module_dir = gwtest::module_dir();
    o.state_dir = t.file("state");
    o.builtins = {&kCamProbe};
    g_cam_devices = devices;
    auto r = gw::Gateway::create(loop, o);
    if (!r) return r.error().message;
    g = std::move(r.value());
    if (auto s = g->start(); !s) return s.error().message;
    return "";
  }
  ~GatewayRun() {
    if (!g) return;
    bool done = false;
    g->begin_shutdown([&] { done = true; });
    for (int i = 0; i < 2000 && !done; ++i) loop.run_once(5);
    g.reset();
  }
};

std::string jid_of(const std::string& uuid) { return "me@localhost/OIC/1.0/oic.d.camera/" + uuid; }

long rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

// Seconds from gateway start until the observer saw available presence from all n devices;
// *rss_delta_kib: growth of this process's VmRSS over that time (the gateway's n sessions, plus
// the observer's n presences).
double login_time(ProsodyServer& xs, unsigned n, unsigned max_logins, OicClient& observer, long* rss_delta_kib) {
  observer.presence.clear();
  long rss0 = rss_kib();
  GatewayRun run;
  auto t0 = Clock::now();
  if (auto e = run.start(xs, n, max_logins); !e.empty()) {
    std::fprintf(stderr, "gateway: %s\n", e.c_str());
    return -1;
  }
  auto uuids = g_cam->uuids;
  size_t seen = 0;
  bool ok = spin(&run.loop, {&observer},
                 [&] {
                   seen = 0;
                   for (auto& u : uuids) {
                     auto it = observer.presence.find(jid_of(u));
                     if (it != observer.presence.end() && it->second.available) ++seen;
                   }
                   return seen == uuids.size();
                 },
                 600);
  double s = secs(Clock::now() - t0);
  *rss_delta_kib = rss_kib() - rss0;
  if (!ok) std::fprintf(stderr, "only %zu of %u devices announced presence\n", seen, n);
  return ok ? s : -1;
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  unsigned devices = 0;
  double seconds = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--smoke")) smoke = true;
    else if (!std::strcmp(argv[i], "--devices") && i + 1 < argc) devices = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--ping-ms") && i + 1 < argc) g_ping_ms = static_cast<unsigned>(std::atoi(argv[++i]));
  }
  if (!devices) devices = smoke ? 200 : 1000;
  if (seconds <= 0) seconds = smoke ? 1.5 : 5;

  auto xsr = ProsodyServer::create();
  if (!xsr) {
    std::fprintf(stderr, "prosody: %s\n", xsr.error().message.c_str());
    return 1;
  }
  ProsodyServer& xs = *xsr.value();
  if (!xs.register_user("me", "pw").ok()) return 1;

  // --- 1. Baseline: raw gloox message echo through prosody ------------------------------------------
  double base_rps = 0;
  {
    OicClient a("me@localhost/OIC/1.0/Client/AAAAAAAA-0000-4000-8000-000000000001", "pw", "localhost", xs.port(), xs.ca_file());
    OicClient b("me@localhost/OIC/1.0/Client/BBBBBBBB-0000-4000-8000-000000000002", "pw", "localhost", xs.port(), xs.ca_file());
    Echo ea, eb;
    ea.self = &a.client();
    eb.self = &b.client();
    eb.echo = true;
    a.client().registerMessageHandler(&ea);
    b.client().registerMessageHandler(&eb);
    if (!a.start() || !b.start() || !spin(nullptr, {&a, &b}, [&] { return a.connected && b.connected; }, 15)) {
      std::fprintf(stderr, "baseline clients did not connect\n");
      return 1;
    }
    const gloox::JID bj(b.client().jid().full());
    const std::string body(120, 'x');  // about the size of a GET <rest> in base64
    uint64_t n = 0;
    auto t0 = Clock::now();
    while (secs(Clock::now() - t0) < seconds) {
      uint64_t want = ea.got + 1;
      a.client().send(gloox::Message(gloox::Message::Normal, bj, body));
      if (!spin(nullptr, {&a, &b}, [&] { return ea.got >= want; }, 10)) return 1;
      ++n;
    }
    base_rps = static_cast<double>(n) / secs(Clock::now() - t0);
    a.client().removeMessageHandler(&ea);
    b.client().removeMessageHandler(&eb);
  }

  // --- 2. GET round trips to a bridged resource -----------------------------------------------------
  double get_rps = 0;
  {
    GatewayRun run;
    if (auto e = run.start(xs, 1, 64); !e.empty()) {
      std::fprintf(stderr, "gateway: %s\n", e.c_str());
      return 1;
    }
    OicClient c("me@localhost/OIC/1.0/Client/CCCCCCCC-0000-4000-8000-000000000003", "pw", "localhost", xs.port(), xs.ca_file());
    if (!c.start()) return 1;
    std::string cam = g_cam->uuids.at(0);
    gloox::JID to(jid_of(cam));
    if (!spin(&run.loop, {&c}, [&] { return c.connected && c.presence[jid_of(cam)].available; }, 30)) {
      auto* inst = run.g->host().find("oic");
      gw_buf st{};
      inst->module()->desc->status(inst->self(), &st);
      std::fprintf(stderr, "bridged device not available (client connected %d, presences %zu): %.*s\n", c.connected,
                   c.presence.size(), static_cast<int>(st.len), reinterpret_cast<char*>(st.data));
      std::free(st.data);
      return 1;
    }
    std::string sid = c.link->new_sid();
    if (!c.link->open(to, sid).ok() || !spin(&run.loop, {&c}, [&] { return !c.opened.empty(); }, 10)) return 1;
    auto get = RestMessage::request(Method::Get, Url{"coap", "camera", "/video/0", ""});
    get.headers = {{"Accept", "application/json"}};
    uint64_t n = 0, bad = 0;
    auto t0 = Clock::now();
    while (secs(Clock::now() - t0) < seconds) {
      c.docs.clear();
      if (!c.link->send_rest(to, sid, get).ok()) return 1;
      if (!spin(&run.loop, {&c}, [&] { return !c.docs.empty(); }, 10)) {
        std::fprintf(stderr, "GET timed out\n");
        return 1;
      }
      auto m = decode_rest_xml(c.docs.front().xml);
      if (!m || m->status != 200) ++bad;
      ++n;
    }
    get_rps = static_cast<double>(n) / secs(Clock::now() - t0);
    if (bad) {
      std::fprintf(stderr, "%llu GETs failed\n", static_cast<unsigned long long>(bad));
      return 1;
    }
  }
  std::printf("oic_bench: raw gloox message echo (baseline)   %9.0f round trips/s\n", base_rps);
  std::printf("oic_bench: GET over IBB to a bridged resource   %9.0f round trips/s  (%.2f x baseline)\n", get_rps,
              get_rps / base_rps);

  // --- 3. Login + presence of N devices -------------------------------------------------------------
  OicClient observer("me@localhost/OIC/1.0/Client/DDDDDDDD-0000-4000-8000-000000000004", "pw", "localhost", xs.port(), xs.ca_file());
  if (!observer.start() || !spin(nullptr, {&observer}, [&] { return observer.connected; }, 15)) return 1;
  long rss_one = 0, rss_many = 0;
  double one = login_time(xs, 1, 64, observer, &rss_one);
  double many = login_time(xs, devices, 64, observer, &rss_many);
  if (one < 0 || many < 0) return 1;
  std::printf("oic_bench: login+presence of 1 device (baseline) %8.3f s\n", one);
  std::printf("oic_bench: login+presence of %u devices        %8.3f s  (%.0f devices/s, %.1f x the single login)\n",
              devices, many, devices / many, many / one);
  std::printf("oic_bench: resident memory per bridged device    %8.1f KiB  (VmRSS +%ld KiB for %u devices)\n",
              static_cast<double>(rss_many) / devices, rss_many, devices);
  return 0;
}
