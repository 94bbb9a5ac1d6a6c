// Integration: gatewayd's Gateway in-process loading the real gw_onem2m module through the loader,
// a real mosquitto broker, an independent MQTT client speaking the oneM2M binding, and an
// in-process camera probe adapter on the device side of the router.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <regex>

#include "gateway.h"
#include "gw/adapter_sdk.h"
#include "gw/value.h"
#include "rig.h"

using m2mtest::Json;

namespace {

struct Cam;
Cam* g_cam = nullptr;

// The camera side: one registered device of model "cam1"; answers UPDATE requests unless mute.
struct Cam : gw::sdk::Adapter {
  explicit Cam(const gw_host_api* api) : Adapter(api) { g_cam = this; }
  ~Cam() override { g_cam = nullptr; }
  std::string configure(const std::string&) override { return ""; }
  std::string start() override {
    gw::v1::Device d;
    d.set_native_id("cam-1");
    d.set_model("cam1");
    d.set_name("front door");
    auto s = host_.put_device(d);
    if (!s) return "cannot register";
    uuid = s->uuid();
    host_.set_online(uuid, true);
    return "";
  }
  int deliver(const gw::v1::Envelope& env) override {
    if (env.kind() != gw::v1::REQUEST) return GW_OK;
    requests.push_back(env);
    if (mute) return GW_OK;
    gw::v1::Envelope r;
    r.set_kind(gw::v1::RESPONSE);
    r.set_op(env.op());
    r.set_correlation_id(env.correlation_id());
    *r.mutable_origin() = env.target();
    *r.mutable_target() = env.origin();
    r.set_status(gw::v1::CHANGED);
    host_.emit(r);
    return GW_OK;
  }
  void emit(gw::v1::Kind k, const std::string& path, const gw::v1::Value& v, bool durable = false) {
    gw::v1::Envelope e;
    e.set_kind(k);
    e.set_op(k == gw::v1::REPORT ? gw::v1::REPORT_OP : gw::v1::EVENT_OP);
    e.mutable_origin()->set_device(uuid);
    e.mutable_origin()->set_path(path);
    e.set_device_model("cam1");
    *e.mutable_content() = v;
    if (durable)
      host_.emit_durable(e, [](void*, uint64_t, int) {}, nullptr);
    else
      host_.emit(e);
  }
  std::string uuid;
  bool mute = false;
  std::vector<gw::v1::Envelope> requests;
};

const gw_adapter_descriptor kCam = gw::sdk::make_descriptor<Cam>("camprobe", "1", "camera probe", nullptr);

const char* kMaps = R"(
route { name: "cam-up" from_adapter: "cam" kind: REPORT kind: EVENT to_adapter: "onem2m" }
model {
  name: "cam1"
  onem2m_container_definition: "org.onem2m.home.device.deviceCamera"
  point { path: "0/motion/vmd" kind: POINT_PROPERTY type: TYPE_BOOLEAN
          onem2m { module: "motionSensor" container_definition: "org.onem2m.home.moduleclass.motionSensor" attribute: "alarm" } }
  point { path: "0/video/enabled" kind: POINT_PROPERTY type: TYPE_BOOLEAN writable: true
          onem2m { module: "binarySwitch" container_definition: "org.onem2m.home.moduleclass.binarySwitch" attribute: "state" } }
  point { path: "0/event/motion" kind: POINT_EVENT type: TYPE_OBJECT onem2m { container: "motionEvents" } }
}
)";

struct Rig {
  gwtest::TempDir dir;
  m2mtest::Broker broker{dir};
  gw::EventLoop loop;
  std::unique_ptr<gw::Gateway> gw;
  std::unique_ptr<m2mtest::Client> client;
  int seq = 0;

  // extra: gateway config text; cse_extra: more OneM2MConfig fields.
  explicit Rig(const std::string& extra = "", const std::string& cse_extra = "") {
    dir.write("maps/m.textproto", kMaps);
    dir.write("gw.textproto", R"(gateway_id: "m2m-gw"
mapping_file: "maps"
)" + extra + R"(
router { request_timeout_ms: 800 }
adapter { name: "cam" module: "camprobe" }
adapter { name: "onem2m" module: "onem2m" config { [type.googleapis.com/gw.onem2m.v1.OneM2MConfig] {
  cse_id: "/id-mn" cse_name: "cse-mn" broker { url: ")" + broker.url() + R"(" }
  request_timeout_ms: 600 reconnect_min_ms: 100 notify_retry_ms: 200 )" + cse_extra + R"( } } }
)");
    start_gateway();
    client = std::make_unique<m2mtest::Client>(broker.port(), "A::itest",
                                               std::vector<std::string>{"/oneM2M/resp/#", "/oneM2M/reg_resp/#",
                                                                        "/oneM2M/req/id-mn/#"});
    // Notifications and verification requests to test AEs are answered 2000 by the client.
    client->responder = [](const m2mtest::Msg& m) {
      m2mtest::Msg r;
      std::smatch sm;
      std::regex re("^/oneM2M/req/id-mn/([^/]+)/json$");
      if (!std::regex_match(m.topic, sm, re) || sm[1].str() == "Cgone") return r;
      Json q = Json::parse(m.payload, nullptr, false);
      if (!q.is_object()) return r;
      r.topic = "/oneM2M/resp/id-mn/" + sm[1].str() + "/json";
      r.payload = Json{{"rsc", 2000}, {"rqi", q.value("rqi", "")}, {"to", "/id-mn"}, {"fr", sm[1].str()}}.dump();
      return r;
    };
  }
  ~Rig() { stop_gateway(); }

