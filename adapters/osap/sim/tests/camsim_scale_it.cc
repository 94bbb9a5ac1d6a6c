// 1,000 simulated cameras through one gateway (in-process, real gw_osap, loopback TCP). To keep the
// wall time small on a 2-core CI host, 950 cameras were onboarded "earlier": their devid and master
// key are seeded into the gateway's registry and the simulator's state file, so they take F3 (no
// ECDH); 50 cameras of both generations take F1.
#include <chrono>
#include <fstream>

#include "osap/codec/crypto.h"
#include "registry.h"
#include "sim_rig.h"

using namespace simit;

TEST_CASE("camsim: 1,000 cameras onboard (950 F3, 50 F1), connect, report from every camera, replay after a cut") {
  camsim::RaiseFileLimit();
  g_keep_all = false;
  constexpr int kCount = 1000, kFresh = 50;
  auto so = SimOptions(0, kCount, "CAMK");
  so.max_concurrent_onboarding = 64;
  so.report_interval_ms = 2000;
  so.backoff_ms = 200;
  std::vector<std::string> serials = camsim::Simulator(so).Serials();
  std::string devices;
  {
    camsim::Options po = so;
    devices = camsim::Simulator(po).ProvisionConfig();
  }
  gwtest::TempDir sd;
  const std::string state_file = sd.file("cams.state");
  auto seed = [&](const std::string& state_dir) {
    auto t0 = std::chrono::steady_clock::now();
    auto reg = gw::Registry::open(state_dir + "/registry.db");
    REQUIRE_MESSAGE(reg.ok(), (reg.ok() ? "" : reg.error().message));
    std::ofstream st(state_file);
    for (int i = kFresh; i < kCount; ++i) {
      gw::v1::Device d;
      d.set_adapter("osap");
      d.set_native_id(serials[static_cast<size_t>(i)]);
      d.set_model("camsim-ipc");
      std::string devid = gw::osap::RandomDevid();
      uint8_t mk[8];
      gw::osap::RandomFill(mk, sizeof mk);
      std::string master = gw::osap::HexUpper(gw::osap::ByteView(mk, sizeof mk));
      (*d.mutable_identity())["devid"] = devid;
      (*d.mutable_secrets())["verification_code"] = so.vcode;
      (*d.mutable_secrets())["master_key"] = master;
      REQUIRE(reg.value()->put(d).ok());
      st << serials[static_cast<size_t>(i)] << " " << devid << " " << master << "\n";
    }
    MESSAGE("seeded " << (kCount - kFresh) << " registry records in "
                      << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
  };
  Rig rig(R"(
    das { listen_port: 0 server_id: "das-a" }
    das { listen_port: 0 server_id: "das-b" }
    limits { message_timeout_ms: 5000 }
  )" + devices, seed);

  so.lbs_port = rig.lbs_port;
  so.state_file = state_file;
  camsim::Simulator sim(so);
  REQUIRE(sim.Start().ok());
  auto t0 = std::chrono::steady_clock::now();
  sim.StartThread();
  REQUIRE_MESSAGE(rig.pump_until([&] { return sim.GetStats().online == kCount; }, 120000), sim.GetStats().line());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE(kCount << " cameras online in " << secs << " s; " << sim.GetStats().line());
  auto st = sim.GetStats();
  CHECK(st.onboard_f1 == kFresh);
  CHECK(st.onboard_f3 == kCount - kFresh);
  CHECK(rig.status()["das"].size() == 2);

  // Every camera's reports reach the router.
  REQUIRE_MESSAGE(rig.pump_until([&] { return g_probe->report_devices.size() == static_cast<size_t>(kCount); }, 30000),
                  g_probe->report_devices.size() << " of " << kCount << " cameras reported");

  // 100 cameras lose their connection, raise 3 events each while offline, come back, replay in order.
  for (int i = 0; i < 100; ++i) sim.Command("offline " + serials[static_cast<size_t>(i * 10)]);
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 100; ++i) sim.Command("event " + serials[static_cast<size_t>(i * 10)]);
  rig.pump(500);
  for (int i = 0; i < 100; ++i) sim.Command("online " + serials[static_cast<size_t>(i * 10)]);
  auto events = [&] {
    size_t n = 0;
    for (auto& e : g_probe->received) n += e.kind() == gw::v1::EVENT && e.origin().path() == "0/motion/vmd";
    return n;
  };
  REQUIRE_MESSAGE(rig.pump_until([&] { return events() >= 300 && sim.GetStats().online == kCount; }, 60000),
                  events() << " events; " << sim.GetStats().line());
  std::map<std::string, std::vector<int64_t>> per;
  for (auto& e : g_probe->received)
    if (e.kind() == gw::v1::EVENT && e.origin().path() == "0/motion/vmd")
      per[e.origin().device()].push_back(nlohmann::json::parse(gw::value_to_json(e.content())).value("count", int64_t{-1}));
  CHECK(per.size() == 100);
  for (auto& [dev, counts] : per) CHECK(counts == std::vector<int64_t>{1, 2, 3});
  CHECK(sim.GetStats().events_replayed == 300);
  sim.StopThread();
}
