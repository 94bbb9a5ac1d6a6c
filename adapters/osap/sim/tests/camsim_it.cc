// Simulated cameras of both generations against the real gateway (in-process, real gw_osap module,
// loopback TCP): onboarding by F1, F2 and F3, DAS connect, reports and events arriving at the router
// as envelopes, set / query / service answered by the cameras, offline caching with ordered replay,
// and DUP retransmission of unacknowledged QoS 1 publishes.
#include <algorithm>

#include "sim_rig.h"

using namespace simit;

namespace {

std::string Devices(const std::string& prefix, int n, const std::string& vcode = "ABCDEF") {
  camsim::Options o;
  o.count = n;
  o.serial_prefix = prefix;
  o.vcode = vcode;
  return camsim::Simulator(o).ProvisionConfig();
}

const char* kBase = R"(
    das { listen_port: 0 server_id: "das-a" }
    limits { message_timeout_ms: 3000 }
    service_timeout_ms: 4000
)";

// The "count" members of the EVENT envelopes of one device, in arrival order.
std::vector<int64_t> EventCounts(Rig& rig, const std::string& uuid) {
  std::vector<int64_t> out;
  for (auto& e : rig.got(gw::v1::EVENT, uuid, "0/motion/vmd")) {
    auto j = nlohmann::json::parse(gw::value_to_json(e.content()));
    out.push_back(j.value("count", int64_t{-1}));
  }
  return out;
}

}  // namespace

