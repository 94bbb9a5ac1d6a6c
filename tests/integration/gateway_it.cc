// Integration: a Gateway built from a real config file, with the real loopback module loaded
// through the real loader, and an in-process probe adapter on the other side of the router.
#include <doctest/doctest.h>

#include <map>

#include "gateway.h"
#include "gw/adapter_sdk.h"
#include "gw/value.h"
#include "test_util.h"

namespace {

struct Probe;
Probe* g_probe = nullptr;

struct Probe : gw::sdk::Adapter {
  explicit Probe(const gw_host_api* api) : Adapter(api) { g_probe = this; }
  ~Probe() override { g_probe = nullptr; }
  std::string configure(const std::string&) override { return ""; }
  std::string start() override { return ""; }
  int deliver(const gw::v1::Envelope& env) override {
    received.push_back(env);
    return GW_OK;
  }
  std::vector<gw::v1::Envelope> received;
};

const gw_adapter_descriptor kProbe = gw::sdk::make_descriptor<Probe>("probe", "1", "test probe", nullptr);

std::string config_text(const std::string& maps) {
  return R"(gateway_id: "it-gw"
mapping_file: ")" + maps + R"("
router { request_timeout_ms: 300 }
adapter {
  name: "devices"
  module: "loopback"
  config {
    [type.googleapis.com/gw.loopback.v1.LoopbackConfig] {
      devices: 2
      model: "m1"
      report_interval_ms: 50
      respond: true
    }
  }
}
adapter { name: "probe" module: "probe" }
adapter {
  name: "slow"
  module: "loopback"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { respond: true respond_delay_ms: 2000 } }
}
)";
}

const char* kRoutes = "route { name: \"up\" from_adapter: \"devices\" kind: REPORT to_adapter: \"probe\" }\n";

gw::Gateway::Options options(const gwtest::TempDir& t, const std::string& cfgp) {
  gw::Gateway::Options o;
  o.config_path = cfgp;
  o.module_dir = gwtest::module_dir();
  o.state_dir = t.file("state");
  o.builtins = {&kProbe};
  return o;
}

void pump(gw::EventLoop& loop, int ms) {
  uint64_t end = loop.now_ms() + ms;
  while (loop.now_ms() < end) loop.run_once(10);
}

}  // namespace

TEST_CASE("envelopes round-trip through the router between a loaded module and an in-process adapter") {
  gwtest::TempDir t;
  t.write("maps/routes.textproto", kRoutes);
  auto cfgp = t.write("gw.textproto", config_text("maps"));
  gw::EventLoop loop;
  auto o = options(t, cfgp);
  auto g = gw::Gateway::create(loop, o);
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
  REQUIRE(g.value()->start().ok());
  REQUIRE(g_probe);
  CHECK(g.value()->registry().list("devices").size() == 2);

  // Reports flow devices -> probe along the route.
  pump(loop, 200);
  int reports = 0;
  for (auto& e : g_probe->received)
    if (e.kind() == gw::v1::REPORT) {
      ++reports;
      CHECK(e.origin().adapter() == "devices");
      CHECK(e.origin().path() == "0/demo/counter");
      CHECK(e.device_model() == "m1");
      CHECK_FALSE(e.message_id().empty());
      CHECK(e.trace_id().size() == 32);
    }
  CHECK(reports >= 4);

  // A request addressed by device uuid reaches the owning adapter; its answer comes back.
  g_probe->received.clear();
  auto dev = g.value()->registry().list("devices").at(0)->uuid();
  gw::v1::Envelope req;
  req.set_kind(gw::v1::REQUEST);
  req.set_op(gw::v1::UPDATE);
  req.set_correlation_id("it-1");
  req.mutable_target()->set_device(dev);
  req.mutable_target()->set_path("0/demo/setting");
  gw::v1::Value content;
  gw::map_set(content, "value", gw::make_int(42));
  *req.mutable_content() = content;
  REQUIRE(g_probe->host().emit(req) == GW_OK);
  // The slow adapter answers after the router's deadline: exactly one timeout response.
  req.set_correlation_id("it-2");
  req.mutable_target()->set_device("");
  req.mutable_target()->set_adapter("slow");
  REQUIRE(g_probe->host().emit(req) == GW_OK);
  pump(loop, 500);
  std::map<std::string, gw::v1::Envelope> responses;
  for (auto& e : g_probe->received)
    if (e.kind() == gw::v1::RESPONSE) responses[e.correlation_id()] = e;
  REQUIRE(responses.count("it-1"));
  CHECK(responses["it-1"].status() == gw::v1::CHANGED);
  CHECK(gw::value_equal(responses["it-1"].content(), content));
  CHECK(responses["it-1"].origin().adapter() == "devices");
  REQUIRE(responses.count("it-2"));
  CHECK(responses["it-2"].status() == gw::v1::REQUEST_TIMEOUT);

  bool done = false;
  g.value()->begin_shutdown([&] { done = true; });
  for (int i = 0; i < 300 && !done; ++i) loop.run_once(10);
  CHECK(done);
}

