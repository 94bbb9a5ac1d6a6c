// Golden LBS frames, written by hand from the wire profile §1.3 (not produced by the encoder):
// every message is encoded and compared byte-exact, then parsed back from the golden bytes.
// Ciphertext fields are filled with recognisable bytes (C1, D1, E1…); the layout codec treats them
// as opaque and only checks their lengths.
#include "osap/codec/lbs.h"
#include "test_util.h"

using namespace gw::osap;
using namespace gw::osap::lbs;
using osap_test::A;
using osap_test::H;
using osap_test::Hex;
using osap_test::Rep;

namespace {
Bytes RepB(uint8_t b, size_t n) { return Bytes(n, b); }
Sign SignOf(uint8_t b) {
  Sign s;
  s.fill(b);
  return s;
}
constexpr const char* kDevid = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

Frame F(const std::string& hex) {
  auto f = DecodeFrame(H(hex));
  REQUIRE_MESSAGE(f.ok(), f.error().message);
  return f.value();
}
}  // namespace

TEST_CASE("golden 0x1 gen 1: 12 7F | 01 02 00 | mode | len serial | 112-byte CBC key") {
  std::string golden = "12 7F 010200 00 0A" + A("TESTSN0001") + Rep("C1", 112);
  AuthRequest m;
  m.gen = Generation::kGen1;
  m.auth_mode = 0;
  m.serial = "TESTSN0001";
  m.sealed_public_key = RepB(0xC1, 112);
  CHECK(Hex(EncodeAuthRequest(m).value()) == Hex(H(golden)));

  Frame f = F(golden);
  CHECK(f.first_byte() == 0x12);
  auto p = ParseAuthRequest(f);
  REQUIRE(p.ok());
  CHECK(p->gen == Generation::kGen1);
  CHECK(p->negotiation.groups.empty());
  CHECK(p->version == kVersionAuth);
  CHECK(p->auth_mode == 0);
  CHECK(p->serial == "TESTSN0001");
  CHECK(p->sealed_public_key == RepB(0xC1, 112));
}

TEST_CASE("golden 0x1 gen 2: 1A 83 01 | 01 01 01 | 01 02 00 | mode | serial | tag16+ct97") {
  // remaining length 131 = 0x83 0x01 (two varint bytes).
  std::string golden = "1A 8301 01 01 01 010200 01 0A" + A("TESTSN0002") + Rep("C2", 113);
  AuthRequest m;
  m.gen = Generation::kGen2;
  m.negotiation = {1, {1}};
  m.auth_mode = 1;
  m.serial = "TESTSN0002";
  m.sealed_public_key = RepB(0xC2, 113);
  CHECK(Hex(EncodeAuthRequest(m).value()) == Hex(H(golden)));

  auto p = ParseAuthRequest(F(golden));
  REQUIRE(p.ok());
  CHECK(p->gen == Generation::kGen2);
  CHECK(p->negotiation.current_type == 1);
  CHECK(p->negotiation.groups == std::vector<uint8_t>{1});
  CHECK(p->auth_mode == 1);
  CHECK(p->serial == "TESTSN0002");
  CHECK(p->sealed_public_key.size() == 113);
}

TEST_CASE("golden 0x2 gen 1 and gen 2, and error replies") {
  std::string g1 = "20 74 010200 00" + Rep("D1", 112);
  AuthReply r1;
  r1.gen = Generation::kGen1;
  r1.sealed_public_key = RepB(0xD1, 112);
  CHECK(Hex(EncodeAuthReply(r1).value()) == Hex(H(g1)));
  auto p1 = ParseAuthReply(F(g1), Generation::kGen1);
  REQUIRE(p1.ok());
  REQUIRE(std::holds_alternative<AuthReply>(*p1));
  CHECK(std::get<AuthReply>(*p1).sealed_public_key == RepB(0xD1, 112));

  std::string g2 = "28 76 01 010200 00" + Rep("D2", 113);
  AuthReply r2;
  r2.gen = Generation::kGen2;
  r2.sealed_public_key = RepB(0xD2, 113);
  CHECK(Hex(EncodeAuthReply(r2).value()) == Hex(H(g2)));
  auto p2 = ParseAuthReply(F(g2), Generation::kGen2);
  REQUIRE(p2.ok());
  REQUIRE(std::holds_alternative<AuthReply>(*p2));
  CHECK(std::get<AuthReply>(*p2).chosen_type == 1);
  CHECK(std::get<AuthReply>(*p2).result == ResultCode::kOk);

  // Result 5 (no such device): no body.
  AuthReply e2;
  e2.gen = Generation::kGen2;
  e2.result = ResultCode::kNoSuchDevice;
  CHECK(Hex(EncodeAuthReply(e2).value()) == Hex(H("28 05 01 010200 05")));
  auto pe = ParseAuthReply(F("28 05 01 010200 05"), Generation::kGen2);
  REQUIRE(pe.ok());
  CHECK(std::get<AuthReply>(*pe).result == ResultCode::kNoSuchDevice);
  AuthReply e1;
  e1.result = ResultCode::kNoSuchDevice;
  CHECK(Hex(EncodeAuthReply(e1).value()) == Hex(H("20 04 010200 05")));
}