  void start_gateway() {
    gw::Gateway::Options o;
    o.config_path = dir.file("gw.textproto");
    o.module_dir = gwtest::module_dir();
    o.state_dir = dir.file("state");
    o.builtins = {&kCam};
    auto g = gw::Gateway::create(loop, o);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
    gw = std::move(g.value());
    REQUIRE(gw->start().ok());
    // Requests reach the CSE once its subscriptions are acknowledged.
    uint64_t end = loop.now_ms() + 5000;
    while (m2mtest::adapter_status(*gw, "onem2m").value("subscribed", false) == false && loop.now_ms() < end)
      m2mtest::turn(loop, 5);
    REQUIRE(m2mtest::adapter_status(*gw, "onem2m").value("subscribed", false));
  }
  void stop_gateway() {
    if (!gw) return;
    bool done = false;
    gw->begin_shutdown([&] { done = true; });
    for (int i = 0; i < 300 && !done; ++i) m2mtest::turn(loop, 10);
    gw.reset();
  }
  void pump(int ms) {
    uint64_t end = loop.now_ms() + static_cast<uint64_t>(ms);
    while (loop.now_ms() < end) m2mtest::turn(loop, 5);
  }

  // Sends a request (JSON or CBOR) on the req (or reg_req) topic and returns the decoded response.
  Json request(Json q, const std::string& fmt = "json", const std::string& kind = "req") {
    std::string rqi = "it-" + std::to_string(++seq);
    if (!q.contains("rqi")) q["rqi"] = rqi;
    rqi = q["rqi"].get<std::string>();
    if (!q.contains("rvi")) q["rvi"] = "3";
    std::string fr = q.value("fr", "");
        // The "/" -> ":" rule of TS-0010 for IDs inside topic levels.
    std::string level = fr.empty() ? std::string("anon") : fr;
    if (level[0] == '/') level = level.substr(1);
    for (auto& ch : level)
      if (ch == '/') ch = ':';
    std::string topic = "/oneM2M/" + kind + "/" + level + "/id-mn/" + fmt;
    client->publish(topic, m2mtest::fmt_payload(q, fmt));
    return wait_response(rqi, fmt);
  }
  Json wait_response(const std::string& rqi, const std::string& fmt) {
    m2mtest::Msg m;
    bool got = client->take(
        [&](const m2mtest::Msg& x) {
          if (x.topic.rfind("/oneM2M/resp/", 0) != 0 && x.topic.rfind("/oneM2M/reg_resp/", 0) != 0) return false;
          if (x.topic.size() < fmt.size() || x.topic.substr(x.topic.size() - fmt.size()) != fmt) return false;
          if (fmt == "xml") return x.payload.find("<rqi>" + rqi + "</rqi>") != std::string::npos;
          Json j = m2mtest::parse_payload(x.payload, fmt);
          return j.is_object() && j.value("rqi", "") == rqi;
        },
        m, 3000, [&] { m2mtest::turn(loop, 2); });
    if (!got) return Json{{"rsc", -1}};
    if (fmt == "xml") return Json{{"xml", m.payload}, {"topic", m.topic}};
    Json j = m2mtest::parse_payload(m.payload, fmt);
    j["__topic"] = m.topic;
    return j;
  }
  // Waits for a notification (op 5) to AE `aei` matching pred.
  bool notification(const std::string& aei, const std::function<bool(const Json&)>& pred, Json& out, int ms = 2000) {
    m2mtest::Msg m;
    bool got = client->take(
        [&](const m2mtest::Msg& x) {
          if (x.topic != "/oneM2M/req/id-mn/" + aei + "/json") return false;
          Json j = Json::parse(x.payload, nullptr, false);
          return j.is_object() && j.value("op", 0) == 5 && pred(j);
        },
        m, ms, [&] { m2mtest::turn(loop, 2); });
    if (got) out = Json::parse(m.payload);
    return got;
  }
};

int rsc(const Json& j) { return j.value("rsc", -1); }
// j at a JSON pointer, or null.
Json at(const Json& j, const std::string& ptr) {
  try {
    return j.at(Json::json_pointer(ptr));
  } catch (const std::exception&) {
    return Json();
  }
}

Json create(Rig& r, const std::string& fr, const std::string& to, int ty, Json pc) {
  return r.request(Json{{"op", 1}, {"fr", fr}, {"to", to}, {"ty", ty}, {"pc", pc}});
}
Json retrieve(Rig& r, const std::string& fr, const std::string& to) {
  return r.request(Json{{"op", 2}, {"fr", fr}, {"to", to}});
}

}  // namespace

