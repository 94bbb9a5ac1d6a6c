// DAS payload framing: [len16 BE][common JSON][body] under CBC(session key).
#include <nlohmann/json.hpp>

#include "osap/codec/payload.h"
#include "test_util.h"

using namespace gw::osap;
using osap_test::H;
using osap_test::Hex;

namespace {
const SessionKey kKey = AesKeyFromAscii("SESSIONKEY012345");
}

TEST_CASE("payload: the profile's example plaintext, byte-exact") {
  CommonHeader c{1, std::string(kLegacyCmdVer), kMsgTypeRequest};
  std::string common = EncodeCommon(c);
  CHECK(common == R"({"CmdVer":"v1.0.0","Seq":1,"MsgType":1})");
  std::string body =
      "<Request><DevSerial>TESTSN0001</DevSerial><Authorization></Authorization></Request>";
  auto plain = FramePayload(common, AsBytes(body));
  REQUIRE(plain.ok());
  CHECK(Hex(ByteView(plain.value()).first(2)) == "0027");  // 39 bytes of common JSON
  auto m = ParsePayloadPlain(plain.value(), CommonPolicy::kLegacy);
  REQUIRE(m.ok());
  CHECK(m->common.seq == 1);
  CHECK(m->common.cmd_ver == "v1.0.0");
  CHECK(m->common.msg_type == 1);
  CHECK(AsChars(m->body) == body);
}

TEST_CASE("payload: seal / open round trip, both policies") {
  CommonHeader c{42, std::string(kLegacyCmdVer), kMsgTypeReply};
  auto sealed = SealPayload(kKey, c, AsBytes(R"({"KeepAlive":{"Interval":60}})"));
  REQUIRE(sealed.ok());
  CHECK(sealed->size() % 16 == 0);
  auto m = OpenPayload(kKey, sealed.value(), CommonPolicy::kLegacy);
  REQUIRE(m.ok());
  CHECK(m->common.seq == 42);
  CHECK(m->common.msg_type == 2);
  CHECK(AsChars(m->body) == R"({"KeepAlive":{"Interval":60}})");
  // v3: {"Seq":n} only.
  CommonHeader v3{7, std::nullopt, std::nullopt};
  CHECK(EncodeCommon(v3) == R"({"Seq":7})");
  auto s3 = SealPayload(kKey, v3, AsBytes("{}"));
  REQUIRE(s3.ok());
  auto m3 = OpenPayload(kKey, s3.value(), CommonPolicy::kThingModel);
  REQUIRE(m3.ok());
  CHECK(m3->common.seq == 7);
  CHECK_FALSE(m3->common.cmd_ver.has_value());
  CHECK_ERR(OpenPayload(kKey, s3.value(), CommonPolicy::kLegacy), "lacks CmdVer");
  // Empty body is fine.
  auto e = OpenPayload(kKey, SealPayload(kKey, c, {}).value(), CommonPolicy::kLegacy);
  REQUIRE(e.ok());
  CHECK(e->body.empty());
}

TEST_CASE("payload: missing or ill-typed Seq / CmdVer / MsgType are rejected") {
  auto parse = [](std::string_view json, CommonPolicy p = CommonPolicy::kLegacy) {
    return ParsePayloadPlain(FramePayload(json, {}).value(), p);
  };
  CHECK_ERR(parse(R"({"CmdVer":"v1.0.0","MsgType":1})"), "lacks Seq");
  CHECK_ERR(parse(R"({"Seq":1,"MsgType":1})"), "lacks CmdVer");
  CHECK_ERR(parse(R"({"CmdVer":"v1.0.0","Seq":"1"})"), "Seq is not an integer");
  CHECK_ERR(parse(R"({"CmdVer":"v1.0.0","Seq":1.5})"), "Seq is not an integer");
  CHECK_ERR(parse(R"({"CmdVer":"v1.0.0","Seq":-1})"), "Seq is negative");
  CHECK_ERR(parse(R"({"CmdVer":"v1.0.0","Seq":4294967296})"), "above 4294967295");
  CHECK_ERR(parse(R"({"CmdVer":1,"Seq":1})"), "CmdVer is not a string");
  CHECK_ERR(parse(R"({"CmdVer":"v1.0.0","Seq":1,"MsgType":3})"), "neither 1 nor 2");
  CHECK(parse(R"({"Seq":1})", CommonPolicy::kThingModel).ok());
  CHECK_ERR(parse(R"({"Seq":1,"MsgType":"1"})", CommonPolicy::kThingModel), "MsgType is not an integer");
  CHECK_ERR(parse(R"([1,2])"), "not an object");
  CHECK_ERR(parse(R"({"Seq":1)"), "not valid JSON");
  CHECK(parse(R"({"CmdVer":"v1.0.0","Seq":4294967295})").ok());
}

