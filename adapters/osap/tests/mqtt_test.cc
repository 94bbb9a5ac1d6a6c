// DAS MQTT codec: golden packets written by hand from MQTT 3.1.1 + the device dialect, round trips,
// and malformed-packet rejection.
#include "osap/codec/mqtt.h"
#include "test_util.h"

using namespace gw::osap;
using namespace gw::osap::mqtt;
using osap_test::A;
using osap_test::H;
using osap_test::Hex;

namespace {
Packet P(const std::string& hex, size_t max = kDefaultMaxInbound) {
  auto p = DecodePacket(H(hex), max);
  REQUIRE_MESSAGE(p.ok(), p.error().message);
  return p.value();
}
const std::string kWillTopic = "/Basic/pu2cenplt/TESTSN0001/firstconnect";  // 40 bytes
// The device's CONNECT: flags 0xEE, empty client id, keep-alive 30, 128-byte NUL-padded will topic,
// will payload 01 02 03, username = serial, password "test". Remaining length 165 = A5 01.
const std::string kDeviceConnect = "10 A501 0004" + A("MQTT") + "04 EE 001E 0000 0080" + A(kWillTopic) +
                                   std::string(88 * 2, '0') + "0003 010203 000A" + A("TESTSN0001") + "0004" +
                                   A("test");
}  // namespace

TEST_CASE("CONNECT: the device dialect (empty id, NUL-padded will topic) decodes") {
  auto c = DecodeConnect(P(kDeviceConnect));
  REQUIRE_MESSAGE(c.ok(), c.error().message);
  CHECK(c->protocol_name == "MQTT");
  CHECK(c->protocol_level == 4);
  CHECK(c->clean_session);
  CHECK(c->keep_alive == 30);
  CHECK(c->client_id.empty());
  REQUIRE(c->will.has_value());
  CHECK(c->will->topic == kWillTopic);
  CHECK(c->will_topic_wire_len == 128);
  CHECK(c->will->qos == 1);
  CHECK(c->will->retain);
  CHECK(c->will->payload == Bytes{1, 2, 3});
  CHECK(c->username == "TESTSN0001");
  CHECK(c->password == ToBytes("test"));
}

TEST_CASE("CONNECT: the simulator's encoder produces the dialect byte-exact") {
  Connect c;
  c.keep_alive = 30;
  c.will = Will{kWillTopic, Bytes{1, 2, 3}, 1, true};
  c.username = "TESTSN0001";
  c.password = ToBytes("test");
  CHECK(Hex(EncodeConnect(c, kNulPaddedWillTopic).value()) == Hex(H(kDeviceConnect)));
  // Without padding: a plain MQTT 3.1.1 CONNECT (will topic 40 bytes), which decodes the same.
  auto plain = EncodeConnect(c);
  REQUIRE(plain.ok());
  CHECK(plain->size() == H(kDeviceConnect).size() - 88 - 1);  // and a 1-byte remaining length
  auto back = DecodeConnect(P(Hex(plain.value())));
  REQUIRE(back.ok());
  CHECK(back->will->topic == kWillTopic);
  CHECK(back->will_topic_wire_len == 40);
  // Fast re-registration: clean session 0, still an empty client id (accepted by the DAS).
  c.clean_session = false;
  auto fast = DecodeConnect(P(Hex(EncodeConnect(c, 128).value())));
  REQUIRE(fast.ok());
  CHECK_FALSE(fast->clean_session);
  CHECK(fast->client_id.empty());
  c.will->topic = std::string(129, 'a');
  CHECK_ERR(EncodeConnect(c, 128), "longer than the padded field");
}