TEST_CASE("oneM2M CSE over MQTT: registration, CRUD, discovery, subscriptions, ACP, expiry, serializations") {
  Rig r;
  // AE registration with an assigned AE-ID (fr "C") over req, and a chosen one over reg_req.
  Json reg = create(r, "C", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "app1"}, {"api", "Nitest"}, {"rr", true}, {"poa", {"mqtt://127.0.0.1"}}}}});
  REQUIRE(rsc(reg) == 2001);
  std::string ae1 = reg["pc"]["m2m:ae"]["aei"].get<std::string>();
  CHECK(ae1.size() > 1);
  CHECK(ae1[0] == 'C');
  CHECK(reg["__topic"] == "/oneM2M/resp/C/id-mn/json");
  Json reg2 = r.request(Json{{"op", 1}, {"fr", "Cae2"}, {"to", "cse-mn"}, {"ty", 2},
                             {"pc", {{"m2m:ae", {{"rn", "app2"}, {"api", "Nitest2"}, {"rr", true}}}}}},
                        "json", "reg_req");
  REQUIRE(rsc(reg2) == 2001);
  CHECK(reg2["__topic"] == "/oneM2M/reg_resp/Cae2/id-mn/json");
  CHECK(reg2["pc"]["m2m:ae"]["aei"] == "Cae2");
  CHECK(rsc(create(r, "Cae2", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "again"}, {"api", "Nx"}, {"rr", true}}}})) == 4105);

  // Unknown originator; unknown target; CSEBase retrieve (structured and SP-relative).
  CHECK(rsc(retrieve(r, "Cnobody", "cse-mn")) == 4103);
  CHECK(rsc(retrieve(r, ae1, "cse-mn/nothing")) == 4004);
  Json cb = retrieve(r, ae1, "/id-mn/cse-mn");
  REQUIRE(rsc(cb) == 2000);
  CHECK(cb["pc"]["m2m:cb"]["csi"] == "/id-mn");
  CHECK(cb["pc"]["m2m:cb"]["cst"] == 2);

  // container CRUD
  Json cnt = create(r, ae1, "cse-mn/app1", 3, Json{{"m2m:cnt", {{"rn", "cnt1"}, {"mni", 3}, {"lbl", {"room:kitchen"}}}}});
  REQUIRE(rsc(cnt) == 2001);
  CHECK(cnt["pc"]["m2m:cnt"]["cni"] == 0);
  std::string cnt_ri = cnt["pc"]["m2m:cnt"]["ri"].get<std::string>();
  CHECK(rsc(retrieve(r, ae1, cnt_ri)) == 2000);  // unstructured address
  Json up = r.request(Json{{"op", 3}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}, {"pc", {{"m2m:cnt", {{"mbs", 10000}}}}}});
  CHECK(rsc(up) == 2004);
  CHECK(up["pc"]["m2m:cnt"]["mbs"] == 10000);
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}, {"pc", {{"m2m:cnt", {{"ri", "x"}}}}}})) == 4000);

  // Subscription by the AE itself (no verification), child-creation events.
  Json sub = create(r, ae1, "cse-mn/app1/cnt1", 23,
                    Json{{"m2m:sub", {{"rn", "sub1"}, {"nu", {ae1}}, {"enc", {{"net", {3}}}}}}});
  REQUIRE(rsc(sub) == 2001);
  // A subscription notifying another AE is verified first (the client answers Cae2's requests).
  Json sub2 = create(r, ae1, "cse-mn/app1/cnt1", 23, Json{{"m2m:sub", {{"rn", "sub2"}, {"nu", {"Cae2"}}, {"enc", {{"net", {1}}}}}}});
  CHECK(rsc(sub2) == 2001);
  Json vrq;
  CHECK(r.notification("Cae2", [](const Json& j) { return at(j, "/pc/m2m:sgn/vrq") == true; }, vrq));
  CHECK(vrq["pc"]["m2m:sgn"]["sur"] == "cse-mn/app1/cnt1/sub2");
  // ... and refused when the target does not answer.
  CHECK(rsc(create(r, ae1, "cse-mn/app1/cnt1", 23, Json{{"m2m:sub", {{"rn", "sub3"}, {"nu", {"Cgone"}}}}})) == 5204);

  // contentInstances: mni 3 keeps the newest three; la / ol.
  for (int i = 0; i < 5; ++i)
    REQUIRE(rsc(create(r, ae1, "cse-mn/app1/cnt1", 4, Json{{"m2m:cin", {{"cnf", "text/plain:0"}, {"con", "v" + std::to_string(i)}}}})) == 2001);
  Json c1 = retrieve(r, ae1, "cse-mn/app1/cnt1");
  CHECK(c1["pc"]["m2m:cnt"]["cni"] == 3);
  CHECK(c1["pc"]["m2m:cnt"]["cbs"] == 6);
  CHECK(retrieve(r, ae1, "cse-mn/app1/cnt1/la")["pc"]["m2m:cin"]["con"] == "v4");
  CHECK(retrieve(r, ae1, "cse-mn/app1/cnt1/ol")["pc"]["m2m:cin"]["con"] == "v2");
  Json ntf;
  REQUIRE(r.notification(ae1, [](const Json& j) { return at(j, "/pc/m2m:sgn/nev/rep/m2m:cin/con") == "v4"; }, ntf));
  CHECK(ntf["pc"]["m2m:sgn"]["nev"]["net"] == 3);
  CHECK(ntf["pc"]["m2m:sgn"]["sur"] == "cse-mn/app1/cnt1/sub1");
  CHECK(ntf["fr"] == "/id-mn");
  // The update subscription (sub2) notifies Cae2 of the container's own changes.
  REQUIRE(rsc(r.request(Json{{"op", 3}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}, {"pc", {{"m2m:cnt", {{"lbl", {"room:hall"}}}}}}})) == 2004);
  CHECK(r.notification("Cae2", [](const Json& j) { return at(j, "/pc/m2m:sgn/nev/net") == 1; }, ntf));

  // RETRIEVE with rcn 4 (attributes + children) and 6 (child references).
  Json rc4 = r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}, {"rcn", 4}});
  CHECK(rc4["pc"]["m2m:cnt"]["m2m:cin"].size() == 3);
  CHECK(rc4["pc"]["m2m:cnt"]["m2m:sub"].size() == 2);
  Json rc6 = r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn/app1"}, {"rcn", 6}});
  CHECK(rc6["pc"]["m2m:rrl"]["rrf"][0]["val"] == "cse-mn/app1/cnt1");

  // Discovery: by type, label, creation time.
  Json d1 = r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn/app1"}, {"fc", {{"fu", 1}, {"ty", 4}}}});
  REQUIRE(rsc(d1) == 2000);
  CHECK(d1["pc"]["m2m:uril"].size() == 3);
  Json d2 = r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn"}, {"fc", {{"fu", 1}, {"lbl", {"room:hall"}}}}});
  CHECK(d2["pc"]["m2m:uril"] == Json::array({"cse-mn/app1/cnt1"}));
  Json d3 = r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn/app1"}, {"fc", {{"fu", 1}, {"cra", "29991231T000000"}}}});
  CHECK(d3["pc"]["m2m:uril"].empty());
  Json d4 = r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn/app1"}, {"fc", {{"fu", 1}, {"ty", 4}, {"crb", "29991231T000000"}, {"lim", 2}}}});
  CHECK(d4["pc"]["m2m:uril"].size() == 2);

  // Access control: Cae2 may not read app1's container until an ACP grants RETRIEVE.
  CHECK(rsc(retrieve(r, "Cae2", "cse-mn/app1/cnt1")) == 4103);
  Json acp = create(r, ae1, "cse-mn/app1", 1,
                    Json{{"m2m:acp", {{"rn", "acp1"}, {"pv", {{"acr", {{{"acor", {"Cae2"}}, {"acop", 2}}, {{"acor", {ae1}}, {"acop", 63}}}}}},
                                      {"pvs", {{"acr", {{{"acor", {ae1}}, {"acop", 63}}}}}}}}});
  REQUIRE(rsc(acp) == 2001);
  REQUIRE(rsc(r.request(Json{{"op", 3}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}, {"pc", {{"m2m:cnt", {{"acpi", {"cse-mn/app1/acp1"}}}}}}})) == 2004);
  CHECK(rsc(retrieve(r, "Cae2", "cse-mn/app1/cnt1")) == 2000);
  CHECK(rsc(r.request(Json{{"op", 4}, {"fr", "Cae2"}, {"to", "cse-mn/app1/cnt1"}})) == 4103);
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", "Cae2"}, {"to", "cse-mn/app1/acp1"}, {"pc", {{"m2m:acp", {{"lbl", {"x"}}}}}}})) == 4103);

  // Expired requests are refused; malformed ones answered 4000 with their rqi.
  CHECK(rsc(r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn"}, {"rqet", "20000101T000000"}})) == 4008);
  CHECK(rsc(r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn"}, {"rqet", "29991231T000000"}})) == 2000);
  CHECK(rsc(r.request(Json{{"op", "bogus"}, {"fr", ae1}, {"to", "cse-mn"}})) == 4000);

  // flexContainer CRUD.
  Json fc = create(r, ae1, "cse-mn/app1", 28, Json{{"cod:color", {{"rn", "lamp"}, {"cnd", "org.onem2m.home.moduleclass.colour"}, {"red", 1}}}});
  REQUIRE(rsc(fc) == 2001);
  Json fu = r.request(Json{{"op", 3}, {"fr", ae1}, {"to", "cse-mn/app1/lamp"}, {"pc", {{"cod:color", {{"red", 200}}}}}});
  CHECK(rsc(fu) == 2004);
  CHECK(retrieve(r, ae1, "cse-mn/app1/lamp")["pc"]["cod:color"]["red"] == 200);

  // remoteCSE registration.
  Json csr = create(r, "/id-other", "cse-mn", 16, Json{{"m2m:csr", {{"csi", "/id-other"}, {"cb", "/id-other/cse-other"}, {"rr", true}, {"cst", 2}}}});
  CHECK(rsc(csr) == 2001);
  CHECK(rsc(retrieve(r, "/id-other", "cse-mn/id-other")) == 2000);

  // CBOR and XML serializations.
  Json cbor = r.request(Json{{"op", 2}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}}, "cbor");
  CHECK(rsc(cbor) == 2000);
  CHECK(cbor["pc"]["m2m:cnt"]["rn"] == "cnt1");
  CHECK(cbor["__topic"].get<std::string>().find("/cbor") != std::string::npos);
  CHECK(rsc(r.request(Json{{"op", 1}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}, {"ty", 4}, {"pc", {{"m2m:cin", {{"con", "from-cbor"}}}}}}, "cbor")) == 2001);
  r.client->publish("/oneM2M/req/" + ae1 + "/id-mn/xml",
                    "<m2m:rqp xmlns:m2m=\"http://www.onem2m.org/xml/protocols\"><op>2</op><to>cse-mn/app1/cnt1/la</to><fr>" + ae1 +
                        "</fr><rqi>x-1</rqi><rvi>3</rvi></m2m:rqp>");
  Json xml = r.wait_response("x-1", "xml");
  REQUIRE(xml.contains("xml"));
  std::string x = xml["xml"].get<std::string>();
  CHECK(x.find("<rsc>2000</rsc>") != std::string::npos);
  CHECK(x.find("from-cbor") != std::string::npos);

  // DELETE: the subscriber is told (sud), the subtree is gone.
  r.client->clear();
  CHECK(rsc(r.request(Json{{"op", 4}, {"fr", ae1}, {"to", "cse-mn/app1/cnt1"}})) == 2002);
  CHECK(rsc(retrieve(r, ae1, "cse-mn/app1/cnt1")) == 4004);
  CHECK(rsc(retrieve(r, ae1, cnt_ri)) == 4004);
  CHECK(r.notification(ae1, [](const Json& j) { return at(j, "/pc/m2m:sgn/sud") == true; }, ntf));
}

TEST_CASE("oneM2M CSE: the resource tree survives a restart") {
  Rig r;
  Json reg = create(r, "Cpersist", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "keep"}, {"api", "Nk"}, {"rr", false}}}});
  REQUIRE(rsc(reg) == 2001);
  REQUIRE(rsc(create(r, "Cpersist", "cse-mn/keep", 3, Json{{"m2m:cnt", {{"rn", "c"}}}})) == 2001);
  REQUIRE(rsc(create(r, "Cpersist", "cse-mn/keep/c", 4, Json{{"m2m:cin", {{"con", "durable"}}}})) == 2001);
  r.stop_gateway();
  CHECK(rsc(retrieve(r, "Cpersist", "cse-mn/keep")) == -1);  // nobody answers while it is down
  r.start_gateway();
  Json la = retrieve(r, "Cpersist", "cse-mn/keep/c/la");
  REQUIRE(rsc(la) == 2000);
  CHECK(la["pc"]["m2m:cin"]["con"] == "durable");
  CHECK(retrieve(r, "Cpersist", "cse-mn/keep/c")["pc"]["m2m:cnt"]["cni"] == 1);
  // The AE is still registered: a second registration with its ID conflicts.
  CHECK(rsc(create(r, "Cpersist", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "keep2"}, {"api", "Nk"}, {"rr", false}}}})) == 4105);
}

