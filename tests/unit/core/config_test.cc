#include <doctest/doctest.h>

#include "config.h"
#include "test_util.h"

namespace {
// A config whose adapters are skipped by a no-op preloader (no module needed for these checks).
gw::Result<gw::LoadedConfig> load(const std::string& path) {
  return gw::load_config(path, [](const gw::v1::AdapterConfig&, const std::string&) -> gw::Result<void> { return {}; });
}
const char* kGood = R"(gateway_id: "gw1"
mapping_file: "maps"
adapter { name: "a" module: "loopback" }
adapter { name: "b" module: "loopback" }
)";
}  // namespace

TEST_CASE("a syntax error names file, line and column") {
  gwtest::TempDir t;
  auto p = t.write("gw.textproto", "gateway_id: \"x\"\nmapping_file: \"m\"\nadapter { name: \"a\" module: }\n");
  auto r = load(p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(p + ":3:") == 0);
}

TEST_CASE("an unknown field names file, line and the field") {
  gwtest::TempDir t;
  auto p = t.write("gw.textproto", "gateway_id: \"x\"\nmapping_file: \"m\"\nlog { levle: DEBUG }\n");
  auto r = load(p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(p + ":3:") == 0);
  CHECK(r.error().message.find("levle") != std::string::npos);
}

TEST_CASE("duplicate adapter names are refused at the second one's line") {
  gwtest::TempDir t;
  auto p = t.write("gw.textproto", "gateway_id: \"x\"\nmapping_file: \"m\"\nadapter { name: \"a\" module: \"m\" }\n\nadapter { name: \"a\" module: \"m\" }\n");
  auto r = load(p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(p + ":5:") == 0);
  CHECK(r.error().message.find("used twice") != std::string::npos);
}

TEST_CASE("missing required settings are named") {
  gwtest::TempDir t;
  auto r = load(t.write("a.textproto", "mapping_file: \"m\"\n"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("gateway_id is required") != std::string::npos);
  auto r2 = load(t.write("b.textproto", "gateway_id: \"g\"\n"));
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message.find("mapping_file is required") != std::string::npos);
  CHECK_FALSE(load(t.file("nonexistent.textproto")).ok());
}

TEST_CASE("mapping files: good set loads; each kind of mistake names file:line") {
  gwtest::TempDir t;
  auto cfgp = t.write("gw.textproto", kGood);
  t.write("maps/routes.textproto", "route { name: \"r1\" from_adapter: \"a\" kind: REPORT to_adapter: \"b\" }\n");
  t.write("maps/model.textproto",
          "model {\n  name: \"cam\"\n  point { path: \"0/motion/vmd\" kind: POINT_EVENT }\n  point { path: \"*/video/enabled\" kind: POINT_PROPERTY writable: true }\n}\n");
  auto cfg = load(cfgp);
  REQUIRE(cfg.ok());
  auto set = gw::load_mappings(cfg.value(), {"a", "b"});
  REQUIRE_MESSAGE(set.ok(), (set.ok() ? "" : set.error().message));
  CHECK(set->route_size() == 1);
  CHECK(set->model_size() == 1);
  CHECK(set->model(0).point_size() == 2);

  auto check_bad = [&](const std::string& content, const std::string& line_prefix, const std::string& words) {
    auto p = t.write("maps/zz-bad.textproto", content);
    auto r = gw::load_mappings(cfg.value(), {"a", "b"});
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.find(p + ":" + line_prefix) == 0);
    CHECK(r.error().message.find(words) != std::string::npos);
  };
  check_bad("route {\n  name: \"r2\"\n  to_adapter: \"nobody\"\n}\n", "3:", "no adapter named \"nobody\"");
  check_bad("route {\n  name: \"r1\"\n  to_adapter: \"a\"\n}\n", "2:", "already defined at");
  check_bad("model {\n  name: \"m2\"\n  point {\n    path: \"motion\"\n    kind: POINT_EVENT\n  }\n}\n", "4:",
            "must be {localIndex|*}/{domain}/{identifier}");
  check_bad("model {\n  name: \"m3\"\n  point { path: \"0/a/b\" kind: POINT_EVENT\n writable: true }\n}\n", "4:",
            "only properties can be writable");
  check_bad("model {\n  name: \"m4\"\n  thing_model_file: \"nope.json\"\n}\n", "3:", "does not exist");
  check_bad("route { name: \"r9\" to_adapter: \"a\" kind: RESPONSE }\n", "1:", "responses are not routed");
  check_bad("model { name: \"m5\" point { path: \"0/a/b\" kind: POINT_EVENT } point { path: \"0/a/b\" kind: POINT_EVENT } }\n",
            "1:", "appears twice");
}

TEST_CASE("a mapping_file entry that does not exist is named with the config line") {
  gwtest::TempDir t;
  auto cfgp = t.write("gw.textproto", "gateway_id: \"g\"\n\nmapping_file: \"missing.textproto\"\n");
  auto cfg = load(cfgp);
  REQUIRE(cfg.ok());
  auto r = gw::load_mappings(cfg.value(), {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(cfgp + ":3:") == 0);
  CHECK(r.error().message.find("does not exist") != std::string::npos);
}