TEST_CASE("CONNECT: flag and field violations are rejected") {
  auto body = [](const std::string& flags_and_rest) { return "0004" + A("MQTT") + "04" + flags_and_rest; };
  auto pkt = [](const std::string& body_hex) {
    Bytes b = H(body_hex);
    return Hex(BuildFrame(0x10, b));
  };
  CHECK(DecodeConnect(P(pkt(body("02 003C 0000")))).ok());                      // minimal, clean session
  CHECK_ERR(DecodeConnect(P(pkt(body("03 003C 0000")))), "reserved connect flag");
  CHECK_ERR(DecodeConnect(P(pkt(body("0A 003C 0000")))), "without the will flag");  // will QoS 1, no will
  CHECK_ERR(DecodeConnect(P(pkt(body("22 003C 0000")))), "without the will flag");  // will retain, no will
  CHECK_ERR(DecodeConnect(P(pkt(body("1E 003C 0000 0001 61 0000")))), "will QoS 3");
  CHECK_ERR(DecodeConnect(P(pkt(body("42 003C 0000 0001 61")))), "password flag without username");
  CHECK_ERR(DecodeConnect(P(pkt(body("02 003C 0000 FF")))), "trailing bytes");
  CHECK_ERR(DecodeConnect(P(pkt(body("02 003C 0002 C328")))), "client id is not valid UTF-8");
  CHECK_ERR(DecodeConnect(P(pkt(body("02 003C 0001 00")))), "client id is not valid UTF-8");  // U+0000
  CHECK_ERR(DecodeConnect(P(pkt(body("06 003C 0000 0004 2F610062 0000")))), "will topic");  // NUL inside
  CHECK_ERR(DecodeConnect(P(pkt(body("06 003C 0000 0004 00000000 0000")))), "will topic");  // only NULs
  CHECK_ERR(DecodeConnect(P(pkt(body("06 003C 0000 0002 2F23 0000")))), "will topic");  // wildcard
  CHECK_ERR(DecodeConnect(P(pkt(body("06 003C 0000 0002 2F61")))), "truncated will message");
  CHECK_ERR(DecodeConnect(P(pkt(body("82 003C 0000 0005 6162")))), "truncated username");
  CHECK_ERR(DecodeConnect(P(pkt("0004" + A("MQTX") + "04 02 003C 0000"))), "unknown protocol name");
  // MQTT 3.1 decodes; the DAS answers CONNACK 1 because the level is not 4.
  auto v31 = DecodeConnect(P(pkt("0006" + A("MQIsdp") + "03 02 003C 0000")));
  REQUIRE(v31.ok());
  CHECK(v31->protocol_level == 3);
  CHECK_ERR(DecodeConnect(P("20 02 00 00")), "expected CONNECT");
}

TEST_CASE("CONNACK: standard and dialect return codes") {
  CHECK(Hex(EncodeConnack({false, ConnectReturn::kAccepted})) == "20020000");
  CHECK(Hex(EncodeConnack({true, ConnectReturn::kAccepted})) == "20020100");
  CHECK(Hex(EncodeConnack({true, ConnectReturn::kNotAuthorized})) == "20020005");  // SP only with 0
  CHECK(Hex(EncodeConnack({false, ConnectReturn::kBlacklisted})) == "2002000A");
  CHECK(Hex(EncodeConnack({false, ConnectReturn::kRedirect})) == "2002000B");
  CHECK(Hex(EncodeConnack({false, ConnectReturn::kSessionExists})) == "2002000C");
  auto c = DecodeConnack(P("20 02 01 00"));
  REQUIRE(c.ok());
  CHECK(c->session_present);
  CHECK(DecodeConnack(P("20 02 00 0C"))->code == ConnectReturn::kSessionExists);
  CHECK_ERR(DecodeConnack(P("20 02 02 00")), "reserved acknowledge flags");
  CHECK_ERR(DecodeConnack(P("20 03 00 00 00")), "expected 2");
}

TEST_CASE("PUBLISH: golden QoS 1 retained device publish, and the server's encoder") {
  // Topic /1100/13381 (11 bytes), packet id 1, payload AA BB; retain=1, QoS 1 -> first byte 0x33.
  std::string golden = "33 11 000B" + A("/1100/13381") + "0001 AABB";
  auto m = DecodePublish(P(golden));
  REQUIRE(m.ok());
  CHECK(m->topic == "/1100/13381");
  CHECK(m->qos == 1);
  CHECK(m->retain);
  CHECK_FALSE(m->dup);
  CHECK(m->packet_id == 1);
  CHECK(m->payload == Bytes{0xAA, 0xBB});
  CHECK(Hex(EncodePublish(m.value()).value()) == Hex(H(golden)));
  Publish dup = m.value();
  dup.dup = true;
  dup.retain = false;
  CHECK(Hex(EncodePublish(dup).value()).substr(0, 2) == "3A");  // DUP + QoS 1
  Publish q0{"/TESTSN0001/1000/1", Bytes{1}, 0, false, false, 0};
  CHECK(Hex(EncodePublish(q0).value()) == Hex(H("30 15 0012" + A("/TESTSN0001/1000/1") + "01")));
}

