// Benchmark with the camera simulator (adapters/osap/sim):
//  (a) gateway memory per connected camera: gatewayd as a child process with N provisioned cameras
//      (onboarded "earlier": devid + master key seeded into its registry, so they take F3); its
//      VmRSS before any camera connects (the baseline: the same process, same registry, 0 cameras)
//      and with all N connected and subscribed. Target <= 8 KiB per camera.
//  (b) property reports/s through the DAS into the router: an in-process gateway (real gw_osap
//      module, a counting probe adapter as the route's destination) against M simulated cameras
//      that keep 16 QoS 1 reports in flight each. Baseline, same run: the same simulator against a
//      null MQTT sink (CONNACK / SUBACK / PUBACK without decrypting anything) = what the simulator
//      itself can publish on this host.
//
//   camsim_bench [--smoke] [--cameras N=10000] [--rate-cameras M=200] [--seconds S=5] [--inflight K=16]
// Prints figures, never asserts timings; exit 1 only when the setup fails.
#include <signal.h>
#include <sys/resource.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "camsim.h"
#include "gateway.h"
#include "gw/adapter_sdk.h"
#include "log.h"
#include "osap/codec/crypto.h"
#include "registry.h"
#include "test_util.h"
#include "wire.h"

using Clock = std::chrono::steady_clock;

namespace {

double Secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

long RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

pid_t g_child = -1;  // gatewayd of part (a): stopped by PID when the bench gives up
std::string g_dir;   // its state, removed then too

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "camsim_bench: %s\n", why.c_str());
  if (g_child > 0) ::kill(g_child, SIGKILL);
  if (!g_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g_dir, ec);
  }
  std::exit(1);
}

size_t InflightOpt();
camsim::Options SimOpts(int count, const std::string& prefix) {
  camsim::Options o;
  o.max_inflight = InflightOpt();
  o.count = count;
  o.serial_prefix = prefix;
  o.quiet = true;
  o.out = [](std::string_view l) { std::fprintf(stderr, "%.*s\n", static_cast<int>(l.size()), l.data()); };
  return o;
}

void NoLog(std::string_view) {}

// Seeds the registry at state_dir with every serial's devid + master key (as if onboarded by F1
// earlier) and writes the simulator's state file with the same keys.
void Seed(const std::vector<std::string>& serials, const std::string& vcode, const std::string& state_dir,
          const std::string& state_file) {
  gw::log::set_sink(&NoLog);
  auto reg = gw::Registry::open(state_dir + "/registry.db");
  if (!reg.ok()) Die(reg.error().message);
  std::ofstream st(state_file);
  for (auto& sn : serials) {
    gw::v1::Device d;
    d.set_adapter("osap");
    d.set_native_id(sn);
    d.set_model("camsim-ipc");
    std::string devid = gw::osap::RandomDevid();
    uint8_t mk[8];
    gw::osap::RandomFill(mk, sizeof mk);
    std::string master = gw::osap::HexUpper(gw::osap::ByteView(mk, sizeof mk));
    (*d.mutable_identity())["devid"] = devid;
    (*d.mutable_secrets())["verification_code"] = vcode;
    (*d.mutable_secrets())["master_key"] = master;
    if (!reg.value()->put(d).ok()) Die("registry put failed");
    st << sn << " " << devid << " " << master << "\n";
  }
  reg.value().reset();
  gw::log::set_sink(nullptr);
}

// ---- (a) RSS per connected camera -----------------------------------------------------------------