TEST_CASE("camsim: both generations onboard (F1), report, answer set/query/service, replay cached events in order") {
  Rig rig(std::string(kBase) + Devices("CAMIT", 4));
  auto o = SimOptions(rig.lbs_port, 4, "CAMIT");
  o.report_interval_ms = 300;
  camsim::Simulator sim(o);
  REQUIRE(sim.Start().ok());
  sim.StartThread();

  REQUIRE_MESSAGE(rig.pump_until([&] { return sim.GetStats().online == 4; }, 20000), sim.GetStats().line());
  auto st = sim.GetStats();
  CHECK(st.onboard_f1 == 4);
  for (auto sn : {"CAMIT00001", "CAMIT00002", "CAMIT00003", "CAMIT00004"}) {
    auto info = sim.Info(sn);
    REQUIRE(info);
    CHECK(info->last_flow == "F1");
    CHECK(info->gen == (sn[9] % 2 ? 1 : 2));  // odd numbers gen 1, even gen 2
    CHECK(info->devid == rig.g->registry().find("osap", sn)->identity().at("devid"));
    CHECK(info->das_server_id == "das-a");
  }
  const std::string u1 = rig.uuid("CAMIT00001"), u2 = rig.uuid("CAMIT00002");

  // Reports of both generations reach the router.
  REQUIRE(rig.pump_until([&] { return !rig.got(gw::v1::REPORT, u1).empty() && !rig.got(gw::v1::REPORT, u2).empty(); }, 5000));
  auto rep = rig.got(gw::v1::REPORT, u2).at(0);
  CHECK(rep.device_model() == "camsim-ipc");
  CHECK(rep.origin().adapter() == "osap");

  for (const auto& u : {u1, u2}) {
    CAPTURE(u);
    // UPDATE -> shadow set -> set_reply 0 -> CHANGED; the camera then reports the new value.
    auto r = rig.request(gw::v1::UPDATE, u, "0/image/brightness", gw::make_int(70));
    REQUIRE(r);
    CHECK(r->status() == gw::v1::CHANGED);
    REQUIRE(rig.pump_until([&] {
      for (auto& e : rig.got(gw::v1::REPORT, u, "0/image/brightness"))
        if (e.content().int_value() == 70) return true;
      return false;
    }, 3000));
    // RETRIEVE -> shadow query -> the value just set.
    r = rig.request(gw::v1::RETRIEVE, u, "0/image/brightness", gw::make_null());
    REQUIRE(r);
    CHECK(r->status() == gw::v1::OK);
    CHECK(r->content().int_value() == 70);
    // INVOKE -> service operate -> operate_reply with the camera's output.
    r = rig.request(gw::v1::INVOKE, u, "0/ptz/move", Json(R"({"dir":"up","steps":3})"));
    REQUIRE(r);
    CHECK(r->status() == gw::v1::OK);
    CHECK(nlohmann::json::parse(gw::value_to_json(r->content())) == nlohmann::json::parse(R"({"pan":0,"tilt":3})"));
    // A service on the device resource (another topic prefix).
    r = rig.request(gw::v1::INVOKE, u, "0/system/reboot", gw::make_null());
    REQUIRE(r);
    CHECK(r->status() == gw::v1::OK);
  }
  st = sim.GetStats();
  CHECK(st.sets == 2);
  CHECK(st.queries == 2);
  CHECK(st.services == 4);

  // Offline (connection cut): the gateway sees the loss; events raised meanwhile are cached.
  for (const auto& cam : {std::pair{"CAMIT00001", u1}, std::pair{"CAMIT00002", u2}}) {
    const auto& [sn_, u_] = cam;
    const auto sn = sn_;  // plain variables: clang 14 cannot capture structured bindings in lambdas
    const auto u = u_;
    CAPTURE(sn);
    CHECK(sim.Command(std::string("offline ") + sn).rfind("ok", 0) == 0);
    REQUIRE(rig.pump_until([&] { return rig.online(u) == std::optional<bool>(false); }, 5000));
    for (int i = 0; i < 5; ++i) CHECK(sim.Command(std::string("event ") + sn).rfind("ok", 0) == 0);
    auto info = sim.Info(sn);
    REQUIRE(info);
    CHECK(info->state == "offline");
    CHECK(info->queued == 5);
    CHECK(EventCounts(rig, u).empty());
    // Back online: a fast re-registration (code 12, clean session 0), then the replay, in order.
    CHECK(sim.Command(std::string("online ") + sn).rfind("ok", 0) == 0);
    REQUIRE_MESSAGE(rig.pump_until([&] { return EventCounts(rig, u).size() >= 5; }, 8000), sim.GetStats().line());
    CHECK(EventCounts(rig, u) == std::vector<int64_t>{1, 2, 3, 4, 5});
    CHECK(rig.online(u) == std::optional<bool>(true));
    // A live event after the replay follows in order.
    sim.Command(std::string("event ") + sn + " motion/vmd {\"region\":7}");
    REQUIRE(rig.pump_until([&] { return EventCounts(rig, u).size() == 6; }, 3000));
    auto last = rig.got(gw::v1::EVENT, u, "0/motion/vmd").back();
    auto j = nlohmann::json::parse(gw::value_to_json(last.content()));
    CHECK(j["count"] == 6);
    CHECK(j["region"] == 7);
    CHECK(j["basic"]["UUID"] == std::string(sn) + "-6");
  }
  st = sim.GetStats();
  CHECK(st.connack_12 >= 2);
  CHECK(st.resumed >= 2);
  CHECK(st.events_replayed == 10);
  CHECK(st.events_cached_now == 0);
  CHECK(st.events_dropped == 0);
  CHECK(sim.Command("stats").rfind("stats: cameras=4", 0) == 0);
  CHECK(sim.Command("frobnicate").rfind("error", 0) == 0);
  sim.StopThread();
}

TEST_CASE("camsim: unacknowledged QoS 1 publishes are resent with DUP after a loss; nothing lost, order kept") {
  Rig rig(std::string(kBase) + Devices("CAMDUP", 1));
  auto o = SimOptions(rig.lbs_port, 1, "CAMDUP");
  o.gen = camsim::GenChoice::kGen2;
  camsim::Simulator sim(o);
  REQUIRE(sim.Start().ok());
  sim.StartThread();
  REQUIRE(rig.pump_until([&] { return sim.GetStats().online == 1; }, 10000));
  const std::string u = rig.uuid("CAMDUP00001");
  // The gateway's loop is not pumped here, so the events stay unacknowledged in flight.
  for (int i = 0; i < 4; ++i) sim.Command("event CAMDUP00001");
  auto info = sim.Info("CAMDUP00001");
  REQUIRE(info);
  CHECK(info->inflight == 4);
  sim.Command("offline CAMDUP00001");
  rig.pump(300);  // the gateway reads what arrived before the cut, then sees the loss
  sim.Command("online CAMDUP00001");
  REQUIRE(rig.pump_until([&] { return sim.Info("CAMDUP00001")->events_acked == 4 && sim.GetStats().online == 1; }, 8000));
  CHECK(sim.GetStats().retransmits == 4);
  // At least once: duplicates are allowed, but the first occurrences are 1..4 in order.
  auto counts = EventCounts(rig, u);
  std::vector<int64_t> first;
  for (auto c : counts)
    if (std::find(first.begin(), first.end(), c) == first.end()) first.push_back(c);
  CHECK(first == std::vector<int64_t>{1, 2, 3, 4});
  sim.StopThread();
}