TEST_CASE("golden 0x2 'no common group' reply: 28 | 00 count groups | version | 03") {
  std::string golden = "28 07 00 01 01 010200 03";
  CHECK(Hex(EncodeNegotiationReject(NegotiationReject{}).value()) == Hex(H(golden)));
  auto p = ParseAuthReply(F(golden), Generation::kGen2);
  REQUIRE(p.ok());
  REQUIRE(std::holds_alternative<NegotiationReject>(*p));
  CHECK(std::get<NegotiationReject>(*p).supported_groups == std::vector<uint8_t>{1});
  CHECK(std::get<NegotiationReject>(*p).result == ResultCode::kInvalidData);
}

TEST_CASE("golden 0x72 apply devid: 72 33 | 01 01 00 | sign 48") {
  std::string golden = "72 33 010100" + Rep("5A", 48);
  CHECK(Hex(EncodeApplyDevid(ApplyDevid{kVersionOther, SignOf(0x5A)}).value()) == Hex(H(golden)));
  auto p = ParseApplyDevid(F(golden));
  REQUIRE(p.ok());
  CHECK(p->sign == SignOf(0x5A));
  auto d = ParseDeviceMessage(F(golden));
  REQUIRE(d.ok());
  CHECK(std::holds_alternative<ApplyDevid>(*d));
}

TEST_CASE("golden 0x8 / 0x6 gen 1: result | 30 ct48 | 20 ct32 | sign48") {
  // remaining length 134 = 0x86 0x01.
  std::string body = "010100 00 30" + Rep("E1", 48) + "20" + Rep("E2", 32) + Rep("5A", 48);
  for (auto [type, first] : {std::pair{MsgType::kDevidReply, "80"}, std::pair{MsgType::kRefreshReply, "60"}}) {
    std::string golden = std::string(first) + "8601" + body;
    KeyGrant m;
    m.type = type;
    m.gen = Generation::kGen1;
    m.sealed_devid = RepB(0xE1, 48);
    m.sealed_session_key = RepB(0xE2, 32);
    m.sign = SignOf(0x5A);
    CHECK(Hex(EncodeKeyGrant(m).value()) == Hex(H(golden)));
    auto p = ParseKeyGrant(F(golden), Generation::kGen1, type);
    REQUIRE(p.ok());
    CHECK(p->sealed_devid == m.sealed_devid);
    CHECK(p->sealed_session_key == m.sealed_session_key);
    CHECK(p->sign == m.sign);
  }
}

TEST_CASE("golden 0x8 gen 2: result | tag16 20 ct32 | tag16 10 ct16 | sign48") {
  std::string golden = "80 8601 010100 00" + Rep("A1", 16) + "20" + Rep("E1", 32) + Rep("A2", 16) + "10" +
                       Rep("E2", 16) + Rep("5A", 48);
  KeyGrant m;
  m.gen = Generation::kGen2;
  m.sealed_devid = RepB(0xA1, 16);
  Append(m.sealed_devid, RepB(0xE1, 32));
  m.sealed_session_key = RepB(0xA2, 16);
  Append(m.sealed_session_key, RepB(0xE2, 16));
  m.sign = SignOf(0x5A);
  CHECK(Hex(EncodeKeyGrant(m).value()) == Hex(H(golden)));
  auto p = ParseKeyGrant(F(golden), Generation::kGen2, MsgType::kDevidReply);
  REQUIRE(p.ok());
  CHECK(p->sealed_devid == m.sealed_devid);
  CHECK(p->sealed_session_key == m.sealed_session_key);

  // Error variant: result only.
  KeyGrant e;
  e.result = ResultCode::kSignFailed;
  CHECK(Hex(EncodeKeyGrant(e).value()) == Hex(H("80 04 010100 01")));
  auto pe = ParseKeyGrant(F("80 04 010100 01"), Generation::kGen2, MsgType::kDevidReply);
  REQUIRE(pe.ok());
  CHECK(pe->result == ResultCode::kSignFailed);
}