TEST_CASE("oneM2M CSE: a bridged camera appears as a flexContainer; reports, events and writes flow both ways") {
  Rig r;
  REQUIRE(g_cam);
  const std::string admin = "CAdmin";
  const std::string dev = "cse-mn/camgw/" + g_cam->uuid;
  Json d = retrieve(r, admin, dev);
  REQUIRE(rsc(d) == 2000);
  CHECK(d["pc"]["cod:deviceCamera"]["cnd"] == "org.onem2m.home.device.deviceCamera");
  CHECK(d["pc"]["cod:deviceCamera"]["dvnm"] == "front door");
  CHECK(d["pc"]["cod:deviceCamera"]["online"] == true);
  CHECK(retrieve(r, admin, dev + "/motionSensor")["pc"]["cod:motionSensor"]["cnd"] ==
        "org.onem2m.home.moduleclass.motionSensor");

  // An AE subscribes to the motion sensor; a camera REPORT updates the attribute and notifies.
  Json reg = create(r, "Cwatch", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "watch"}, {"api", "Nw"}, {"rr", true}}}});
  REQUIRE(rsc(reg) == 2001);
  REQUIRE(rsc(create(r, admin, dev + "/motionSensor", 23, Json{{"m2m:sub", {{"rn", "s"}, {"nu", {"Cwatch"}}, {"nct", 2}}}})) == 2001);
  g_cam->emit(gw::v1::REPORT, "0/motion/vmd", gw::make_bool(true));
  Json ntf;
  REQUIRE(r.notification("Cwatch", [](const Json& j) { return !at(j, "/pc/m2m:sgn/nev").is_null(); }, ntf));
  CHECK(ntf["pc"]["m2m:sgn"]["nev"]["rep"]["cod:motionSensor"]["alarm"] == true);
  CHECK(retrieve(r, admin, dev + "/motionSensor")["pc"]["cod:motionSensor"]["alarm"] == true);

  // EVENT -> contentInstance in the mapped container.
  gw::v1::Value ev;
  gw::map_set(ev, "zone", gw::make_int(2));
  g_cam->emit(gw::v1::EVENT, "0/event/motion", ev);
  r.pump(100);
  Json la = retrieve(r, admin, dev + "/motionEvents/la");
  REQUIRE(rsc(la) == 2000);
  CHECK(la["pc"]["m2m:cin"]["con"]["zone"] == 2);

  // $state/online -> the device flexContainer's online attribute.
  g_cam->emit(gw::v1::EVENT, "$state/online", gw::make_bool(false));
  r.pump(100);
  CHECK(retrieve(r, admin, dev)["pc"]["cod:deviceCamera"]["online"] == false);

  // oneM2M UPDATE of a writable attribute -> REQUEST UPDATE to the device, answered.
  Json w = r.request(Json{{"op", 3}, {"fr", admin}, {"to", dev + "/binarySwitch"}, {"pc", {{"cod:binarySwitch", {{"state", true}}}}}});
  CHECK(rsc(w) == 2004);
  REQUIRE(g_cam->requests.size() == 1);
  CHECK(g_cam->requests[0].op() == gw::v1::UPDATE);
  CHECK(g_cam->requests[0].target().device() == g_cam->uuid);
  CHECK(g_cam->requests[0].target().path() == "0/video/enabled");
  CHECK(gw::value_equal(g_cam->requests[0].content(), gw::make_bool(true)));
  CHECK(retrieve(r, admin, dev + "/binarySwitch")["pc"]["cod:binarySwitch"]["state"] == true);
  // A read-only attribute is refused; a device that does not answer gives a timeout status.
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", admin}, {"to", dev + "/motionSensor"}, {"pc", {{"cod:motionSensor", {{"alarm", false}}}}}})) == 4005);
  g_cam->mute = true;
  Json t = r.request(Json{{"op", 3}, {"fr", admin}, {"to", dev + "/binarySwitch"}, {"pc", {{"cod:binarySwitch", {{"state", false}}}}}});
  CHECK(rsc(t) == 4008);
  CHECK(retrieve(r, admin, dev + "/binarySwitch")["pc"]["cod:binarySwitch"]["state"] == true);
}

