// DAS server of gw_osap over real TCP, and the envelope mapping seen by a probe adapter.
#include "session_rig.h"

using namespace osapit;
using gw::osap::mqtt::PacketType;

namespace {
const char* kConfig = R"(
    das { listen_port: 0 server_id: "das-a" }
    das { listen_port: 0 server_id: "das-b" }
    device { serial: "TESTSN0001" verification_code: "VCODE123" model: "cam1" }
    device { serial: "TESTSN0002" verification_code: "VCODE456" model: "cam1" }
    device { serial: "BLOCKED01" verification_code: "VCODE999" blacklisted: true }
    limits { message_timeout_ms: 1000 }
    service_timeout_ms: 1500
)";

const std::string kVideo0 = "/iot/TESTSN0001/global/0-video";

// Onboards, connects (clean session) and subscribes like the devices do.
void Online(Rig& rig, Device& d, Mqtt& m) {
  REQUIRE(m.Connect() == 0);
  auto codes = m.Subscribe({"/" + d.serial + "/#", "/iot/" + d.serial + "/#"});
  CHECK(codes == std::vector<uint8_t>{1, 1});
  (void)rig;
}
}  // namespace

TEST_CASE("DAS: connect with will, report -> REPORT, UPDATE -> set -> CHANGED, INVOKE -> output, loss -> offline EVENT") {
  Rig rig(kConfig);
  Device d{Generation::kGen2, "TESTSN0001", "VCODE123"};
  d.F1(rig);
  CHECK(d.das.server_id == "das-a");
  const std::string uuid = rig.device("TESTSN0001")->uuid();
  auto m = std::make_unique<Mqtt>(rig, d);
  Online(rig, d, *m);
  REQUIRE(rig.pump_until([&] { return !rig.got(gw::v1::EVENT, "$state/online").empty(); }));
  {
    auto on = rig.got(gw::v1::EVENT, "$state/online").back();
    CHECK(on.origin().device() == uuid);
    CHECK(on.origin().adapter() == "osap");
    CHECK(on.content().bool_value() == true);
    CHECK(rig.g->registry().get(uuid)->online());
  }
  // 0xB now hands out the other (less loaded) DAS endpoint.
  Device d2{Generation::kGen1, "TESTSN0002", "VCODE456"};
  d2.F1(rig);
  CHECK(d2.das.server_id == "das-b");
  CHECK(d2.das.port == rig.das_ports.at(1));

  // A property report (thing-model shadow report) reaches the probe as a REPORT.
  m->Publish(kVideo0 + "/basic/shadow/report", 1,
             R"({"method":"report","spv":3,"state":{"reported":{"domain":"image","identifier":"brightness","value":55},"version":3}})");
  REQUIRE(rig.pump_until([&] { return !rig.got(gw::v1::REPORT).empty(); }));
  auto rep = rig.got(gw::v1::REPORT).at(0);
  CHECK(rep.op() == gw::v1::REPORT_OP);
  CHECK(rep.origin().device() == uuid);
  CHECK(rep.origin().path() == "0/image/brightness");
  CHECK(rep.content().int_value() == 55);
  CHECK(rep.device_model() == "cam1");
  CHECK(rep.device_seq() > 0);

  // An event.
  m->Publish(kVideo0 + "/model/event/report/image/vmd", 2,
             R"({"region":1,"basic":{"dateTime":"2026-11-22T10:00:00","UUID":"u-1"}})");
  REQUIRE(rig.pump_until([&] { return !rig.got(gw::v1::EVENT, "0/image/vmd").empty(); }));
  auto ev = rig.got(gw::v1::EVENT, "0/image/vmd").at(0);
  CHECK(gw::value_to_json(ev.content()) == R"({"region":1,"basic":{"dateTime":"2026-11-22T10:00:00","UUID":"u-1"}})");
  CHECK(ev.device_seq() > rep.device_seq());

  // UPDATE -> shadow set -> set_reply code 0 -> CHANGED.
  rig.request("set-1", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(70));
  auto down = m->Receive();
  REQUIRE(down);
  CHECK(down->pub.topic == kVideo0 + "/basic/shadow/set");
  CHECK(down->pub.qos == 1);
  CHECK(down->msg.common_json == "{\"Seq\":" + std::to_string(down->msg.common.seq) + "}");
  CHECK(down->body == nlohmann::json::parse(R"({"state":{"desired":{"domain":"image","identifier":"brightness","value":70}}})"));
  m->Publish(kVideo0 + "/basic/shadow/set_reply", down->msg.common.seq, R"({"method":"set_reply","payload":{"code":0}})");
  auto r = rig.response("set-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::CHANGED);
  CHECK(r->origin().adapter() == "osap");

  // A refused set: the camera's own code comes back as native_status.
  rig.request("set-2", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(80));
  down = m->Receive();
  REQUIRE(down);
  m->Publish(kVideo0 + "/basic/shadow/set_reply", down->msg.common.seq, R"({"method":"set_reply","payload":{"code":1004}})");
  r = rig.response("set-2");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::DEVICE_ERROR);
  CHECK(r->native_status() == 1004);

  // RETRIEVE -> shadow query -> query_reply.
  rig.request("get-1", gw::v1::RETRIEVE, uuid, "0/image/brightness", gw::make_null());
  down = m->Receive();
  REQUIRE(down);
  CHECK(down->pub.topic == kVideo0 + "/basic/shadow/query");
  CHECK(down->body["method"] == "query");
  m->Publish(kVideo0 + "/basic/shadow/query_reply", down->msg.common.seq,
             R"({"code":0,"state":{"desired":[{"domain":"image","identifier":"brightness","value":70}]}})");
  r = rig.response("get-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::OK);
  CHECK(r->content().int_value() == 70);

  // INVOKE -> service operate {"data":input} -> operate_reply {"code":0,"data":output}.
  rig.request("ptz-1", gw::v1::INVOKE, uuid, "0/image/ptz_move", Json(R"({"dir":"up"})"));
  down = m->Receive();
  REQUIRE(down);
  CHECK(down->pub.topic == kVideo0 + "/model/service/operate/image/ptz_move");
  CHECK(down->body == nlohmann::json::parse(R"({"data":{"dir":"up"}})"));
  m->Publish(kVideo0 + "/model/service/operate_reply/image/ptz_move", down->msg.common.seq,
             R"({"code":0,"data":{"position":12}})");
  r = rig.response("ptz-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::OK);
  CHECK(gw::value_to_json(r->content()) == R"({"position":12})");

  // Checked against the profile before anything is sent.
  rig.request("bad-1", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(500));
  CHECK(rig.response("bad-1")->status() == gw::v1::BAD_REQUEST);
  rig.request("ro-1", gw::v1::UPDATE, uuid, "0/image/enabled", gw::make_bool(false));
  CHECK(rig.response("ro-1")->status() == gw::v1::OPERATION_NOT_ALLOWED);
  rig.request("nf-1", gw::v1::UPDATE, uuid, "0/nosuch/thing", gw::make_int(1));
  CHECK(rig.response("nf-1")->status() == gw::v1::NOT_FOUND);
  rig.request("nf-2", gw::v1::UPDATE, uuid, "garbage", gw::make_int(1));
  CHECK(rig.response("nf-2")->status() == gw::v1::NOT_FOUND);

  // A service call the device never answers: REQUEST_TIMEOUT from the adapter.
  rig.request("ptz-2", gw::v1::INVOKE, uuid, "0/image/ptz_move", Json(R"({"dir":"down"})"));
  REQUIRE(m->Receive());
  r = rig.response("ptz-2", 4000);
  REQUIRE(r);
  CHECK(r->status() == gw::v1::REQUEST_TIMEOUT);

  // Ungraceful loss (socket closed without DISCONNECT): offline EVENT naming the will.
  size_t events_before = rig.got(gw::v1::EVENT, "$state/online").size();
  m.reset();
  REQUIRE(rig.pump_until([&] { return rig.got(gw::v1::EVENT, "$state/online").size() > events_before; }));
  auto off = rig.got(gw::v1::EVENT, "$state/online").back();
  CHECK(off.content().bool_value() == false);
  CHECK(off.attributes().at("will_topic") == "/Basic/pu2cenplt/TESTSN0001/firstconnect");
  CHECK_FALSE(rig.g->registry().get(uuid)->online());

  // Offline: immediate TARGET_NOT_REACHABLE.
  uint64_t t0 = rig.loop.now_ms();
  rig.request("off-1", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(10));
  r = rig.response("off-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::TARGET_NOT_REACHABLE);
  CHECK(rig.loop.now_ms() - t0 < 500);
}

TEST_CASE("DAS: CONNACK codes 4, 5, 10, 11, 12, and a resumed session retransmits with DUP") {
  Rig rig(kConfig);
  Device d{Generation::kGen1, "TESTSN0001", "VCODE123"};
  d.F1(rig);
  SUBCASE("no username -> 4") {
    Sock s(rig, d.das.port);
    mqtt::Connect c;
    s.Send(mqtt::EncodeConnect(c));
    Mqtt m(rig, d);
    REQUIRE(s.WaitFor([&] { return s.in.size() >= 4; }));
    CHECK(s.in == Bytes{0x20, 0x02, 0x00, 0x04});
    CHECK(s.WaitClosed());
  }
  SUBCASE("unknown serial -> 5; will of another serial -> 5") {
    Device x{Generation::kGen1, "NOSUCH", "V"};
    x.devid = *d.devid;
    x.sk = d.sk;
    Mqtt m(rig, x, d.das.port);
    CHECK(m.Connect() == 5);
  }
  SUBCASE("blacklisted -> 10") {
    Device x{Generation::kGen1, "BLOCKED01", "V"};
    x.devid = *d.devid;
    Mqtt m(rig, x, d.das.port);
    CHECK(m.Connect() == 10);
  }
  SUBCASE("stale session key or wrong DeviceID -> 11 (back to the LBS)") {
    Mqtt m(rig, d);
    SessionKey wrong{};
    CHECK(m.Connect(true, 30, {}, wrong) == 11);
    Mqtt m2(rig, d);
    CHECK(m2.Connect(true, 30, R"({"SubSerial":"TESTSN0001","DeviceID":")" + std::string(32, 'Q') + "\"}") == 11);
    CHECK(Logged("CONNACK 11: sn=TESTSN0001"));
  }
  SUBCASE("session exists -> 12; fast re-registration resumes and retransmits the unacknowledged set") {
    const std::string uuid = rig.device("TESTSN0001")->uuid();
    auto m = std::make_unique<Mqtt>(rig, d);
    Online(rig, d, *m);
    rig.request("set-r", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(33));
    auto down = m->Receive(3000, /*ack=*/false);  // the device dies before acknowledging
    REQUIRE(down);
    CHECK_FALSE(down->pub.dup);
    m.reset();
    REQUIRE(rig.pump_until([&] { return rig.status()["online"] == 0; }));
    // Clean session while the session is retained -> 12.
    Mqtt again(rig, d);
    CHECK(again.Connect(true) == 12);
    CHECK(again.s.WaitClosed());
    // Fast re-registration: clean session 0, short will -> session present, DUP retransmission.
    Mqtt fast(rig, d);
    CHECK(fast.Connect(false) == 0);
    CHECK(fast.last_session_present);
    auto re = fast.Receive();
    REQUIRE(re);
    CHECK(re->pub.dup);
    CHECK(re->pub.packet_id == down->pub.packet_id);
    CHECK(re->msg.common.seq == down->msg.common.seq);
    fast.Publish(kVideo0 + "/basic/shadow/set_reply", re->msg.common.seq, R"({"method":"set_reply","payload":{"code":0}})");
    auto r = rig.response("set-r");
    REQUIRE(r);
    CHECK(r->status() == gw::v1::CHANGED);
  }
}

TEST_CASE("DAS: a device may use only its own serial's topics; keep-alive is enforced at 1.5 x") {
  Rig rig(kConfig);
  Device d{Generation::kGen2, "TESTSN0001", "VCODE123"};
  d.F1(rig);
  SUBCASE("other serial's topics refused and logged") {
    Mqtt m(rig, d);
    REQUIRE(m.Connect() == 0);
    CHECK(m.Subscribe({"/TESTSN0002/#", "/iot/TESTSN0001/#", "/iot/+/#"}) == std::vector<uint8_t>{0x80, 1, 0x80});
    CHECK(Logged("refused SUBSCRIBE to"));
    CHECK(Logged("/TESTSN0002/#"));
    m.Publish("/iot/TESTSN0002/global/0-video/basic/shadow/report", 1,
              R"({"method":"report","state":{"reported":{"domain":"image","identifier":"brightness","value":1}}})");
    rig.pump(100);
    CHECK(Logged("refused PUBLISH on"));
    CHECK(Logged("/iot/TESTSN0002/global/0-video/basic/shadow/report"));
    CHECK(rig.got(gw::v1::REPORT).empty());
    CHECK(rig.status()["refused_topics"] == 3);
    // The connection stays usable: PINGREQ -> PINGRESP.
    m.s.Send(mqtt::EncodePingreq());
    CHECK(m.Expect(PacketType::kPingresp));
  }
  SUBCASE("keep-alive 1 s: pings keep it alive, silence closes it after 1.5 s with an offline EVENT") {
    Mqtt m(rig, d);
    REQUIRE(m.Connect(true, 1) == 0);
    for (int i = 0; i < 3; ++i) {  // 3 x 0.9 s with pings: still connected
      rig.pump(900);
      m.s.Send(mqtt::EncodePingreq());
      REQUIRE(m.Expect(PacketType::kPingresp));
    }
    uint64_t t0 = rig.loop.now_ms();
    CHECK(m.s.WaitClosed(4000));
    uint64_t took = rig.loop.now_ms() - t0;
    CHECK(took >= 1400);
    CHECK(took < 3500);
    CHECK(Logged("keep-alive expired"));
    REQUIRE(rig.pump_until([&] { return rig.got(gw::v1::EVENT, "$state/online").size() == 2; }));
    CHECK(rig.got(gw::v1::EVENT, "$state/online").back().content().bool_value() == false);
  }
  SUBCASE("DISCONNECT: graceful offline without the will") {
    Mqtt m(rig, d);
    REQUIRE(m.Connect() == 0);
    m.s.Send(mqtt::EncodeDisconnect());
    REQUIRE(rig.pump_until([&] { return rig.got(gw::v1::EVENT, "$state/online").size() == 2; }));
    auto off = rig.got(gw::v1::EVENT, "$state/online").back();
    CHECK(off.content().bool_value() == false);
    CHECK(off.attributes().count("will_topic") == 0);
    CHECK(off.attributes().at("cause") == "disconnect");
  }
}

TEST_CASE("DAS: the configured keep-alive is pushed on /{sn}/1000/1") {
  Rig rig(std::string(kConfig) + "\n keep_alive_s: 60\n");
  Device d{Generation::kGen1, "TESTSN0001", "VCODE123"};
  d.F1(rig);
  Mqtt m(rig, d);
  REQUIRE(m.Connect(true, 30) == 0);
  m.Subscribe({"/TESTSN0001/#"});
  auto down = m.Receive();
  REQUIRE(down);
  CHECK(down->pub.topic == "/TESTSN0001/1000/1");
  CHECK(down->msg.common.cmd_ver == std::optional<std::string>("v1.0.0"));
  CHECK(down->body == nlohmann::json::parse(R"({"KeepAlive":{"Interval":60}})"));
  rig.pump(100);
  CHECK(Logged("keep-alive now 60 s"));
}

TEST_CASE("$provision: a CLI-style CREATE makes a device that can onboard; DELETE removes it") {
  Rig rig(kConfig);
  gw::v1::Value c;
  gw::map_set(c, "serial", gw::make_string("NEWCAM01"));
  gw::map_set(c, "verification_code", gw::make_string("NEWCODE1"));
  gw::map_set(c, "model", gw::make_string("cam1"));
  rig.request("p-1", gw::v1::CREATE, "", "$provision", c, "osap");
  auto r = rig.response("p-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::CREATED);
  REQUIRE(rig.device("NEWCAM01"));
  CHECK(rig.device("NEWCAM01")->model() == "cam1");
  CHECK_FALSE(Logged("NEWCODE1"));
  rig.request("p-2", gw::v1::CREATE, "", "$provision", c, "osap");
  CHECK(rig.response("p-2")->status() == gw::v1::CONFLICT);

  Device d{Generation::kGen2, "NEWCAM01", "NEWCODE1"};
  d.F1(rig);
  Mqtt m(rig, d);
  REQUIRE(m.Connect() == 0);

  gw::v1::Value del;
  gw::map_set(del, "serial", gw::make_string("NEWCAM01"));
  rig.request("p-3", gw::v1::DELETE, "", "$provision", del, "osap");
  CHECK(rig.response("p-3")->status() == gw::v1::DELETED);
  CHECK(m.s.WaitClosed());
  CHECK(rig.device("NEWCAM01") == nullptr);
  Device again{Generation::kGen2, "NEWCAM01", "NEWCODE1"};
  Sock s(rig, rig.lbs_port);
  CHECK(again.Auth(s) == lbs::ResultCode::kNoSuchDevice);
  rig.request("p-4", gw::v1::DELETE, "", "$provision", del, "osap");
  CHECK(rig.response("p-4")->status() == gw::v1::NOT_FOUND);
}

namespace {
// A QoS 1 report PUBLISH sent without waiting for its PUBACK.
uint16_t SendReport(Mqtt& m, Device& d, uint32_t seq, int value) {
  CommonHeader c;
  c.seq = seq;
  auto payload = SealPayload(d.sk, c,
                             AsBytes(R"({"method":"report","spv":3,"state":{"reported":{"domain":"image",)"
                                     R"("identifier":"brightness","value":)" +
                                     std::to_string(value) + "}}}"));
  REQUIRE(payload.ok());
  mqtt::Publish p;
  p.topic = kVideo0 + "/basic/shadow/report";
  p.payload = payload.value();
  p.qos = 1;
  p.packet_id = static_cast<uint16_t>(1000 + seq);
  m.s.Send(mqtt::EncodePublish(p, 1 << 20));
  return p.packet_id;
}
}  // namespace

TEST_CASE("DAS: a QoS 1 uplink is PUBACKed only once journaled; a flooding device is paced by max_unacked_uplinks") {
  // A long group-commit window makes "acknowledged before durable" observable.
  std::string cfg = kConfig;
  cfg.replace(cfg.find("limits { "), 9, "limits { max_unacked_uplinks: 2 ");
  Rig rig(cfg, 3000, "journal { group_commit_ms: 400 }");
  Device d{Generation::kGen2, "TESTSN0001", "VCODE123"};
  d.F1(rig);
  auto m = std::make_unique<Mqtt>(rig, d);
  Online(rig, d, *m);

  uint64_t t0 = rig.loop.now_ms();
  uint16_t id = SendReport(*m, d, 1, 11);
  REQUIRE(rig.pump_until([&] { return !rig.got(gw::v1::REPORT).empty(); }));
  auto ack = m->Expect(PacketType::kPuback, 3000);
  uint64_t t_ack = rig.loop.now_ms();
  REQUIRE(ack);
  CHECK(mqtt::DecodePuback(*ack).value() == id);
  CHECK(t_ack - t0 >= 350);  // not before the journal's group commit
  auto rep = rig.got(gw::v1::REPORT).at(0);
  CHECK(rep.journal_seq() > 0);
  CHECK(rep.message_id().rfind("osap:TESTSN0001:1:", 0) == 0);

  // Ten reports at once: the DAS stops reading after two unacknowledged ones, so the router sees
  // them in steps of the group commit; every PUBACK arrives, in PUBLISH order.
  std::vector<uint16_t> sent;
  for (uint32_t s = 2; s <= 11; ++s) sent.push_back(SendReport(*m, d, s, static_cast<int>(s)));
  rig.pump(200);
  CHECK(rig.got(gw::v1::REPORT).size() <= 1 + 2);
  std::vector<uint16_t> acked;
  for (int i = 0; i < 10; ++i) {
    auto a = m->Expect(PacketType::kPuback, 5000);
    REQUIRE(a);
    acked.push_back(mqtt::DecodePuback(*a).value());
  }
  CHECK(acked == sent);
  auto reps = rig.got(gw::v1::REPORT);
  REQUIRE(reps.size() == 11);
  for (size_t i = 1; i < reps.size(); ++i) CHECK(reps[i].content().int_value() == static_cast<int64_t>(i + 1));

  // A DUP retransmission of the same PUBLISH carries the same stable message id.
  SendReport(*m, d, 11, 11);
  REQUIRE(m->Expect(PacketType::kPuback, 3000));
  reps = rig.got(gw::v1::REPORT);
  REQUIRE(reps.size() == 12);
  CHECK(reps[11].message_id() == reps[10].message_id());
}

TEST_CASE("DAS: the thing-model profile comes from the shipped mapping file (thing_model_file), re-read on reload") {
  std::string cfg = kConfig;
  cfg += "device { serial: \"TESTSN0003\" verification_code: \"VCODE789\" model: \"generic-ipc\" }\n";
  Rig rig(cfg);
  Device d{Generation::kGen1, "TESTSN0003", "VCODE789"};
  d.F1(rig);
  auto m = std::make_unique<Mqtt>(rig, d);
  Online(rig, d, *m);
  const std::string uuid = rig.device("TESTSN0003")->uuid();
  // No profile for generic-ipc yet (not in profile_dir): NOT_FOUND for lack of a resource type.
  rig.request("np-1", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(500));
  auto r = rig.response("np-1");
  REQUIRE(r);
  CHECK(r->status() != gw::v1::BAD_REQUEST);
  // Install the shipped model and its profile, reload: the range of the profile is enforced.
  const std::string src = gwtest::source_dir() + "/mappings/models/";
  rig.t.write("maps/generic-ipc.textproto", gwtest::read_file(src + "generic-ipc.textproto"));
  rig.t.write("maps/thing-models/generic-ipc.json", gwtest::read_file(src + "thing-models/generic-ipc.json"));
  auto rel = rig.g->reload_mappings();
  REQUIRE_MESSAGE(rel.ok(), (rel.ok() ? "" : rel.error().message));
  rig.request("bad-1", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(500));
  r = rig.response("bad-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::BAD_REQUEST);
  rig.request("ro-1", gw::v1::UPDATE, uuid, "0/status/uptime", gw::make_int(1));
  CHECK(rig.response("ro-1")->status() == gw::v1::OPERATION_NOT_ALLOWED);
  // A valid write goes to the device on the topic of the profile's resource type.
  rig.request("ok-1", gw::v1::UPDATE, uuid, "0/image/brightness", gw::make_int(40));
  auto down = m->Receive();
  REQUIRE(down);
  CHECK(down->pub.topic == "/iot/TESTSN0003/global/0-video/basic/shadow/set");
}

TEST_CASE("DAS: the will's device info is kept: firmware, type, and the NVR a sub-device belongs to") {
  Rig rig(kConfig);
  Device d{Generation::kGen2, "TESTSN0001", "VCODE123"};
  d.F1(rig);
  {
    Mqtt m(rig, d);
    std::string info = R"({"DevSerial":"NVRSN0009","SubSerial":"TESTSN0001","FirmwareVersion":"V5.7.1 build 250301",)"
                       R"("DevType":"DS-7604NI","Status":1,"DeviceID":")" + *d.devid + R"("})";
    REQUIRE(m.Connect(true, 30, info) == 0);
    REQUIRE(rig.pump_until([&] {
      auto* rec = rig.device("TESTSN0001");
      return rec && rec->identity().count("parent_serial");
    }));
    auto id = rig.device("TESTSN0001")->identity();
    CHECK(id.at("parent_serial") == "NVRSN0009");
    CHECK(id.at("firmware") == "V5.7.1 build 250301");
    CHECK(id.at("dev_type") == "DS-7604NI");
    CHECK(Logged("sn=TESTSN0001: sub-device of NVRSN0009"));
  }
  rig.pump(100);
  // The short form of a fast re-registration keeps what is stored.
  Mqtt m2(rig, d);
  REQUIRE(m2.Connect(false, 30, m2.WillJson(false)) == 0);
  rig.pump(50);
  CHECK(rig.device("TESTSN0001")->identity().at("parent_serial") == "NVRSN0009");
}

TEST_CASE("DAS: legacy commands: INVOKE $legacy/{domain}/{cmd} -> /{sn}/{domain}/{cmd}, answered by the MsgType 2 reply") {
  Rig rig(kConfig);
  Device d{Generation::kGen1, "TESTSN0001", "VCODE123"};
  d.F1(rig);
  auto m = std::make_unique<Mqtt>(rig, d);
  Online(rig, d, *m);
  const std::string uuid = rig.device("TESTSN0001")->uuid();
  rig.request("leg-1", gw::v1::INVOKE, uuid, "$legacy/1100/13381", gw::make_string("<Request><Type>0</Type></Request>"));
  auto down = m->Receive();
  REQUIRE(down);
  CHECK(down->pub.topic == "/TESTSN0001/1100/13381");
  CHECK(down->msg.common.cmd_ver == "v1.0.0");
  CHECK(down->msg.common.msg_type == 1);
  CHECK(std::string(AsChars(down->msg.body)) == "<Request><Type>0</Type></Request>");
  // The device's reply: same Seq, MsgType 2, on the uplink /{domain}/{cmd}.
  CommonHeader c;
  c.seq = down->msg.common.seq;
  c.cmd_ver = std::string(kLegacyCmdVer);
  c.msg_type = kMsgTypeReply;
  auto payload = SealPayload(d.sk, c, AsBytes(R"({"Users":["admin"]})"));
  REQUIRE(payload.ok());
  mqtt::Publish p;
  p.topic = "/1100/13381";
  p.payload = payload.value();
  p.qos = 1;
  p.packet_id = 77;
  m->s.Send(mqtt::EncodePublish(p, 1 << 20));
  auto r = rig.response("leg-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::OK);
  CHECK(gw::value_to_json(r->content()) == R"({"Users":["admin"]})");
  CHECK(rig.got(gw::v1::EVENT, "$legacy/1100/13381").empty());  // a reply is not an event
  // Bad paths and operations.
  rig.request("leg-2", gw::v1::INVOKE, uuid, "$legacy/01100/13381", gw::make_null());
  CHECK(rig.response("leg-2")->status() == gw::v1::NOT_FOUND);
  rig.request("leg-3", gw::v1::UPDATE, uuid, "$legacy/1000/3", gw::make_null());
  CHECK(rig.response("leg-3")->status() == gw::v1::OPERATION_NOT_ALLOWED);
  // No reply within the service timeout -> REQUEST_TIMEOUT.
  rig.request("leg-4", gw::v1::INVOKE, uuid, "$legacy/1000/3", gw::make_null());
  REQUIRE(m->Receive());
  auto t = rig.response("leg-4", 4000);
  REQUIRE(t);
  CHECK(t->status() == gw::v1::REQUEST_TIMEOUT);
}