TEST_CASE("SIGHUP reload: a broken mapping file keeps the active mappings; a good one replaces them") {
  gwtest::TempDir t;
  auto routes = t.write("maps/routes.textproto", kRoutes);
  auto cfgp = t.write("gw.textproto", config_text("maps"));
  gw::EventLoop loop;
  auto o = options(t, cfgp);
  auto g = gw::Gateway::create(loop, o);
  REQUIRE(g.ok());
  REQUIRE(g.value()->start().ok());
  CHECK(g.value()->mapping_generation() == 1);

  t.write("maps/routes.textproto", "route { name: \"up\" to_adapter: \"nobody\" }\n");
  auto r = g.value()->reload_mappings();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(routes + ":1:") == 0);
  CHECK(g.value()->mapping_generation() == 1);
  CHECK(g.value()->router().mappings()->route(0).to_adapter(0) == "probe");
  // The old routes still work.
  g_probe->received.clear();
  pump(loop, 150);
  CHECK_FALSE(g_probe->received.empty());

  t.write("maps/routes.textproto", "route { name: \"up2\" from_adapter: \"devices\" kind: EVENT to_adapter: \"probe\" }\n");
  REQUIRE(g.value()->reload_mappings().ok());
  CHECK(g.value()->mapping_generation() == 2);
  CHECK(g.value()->router().mappings()->route(0).name() == "up2");
  pump(loop, 30);
  g_probe->received.clear();
  pump(loop, 150);
  CHECK(g_probe->received.empty());  // reports no longer routed to the probe
}

TEST_CASE("a config naming the wrong schema for an adapter is refused with its line") {
  gwtest::TempDir t;
  t.write("maps/routes.textproto", kRoutes);
  auto cfgp = t.write("gw.textproto", R"(gateway_id: "g"
mapping_file: "maps"
adapter { name: "devices" module: "loopback" }
adapter { name: "probe" module: "probe"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { devices: 1 } } }
)");
  gw::EventLoop loop;
  auto o = options(t, cfgp);
  auto g = gw::Gateway::create(loop, o);
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().message.find(cfgp + ":4:") == 0);
  CHECK(g.error().message.find("takes no config block") != std::string::npos);
}

TEST_CASE("journal: durable reports are acked after fsync, and a restart replays what the consumer had not acked, in order") {
  gwtest::TempDir t;
  t.write("maps/routes.textproto", kRoutes);
  auto cfgp = t.write("gw.textproto", R"(gateway_id: "j-gw"
mapping_file: "maps"
journal { consumer: "probe" group_commit_ms: 2 }
adapter { name: "devices" module: "loopback"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { devices: 2 model: "m1" report_interval_ms: 5 durable: true } } }
adapter { name: "probe" module: "probe" }
)");
  auto o = options(t, cfgp);
  uint64_t acked_up_to = 0, last_seen = 0;
  {
    gw::EventLoop loop;
    auto g = gw::Gateway::create(loop, o);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
    REQUIRE(g.value()->start().ok());
    pump(loop, 200);
    REQUIRE(g_probe->received.size() > 20);
    uint64_t prev = 0;
    for (auto& e : g_probe->received) {
      CHECK(e.journal_seq() == prev + 1);  // every record, in order, none replayed yet
      CHECK_FALSE(e.replayed());
      prev = e.journal_seq();
    }
    last_seen = prev;
    acked_up_to = prev / 2;
    REQUIRE(g_probe->host().journal_ack(acked_up_to) == GW_OK);
    CHECK(g.value()->journal()->cursor("probe") == acked_up_to);
    auto* inst = g.value()->host().find("devices");
    gw_buf st{};
    REQUIRE(inst->module()->desc->status(inst->self(), &st) == GW_OK);
    std::string status(reinterpret_cast<char*>(st.data), st.len);
    std::free(st.data);
    CHECK(status.find("\"durable_acks\":0") == std::string::npos);  // devices got durability callbacks
  }  // gateway gone (as after a crash, the probe never acked the rest)
  {
    gw::EventLoop loop;
    auto g = gw::Gateway::create(loop, o);
    REQUIRE(g.ok());
    REQUIRE(g.value()->start().ok());
    pump(loop, 200);
    REQUIRE_FALSE(g_probe->received.empty());
    uint64_t prev = acked_up_to;
    bool saw_live = false;
    for (auto& e : g_probe->received) {
      CHECK(e.journal_seq() == prev + 1);  // one ordered stream: replay first, then live, no gap
      if (e.journal_seq() <= last_seen) CHECK(e.replayed());
      if (!e.replayed()) saw_live = true;
      prev = e.journal_seq();
    }
    CHECK(prev > last_seen);
    CHECK(saw_live);
  }
}

TEST_CASE("an adapter sees other adapters' devices but never their secrets") {
  gwtest::TempDir t;
  t.write("maps/routes.textproto", kRoutes);
  auto cfgp = t.write("gw.textproto", config_text("maps"));
  gw::EventLoop loop;
  auto o = options(t, cfgp);
  auto g = gw::Gateway::create(loop, o);
  REQUIRE(g.ok());
  REQUIRE(g.value()->start().ok());
  gw::v1::Device d;
  d.set_adapter("devices");
  d.set_native_id("CAM-SECRET");
  (*d.mutable_secrets())["master_key"] = "0123456789ABCDEF";
  auto stored = g.value()->registry().put(d);
  REQUIRE(stored.ok());
  auto all = g_probe->host().all_devices();
  REQUIRE(all);
  bool found = false;
  for (const auto& dev : all->devices())
    if (dev.native_id() == "CAM-SECRET") {
      found = true;
      CHECK(dev.secrets().empty());
    }
  CHECK(found);
  auto one = g_probe->host().device(stored->uuid().c_str());
  REQUIRE(one);
  CHECK(one->secrets().empty());
  // The probe's own devices keep theirs.
  gw::v1::Device mine;
  mine.set_native_id("PROBE-DEV");
  (*mine.mutable_secrets())["k"] = "v";
  auto put = g_probe->host().put_device(mine);
  REQUIRE(put);
  CHECK(put->adapter() == "probe");
  CHECK(g_probe->host().device(put->uuid().c_str())->secrets().at("k") == "v");
}