TEST_CASE("golden 0x42 refresh: 42 54 | 01 01 00 | 20 devid32 | sign48") {
  std::string golden = "42 54 010100 20" + A(kDevid) + Rep("5A", 48);
  RefreshRequest m{kVersionOther, kDevid, SignOf(0x5A)};
  CHECK(Hex(EncodeRefreshRequest(m).value()) == Hex(H(golden)));
  auto p = ParseRefreshRequest(F(golden));
  REQUIRE(p.ok());
  CHECK(p->devid == kDevid);
  CHECK(p->sign == SignOf(0x5A));
}

TEST_CASE("golden 0x70 refresh-I: 70 3F | 01 01 00 | len serial | 20 devid | CBC r1 16") {
  std::string golden = "70 3F 010100 0A" + A("TESTSN0001") + "20" + A(kDevid) + Rep("B1", 16);
  RefreshI m{kVersionOther, "TESTSN0001", kDevid, RepB(0xB1, 16)};
  CHECK(Hex(EncodeRefreshI(m).value()) == Hex(H(golden)));
  auto p = ParseRefreshI(F(golden));
  REQUIRE(p.ok());
  CHECK(p->serial == "TESTSN0001");
  CHECK(p->devid == kDevid);
  CHECK(p->sealed_r1 == RepB(0xB1, 16));
  auto d = ParseDeviceMessage(F(golden));
  REQUIRE(d.ok());
  CHECK(std::holds_alternative<RefreshI>(*d));
}

TEST_CASE("golden 0x8 reply to 0x70: 80 24 | 01 01 00 | result | CBC(r1 r2 key) 32") {
  std::string golden = "80 24 010100 00" + Rep("B2", 32);
  CHECK(Hex(EncodeRefreshGrant(RefreshGrant{kVersionOther, ResultCode::kOk, RepB(0xB2, 32)}).value()) ==
        Hex(H(golden)));
  auto p = ParseRefreshGrant(F(golden));
  REQUIRE(p.ok());
  CHECK(p->sealed == RepB(0xB2, 32));
}

TEST_CASE("golden 0x90 confirm: 90 13 | 01 01 00 | CBC r2 16") {
  std::string golden = "90 13 010100" + Rep("B3", 16);
  CHECK(Hex(EncodeConfirm(Confirm{kVersionOther, RepB(0xB3, 16)}).value()) == Hex(H(golden)));
  auto p = ParseConfirm(F(golden));
  REQUIRE(p.ok());
  CHECK(p->sealed_r2 == RepB(0xB3, 16));
}

TEST_CASE("golden 0xA0 get DAS and 0xB reply") {
  std::string req = "A0 33 010100" + Rep("B4", 48);
  CHECK(Hex(EncodeDasRequest(DasRequest{kVersionOther, RepB(0xB4, 48)}).value()) == Hex(H(req)));
  auto pr = ParseDasRequest(F(req));
  REQUIRE(pr.ok());
  CHECK(pr->sealed_query == RepB(0xB4, 48));

  std::string rep = "B0 44 010100 00" + Rep("B5", 64);
  CHECK(Hex(EncodeDasReply(DasReply{kVersionOther, ResultCode::kOk, RepB(0xB5, 64)}).value()) == Hex(H(rep)));
  auto pp = ParseDasReply(F(rep));
  REQUIRE(pp.ok());
  CHECK(pp->sealed_info == RepB(0xB5, 64));

  CHECK(Hex(EncodeDasReply(DasReply{kVersionOther, ResultCode::kLookupFailed, {}}).value()) ==
        Hex(H("B0 04 010100 09")));
}

TEST_CASE("golden 0xC / 0xE / 0xF: recognised, answered with result 9") {
  for (auto [req, reply] : {std::pair{"C0 05 010100 7B7D", "D0 04 010100 09"},
                            std::pair{"E0 03 010100", "E0 04 010100 09"},
                            std::pair{"F2 03 010100", "F0 04 010100 09"}}) {
    Frame f = F(req);
    auto d = ParseDeviceMessage(f);
    REQUIRE(d.ok());
    REQUIRE(std::holds_alternative<UnsupportedRequest>(*d));
    CHECK(Hex(EncodeUnsupportedReply(f.type).value()) == Hex(H(reply)));
    auto rc = PeekReplyResult(F(reply));
    REQUIRE(rc.ok());
    CHECK(*rc == ResultCode::kLookupFailed);
  }
  CHECK_FALSE(EncodeUnsupportedReply(MsgType::kDasRequest).ok());
}
