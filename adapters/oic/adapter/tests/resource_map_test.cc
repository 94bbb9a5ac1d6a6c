// Unit tests of the mapping model -> OIC resources translation (no XMPP).
#include <doctest/doctest.h>

#include <google/protobuf/text_format.h>

#include "gw/value.h"
#include "resource_map.h"

using namespace gw::oic::adapter;

namespace {

gw::v1::DeviceModel model(const std::string& text) {
  gw::v1::DeviceModel m;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &m));
  return m;
}

}  // namespace

TEST_CASE("resources are grouped by href; conflicts and reserved hrefs are refused") {
  auto m = model(R"(name: "cam"
    point { path: "0/video/enabled" kind: POINT_PROPERTY type: TYPE_BOOLEAN oic { href: "/v" rt: "oic.r.camera" property: "enabled" } }
    point { path: "0/video/level" kind: POINT_PROPERTY type: TYPE_INTEGER oic { href: "/v" property: "level" scale: 10 } }
    point { path: "*/motion/vmd" kind: POINT_EVENT oic { href: "/m" rt: "oic.r.sensor.motion" } }
    point { path: "0/none" kind: POINT_PROPERTY })");
  CHECK(has_oic_bindings(m));
  auto r = build_resources(m, "oic.d.camera");
  REQUIRE(r.ok());
  CHECK(r->device_type == "oic.d.camera");
  REQUIRE(r->find("/v"));
  CHECK(r->find("/v")->points.size() == 2);
  CHECK(r->find("/v")->rt == "oic.r.camera");
  CHECK_FALSE(r->find("/m"));  // wildcard channel skipped
  CHECK(r->skipped.size() == 1);
  CHECK(r->by_path.count("0/video/level") == 1);

  auto clash = model(R"(name: "x"
    point { path: "0/a" oic { href: "/v" rt: "a" } } point { path: "0/b" oic { href: "/v" rt: "b" property: "b" } })");
  CHECK_FALSE(build_resources(clash, "oic.d.camera").ok());
  auto dup = model(R"(name: "x" point { path: "0/a" oic { href: "/v" } } point { path: "0/b" oic { href: "/v" } })");
  CHECK_FALSE(build_resources(dup, "oic.d.camera").ok());
  auto reserved = model(R"(name: "x" point { path: "0/a" oic { href: "/oic/res" } })");
  CHECK_FALSE(build_resources(reserved, "oic.d.camera").ok());
  auto relative = model(R"(name: "x" point { path: "0/a" oic { href: "v" } })");
  CHECK_FALSE(build_resources(relative, "oic.d.camera").ok());
  CHECK_FALSE(has_oic_bindings(model(R"(name: "x" point { path: "0/a" })")));
}

TEST_CASE("value conversions: scale, enum_map, type checks, round trip") {
  auto m = model(R"(name: "cam"
    point { path: "0/l" kind: POINT_PROPERTY type: TYPE_INTEGER writable: true oic { href: "/v" property: "level" scale: 10 } }
    point { path: "0/s" kind: POINT_PROPERTY type: TYPE_INTEGER writable: true
            oic { href: "/s" property: "state" enum_map { key: "1" value: "on" } enum_map { key: "0" value: "off" } } }
    point { path: "0/b" kind: POINT_PROPERTY type: TYPE_BOOLEAN writable: true oic { href: "/b" } })");
  auto r = build_resources(m, "oic.d.camera");
  REQUIRE(r.ok());
  const auto& level = r->find("/v")->points[0];
  const auto& state = r->find("/s")->points[0];
  const auto& flag = r->find("/b")->points[0];
  CHECK(flag.oic().property() == "value");

  CHECK(to_oic(level, gw::make_int(5)) == 50);
  CHECK(from_oic(level, 70).value().int_value() == 7);
  CHECK(from_oic(level, 74).value().int_value() == 7);  // rounded to the native integer
  CHECK_FALSE(from_oic(level, "x").ok());

  CHECK(to_oic(state, gw::make_int(1)) == "on");
  CHECK(from_oic(state, "off").value().int_value() == 0);
  CHECK_FALSE(from_oic(state, "dim").ok());

  CHECK(to_oic(flag, gw::make_bool(true)) == true);
  CHECK_FALSE(from_oic(flag, 1).ok());
  CHECK(to_oic(flag, gw::v1::Value()).is_null());

  gw::v1::Value wrapped;
  gw::map_set(wrapped, "value", gw::make_int(3));
  CHECK(point_value(level, wrapped).int_value() == 3);
}

TEST_CASE("discovery documents name the device and every resource") {
  auto m = model(R"(name: "cam" oic_device_type: "oic.d.ipcam"
    point { path: "0/l" kind: POINT_PROPERTY oic { href: "/v" rt: "oic.r.x" } }
    point { path: "0/g" kind: POINT_SERVICE oic { href: "/g" rt: "oic.r.go" } })");
  auto r = build_resources(m, "oic.d.camera");
  REQUIRE(r.ok());
  gw::v1::Device d;
  d.set_uuid("0685b960-736f-46f7-bec0-9e6cbd671adc");
  d.set_name("front door");
  auto res = oic_res(d, r.value());
  REQUIRE(res.size() == 1);
  CHECK(res[0]["di"] == d.uuid());
  std::map<std::string, nlohmann::ordered_json> links;
  for (auto& l : res[0]["links"]) links[l["href"].get<std::string>()] = l;
  CHECK(links.size() == 6);
  CHECK(links["/v"]["p"]["bm"] == 3);
  CHECK(links["/g"]["p"]["bm"] == 1);
  CHECK(links["/oic/d"]["rt"][1] == "oic.d.ipcam");
  CHECK(oic_d(d, r.value())["n"] == "front door");
}
