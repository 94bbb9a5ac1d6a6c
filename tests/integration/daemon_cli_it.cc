// gatewayd as a user runs it: options, exit codes, signals.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <csignal>

#include "test_util.h"

using namespace std::chrono_literals;

namespace {
std::string gatewayd() { return gwtest::env_or("GW_GATEWAYD", gwtest::build_dir() + "/bin/gatewayd"); }
std::string shipped() { return gwtest::source_dir() + "/firmware/etc/camgw/gateway.textproto"; }
}  // namespace

TEST_CASE("--help and --version exit 0; an unknown option exits 2") {
  gwtest::TempDir t;
  auto [rc, out] = gwtest::run({gatewayd(), "--help"}, t.file("o1"));
  CHECK(rc == 0);
  CHECK(out.find("--check-config") != std::string::npos);
  auto [rc2, out2] = gwtest::run({gatewayd(), "--version"}, t.file("o2"));
  CHECK(rc2 == 0);
  CHECK(out2.find("adapter ABI 1") != std::string::npos);
  auto [rc3, out3] = gwtest::run({gatewayd(), "--bogus"}, t.file("o3"));
  CHECK(rc3 == 2);
}

TEST_CASE("--check-config: shipped configuration is valid; broken ones exit 2 naming file and line") {
  gwtest::TempDir t;
  auto [rc, out_] = gwtest::run({gatewayd(), "--check-config", "--config", shipped()}, t.file("o1"));
  const std::string out = out_;  // clang 14 cannot capture a structured binding (INFO)
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("is valid") != std::string::npos);

  auto broken = t.write("broken.textproto", "gateway_id: \"g\"\nmapping_file: \"x\"\nadapter {\n  name: \"a\"\n  modul: \"loopback\"\n}\n");
  auto [rc2, out2] = gwtest::run({gatewayd(), "--check-config", "--config", broken}, t.file("o2"));
  CHECK(rc2 == 2);
  CHECK(out2.find(broken + ":5:") != std::string::npos);

  auto missing_module = t.write("nomod.textproto", "gateway_id: \"g\"\nmapping_file: \"x\"\nadapter { name: \"a\" module: \"nosuch\" }\n");
  auto [rc3, out3] = gwtest::run({gatewayd(), "--check-config", "--config", missing_module}, t.file("o3"));
  CHECK(rc3 == 2);
  CHECK(out3.find(missing_module + ":3:") != std::string::npos);
  CHECK(out3.find("gw_nosuch.so") != std::string::npos);

  auto badabi = t.write("badabi.textproto", "gateway_id: \"g\"\nmapping_file: \"x\"\nadapter { name: \"a\" module_path: \"" +
                                               gwtest::env_or("GW_TESTMODULE_DIR", "") + "/gw_badabi.so\" }\n");
  auto [rc4, out4] = gwtest::run({gatewayd(), "--check-config", "--config", badabi}, t.file("o4"));
  CHECK(rc4 == 2);
  CHECK(out4.find("ABI version 999, this gatewayd speaks ABI version 1") != std::string::npos);

  auto [rc5, out5] = gwtest::run({gatewayd(), "--check-config", "--config", t.file("absent.textproto")}, t.file("o5"));
  CHECK(rc5 == 2);
  CHECK(out5.find("cannot open") != std::string::npos);
}