TEST_CASE("oneM2M CSE: camera_access grants originators their operations on the bridged cameras") {
  const std::string rules = R"(camera_access { originators: ["Cviewer", "Cctl"] operations: [RETRIEVE, DISCOVER] }
  camera_access { originators: ["Cctl"] operations: [UPDATE] })";
  Rig r("", rules);
  REQUIRE(g_cam);
  g_cam->mute = false;
  const std::string dev = "cse-mn/camgw/" + g_cam->uuid;
  for (const char* ae : {"Cviewer", "Cctl", "Cstranger"})
    REQUIRE(rsc(create(r, ae, "cse-mn", 2, Json{{"m2m:ae", {{"rn", std::string(ae).substr(1)}, {"api", "Nx"}, {"rr", true}}}})) ==
            2001);
  // The policies exist, owned by the CSE: only the administrator may read or change them.
  Json acp = retrieve(r, "CAdmin", "cse-mn/camgw-cameras");
  REQUIRE(rsc(acp) == 2000);
  CHECK(acp["pc"]["m2m:acp"]["pv"]["acr"].size() == 2);
  CHECK(acp["pc"]["m2m:acp"]["pv"]["acr"][1]["acop"] == 4);
  CHECK(rsc(retrieve(r, "CAdmin", "cse-mn/camgw-bridge")) == 2000);
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", "Cctl"}, {"to", "cse-mn/camgw-cameras"},
                           {"pc", {{"m2m:acp", {{"pv", {{"acr", Json::array()}}}}}}}})) == 4103);
  CHECK(retrieve(r, "CAdmin", dev)["pc"]["cod:deviceCamera"]["acpi"] == Json::array({"acp-camgw-cameras"}));

  // Read and discover: the viewer may, a stranger may not.
  CHECK(rsc(retrieve(r, "Cviewer", dev)) == 2000);
  CHECK(rsc(retrieve(r, "Cviewer", dev + "/motionSensor")) == 2000);
  CHECK(rsc(retrieve(r, "Cstranger", dev)) == 4103);
  CHECK(rsc(retrieve(r, "Cstranger", dev + "/motionSensor")) == 4103);
  Json found = r.request(Json{{"op", 2}, {"fr", "Cviewer"}, {"to", "cse-mn/camgw"}, {"fc", {{"fu", 1}, {"ty", 28}}}});
  REQUIRE(rsc(found) == 2000);
  bool listed = false;
  for (auto& u : found["pc"]["m2m:uril"])
    if (u.get<std::string>().find(g_cam->uuid) != std::string::npos) listed = true;
  CHECK(listed);
  CHECK(rsc(r.request(Json{{"op", 2}, {"fr", "Cstranger"}, {"to", "cse-mn/camgw"}, {"fc", {{"fu", 1}, {"ty", 28}}}})) ==
        4103);

  // Subscribing needs RETRIEVE: the viewer subscribes and hears the camera's report.
  CHECK(rsc(create(r, "Cstranger", dev + "/motionSensor", 23, Json{{"m2m:sub", {{"rn", "s"}, {"nu", {"Cstranger"}}}}})) ==
        4103);
  REQUIRE(rsc(create(r, "Cviewer", dev + "/motionSensor", 23,
                     Json{{"m2m:sub", {{"rn", "v"}, {"nu", {"Cviewer"}}, {"nct", 2}}}})) == 2001);
  g_cam->emit(gw::v1::REPORT, "0/motion/vmd", gw::make_bool(true));
  Json ntf;
  REQUIRE(r.notification("Cviewer", [](const Json& j) { return !at(j, "/pc/m2m:sgn/nev").is_null(); }, ntf));
  CHECK(ntf["pc"]["m2m:sgn"]["nev"]["rep"]["cod:motionSensor"]["alarm"] == true);
  // contentInstances follow their container's policies.
  gw::v1::Value ev;
  gw::map_set(ev, "zone", gw::make_int(4));
  g_cam->emit(gw::v1::EVENT, "0/event/motion", ev);
  r.pump(100);
  Json la = retrieve(r, "Cviewer", dev + "/motionEvents/la");
  REQUIRE(rsc(la) == 2000);
  CHECK(la["pc"]["m2m:cin"]["con"]["zone"] == 4);
  std::string cin_ri = la["pc"]["m2m:cin"]["ri"];
  CHECK(rsc(retrieve(r, "Cviewer", cin_ri)) == 2000);
  CHECK(rsc(retrieve(r, "Cstranger", cin_ri)) == 4103);
  CHECK(rsc(retrieve(r, "Cstranger", dev + "/motionEvents/la")) == 4103);

  // Control: UPDATE only for Cctl; neither may change acpi or the camera's online state.
  size_t before = g_cam->requests.size();
  Json pc = Json{{"cod:binarySwitch", {{"state", true}}}};
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", "Cviewer"}, {"to", dev + "/binarySwitch"}, {"pc", pc}})) == 4103);
  CHECK(g_cam->requests.size() == before);
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", "Cctl"}, {"to", dev + "/binarySwitch"}, {"pc", pc}})) == 2004);
  CHECK(g_cam->requests.size() == before + 1);
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", "Cctl"}, {"to", dev},
                           {"pc", {{"cod:deviceCamera", {{"acpi", Json::array()}}}}}})) == 4103);
  CHECK(rsc(r.request(Json{{"op", 3}, {"fr", "Cctl"}, {"to", dev}, {"pc", {{"cod:deviceCamera", {{"online", false}}}}}})) ==
        4000);
  CHECK(retrieve(r, "CAdmin", dev)["pc"]["cod:deviceCamera"]["acpi"] == Json::array({"acp-camgw-cameras"}));

  // Without the rules at the next start, the policies go and only the administrator remains.
  r.stop_gateway();
  std::string cfg = gwtest::read_file(r.dir.file("gw.textproto"));
  auto at_rules = cfg.find(rules);
  REQUIRE(at_rules != std::string::npos);
  r.dir.write("gw.textproto", cfg.erase(at_rules, rules.size()));
  r.start_gateway();
  CHECK(rsc(retrieve(r, "CAdmin", "cse-mn/camgw-cameras")) == 4004);
  CHECK(rsc(retrieve(r, "Cviewer", dev)) == 4103);
  Json d = retrieve(r, "CAdmin", dev);
  REQUIRE(rsc(d) == 2000);
  CHECK_FALSE(d["pc"]["cod:deviceCamera"].contains("acpi"));
}

