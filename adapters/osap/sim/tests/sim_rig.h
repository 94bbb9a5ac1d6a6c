// Test rig for the camera simulator against the real gateway: an in-process Gateway loading the
// real gw_osap module through the real loader, with a probe adapter on the other side of the router
// (the envelopes the cameras' traffic turns into), on the test thread; the simulator runs its own
// libuv loop on a background thread and talks to the gateway over loopback TCP. Nothing here uses
// the gateway's OSAP codec: the simulator is the only device implementation.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "camsim.h"
#include "gateway.h"
#include "gw/adapter_sdk.h"
#include "gw/value.h"
#include "log.h"
#include "test_util.h"

namespace simit {

using gw::v1::Envelope;

struct Probe;
inline Probe* g_probe = nullptr;
inline bool g_keep_all = true;  // false: count only (the 1,000-camera test)

struct Probe : gw::sdk::Adapter {
  explicit Probe(const gw_host_api* api) : Adapter(api) { g_probe = this; }
  ~Probe() override { g_probe = nullptr; }
  std::string configure(const std::string&) override { return ""; }
  std::string start() override { return ""; }
  int deliver(const Envelope& env) override {
    if (env.kind() == gw::v1::REPORT) {
      reports++;
      report_devices.insert(env.origin().device());
    }
    if (g_keep_all || env.kind() != gw::v1::REPORT) received.push_back(env);
    return GW_OK;
  }
  std::vector<Envelope> received;
  uint64_t reports = 0;
  std::set<std::string> report_devices;
};

inline const gw_adapter_descriptor kProbe = gw::sdk::make_descriptor<Probe>("probe", "1", "test probe", nullptr);

inline void QuietSink(std::string_view) {}

struct Rig {
  gwtest::TempDir t;
  gw::EventLoop loop;
  std::unique_ptr<gw::Gateway> g;
  uint16_t lbs_port = 0;

  // osap_body: the inside of the OsapConfig block (the LBS port is forced to 0 = ephemeral).
  // prepare(state_dir) runs before the gateway opens its state (e.g. to seed the registry).
  explicit Rig(const std::string& osap_body, const std::function<void(const std::string&)>& prepare = {}) {
    gw::log::set_sink(std::getenv("CAMSIM_IT_LOG") ? nullptr : &QuietSink);
    gw::log::set_level(gw::log::Level::Info);
    t.write("maps/routes.textproto", "route { name: \"up\" from_adapter: \"osap\" to_adapter: \"probe\" }\n");
    t.write("profiles/camsim-ipc.json", camsim::Simulator::BuiltinProfile());
    std::filesystem::create_directories(t.file("state"));
    if (prepare) prepare(t.file("state"));
    std::string cfg = "gateway_id: \"camsim-it\"\nmapping_file: \"maps\"\nrouter { request_timeout_ms: 5000 }\n"
                      "adapter { name: \"probe\" module: \"probe\" }\n"
                      "adapter {\n  name: \"osap\"\n  module: \"osap\"\n  config { [type.googleapis.com/gw.osap.v1.OsapConfig] {\n"
                      "    lbs_port: 0\n    profile_dir: \"" + t.file("profiles") + "\"\n" + osap_body + "\n  } }\n}\n";
    auto cfgp = t.write("gw.textproto", cfg);
    gw::Gateway::Options o;
    o.config_path = cfgp;
    o.module_dir = gwtest::module_dir();
    o.state_dir = t.file("state");
    o.builtins = {&kProbe};
    auto r = gw::Gateway::create(loop, o);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    g = std::move(r.value());
    auto s = g->start();
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
    lbs_port = status()["lbs_port"].get<uint16_t>();
    REQUIRE(lbs_port != 0);
  }
  ~Rig() {
    bool done = false;
    g->begin_shutdown([&] { done = true; });
    for (int i = 0; i < 500 && !done; ++i) loop.run_once(10);
    g.reset();
    gw::log::set_sink(nullptr);
  }

  nlohmann::json status() {
    auto* inst = g->host().find("osap");
    REQUIRE(inst);
    gw_buf b{};
    REQUIRE(inst->module()->desc->status(inst->self(), &b) == GW_OK);
    std::string s(reinterpret_cast<char*>(b.data), b.len);
    std::free(b.data);
    return nlohmann::json::parse(s);
  }
  void pump(int ms) {
    uint64_t end = loop.now_ms() + static_cast<uint64_t>(ms);
    while (loop.now_ms() < end) loop.run_once(5);
  }
  bool pump_until(const std::function<bool()>& pred, int ms) {
    uint64_t end = loop.now_ms() + static_cast<uint64_t>(ms);
    uint64_t next_check = 0;
    while (loop.now_ms() < end) {
      if (loop.now_ms() >= next_check) {
        if (pred()) return true;
        next_check = loop.now_ms() + 20;
      }
      loop.run_once(5);
    }
    return pred();
  }
  std::string uuid(const std::string& sn) {
    auto* d = g->registry().find("osap", sn);
    REQUIRE_MESSAGE(d, "no registry record for " << sn);
    return d->uuid();
  }
  std::vector<Envelope> got(gw::v1::Kind kind, const std::string& device = "", const std::string& path = "") {
    std::vector<Envelope> out;
    if (!g_probe) return out;
    for (auto& e : g_probe->received)
      if (e.kind() == kind && (device.empty() || e.origin().device() == device) && (path.empty() || e.origin().path() == path))
        out.push_back(e);
    return out;
  }
  // The last $state/online event of a device (nullopt = none yet).
  std::optional<bool> online(const std::string& uuid) {
    auto ev = got(gw::v1::EVENT, uuid, "$state/online");
    if (ev.empty()) return std::nullopt;
    return ev.back().content().bool_value();
  }
  int corr = 0;
  std::optional<Envelope> request(gw::v1::Operation op, const std::string& device, const std::string& path,
                                  const gw::v1::Value& content, int ms = 6000) {
    Envelope e;
    e.set_kind(gw::v1::REQUEST);
    e.set_op(op);
    std::string id = "req-" + std::to_string(++corr);
    e.set_correlation_id(id);
    e.mutable_target()->set_device(device);
    e.mutable_target()->set_path(path);
    *e.mutable_content() = content;
    REQUIRE(g_probe->host().emit(e) == GW_OK);
    std::optional<Envelope> r;
    pump_until([&] {
      for (auto& x : g_probe->received)
        if (x.kind() == gw::v1::RESPONSE && x.correlation_id() == id) r = x;
      return r.has_value();
    }, ms);
    return r;
  }
};

inline gw::v1::Value Json(const std::string& text) {
  auto v = gw::value_from_json(text);
  REQUIRE(v.ok());
  return v.value();
}

// Simulator options for tests: fast back-off, lines captured instead of printed.
inline camsim::Options SimOptions(uint16_t lbs_port, int count, const std::string& prefix) {
  camsim::Options o;
  o.lbs_port = lbs_port;
  o.count = count;
  o.serial_prefix = prefix;
  o.backoff_ms = 100;
  o.report_interval_ms = 0;
  o.quiet = !std::getenv("CAMSIM_IT_LOG");
  o.out = [](std::string_view l) {
    if (std::getenv("CAMSIM_IT_LOG")) std::fprintf(stderr, "%.*s\n", static_cast<int>(l.size()), l.data());
  };
  return o;
}

}  // namespace simit