TEST_CASE("PUBLISH: QoS 2 is refused, malformed ones rejected") {
  CHECK_ERR(DecodePublish(P("34 06 0002 2F61 0001")), "QoS 2 is not supported");
  CHECK_ERR(DecodePacket(H("36 06 0002 2F61 0001")), "QoS 3 is malformed");
  CHECK_ERR(DecodePublish(P("38 04 0002 2F61")), "DUP set on a QoS 0");
  CHECK_ERR(DecodePublish(P("32 06 0002 2F61 0000")), "packet identifier 0");
  CHECK_ERR(DecodePublish(P("32 05 0002 2F61 00")), "truncated packet identifier");
  CHECK_ERR(DecodePublish(P("30 04 0002 2F23")), "wildcard");
  CHECK_ERR(DecodePublish(P("30 02 0000")), "empty");
  CHECK_ERR(DecodePublish(P("30 03 0002 2F")), "truncated topic");
  Publish p{"/a", {}, 2, false, false, 1};
  CHECK_ERR(EncodePublish(p), "QoS 2 is not supported");
  p.qos = 1;
  p.packet_id = 0;
  CHECK_ERR(EncodePublish(p), "non-zero packet id");
}

TEST_CASE("PUBLISH: packets to a device are limited to 2048 bytes") {
  // 2048 = 1 + 2 (length) + 2 + 2 (topic "/a") + 2 (id) + 2039.
  Publish p{"/a", Bytes(2039, 0x55), 1, false, false, 7};
  auto ok = EncodePublish(p);
  REQUIRE(ok.ok());
  CHECK(ok->size() == 2048);
  p.payload.push_back(0);
  CHECK_ERR(EncodePublish(p), "exceeds the limit of 2048");
  CHECK(EncodePublish(p, 4096).ok());
}

TEST_CASE("PUBACK / UNSUBACK / PINGREQ / PINGRESP / DISCONNECT") {
  CHECK(Hex(EncodePuback(0x1234)) == "40021234");
  CHECK(DecodePuback(P("40 02 12 34")).value() == 0x1234);
  CHECK_ERR(DecodePuback(P("40 03 12 34 00")), "expected 2");
  CHECK_ERR(DecodePuback(P("40 02 00 00")), "packet identifier 0");
  CHECK(Hex(EncodeUnsuback(9)) == "B0020009");
  CHECK(DecodeUnsuback(P("B0 02 00 09")).value() == 9);
  CHECK(Hex(EncodePingreq()) == "C000");
  CHECK(Hex(EncodePingresp()) == "D000");
  CHECK(Hex(EncodeDisconnect()) == "E000");
  CHECK(DecodeEmpty(P("C0 00"), PacketType::kPingreq).ok());
  CHECK(DecodeEmpty(P("D0 00"), PacketType::kPingresp).ok());
  CHECK(DecodeEmpty(P("E0 00"), PacketType::kDisconnect).ok());
  CHECK_ERR(DecodeEmpty(P("C0 01 00"), PacketType::kPingreq), "expected 0");
  CHECK_ERR(DecodeEmpty(P("C0 00"), PacketType::kDisconnect), "expected DISCONNECT");
}

TEST_CASE("SUBSCRIBE / SUBACK: the device's two subscriptions") {
  std::string golden = "82 26 0001 000D" + A("/TESTSN0001/#") + "01 0011" + A("/iot/TESTSN0001/#") + "01";
  auto s = DecodeSubscribe(P(golden));
  REQUIRE(s.ok());
  CHECK(s->packet_id == 1);
  REQUIRE(s->subscriptions.size() == 2);
  CHECK(s->subscriptions[0].filter == "/TESTSN0001/#");
  CHECK(s->subscriptions[1].filter == "/iot/TESTSN0001/#");
  CHECK(s->subscriptions[1].qos == 1);
  CHECK(Hex(EncodeSubscribe(s.value()).value()) == Hex(H(golden)));
  Suback a{1, {1, kSubackFailure}};
  CHECK(Hex(EncodeSuback(a).value()) == "900400010180");
  auto back = DecodeSuback(P("90 04 0001 0180"));
  REQUIRE(back.ok());
  CHECK(back->return_codes == std::vector<uint8_t>{1, 0x80});
  CHECK_ERR(DecodeSuback(P("90 03 0001 03")), "invalid return code 3");
  CHECK_ERR(EncodeSuback(Suback{1, {3}}), "invalid return code");
}