TEST_CASE("oneM2M CSE: a resource is deleted when its expirationTime passes, and its parent's subscribers hear of it") {
  Rig r;
  REQUIRE(rsc(create(r, "Cexp", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "exp"}, {"api", "Ne"}, {"rr", true}}}})) == 2001);
  REQUIRE(rsc(create(r, "Cexp", "cse-mn/exp", 23, Json{{"m2m:sub", {{"rn", "s"}, {"nu", {"Cexp"}}, {"enc", {{"net", {4}}}}}}})) ==
          2001);
  auto in_ms = [](int64_t ms) {
    auto t = std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
    time_t s = std::chrono::system_clock::to_time_t(t);
    struct tm tm {};
    gmtime_r(&s, &tm);
    char buf[32];
    (void)strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
    return std::string(buf);
  };
  Json c = create(r, "Cexp", "cse-mn/exp", 3, Json{{"m2m:cnt", {{"rn", "brief"}, {"et", in_ms(1500)}}}});
  REQUIRE(rsc(c) == 2001);
  CHECK(c["pc"]["m2m:cnt"].contains("et"));
  // No request needed: the CSE's timer deletes it and notifies.
  Json ntf;
  REQUIRE(r.notification("Cexp", [](const Json& j) { return at(j, "/pc/m2m:sgn/nev/net") == 4; }, ntf, 4000));
  CHECK(at(ntf, "/pc/m2m:sgn/nev/rep/m2m:cnt/rn") == "brief");
  CHECK(rsc(retrieve(r, "Cexp", "cse-mn/exp/brief")) == 4004);
  CHECK(m2mtest::adapter_status(*r.gw, "onem2m").value("resources_expired", 0) == 1);
  CHECK(rsc(create(r, "Cexp", "cse-mn/exp", 3, Json{{"m2m:cnt", {{"rn", "old"}, {"et", "19990101T000000"}}}})) == 4000);
}

