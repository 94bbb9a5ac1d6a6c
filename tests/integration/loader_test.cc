#include <doctest/doctest.h>

#include "adapter_host.h"
#include "test_util.h"

TEST_CASE("the loader refuses a module built for another ABI, naming the module and both versions") {
  gw::ModuleLoader loader(gwtest::module_dir());
  std::string bad = gwtest::env_or("GW_TESTMODULE_DIR", "") + "/gw_badabi.so";
  auto r = loader.load_file(bad);
  REQUIRE_FALSE(r.ok());
  const auto& m = r.error().message;
  INFO(m);
  CHECK(m.find(bad) != std::string::npos);
  CHECK(m.find("ABI version 999") != std::string::npos);
  CHECK(m.find("speaks ABI version " + std::to_string(GW_ADAPTER_ABI_VERSION)) != std::string::npos);
}

TEST_CASE("the loader names a missing entry symbol and a missing file") {
  gw::ModuleLoader loader(gwtest::module_dir());
  auto r = loader.load_file(gwtest::env_or("GW_TESTMODULE_DIR", "") + "/gw_notadapter.so");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("no gw_adapter_entry symbol") != std::string::npos);
  auto r2 = loader.load_file("/nonexistent/gw_x.so");
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message.find("file not found") != std::string::npos);
}

TEST_CASE("the loader accepts the loopback module and reads its descriptor") {
  gw::ModuleLoader loader(gwtest::module_dir());
  gw::v1::AdapterConfig cfg;
  cfg.set_module("loopback");
  auto r = loader.load(cfg);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(std::string(r.value()->desc->name) == "loopback");
  CHECK(std::string(r.value()->desc->config_schema) == "gw.loopback.v1.LoopbackConfig");
  cfg.set_module("../etc");
  CHECK_FALSE(loader.load(cfg).ok());
}