void RssBench(int n) {
  std::printf("== (a) gatewayd RSS per connected camera, %d cameras (both generations, F3 from seeded keys)\n", n);
  // tmpfs keeps the seeding (one fsync'd registry transaction per record) fast.
  std::string root = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  std::string tmpl = root + "/camsim-bench-XXXXXX";
  std::string dir = ::mkdtemp(tmpl.data());
  g_dir = dir;
  auto so = SimOpts(n, "CAMB");
  so.report_interval_ms = 60000;
  so.max_concurrent_onboarding = 128;
  so.backoff_ms = 500;
  so.state_file = dir + "/cams.state";
  std::string devices;
  std::vector<std::string> serials;
  {
    camsim::Simulator s(so);
    devices = s.ProvisionConfig();
    serials = s.Serials();
  }
  std::filesystem::create_directories(dir + "/state");
  std::filesystem::create_directories(dir + "/profiles");
  std::ofstream(dir + "/profiles/camsim-ipc.json") << camsim::Simulator::BuiltinProfile();
  auto t0 = Clock::now();
  Seed(serials, so.vcode, dir + "/state", so.state_file);
  std::printf("  seeded %d registry records in %.1f s\n", n, Secs(t0));
  std::ofstream(dir + "/routes.textproto") << "route { name: \"up\" from_adapter: \"osap\" to_adapter: \"cloud\" }\n";
  std::ofstream(dir + "/gw.textproto")
      << "gateway_id: \"bench\"\nlog { level: WARN }\nmapping_file: \"routes.textproto\"\n"
      << "adapter { name: \"cloud\" module: \"loopback\" config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { } } }\n"
      << "adapter { name: \"osap\" module: \"osap\" config { [type.googleapis.com/gw.osap.v1.OsapConfig] {\n"
      << "  lbs_port: 0\n  das { listen_port: 0 }\n  profile_dir: \"" << dir << "/profiles\"\n"
      << "  limits { max_connections: " << n + 1024 << " }\n"  // the default (4096) is below 10,000
      << devices << "} } }\n";
  // The LBS port is ephemeral: a log line names it; INFO is needed for that one line only.
  {
    std::string cfg = gwtest::read_file(dir + "/gw.textproto");
    cfg.replace(cfg.find("level: WARN"), 11, "level: WARN component { key: \"osap\" value: INFO }");
    std::ofstream(dir + "/gw.textproto") << cfg;
  }
  gwtest::Process gwd({gwtest::build_dir() + "/bin/gatewayd", "--config", dir + "/gw.textproto", "--state-dir",
                       dir + "/state", "--module-dir", gwtest::module_dir()},
                      dir + "/gatewayd.log");
  g_child = gwd.pid();
  if (!gwd.wait_for_output("LBS listening on 127.0.0.1:", std::chrono::seconds(60)))
    Die("gatewayd did not start:\n" + gwd.output());
  std::string out = gwd.output();
  uint16_t lbs_port = static_cast<uint16_t>(std::atoi(out.c_str() + out.find("LBS listening on 127.0.0.1:") + 27));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long rss0 = RssKiB(gwd.pid());

  so.lbs_port = lbs_port;
  long self0 = RssKiB(::getpid());
  camsim::Simulator sim(so);
  if (!sim.Start().ok()) Die("simulator start");
  t0 = Clock::now();
  sim.StartThread();
  // Waits until every camera is online; gives up after 60 s without progress.
  bool ok = false;
  uint64_t best = 0;
  auto progress = Clock::now();
  while (true) {
    auto s = sim.GetStats();
    if (s.online == static_cast<uint64_t>(n)) {
      ok = true;
      break;
    }
    if (s.online > best) {
      best = s.online;
      progress = Clock::now();
    }
    if (Secs(progress) > 60) break;
    static auto last_print = Clock::now();
    if (Secs(last_print) > 10) {
      std::fprintf(stderr, "  ... %s\n", s.line().c_str());
      last_print = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double up = Secs(t0);
  if (!ok) {
    std::string log = gwd.output();
    Die("not all cameras online: " + sim.GetStats().line() + "\ngatewayd log (last 4000 bytes):\n" +
        log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  long rss1 = RssKiB(gwd.pid());
  long self1 = RssKiB(::getpid());
  auto st = sim.GetStats();
  std::printf("  %d cameras onboarded (F3 %llu, F1 %llu) and online in %.1f s (%.0f/s)\n", n,
              static_cast<unsigned long long>(st.onboard_f3), static_cast<unsigned long long>(st.onboard_f1), up, n / up);
  std::printf("  gatewayd VmRSS: %ld KiB with 0 cameras connected (baseline: same process, %d provisioned) -> %ld KiB "
              "with %d connected\n", rss0, n, rss1, n);
  double per = static_cast<double>(rss1 - rss0) / n;
  std::printf("  per connected camera: %.2f KiB (target <= 8 KiB: %s); ratio to the baseline RSS: %.2f\n", per,
              per <= 8.0 ? "met" : "NOT met", static_cast<double>(rss1) / static_cast<double>(rss0));
  std::printf("  simulator side (this process): %ld KiB -> %ld KiB, %.2f KiB per online camera\n", self0, self1,
              static_cast<double>(self1 - self0) / n);
  sim.StopThread();
  gwd.signal(SIGTERM);
  gwd.wait(std::chrono::seconds(20));
  g_child = -1;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  g_dir.clear();
}

// ---- (b) reports/s into the router ----------------------------------------------------------------

std::atomic<uint64_t> g_reports{0};
size_t g_inflight = 16;  // QoS 1 reports each camera keeps in flight in (b)
struct Probe : gw::sdk::Adapter {
  explicit Probe(const gw_host_api* api) : Adapter(api) {}
  std::string configure(const std::string&) override { return ""; }
  std::string start() override { return ""; }
  int deliver(const gw::v1::Envelope& env) override {
    if (env.kind() == gw::v1::REPORT) g_reports++;
    return GW_OK;
  }
};
const gw_adapter_descriptor kProbe = gw::sdk::make_descriptor<Probe>("probe", "1", "bench probe", nullptr);

// A null MQTT sink on its own loop: CONNACK 0, SUBACK, PUBACK, PINGRESP; never decrypts.
struct NullSink {
  uv_loop_t loop{};
  uv_tcp_t server{};
  uv_async_t stop{};
  uint16_t port = 0;
  std::atomic<uint64_t> publishes{0};
  std::thread th;
  struct Client {
    uv_tcp_t tcp{};
    std::string rx;
    NullSink* sink;
  };
  static void Write(uv_stream_t* s, std::string data) {
    auto* w = new std::pair<uv_write_t, std::string>();
    w->second = std::move(data);
    w->first.data = w;
    uv_buf_t b = uv_buf_init(w->second.data(), static_cast<unsigned>(w->second.size()));
    uv_write(&w->first, s, &b, 1, [](uv_write_t* r, int) { delete static_cast<std::pair<uv_write_t, std::string>*>(r->data); });
  }
  NullSink() {
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &server);
    server.data = this;
    sockaddr_in sa{};
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_bind(&server, reinterpret_cast<sockaddr*>(&sa), 0);
    uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, [](uv_stream_t* srv, int) {
      auto* self = static_cast<NullSink*>(srv->data);
      auto* c = new Client;
      c->sink = self;
      uv_tcp_init(&self->loop, &c->tcp);
      c->tcp.data = c;
      if (uv_accept(srv, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return;
      uv_tcp_nodelay(&c->tcp, 1);
      uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp),
                    [](uv_handle_t*, size_t sz, uv_buf_t* b) { *b = uv_buf_init(new char[sz], static_cast<unsigned>(sz)); },
                    [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
                      auto* c = static_cast<Client*>(s->data);
                      if (n < 0) {
                        delete[] b->base;
                        uv_close(reinterpret_cast<uv_handle_t*>(s), [](uv_handle_t* h) { delete static_cast<Client*>(h->data); });
                        return;
                      }
                      c->rx.append(b->base, static_cast<size_t>(n));
                      delete[] b->base;
                      size_t pos = 0;
                      camsim::RawFrame f;
                      std::string out;
                      while (camsim::NextFrame(c->rx, pos, 1 << 20, &f) == 1) {
                        switch (f.type()) {
                          case camsim::mqtt::kConnect: out += std::string("\x20\x02\x00\x00", 4); break;
                          case camsim::mqtt::kSubscribe:
                            out += std::string("\x90\x04", 2) + f.body.substr(0, 2) + std::string("\x01\x01", 2);
                            break;
                          case camsim::mqtt::kPublish: {
                            c->sink->publishes++;
                            auto p = camsim::mqtt::ParsePublish(f);
                            if (p.ok() && p->qos == 1) out += camsim::mqtt::Puback(p->packet_id);
                            break;
                          }
                          case camsim::mqtt::kPingreq: out += std::string("\xD0\x00", 2); break;
                          default: break;
                        }
                      }
                      c->rx.erase(0, pos);
                      if (!out.empty()) Write(s, std::move(out));
                    });
    });
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
    port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    stop.data = this;
    uv_async_init(&loop, &stop, [](uv_async_t* a) {
      auto* self = static_cast<NullSink*>(a->data);
      uv_walk(&self->loop, [](uv_handle_t* h, void* arg) {
        auto* self = static_cast<NullSink*>(arg);
        if (uv_is_closing(h)) return;
        bool client = h->type == UV_TCP && h != reinterpret_cast<uv_handle_t*>(&self->server);
        uv_close_cb del = [](uv_handle_t* c) { delete static_cast<Client*>(c->data); };
        uv_close(h, client ? del : nullptr);
      }, self);
    });
    loop.data = this;
    th = std::thread([this] { uv_run(&loop, UV_RUN_DEFAULT); });
  }
  ~NullSink() {
    uv_async_send(&stop);
    th.join();
    uv_loop_close(&loop);
  }
};

// Runs the simulator in flood mode for `secs` (after a warm-up) and returns publishes/s counted by `count`.
double Flood(camsim::Simulator& sim, int m, double secs, const std::function<uint64_t()>& count,
             const std::function<void(int)>& pump) {
  sim.StartThread();
  auto t0 = Clock::now();
  while (sim.GetStats().online < static_cast<uint64_t>(m)) {
    pump(20);
    if (Secs(t0) > 120) Die("flood: cameras not online: " + sim.GetStats().line());
  }
  pump(300);  // warm-up
  uint64_t c0 = count();
  auto t1 = Clock::now();
  while (Secs(t1) < secs) pump(20);
  double rate = static_cast<double>(count() - c0) / Secs(t1);
  sim.StopThread();
  return rate;
}

double GatewayRate(int m, double secs, const std::string& root);

void RateBench(int m, double secs) {
  std::printf("== (b) property reports/s through the DAS into the router, %d cameras x %zu QoS 1 reports in flight, %.0f s\n", m,
              g_inflight, secs);
  // Baseline: the simulator against a null sink.
  double base;
  {
    NullSink sink;
    auto so = SimOpts(m, "CAMN");
    so.das_direct_host = "127.0.0.1";
    so.das_direct_port = sink.port;
    so.flood = true;
    so.report_interval_ms = 0;
    camsim::Simulator sim(so);
    if (!sim.Start().ok()) Die("simulator start");
    base = Flood(sim, m, secs, [&] { return sink.publishes.load(); },
                 [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); });
  }
  double tmpfs_rate = GatewayRate(m, secs, "/dev/shm");
  double disk_rate = GatewayRate(m, secs, std::filesystem::temp_directory_path().string());
  std::printf("  baseline (simulator -> null MQTT sink, no decryption): %.0f publishes/s\n", base);
  std::printf("  gateway  (simulator -> DAS -> REPORT envelope -> router -> probe adapter), state dir on tmpfs: "
              "%.0f reports/s, ratio to the baseline %.2f\n", tmpfs_rate, tmpfs_rate / base);
  std::printf("  gateway, state dir on %s (the journal's fsync on a real disk): %.0f reports/s, ratio %.2f\n",
              std::filesystem::temp_directory_path().c_str(), disk_rate, disk_rate / base);
}

// The gateway, in-process, its loop on this thread; its state dir (registry, journal) under root.
double GatewayRate(int m, double secs, const std::string& root) {
  g_reports = 0;
  double gwrate;
  {
    gw::log::set_sink(&NoLog);
    std::string tmpl = root + "/camsim-bench-XXXXXX";
    struct Dir {
      std::string path;
      ~Dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      }
      std::string file(const std::string& n) const { return path + "/" + n; }
      std::string write(const std::string& n, const std::string& c) const {
        std::filesystem::create_directories(std::filesystem::path(file(n)).parent_path());
        std::ofstream(file(n)) << c;
        return file(n);
      }
    } t{::mkdtemp(tmpl.data())};
    auto so = SimOpts(m, "CAMR");
    camsim::Simulator probe_cfg(so);
    t.write("maps/routes.textproto", "route { name: \"up\" from_adapter: \"osap\" to_adapter: \"probe\" }\n");
    t.write("profiles/camsim-ipc.json", camsim::Simulator::BuiltinProfile());
    auto cfgp = t.write("gw.textproto",
                        "gateway_id: \"bench\"\nmapping_file: \"maps\"\nadapter { name: \"probe\" module: \"probe\" }\n"
                        "adapter { name: \"osap\" module: \"osap\" config { [type.googleapis.com/gw.osap.v1.OsapConfig] {\n"
                        "  lbs_port: 0\n  das { listen_port: 0 }\n  profile_dir: \"" + t.file("profiles") + "\"\n" +
                            probe_cfg.ProvisionConfig() + "} } }\n");
    gw::EventLoop loop;
    gw::Gateway::Options o;
    o.config_path = cfgp;
    o.module_dir = gwtest::module_dir();
    o.state_dir = t.file("state");
    o.builtins = {&kProbe};
    auto g = gw::Gateway::create(loop, o);
    if (!g.ok()) Die(g.error().message);
    if (auto s = g.value()->start(); !s.ok()) Die(s.error().message);
    auto* inst = g.value()->host().find("osap");
    gw_buf b{};
    inst->module()->desc->status(inst->self(), &b);
    auto status = nlohmann::json::parse(std::string(reinterpret_cast<char*>(b.data), b.len));
    std::free(b.data);
    so.lbs_port = status["lbs_port"].get<uint16_t>();
    so.flood = true;
    so.report_interval_ms = 0;
    so.max_concurrent_onboarding = 64;
    camsim::Simulator sim(so);
    if (!sim.Start().ok()) Die("simulator start");
    auto pump = [&](int ms) {
      uint64_t end = loop.now_ms() + static_cast<uint64_t>(ms);
      while (loop.now_ms() < end) loop.run_once(5);
    };
    gwrate = Flood(sim, m, secs, [] { return g_reports.load(); }, pump);
    bool done = false;
    g.value()->begin_shutdown([&] { done = true; });
    for (int i = 0; i < 500 && !done; ++i) loop.run_once(10);
    g.value().reset();
    gw::log::set_sink(nullptr);
  }
  return gwrate;
}

size_t InflightOpt() { return g_inflight; }

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  int cameras = 10000, rate_cameras = 200;
  double secs = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke") smoke = true;
    else if (a == "--cameras" && i + 1 < argc) cameras = std::atoi(argv[++i]);
    else if (a == "--rate-cameras" && i + 1 < argc) rate_cameras = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) secs = std::atof(argv[++i]);
    else if (a == "--inflight" && i + 1 < argc) g_inflight = static_cast<size_t>(std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: camsim_bench [--smoke] [--cameras N] [--rate-cameras M] [--seconds S] [--inflight K]\n");
      return 2;
    }
  }
  if (smoke) {
    cameras = 200;
    rate_cameras = 50;
    secs = 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::printf("camsim_bench: fd limit %llu\n", static_cast<unsigned long long>(camsim::RaiseFileLimit()));
  RssBench(cameras);
  RateBench(rate_cameras, secs);
  return 0;
}