TEST_CASE("oneM2M CSE: an unanswered notification is sent again with its rqi, a bounded number of times") {
  Rig r;
  // Before any traffic (the responder runs on the client's thread): the first request to Cflaky is lost.
  auto base = r.client->responder;
  auto flaky_seen = std::make_shared<std::atomic<int>>(0);
  r.client->responder = [base, flaky_seen](const m2mtest::Msg& m) {
    if (m.topic == "/oneM2M/req/id-mn/Cflaky/json" && (*flaky_seen)++ == 0) return m2mtest::Msg{};
    return base(m);
  };
  auto status = [&] { return m2mtest::adapter_status(*r.gw, "onem2m"); };
  for (std::string ae : {"Cflaky", "Cgone"}) {
    REQUIRE(rsc(create(r, ae, "cse-mn", 2, Json{{"m2m:ae", {{"rn", ae}, {"api", "Nf"}, {"rr", true}}}})) == 2001);
    REQUIRE(rsc(create(r, ae, "cse-mn/" + ae, 23, Json{{"m2m:sub", {{"rn", "s"}, {"nu", {ae}}}}})) == 2001);
  }
  auto on_topic = [](const std::string& t) { return [t](const m2mtest::Msg& m) { return m.topic == t; }; };
  // Cflaky: lost once (600 ms without answer), sent again 200 ms later with the same rqi, answered.
  REQUIRE(rsc(r.request(Json{{"op", 3}, {"fr", "Cflaky"}, {"to", "cse-mn/Cflaky"}, {"pc", {{"m2m:ae", {{"lbl", {"x"}}}}}}})) == 2004);
  uint64_t end = r.loop.now_ms() + 3000;
  while (r.client->count(on_topic("/oneM2M/req/id-mn/Cflaky/json")) < 2 && r.loop.now_ms() < end) m2mtest::turn(r.loop, 5);
  r.pump(100);
  m2mtest::Msg a, b;
  REQUIRE(r.client->take(on_topic("/oneM2M/req/id-mn/Cflaky/json"), a, 0, nullptr));
  REQUIRE(r.client->take(on_topic("/oneM2M/req/id-mn/Cflaky/json"), b, 0, nullptr));
  CHECK(Json::parse(a.payload)["rqi"] == Json::parse(b.payload)["rqi"]);
  CHECK(r.client->count(on_topic("/oneM2M/req/id-mn/Cflaky/json")) == 0);
  CHECK(status()["notification_retries"] == 1);
  CHECK(status()["notifications_failed"] == 0);
  // Cgone never answers: 1 + 2 attempts (retries after 200 and 400 ms), then given up.
  REQUIRE(rsc(r.request(Json{{"op", 3}, {"fr", "Cgone"}, {"to", "cse-mn/Cgone"}, {"pc", {{"m2m:ae", {{"lbl", {"y"}}}}}}})) == 2004);
  end = r.loop.now_ms() + 5000;
  while (status()["notifications_failed"] != 1 && r.loop.now_ms() < end) m2mtest::turn(r.loop, 5);
  CHECK(status()["notifications_failed"] == 1);
  CHECK(status()["notification_retries"] == 3);
  CHECK(r.client->count(on_topic("/oneM2M/req/id-mn/Cgone/json")) == 3);
}

TEST_CASE("oneM2M CSE: reconnects to a restarted broker with back-off and serves again") {
  Rig r;
  REQUIRE(rsc(create(r, "Cre", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "re"}, {"api", "Nr"}, {"rr", false}}}})) == 2001);
  r.broker.stop();
  r.pump(400);
  r.broker.start();
  // The client library reconnects on its own; the CSE on its back-off timer (100 ms start).
  int got = -1;
  for (int i = 0; i < 40 && got != 2000; ++i) {
    got = rsc(r.request(Json{{"op", 2}, {"fr", "Cre"}, {"to", "cse-mn/re"}}));
    if (got != 2000) r.pump(200);
  }
  CHECK(got == 2000);
}

TEST_CASE("oneM2M CSE as journal consumer: durable camera reports are acked once stored") {
  Rig r("journal { consumer: \"onem2m\" group_commit_ms: 2 }\n");
  REQUIRE(g_cam);
  REQUIRE(r.gw->journal());
  for (int i = 0; i < 5; ++i) g_cam->emit(gw::v1::REPORT, "0/motion/vmd", gw::make_bool(i % 2 == 0), true);
  r.pump(300);
  CHECK(r.gw->journal()->last_seq() >= 5);
  CHECK(r.gw->journal()->cursor("onem2m") == r.gw->journal()->last_seq());
  Json m = retrieve(r, "CAdmin", "cse-mn/camgw/" + g_cam->uuid + "/motionSensor");
  CHECK(m["pc"]["cod:motionSensor"]["alarm"] == true);
}

TEST_CASE("oneM2M CSE group commit: camera reports are acked to the journal only once committed") {
  Rig r("journal { consumer: \"onem2m\" group_commit_ms: 2 }\n", "db_group_commit_ms: 400");
  REQUIRE(g_cam);
  REQUIRE(r.gw->journal());
  uint64_t before = r.gw->journal()->cursor("onem2m");
  for (int i = 0; i < 5; ++i) g_cam->emit(gw::v1::REPORT, "0/motion/vmd", gw::make_bool(i % 2 == 0), true);
  r.pump(120);
  uint64_t last = r.gw->journal()->last_seq();
  CHECK(last >= before + 5);
  CHECK(r.gw->journal()->cursor("onem2m") < last);  // bridged, not yet committed: not acked
  r.pump(600);
  CHECK(r.gw->journal()->cursor("onem2m") == last);  // the group committed: acked
  Json m = retrieve(r, "CAdmin", "cse-mn/camgw/" + g_cam->uuid + "/motionSensor");
  CHECK(m["pc"]["cod:motionSensor"]["alarm"] == true);
  // A oneM2M request commits at once, and takes pending camera changes with it.
  for (int i = 0; i < 3; ++i) g_cam->emit(gw::v1::REPORT, "0/motion/vmd", gw::make_bool(false), true);
  r.pump(20);
  last = r.gw->journal()->last_seq();
  CHECK(r.gw->journal()->cursor("onem2m") < last);
  Json ae = create(r, "Cgc", "cse-mn", 2, Json{{"m2m:ae", {{"rn", "gc"}, {"api", "Ngc"}, {"rr", false}}}});
  CHECK(rsc(ae) == 2001);
  r.pump(20);
  CHECK(r.gw->journal()->cursor("onem2m") == last);
}