TEST_CASE("running gatewayd: SIGHUP keeps old mappings on a bad file, SIGTERM stops cleanly with exit 0") {
  gwtest::TempDir t;
  t.write("maps/routes.textproto", "route { name: \"up\" from_adapter: \"devices\" kind: REPORT to_adapter: \"cloud\" }\n");
  auto cfg = t.write("gw.textproto", R"(gateway_id: "cli-gw"
mapping_file: "maps"
adapter { name: "devices" module: "loopback"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { devices: 1 report_interval_ms: 100 model: "m" } } }
adapter { name: "cloud" module: "loopback"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { log_received: true } } }
)");
  gwtest::Process p({gatewayd(), "--config", cfg, "--module-dir", gwtest::module_dir(), "--state-dir", t.file("state")},
                    t.file("log"));
  REQUIRE(p.wait_for_output("running with 2 adapters", 10s));
  REQUIRE(p.wait_for_output("received REPORT", 5s));
  t.write("maps/routes.textproto", "route { name: \"up\" kind: REPORT\n to_adapter: \"ghost\" }\n");
  p.signal(SIGHUP);
  REQUIRE(p.wait_for_output("mapping reload failed, keeping generation 1", 5s));
  CHECK(p.output().find("routes.textproto:2:") != std::string::npos);
  t.write("maps/routes.textproto", "route { name: \"up\" from_adapter: \"devices\" kind: EVENT to_adapter: \"cloud\" }\n");
  p.signal(SIGHUP);
  REQUIRE(p.wait_for_output("mappings reloaded: generation 2", 5s));
  p.signal(SIGTERM);
  CHECK(p.wait(10s) == 0);
  CHECK(p.output().find("msg=stopped") != std::string::npos);
}

TEST_CASE("gatewayctl talks to a running gatewayd over its 0600 admin socket") {
  gwtest::TempDir t;
  t.write("maps/routes.textproto", "route { name: \"up\" from_adapter: \"devices\" kind: REPORT to_adapter: \"cloud\" }\n");
  auto cfg = t.write("gw.textproto", R"(gateway_id: "ctl-gw"
mapping_file: "maps"
adapter { name: "devices" module: "loopback"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { devices: 2 respond: true model: "m" } } }
adapter { name: "cloud" module: "loopback" }
)");
  std::string state = t.file("state");
  gwtest::Process p({gatewayd(), "--config", cfg, "--module-dir", gwtest::module_dir(), "--state-dir", state},
                    t.file("log"));
  REQUIRE(p.wait_for_output("running with 2 adapters", 10s));
  std::string ctl = gwtest::env_or("GW_GATEWAYCTL", gwtest::build_dir() + "/bin/gatewayctl");
  struct stat st {};
  REQUIRE(::stat((state + "/control.sock").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto [rc, out] = gwtest::run({ctl, "--state-dir", state, "status"}, t.file("c1"));
  CHECK(rc == 0);
  CHECK(out.find("\"gateway_id\": \"ctl-gw\"") != std::string::npos);
  CHECK(out.find("\"loop\"") != std::string::npos);  // event-loop turn statistics
  CHECK(out.find("\"max_turn_ms\"") != std::string::npos);
  auto [rc2, out2] = gwtest::run({ctl, "--state-dir", state, "request", "devices", "UPDATE", "0/demo/setting", "{\"value\":3}"},
                                 t.file("c2"));
  CHECK(rc2 == 0);
  CHECK(out2.find("\"status\": \"CHANGED\"") != std::string::npos);
  auto [rc3, out3] = gwtest::run({ctl, "--state-dir", state, "request", "ghost", "RETRIEVE", "x"}, t.file("c3"));
  CHECK(rc3 == 1);
  CHECK(out3.find("no adapter named") != std::string::npos);
  auto [rc4, out4] = gwtest::run({ctl, "--state-dir", state, "devices", "devices"}, t.file("c4"));
  CHECK(rc4 == 0);
  CHECK(out4.find("loop-1") != std::string::npos);
  auto [rc5, out5] = gwtest::run({ctl, "--state-dir", state, "frobnicate"}, t.file("c5"));
  CHECK(rc5 == 2);
  auto [rc6, out6] = gwtest::run({ctl, "--socket", t.file("nope.sock"), "status"}, t.file("c6"));
  CHECK(rc6 == 2);
  CHECK(out6.find("is gatewayd running?") != std::string::npos);
  p.signal(SIGTERM);
  CHECK(p.wait(10s) == 0);
}
