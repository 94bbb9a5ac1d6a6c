// The simulator's own wire code against the golden bytes of adapters/osap/PROTOCOL.md (§2, §3, §5,
// §6) and the wire profile's test vectors. Written from the document, not from the gateway's tests.
#include <doctest/doctest.h>

#include <cstring>

#include "osap/codec/crypto.h"
#include "wire.h"

using namespace camsim;
using gw::osap::Bytes;

namespace {

// "12 7F 01 02 00" style hex, plus helpers for "N×BB" fillers and ASCII.
std::string H(const char* hex) {
  std::string out;
  int hi = -1;
  for (const char* p = hex; *p; ++p) {
    int v;
    if (*p >= '0' && *p <= '9') v = *p - '0';
    else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
    else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
    else continue;
    if (hi < 0) hi = v;
    else {
      out.push_back(static_cast<char>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}
std::string Fill(size_t n, uint8_t b) { return std::string(n, static_cast<char>(b)); }
Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }
Sign SignOf(uint8_t b) {
  Sign s;
  s.fill(b);
  return s;
}
RawFrame One(const std::string& wire) {
  RawFrame f;
  size_t pos = 0;
  REQUIRE(NextFrame(wire, pos, 1 << 20, &f) == 1);
  CHECK(pos == wire.size());
  return f;
}
const std::string kDevid = "0123456789abcdefghijABCDEFGHIJ+-";

}  // namespace

TEST_CASE("§2.1 remaining-length varint: the table, non-minimal input, the 4-byte limit") {
  struct {
    uint32_t v;
    const char* hex;
  } table[] = {{0, "00"}, {127, "7F"}, {128, "80 01"}, {16383, "FF 7F"}, {16384, "80 80 01"},
               {2097152, "80 80 80 01"}, {268435455, "FF FF FF 7F"}};
  for (auto& t : table) {
    std::string out;
    PutVarint(out, t.v);
    CHECK(out == H(t.hex));
  }
  RawFrame f;
  size_t pos = 0;
  std::string nonmin = H("20 85 00") + "hello";
  CHECK(NextFrame(nonmin, pos, 4096, &f) == 1);
  CHECK(f.body == "hello");
  pos = 0;
  std::string five = H("20 80 80 80 80 01");
  CHECK(NextFrame(five, pos, 1 << 30, &f) == -1);
  pos = 0;
  CHECK(NextFrame(H("20 05 01"), pos, 4096, &f) == 0);  // incomplete
  CHECK(pos == 0);
  pos = 0;
  CHECK(NextFrame(H("20 FF 7F"), pos, 4096, &f) == -1);  // above the limit, before the payload arrives
}

TEST_CASE("§3 device messages are byte-exact (golden frames)") {
  // 3.1 gen 1: 12 7F 01 02 00 00 0A 'TESTSN0001' 112×C1
  CHECK(lbs::AuthI(Generation::kGen1, "TESTSN0001", B(Fill(112, 0xC1))) ==
        H("12 7F 01 02 00 00 0A") + "TESTSN0001" + Fill(112, 0xC1));
  // 3.1 gen 2 (the document's example carries auth_mode 01; a device using the verification code
  // sends 00 there, see PROTOCOL.md §3.1).
  CHECK(lbs::AuthI(Generation::kGen2, "TESTSN0002", B(Fill(113, 0xC2))) ==
        H("1A 83 01 01 01 01 01 02 00 00 0A") + "TESTSN0002" + Fill(113, 0xC2));
  CHECK(lbs::ApplyDevid(SignOf(0x5A)) == H("72 33 01 01 00") + Fill(48, 0x5A));
  CHECK(lbs::Refresh(kDevid, SignOf(0x5A)) == H("42 54 01 01 00 20") + kDevid + Fill(48, 0x5A));
  CHECK(lbs::RefreshI("TESTSN0001", kDevid, B(Fill(16, 0xB1))) ==
        H("70 3F 01 01 00 0A") + "TESTSN0001" + H("20") + kDevid + Fill(16, 0xB1));
  CHECK(lbs::Confirm(B(Fill(16, 0xB3))) == H("90 13 01 01 00") + Fill(16, 0xB3));
  CHECK(lbs::GetDas(B(Fill(48, 0xB4))) == H("A0 33 01 01 00") + Fill(48, 0xB4));
  CHECK(lbs::DasQueryJson("TESTSN0001") == R"({"DevSerial":"TESTSN0001","Type":"DAS","Mode":0})");
}

TEST_CASE("§3 server replies parse (golden frames)") {
  auto r = lbs::ParseReply(One(H("20 74 01 02 00 00") + Fill(112, 0xD1)), false);
  REQUIRE(r.ok());
  CHECK(r->type == 2);
  CHECK(r->result == 0);
  CHECK(r->body == Fill(112, 0xD1));

  r = lbs::ParseReply(One(H("28 76 01 01 02 00 00") + Fill(113, 0xD2)), true);
  REQUIRE(r.ok());
  CHECK(r->negotiated == 1);
  CHECK(r->body == Fill(113, 0xD2));

  r = lbs::ParseReply(One(H("28 05 01 01 02 00 05")), true);
  REQUIRE(r.ok());
  CHECK(r->result == 5);
  CHECK(r->body.empty());
  r = lbs::ParseReply(One(H("20 04 01 02 00 05")), false);
  REQUIRE(r.ok());
  CHECK(r->result == 5);

  // §3.3 "no common group"
  r = lbs::ParseReply(One(H("28 07 00 01 01 01 02 00 03")), true);
  REQUIRE(r.ok());
  CHECK(r->negotiated == 0);
  CHECK(r->groups == std::vector<uint8_t>{1});
  CHECK(r->result == 3);
  // A gen-2 0x2 without flag 08 is refused.
  CHECK_FALSE(lbs::ParseReply(One(H("20 04 01 02 00 05")), true).ok());

  r = lbs::ParseReply(One(H("80 86 01 01 01 00 00 30") + Fill(48, 0xE1) + H("20") + Fill(32, 0xE2) + Fill(48, 0x5A)), false);
  REQUIRE(r.ok());
  CHECK(r->type == 8);
  CHECK(r->body.size() == 130);
  r = lbs::ParseReply(One(H("80 04 01 01 00 01")), false);
  REQUIRE(r.ok());
  CHECK(r->result == 1);
  r = lbs::ParseReply(One(H("80 24 01 01 00 00") + Fill(32, 0xB2)), false);
  REQUIRE(r.ok());
  CHECK(r->body.size() == 32);
  r = lbs::ParseReply(One(H("B0 44 01 01 00 00") + Fill(64, 0xB5)), false);
  REQUIRE(r.ok());
  CHECK(r->type == 0xB);
  CHECK(r->body.size() == 64);
  r = lbs::ParseReply(One(H("B0 04 01 01 00 09")), false);
  REQUIRE(r.ok());
  CHECK(r->result == 9);
  CHECK_FALSE(lbs::ParseReply(One(H("B0 02 01 01")), false).ok());
}

TEST_CASE("§3.5 key grants of both generations open with the master key; §3.8, §3.11") {
  const std::string master = "0123456789ABCDEF";
  auto key = gw::osap::AesKeyFromAscii(master);
  SessionKey sk;
  for (size_t i = 0; i < 16; ++i) sk[i] = static_cast<uint8_t>(i * 7);
  auto sign = gw::osap::ComputeSign(master, "TESTSN0001");
  // gen 1: 30 CBC(devid) 20 CBC(sk) sign
  {
    auto d = gw::osap::CbcEncrypt(key, gw::osap::AsBytes(kDevid));
    auto s = gw::osap::CbcEncrypt(key, gw::osap::ByteView(sk.data(), 16));
    std::string body = H("30") + std::string(d.begin(), d.end()) + H("20") + std::string(s.begin(), s.end()) +
                       std::string(sign.begin(), sign.end());
    auto g = lbs::OpenKeyGrant(Generation::kGen1, master, body);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
    CHECK(g->devid == kDevid);
    CHECK(g->session_key == sk);
    CHECK(g->sign == sign);
  }
  // gen 2: tag 20 ct tag 10 ct sign
  {
    auto d = gw::osap::GcmSeal(key, gw::osap::AsBytes(kDevid));
    auto s = gw::osap::GcmSeal(key, gw::osap::ByteView(sk.data(), 16));
    std::string ds(d.begin(), d.end()), ss(s.begin(), s.end());
    std::string body = ds.substr(0, 16) + H("20") + ds.substr(16) + ss.substr(0, 16) + H("10") + ss.substr(16) +
                       std::string(sign.begin(), sign.end());
    REQUIRE(body.size() == 130);
    auto g = lbs::OpenKeyGrant(Generation::kGen2, master, body);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
    CHECK(g->devid == kDevid);
    CHECK(g->session_key == sk);
    body[20] ^= 1;  // a flipped ciphertext bit fails the tag
    CHECK_FALSE(lbs::OpenKeyGrant(Generation::kGen2, master, body).ok());
    CHECK_FALSE(lbs::OpenKeyGrant(Generation::kGen2, master, body.substr(1)).ok());
  }
  // A devid with a quote is refused (§3.5 Decision).
  {
    std::string bad = kDevid;
    bad[3] = '"';
    auto d = gw::osap::CbcEncrypt(key, gw::osap::AsBytes(bad));
    auto s = gw::osap::CbcEncrypt(key, gw::osap::ByteView(sk.data(), 16));
    std::string body = H("30") + std::string(d.begin(), d.end()) + H("20") + std::string(s.begin(), s.end()) +
                       std::string(sign.begin(), sign.end());
    CHECK_FALSE(lbs::OpenKeyGrant(Generation::kGen1, master, body).ok());
  }
  // §3.8: r1 ‖ r2 ‖ session key = 18 bytes -> 32 bytes of CBC.
  {
    Bytes plain{0xA5, 0x3C};
    plain.insert(plain.end(), sk.begin(), sk.end());
    auto c = gw::osap::CbcEncrypt(key, plain);
    REQUIRE(c.size() == 32);
    auto k = lbs::OpenRefreshKeys(master, std::string(c.begin(), c.end()));
    REQUIRE(k.ok());
    CHECK(k->r1 == 0xA5);
    CHECK(k->r2 == 0x3C);
    CHECK(k->session_key == sk);
  }
  // §3.11
  {
    std::string j = R"({"Type":"DAS","DasInfo":{"Address":"127.0.0.1","Port":1883,"UdpPort":6001,"Domain":"das.local","ServerID":"das-1"}})";
    auto c = gw::osap::CbcEncrypt(sk, gw::osap::AsBytes(j));
    auto info = lbs::OpenDasInfo(sk, std::string(c.begin(), c.end()));
    REQUIRE(info.ok());
    CHECK(info->address == "127.0.0.1");
    CHECK(info->port == 1883);
    CHECK(info->udp_port == 6001);
    CHECK(info->domain == "das.local");
    CHECK(info->server_id == "das-1");
    std::string missing = R"({"Type":"DAS","DasInfo":{"Address":"127.0.0.1","Port":1883,"Domain":"d","ServerID":"s"}})";
    c = gw::osap::CbcEncrypt(sk, gw::osap::AsBytes(missing));
    CHECK_FALSE(lbs::OpenDasInfo(sk, std::string(c.begin(), c.end())).ok());
  }
}

TEST_CASE("§5.1 CONNECT with the NUL-padded will topic is byte-exact; other packets") {
  mqtt::ConnectOptions o;
  o.will_topic = "/Basic/pu2cenplt/TESTSN0001/firstconnect";
  o.will_payload = H("01 02 03");
  o.username = "TESTSN0001";
  std::string expect = H("10 A5 01 00 04") + "MQTT" + H("04 EE 00 1E 00 00 00 80") + o.will_topic + Fill(88, 0) +
                       H("00 03 01 02 03 00 0A") + "TESTSN0001" + H("00 04") + "test";
  CHECK(mqtt::Connect(o) == expect);
  o.clean_session = false;
  CHECK(static_cast<uint8_t>(mqtt::Connect(o)[10]) == 0xEC);

  CHECK(mqtt::Subscribe(1, {"/SN/#", "/iot/SN/#"}) == H("82 16 00 01 00 05") + "/SN/#" + H("01 00 09") + "/iot/SN/#" + H("01"));
  CHECK(mqtt::Publish("/a", "xy", 1, true, false, 7) == H("33 08 00 02") + "/a" + H("00 07") + "xy");
  CHECK(mqtt::Publish("/a", "xy", 1, true, true, 7) == H("3B 08 00 02") + "/a" + H("00 07") + "xy");
  CHECK(mqtt::Puback(0x1234) == H("40 02 12 34"));
  CHECK(mqtt::Pingreq() == H("C0 00"));
  CHECK(mqtt::Disconnect() == H("E0 00"));

  auto ca = mqtt::ParseConnack(One(H("20 02 01 00")));
  REQUIRE(ca.ok());
  CHECK(ca->session_present);
  CHECK(ca->code == 0);
  ca = mqtt::ParseConnack(One(H("20 02 00 0C")));
  REQUIRE(ca.ok());
  CHECK(ca->code == 12);
  auto sa = mqtt::ParseSuback(One(H("90 04 00 01 01 80")));
  REQUIRE(sa.ok());
  CHECK(sa->packet_id == 1);
  CHECK(sa->codes == std::vector<uint8_t>{1, 0x80});
  auto p = mqtt::ParsePublish(One(H("3A 08 00 02") + "/b" + H("00 09") + "zz"));
  REQUIRE(p.ok());
  CHECK(p->topic == "/b");
  CHECK(p->qos == 1);
  CHECK(p->dup);
  CHECK(p->packet_id == 9);
  CHECK(p->payload == "zz");
  CHECK_FALSE(mqtt::ParsePublish(One(H("34 06 00 02") + "/b" + "zz")).ok());  // QoS 2
  CHECK(mqtt::ParsePuback(One(H("40 02 00 09"))).value() == 9);
}

TEST_CASE("§6 payload framing: the example plaintext, sealing, the Seq/CmdVer policy") {
  SessionKey sk = gw::osap::AesKeyFromAscii("32D4212CFFF7642B");
  std::string common = payload::Common("v1.0.0", 1, 1);
  CHECK(common == R"({"CmdVer":"v1.0.0","Seq":1,"MsgType":1})");
  std::string body = "<Request><DevSerial>TESTSN0001</DevSerial><Authorization></Authorization></Request>";
  std::string sealed = payload::Seal(sk, common, body);
  auto plain = gw::osap::CbcDecrypt(sk, gw::osap::AsBytes(sealed));
  REQUIRE(plain.ok());
  CHECK(std::string(plain->begin(), plain->end()) == H("00 27") + common + body);
  auto m = payload::Open(sk, sealed, false);
  REQUIRE(m.ok());
  CHECK(m->seq == 1);
  CHECK(m->cmd_ver == std::optional<std::string>("v1.0.0"));
  CHECK(m->msg_type == 1);
  CHECK(m->body == body);

  CHECK(payload::Common("", 5, 0) == R"({"Seq":5})");
  std::string thing = payload::Seal(sk, R"({"Seq":5})", "{}");
  CHECK(payload::Open(sk, thing, true).ok());
  CHECK_FALSE(payload::Open(sk, thing, false).ok());  // legacy topics need CmdVer
  CHECK_FALSE(payload::Open(sk, payload::Seal(sk, R"({"Seq":"5"})", ""), true).ok());
  CHECK_FALSE(payload::Open(sk, payload::Seal(sk, R"({"Seq":-1})", ""), true).ok());
  CHECK_FALSE(payload::Open(sk, payload::Seal(sk, R"({"Seq":1,"MsgType":3})", ""), true).ok());
  auto c = gw::osap::CbcEncrypt(sk, gw::osap::AsBytes(H("00 30") + "{}"));  // length beyond the plaintext
  CHECK_FALSE(payload::Open(sk, std::string(c.begin(), c.end()), true).ok());
  // §1.3 example: the shared CBC under the document's key.
  auto e = gw::osap::CbcEncrypt(gw::osap::AesKeyFromAscii("32D4212CFFF7642B"), gw::osap::AsBytes("hello osap"));
  CHECK(std::string(e.begin(), e.end()) == H("69EBD73C2EF9ADAC0FC6C21B09B5C80D"));
  // The will is the JSON itself under CBC, no framing (§5.3).
  auto w = payload::SealWill(sk, R"({"SubSerial":"A"})");
  auto wp = gw::osap::CbcDecrypt(sk, gw::osap::AsBytes(w));
  REQUIRE(wp.ok());
  CHECK(std::string(wp->begin(), wp->end()) == R"({"SubSerial":"A"})");
}

TEST_CASE("§1.2 share-key vectors (the shared crypto, as the simulator calls it)") {
  CHECK(gw::osap::ShareKey(Generation::kGen1, "J7Fv5gCsTczVe38aNLe4ev", "4LYV8SK7UKLBOUOVS6HXVX:A532NO6K0Q2O") ==
        "32D4212CFFF7642B80B63D8E20387924");
  CHECK(gw::osap::ShareKey(Generation::kGen2, "VCODE123", "TESTSN0002") == "8B07045602F59A30E6EE1880C9455083");
  CHECK(gw::osap::ShareKey(Generation::kGen1, "J7Fv5gCsTczVe38aNLe4ev", "4LYV8SK7UKLBOUOVS6HXVX:A532NO6K0Q2O", true) ==
        "0E8ED6E211F3143582833F0F39389DBD");
  CHECK(gw::osap::ShareKey(Generation::kGen2, "VCODE123", "TESTSN0002", true) == "BC99A388978390A0CAEA61AEE060B8F8");
}

TEST_CASE("§7 topics: thing prefix, will topics, downlinks") {
  CHECK(topics::ThingPrefix("SN1", "global", "0", "video") == "/iot/SN1/global/0-video");
  CHECK(topics::WillTopic("SN1", true) == "/Basic/pu2cenplt/SN1/firstconnect");
  CHECK(topics::WillTopic("SN1", false) == "/Basic/pu2cenplt/SN1/breakconnect");
  auto d = topics::ParseDown("/iot/SN1/global/0-video/basic/shadow/set", "SN1");
  REQUIRE(d);
  CHECK(d->kind == topics::Down::kShadowSet);
  CHECK(d->li == "0");
  CHECK(d->rt == "video");
  d = topics::ParseDown("/iot/SN1/global/3-video-hd/basic/shadow/query", "SN1");
  REQUIRE(d);
  CHECK(d->kind == topics::Down::kShadowQuery);
  CHECK(d->rt == "video-hd");  // split at the first '-'
  d = topics::ParseDown("/iot/SN1/global/0-video/model/service/operate/ptz/move", "SN1");
  REQUIRE(d);
  CHECK(d->kind == topics::Down::kServiceOperate);
  CHECK(d->domain == "ptz");
  CHECK(d->identifier == "move");
  d = topics::ParseDown("/SN1/1000/1", "SN1");
  REQUIRE(d);
  CHECK(d->kind == topics::Down::kLegacy);
  CHECK(d->legacy_domain == 1000);
  CHECK(d->legacy_cmd == 1);
  d = topics::ParseDown("/SN1/1000/01", "SN1");
  REQUIRE(d);
  CHECK(d->kind == topics::Down::kOther);
  CHECK_FALSE(topics::ParseDown("/iot/SN2/global/0-video/basic/shadow/set", "SN1"));
  CHECK_FALSE(topics::ParseDown("/SN2/1000/1", "SN1"));
}
