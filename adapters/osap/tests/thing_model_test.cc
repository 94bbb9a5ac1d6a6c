// Thing-model (TSL) profile loader and value validation.
#include "osap/codec/thing_model.h"
#include "test_util.h"

using namespace gw::osap::tsl;
using nlohmann::json;

namespace {
const char* kNvrProfile = R"({
  "version": "3.0",
  "capacities": {"support_ota": 1},
  "resources": [
    {"identifier": "global", "title": "device", "resourceCategory": "global", "localIndex": ["0"],
     "dynamic": false, "global": true,
     "domains": [
       {"identifier": "attribute_basic",
        "props": [
          {"identifier": "name", "version": "v3.0", "access": "rw",
           "schema": {"type": "string", "minLength": 1, "maxLength": 4}}
        ]}
     ]},
    {"identifier": "video", "title": "channels", "resourceCategory": "video", "localIndex": ["0", "1"],
     "localIndexRule": {"start": 0}, "dynamic": false,
     "domains": [
       {"identifier": "image",
        "props": [
          {"identifier": "brightness", "version": "v3.0", "access": "rw",
           "schema": {"type": "integer", "minimum": 0, "maximum": 100, "multipleOf": 5}},
          {"identifier": "enabled", "access": "r", "schema": {"type": "boolean"}},
          {"identifier": "mode", "access": "rw", "schema": {"type": "string", "enum": ["day", "night"]}},
          {"identifier": "region", "access": "rw",
           "schema": {"type": "object", "required": ["x"],
                      "properties": {"x": {"type": "number", "minimum": 0.0, "maximum": 1.0},
                                     "points": {"type": "array", "maxItems": 2,
                                                "items": {"type": "integer"}}}}}
        ],
        "actions": [
          {"identifier": "ptz_move", "direction": "Plt2Dev",
           "input": {"schema": {"type": "object", "required": ["dir"],
                                "properties": {"dir": {"type": "string", "enum": ["up", "down"]}}}},
           "output": {"schema": {"type": "object"}}},
          {"identifier": "reboot", "input": null}
        ],
        "events": [
          {"identifier": "vmd", "eventType": ["notification", "general"],
           "input": {"schema": {"type": "object", "required": ["basic"],
                                "properties": {"basic": {"type": "object", "required": ["dateTime", "UUID"]}}}}}
        ]}
     ]}
  ]
})";
}  // namespace

TEST_CASE("profile: an NVR with a global resource and two video channels") {
  auto p = LoadProfile(kNvrProfile);
  REQUIRE_MESSAGE(p.ok(), p.error().message);
  CHECK(p->version == "3.0");
  CHECK(p->capacities["support_ota"] == 1);
  REQUIRE(p->resources.size() == 2);
  const Resource* video = p->FindResource("video");
  REQUIRE(video != nullptr);
  CHECK(video->local_index == std::vector<std::string>{"0", "1"});
  CHECK(video->AcceptsLocalIndex("1"));
  CHECK_FALSE(video->AcceptsLocalIndex("2"));
  CHECK(video->local_index_rule["start"] == 0);
  CHECK(p->FindResource("audio") == nullptr);
  const Domain* image = video->FindDomain("image");
  REQUIRE(image != nullptr);
  const Prop* b = image->FindProp("brightness");
  REQUIRE(b != nullptr);
  CHECK(b->access == Access::kReadWrite);
  CHECK(b->version == "v3.0");
  CHECK(b->schema.type == ValueType::kInteger);
  CHECK(image->FindProp("enabled")->access == Access::kRead);
  const Action* ptz = image->FindAction("ptz_move");
  REQUIRE(ptz != nullptr);
  CHECK(ptz->direction == "Plt2Dev");
  REQUIRE(ptz->input.has_value());
  CHECK(ptz->output.has_value());
  CHECK_FALSE(image->FindAction("reboot")->input.has_value());
  const Event* vmd = image->FindEvent("vmd");
  REQUIRE(vmd != nullptr);
  CHECK(vmd->event_types == std::vector<std::string>{"notification", "general"});
  CHECK(p->resources[0].global);
}