TEST_CASE("camsim: F1, then F3 and F2 across simulator restarts with a state file (both generations)") {
  Rig rig(std::string(kBase) + Devices("CAMFL", 2));
  gwtest::TempDir sd;
  auto run = [&](camsim::FlowChoice flow, std::string flow1, std::string flow2) {
    auto o = SimOptions(rig.lbs_port, 2, "CAMFL");
    o.state_file = sd.file("camsim.state");
    o.flow = flow;
    o.report_interval_ms = 200;
    camsim::Simulator sim(o);
    REQUIRE(sim.Start().ok());
    sim.StartThread();
    REQUIRE_MESSAGE(rig.pump_until([&] { return sim.GetStats().online == 2; }, 15000), sim.GetStats().line());
    for (auto [sn_, expect_flow] : {std::pair{"CAMFL00001", flow1}, std::pair{"CAMFL00002", flow2}}) {
      const auto sn = sn_;  // clang 14 cannot capture a structured binding (CAPTURE)
      CAPTURE(sn);
      auto info = sim.Info(sn);
      REQUIRE(info);
      CHECK(info->last_flow == expect_flow);
      CHECK(info->has_master);
    }
    size_t before = g_probe->reports;
    REQUIRE(rig.pump_until([&] { return g_probe->reports >= before + 2; }, 5000));
    // The stored session key answers the DAS: a request works right away.
    auto r = rig.request(gw::v1::UPDATE, rig.uuid("CAMFL00002"), "0/motion/sensitivity", gw::make_int(4));
    REQUIRE(r);
    CHECK(r->status() == gw::v1::CHANGED);
    sim.StopThread();
    // Quit sends DISCONNECT: the gateway reports both offline.
    REQUIRE(rig.pump_until([&] {
      return rig.online(rig.uuid("CAMFL00001")) == std::optional<bool>(false) &&
             rig.online(rig.uuid("CAMFL00002")) == std::optional<bool>(false);
    }, 3000));
  };
  run(camsim::FlowChoice::kAuto, "F1", "F1");  // nothing stored yet
  auto state = gwtest::read_file(sd.file("camsim.state"));
  CHECK(state.find("CAMFL00001 ") != std::string::npos);
  CHECK(state.find(rig.g->registry().find("osap", "CAMFL00002")->identity().at("devid")) != std::string::npos);
  run(camsim::FlowChoice::kAuto, "F3", "F3");  // devid + master key stored
  run(camsim::FlowChoice::kF2, "F2", "F2");    // master key forgotten
  run(camsim::FlowChoice::kAuto, "F3", "F3");  // F2 stored a new master key
  // A devid the gateway does not know (camera 1): result 4 -> the camera wipes it and takes F1.
  {
    std::string s = gwtest::read_file(sd.file("camsim.state"));
    auto pos = s.find("CAMFL00001 ") + 11;
    s[pos] = s[pos] == 'A' ? 'B' : 'A';
    std::ofstream(sd.file("camsim.state")) << s;
  }
  run(camsim::FlowChoice::kAuto, "F1", "F3");
}

TEST_CASE("camsim: an unprovisioned serial gets result 5 and backs off") {
  Rig rig(std::string(kBase) + Devices("CAMOK", 1));
  auto o = SimOptions(rig.lbs_port, 1, "CAMNO");
  camsim::Simulator sim(o);
  REQUIRE(sim.Start().ok());
  sim.StartThread();
  REQUIRE(rig.pump_until([&] { return sim.GetStats().lbs_errors >= 2; }, 5000));
  auto info = sim.Info("CAMNO00001");
  REQUIRE(info);
  CHECK_FALSE(info->online);
  bool saw = false;
  for (auto& l : info->log) saw = saw || l.find("0x2 result 5") != std::string::npos;
  CHECK(saw);
  sim.StopThread();
}