TEST_CASE("SUBSCRIBE / UNSUBSCRIBE: malformed ones rejected") {
  CHECK_ERR(DecodePacket(H("80 06 0001 0001 61 01")), "fixed-header flags");
  CHECK_ERR(DecodeSubscribe(P("82 02 0001")), "no topic filter");
  CHECK_ERR(DecodeSubscribe(P("82 06 0001 0001 61 03")), "requested QoS byte 3");
  CHECK_ERR(DecodeSubscribe(P("82 05 0001 0001 61")), "truncated requested QoS");
  for (const char* bad : {"a/#/b", "a+", "#a", "a/b#", ""}) {
    Subscribe s{1, {{bad, 1}}};
    CHECK_FALSE(EncodeSubscribe(s).ok());
  }
  CHECK_ERR(DecodeSubscribe(P("82 09 0001 0004 612F2362 01")), "invalid topic filter");  // "a/#b"
  std::string unsub = "A2 0F 0002 000B" + A("/TESTSN0001");
  auto u = DecodeUnsubscribe(P(unsub));
  REQUIRE(u.ok());
  CHECK(u->filters == std::vector<std::string>{"/TESTSN0001"});
  CHECK(Hex(EncodeUnsubscribe(u.value()).value()) == Hex(H(unsub)));
  CHECK_ERR(DecodeUnsubscribe(P("A2 02 0002")), "no topic filter");
  CHECK_ERR(DecodePacket(H("A0 02 0002")), "fixed-header flags");
}

TEST_CASE("packet decoder: incremental, limits, varints, reserved types") {
  Bytes stream = H("C0 00" "30 04 0002 2F61" "E0 00");
  PacketDecoder d;
  std::vector<PacketType> types;
  for (uint8_t b : stream) {
    d.feed(ByteView(&b, 1));
    while (true) {
      auto p = d.next();
      REQUIRE(p.ok());
      if (!p.value()) break;
      types.push_back(p.value()->type);
    }
  }
  CHECK(types == std::vector<PacketType>{PacketType::kPingreq, PacketType::kPublish, PacketType::kDisconnect});
  CHECK_ERR(DecodePacket(H("00 00")), "reserved packet type 0");
  CHECK_ERR(DecodePacket(H("F0 00")), "reserved packet type 15");
  CHECK_ERR(DecodePacket(H("C1 00")), "fixed-header flags");
  CHECK_ERR(DecodePacket(H("30 80 80 80 80 01"), kMaxRemainingLength + 5), "longer than 4 bytes");
  CHECK_ERR(DecodePacket(H("30 80 80")), "truncated");
  // Whole-packet size limit, checked from the header.
  PacketDecoder small(2048);
  small.feed(H("30 FE 0F"));  // 2046 + 3 = 2049
  CHECK_ERR(small.next(), "exceeds the limit of 2048");
}

TEST_CASE("topic names, filters and matching") {
  CHECK(IsValidTopicName("/1100/13381"));
  CHECK_FALSE(IsValidTopicName(""));
  CHECK_FALSE(IsValidTopicName("/a/+"));
  CHECK(IsValidTopicFilter("/TESTSN0001/#"));
  CHECK(IsValidTopicFilter("+/+/#"));
  CHECK(IsValidTopicFilter("#"));
  CHECK_FALSE(IsValidTopicFilter("/a#"));
  CHECK(TopicMatches("/TESTSN0001/#", "/TESTSN0001/1000/1"));
  CHECK(TopicMatches("/TESTSN0001/#", "/TESTSN0001"));
  CHECK_FALSE(TopicMatches("/TESTSN0001/#", "/TESTSN0002/1000/1"));
  CHECK(TopicMatches("/+/1000/+", "/SN/1000/3"));
  CHECK_FALSE(TopicMatches("/+/1000", "/SN/1000/3"));
  CHECK_FALSE(TopicMatches("/a/b", "/a"));
  CHECK(IsValidMqttUtf8("caf\xC3\xA9"));
  CHECK_FALSE(IsValidMqttUtf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(IsValidMqttUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(IsValidMqttUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(IsValidMqttUtf8("\xE2\x82"));          // truncated
}