TEST_CASE("validation: values against prop schemas, errors name the path") {
  auto p = LoadProfile(kNvrProfile);
  REQUIRE(p.ok());
  const Domain* image = p->FindResource("video")->FindDomain("image");
  const Schema& bright = image->FindProp("brightness")->schema;
  CHECK(Validate(bright, json(50)).ok());
  CHECK(Validate(bright, json(0)).ok());
  CHECK_ERR(Validate(bright, json(105)), "value: 105 is above the maximum 100");
  CHECK_ERR(Validate(bright, json(-5)), "below the minimum");
  CHECK_ERR(Validate(bright, json(52)), "not a multiple of 5");
  CHECK_ERR(Validate(bright, json(50.5)), "expected integer, got number");
  CHECK_ERR(Validate(bright, json("50")), "expected integer, got string");
  const Schema& mode = image->FindProp("mode")->schema;
  CHECK(Validate(mode, json("night")).ok());
  CHECK_ERR(Validate(mode, json("dusk")), "not in the enum");
  const Schema& region = image->FindProp("region")->schema;
  CHECK(Validate(region, json::parse(R"({"x":0.5,"points":[1,2]})")).ok());
  CHECK_ERR(Validate(region, json::parse(R"({"points":[1]})")), "missing required member \"x\"");
  CHECK_ERR(Validate(region, json::parse(R"({"x":2})")), "value.x: 2 is above the maximum");
  CHECK_ERR(Validate(region, json::parse(R"({"x":0,"points":[1,"a"]})")), "value.points[1]: expected integer");
  CHECK_ERR(Validate(region, json::parse(R"({"x":0,"points":[1,2,3]})")), "value.points: more than maxItems 2");
  const Schema& name = p->FindResource("global")->FindDomain("attribute_basic")->FindProp("name")->schema;
  CHECK(Validate(name, json("caf\xC3\xA9")).ok());  // 4 code points, 5 bytes
  CHECK_ERR(Validate(name, json("")), "shorter than minLength 1");
  CHECK_ERR(Validate(name, json("abcde")), "longer than maxLength 4");
  CHECK_ERR(Validate(*image->FindAction("ptz_move")->input, json::parse(R"({"dir":"left"})"), "input"),
            "input.dir: value \"left\" is not in the enum");
  CHECK_ERR(Validate(*image->FindEvent("vmd")->input, json::parse(R"({"basic":{"dateTime":"x"}})")),
            "value.basic: missing required member \"UUID\"");
}

TEST_CASE("profile errors name the JSON path") {
  auto load = [](const std::string& resources) {
    return LoadProfile(std::string(R"({"version":"3.0","resources":)") + resources + "}");
  };
  CHECK_ERR(LoadProfile("{"), "not valid JSON");
  CHECK_ERR(LoadProfile("[]"), "top level must be an object");
  CHECK_ERR(LoadProfile(R"({"version":"3.0"})"), "profile.resources: missing");
  CHECK_ERR(load(R"([{"resourceCategory":"v","domains":[]}])"), "profile.resources[0].identifier: missing");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v"}])"), "profile.resources[0].domains: missing");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","localIndex":["0-1"],"domains":[]}])"),
            "profile.resources[0].localIndex[0]");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","props":[
              {"identifier":"p","access":"w","schema":{"type":"integer"}}]}]}])"),
            "profile.resources[0].domains[0].props[0].access: must be \"r\" or \"rw\"");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","props":[
              {"identifier":"p","access":"r","schema":{"type":"int"}}]}]}])"),
            "profile.resources[0].domains[0].props[0].schema.type: unknown type \"int\"");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","props":[
              {"identifier":"p","access":"r","schema":{"type":"integer","minimum":5,"maximum":1}}]}]}])"),
            "props[0].schema: minimum above maximum");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","props":[
              {"identifier":"p","access":"r","schema":{"type":"object","properties":{"a":{"type":"string","maxLength":-1}}}}]}]}])"),
            "props[0].schema.properties.a.maxLength: must be a non-negative integer");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","props":[
              {"identifier":"p","access":"r","schema":{"type":"string"}},
              {"identifier":"p","access":"r","schema":{"type":"string"}}]}]}])"),
            "props[1].identifier: duplicate prop \"p\"");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","actions":[
              {"identifier":"a","input":{"schema":{"type":"array","items":{"type":"nope"}}}}]}]}])"),
            "domains[0].actions[0].input.schema.items.type: unknown type");
  CHECK_ERR(load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","events":[
              {"identifier":"e","eventType":"notification"}]}]}])"),
            "domains[0].events[0].eventType: must be an array");
  CHECK_ERR(load(R"([{"identifier":"a","resourceCategory":"v","domains":[]},
                     {"identifier":"b","resourceCategory":"v","domains":[]}])"),
            "profile.resources[1].resourceCategory: duplicate resourceCategory");
  // An action input given directly as a schema (without the "schema" wrapper) is accepted.
  auto direct = load(R"([{"identifier":"v","resourceCategory":"v","domains":[{"identifier":"d","actions":[
              {"identifier":"a","input":{"type":"integer","maximum":3}}]}]}])");
  REQUIRE(direct.ok());
  CHECK_ERR(Validate(*direct->resources[0].domains[0].actions[0].input, json(4)), "above the maximum 3");
}