TEST_CASE("payload: framing errors") {
  CHECK_ERR(ParsePayloadPlain(H("00"), CommonPolicy::kLegacy), "shorter than the 2-byte length");
  CHECK_ERR(ParsePayloadPlain(H("0005 7B7D"), CommonPolicy::kLegacy), "length 5 exceeds the 2 bytes");
  CHECK_ERR(OpenPayload(kKey, Bytes(15, 0), CommonPolicy::kLegacy), "multiple of 16");
  auto sealed = SealPayload(kKey, CommonHeader{1, "v1.0.0", 1}, AsBytes("x")).value();
  CHECK_FALSE(OpenPayload(AesKeyFromAscii("OTHERKEY01234567"), sealed, CommonPolicy::kLegacy).ok());
  CHECK(PolicyForTopic("/iot/SN/global/0-video/model/attribute/report/d/i") == CommonPolicy::kThingModel);
  CHECK(PolicyForTopic("/1100/13381") == CommonPolicy::kLegacy);
}

TEST_CASE("will payload: device-info JSON under the session key (identity proof)") {
  const std::string devid = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
  // Full form with a duplicate key (devices send some): the last occurrence wins.
  std::string full = R"({"DevSerial":"","SubSerial":"TESTSN0001","FirmwareVersion":"V1.0.0 build 240101",)"
                     R"("DevType":"TESTTYPE","Status":1,"Status":2,"RegMode":1,"DeviceID":")" + devid + R"(",)"
                     R"("SDKVersion":{"a":1}})";
  auto w = OpenWillPayload(kKey, SealWillPayload(kKey, full));
  REQUIRE_MESSAGE(w.ok(), w.error().message);
  CHECK(w->sub_serial == "TESTSN0001");
  CHECK(w->device_id == devid);
  CHECK(nlohmann::json::parse(w->json)["Status"] == 2);
  // Fast re-registration form.
  auto fast = OpenWillPayload(kKey, SealWillPayload(kKey, R"({"SubSerial":"TESTSN0001","DeviceID":")" + devid + "\"}"));
  REQUIRE(fast.ok());
  CHECK(fast->device_id == devid);
  // Framed variant is accepted too.
  auto framed = SealPayload(kKey, CommonHeader{1, std::nullopt, std::nullopt},
                            AsBytes(R"({"SubSerial":"S","DeviceID":"D"})"));
  auto fw = OpenWillPayload(kKey, framed.value());
  REQUIRE(fw.ok());
  CHECK(fw->sub_serial == "S");
  // Wrong key, missing DeviceID, garbage.
  CHECK_FALSE(OpenWillPayload(AesKeyFromAscii("OTHERKEY01234567"), SealWillPayload(kKey, full)).ok());
  CHECK_ERR(OpenWillPayload(kKey, SealWillPayload(kKey, R"({"SubSerial":"S"})")), "DeviceID missing");
  CHECK_ERR(OpenWillPayload(kKey, SealWillPayload(kKey, R"({"SubSerial":1,"DeviceID":"D"})")), "SubSerial missing");
  CHECK_ERR(OpenWillPayload(kKey, SealWillPayload(kKey, "{not json")), "not a JSON object");
  CHECK_ERR(OpenWillPayload(kKey, SealWillPayload(kKey, "xx")), "neither JSON nor framed");
}