namespace {

// One gateway with a oneM2M CSE on the shared broker (for the two-CSE tests).
struct Node {
  gw::EventLoop loop;
  std::unique_ptr<gw::Gateway> gw;
  Node(const gwtest::TempDir& dir, const std::string& name, const std::string& cse_cfg) {
    dir.write(name + "/maps/m.textproto", "");
    dir.write(name + "/gw.textproto", "gateway_id: \"" + name + "\"\nmapping_file: \"maps\"\n" +
                                          "adapter { name: \"onem2m\" module: \"onem2m\" config { "
                                          "[type.googleapis.com/gw.onem2m.v1.OneM2MConfig] { " + cse_cfg + " } } }\n");
    gw::Gateway::Options o;
    o.config_path = dir.file(name + "/gw.textproto");
    o.module_dir = gwtest::module_dir();
    o.state_dir = dir.file(name + "/state");
    auto g = gw::Gateway::create(loop, o);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
    gw = std::move(g.value());
    REQUIRE(gw->start().ok());
  }
  // Turns the loop until the CSE's status has `key` true (at most 5 s).
  bool wait_status(const std::string& key) {
    uint64_t end = loop.now_ms() + 5000;
    while (!m2mtest::adapter_status(*gw, "onem2m").value(key, false) && loop.now_ms() < end) m2mtest::turn(loop, 5);
    return m2mtest::adapter_status(*gw, "onem2m").value(key, false);
  }
  ~Node() {
    bool done = false;
    gw->begin_shutdown([&] { done = true; });
    for (int i = 0; i < 300 && !done; ++i) m2mtest::turn(loop, 10);
  }
};

}  // namespace

TEST_CASE("Mcc: an MN-CSE registers with an IN-CSE (remoteCSE on both sides) and retargets a RETRIEVE") {
  gwtest::TempDir dir;
  m2mtest::Broker broker(dir);
  std::string b = "broker { url: \"" + broker.url() + "\" } request_timeout_ms: 1000 reconnect_min_ms: 100";
  auto t0 = std::chrono::steady_clock::now();
  Node in(dir, "in", "cse_id: \"/id-in\" cse_name: \"cse-in\" role: IN " + b);
  REQUIRE(in.wait_status("subscribed"));
  Node mn(dir, "mn", "cse_id: \"/id-mn\" cse_name: \"cse-mn\" role: MN " + b +
                         " registrar { cse_id: \"/id-in\" cse_name: \"cse-in\" }");
  m2mtest::Client client(broker.port(), "A::mcc", {"/oneM2M/resp/#"});
  // Two gateways in one thread: each turn refreshes its loop's time (see m2mtest::turn).
  auto pump = [&] {
    m2mtest::turn(in.loop, 1);
    m2mtest::turn(mn.loop, 1);
  };
  // The MN registers as soon as its subscriptions are acknowledged: the IN answers at once.
  for (int i = 0; i < 2000 && !m2mtest::adapter_status(*mn.gw, "onem2m").value("registered", false); ++i) pump();
  REQUIRE(m2mtest::adapter_status(*mn.gw, "onem2m").value("registered", false));
  MESSAGE("registered after " << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() << " ms");
  int seq = 0;
  auto request = [&](const std::string& receiver, Json q) {
    std::string rqi = "mcc-" + std::to_string(++seq);
    q["rqi"] = rqi;
    q["rvi"] = "3";
    client.publish("/oneM2M/req/" + q.value("fr", "x") + "/" + receiver + "/json", q.dump());
    m2mtest::Msg m;
    if (!client.take([&](const m2mtest::Msg& x) { return Json::parse(x.payload, nullptr, false).value("rqi", "") == rqi; }, m,
                     3000, pump))
      return Json{{"rsc", -1}};
    return Json::parse(m.payload);
  };
  Json csr_at_in = request("id-in", Json{{"op", 2}, {"fr", "CAdmin"}, {"to", "cse-in/id-mn"}});
  REQUIRE(rsc(csr_at_in) == 2000);
  CHECK(csr_at_in["pc"]["m2m:csr"]["csi"] == "/id-mn");
  CHECK(csr_at_in["pc"]["m2m:csr"]["cb"] == "/id-mn/cse-mn");
  Json csr_at_mn = request("id-mn", Json{{"op", 2}, {"fr", "CAdmin"}, {"to", "cse-mn/id-in"}});
  REQUIRE(rsc(csr_at_mn) == 2000);
  CHECK(csr_at_mn["pc"]["m2m:csr"]["csi"] == "/id-in");
  CHECK(request("id-in", Json{{"op", 2}, {"fr", "CAdmin"}, {"to", "cse-in"}})["pc"]["m2m:cb"]["cst"] == 1);

  // An AE of the MN retrieves the IN's CSEBase through the MN (retargeting over Mcc).
  REQUIRE(rsc(request("id-mn", Json{{"op", 1}, {"fr", "Cmnae"}, {"to", "cse-mn"}, {"ty", 2},
                                    {"pc", {{"m2m:ae", {{"rn", "mnae"}, {"api", "Nm"}, {"rr", true}}}}}})) == 2001);
  Json remote = request("id-mn", Json{{"op", 2}, {"fr", "Cmnae"}, {"to", "/id-in/cse-in"}});
  REQUIRE(rsc(remote) == 2000);
  CHECK(remote["pc"]["m2m:cb"]["csi"] == "/id-in");
  CHECK(remote["to"] == "Cmnae");
  // The IN knows the AE only through the MN: addressed directly it is an unknown originator.
  CHECK(rsc(request("id-in", Json{{"op", 2}, {"fr", "Cmnae"}, {"to", "cse-in"}})) == 4103);
  CHECK(rsc(request("id-mn", Json{{"op", 2}, {"fr", "Cmnae"}, {"to", "/id-in/cse-in/nothing"}})) == 4004);
  CHECK(rsc(request("id-mn", Json{{"op", 2}, {"fr", "Cmnae"}, {"to", "/id-other/cse-x"}})) == 4004);
}
