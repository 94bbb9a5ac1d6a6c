// LBS frame decoder (incremental, varint, limits) and negative message tests.
#include "osap/codec/lbs.h"
#include "test_util.h"

using namespace gw::osap;
using namespace gw::osap::lbs;
using osap_test::A;
using osap_test::H;
using osap_test::Hex;
using osap_test::Rep;

namespace {
Frame F(const std::string& hex) {
  auto f = DecodeFrame(H(hex));
  REQUIRE_MESSAGE(f.ok(), f.error().message);
  return f.value();
}
constexpr const char* kDevid = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
}  // namespace

TEST_CASE("remaining length: encodings at the varint boundaries") {
  auto enc = [](uint32_t v) {
    Bytes b;
    AppendRemainingLength(b, v);
    return Hex(b);
  };
  CHECK(enc(0) == "00");
  CHECK(enc(127) == "7F");
  CHECK(enc(128) == "8001");
  CHECK(enc(16383) == "FF7F");
  CHECK(enc(16384) == "808001");
  CHECK(enc(2097151) == "FFFF7F");
  CHECK(enc(2097152) == "80808001");
  CHECK(enc(kMaxRemainingLength) == "FFFFFF7F");
}

TEST_CASE("frame decoder: need-more on every truncation, then exactly one frame") {
  Bytes frame = H("90 13 010100" + Rep("B3", 16));
  FrameDecoder d;
  for (size_t i = 0; i + 1 < frame.size(); ++i) {
    d.feed(ByteView(&frame[i], 1));
    auto r = d.next();
    REQUIRE(r.ok());
    CHECK_FALSE(r.value().has_value());
  }
  d.feed(ByteView(&frame.back(), 1));
  auto r = d.next();
  REQUIRE(r.ok());
  REQUIRE(r.value().has_value());
  CHECK(r.value()->type == MsgType::kConfirm);
  CHECK(r.value()->flags == 0);
  CHECK(r.value()->payload.size() == 19);
  CHECK(d.buffered() == 0);
  auto none = d.next();
  REQUIRE(none.ok());
  CHECK_FALSE(none.value().has_value());
}

TEST_CASE("frame decoder: several frames in one read, in order") {
  Bytes two = H("E0 03 010100  F2 00  C0 01 AA");
  FrameDecoder d;
  d.feed(two);
  std::vector<uint8_t> firsts;
  while (true) {
    auto r = d.next();
    REQUIRE(r.ok());
    if (!r.value()) break;
    firsts.push_back(r.value()->first_byte());
  }
  CHECK(firsts == std::vector<uint8_t>{0xE0, 0xF2, 0xC0});
}

TEST_CASE("frame decoder: truncated varints wait, a 5-byte varint is an error") {
  for (const char* partial : {"12", "12 80", "12 80 80", "12 80 80 80"}) {
    FrameDecoder d(kMaxRemainingLength + 5);
    d.feed(H(partial));
    auto r = d.next();
    REQUIRE(r.ok());
    CHECK_FALSE(r.value().has_value());
  }
  FrameDecoder d(kMaxRemainingLength + 5);
  d.feed(H("12 80 80 80 80 01"));
  CHECK_ERR(d.next(), "longer than 4 bytes");
  // The error is final.
  d.feed(H("90 00"));
  CHECK_ERR(d.next(), "longer than 4 bytes");
  // One-shot decoding of a truncated frame reports it.
  CHECK_ERR(DecodeFrame(H("12 80")), "truncated");
  CHECK_ERR(DecodeFrame(H("90 02 01")), "truncated");
  CHECK_ERR(DecodeFrame(H("90 01 01 FF")), "after the frame");
}

TEST_CASE("frame decoder: size limit counts the whole frame") {
  // 1 + 2 length bytes + 4093 = 4096: accepted at the default limit; one more byte is not.
  Bytes ok = BuildFrame(0xA0, Bytes(4093, 0));
  CHECK(ok.size() == 4096);
  CHECK(DecodeFrame(ok).ok());
  Bytes big = BuildFrame(0xA0, Bytes(4094, 0));
  CHECK_ERR(DecodeFrame(big), "exceeds the limit of 4096");
  // The limit is enforced from the header alone, before the payload arrives.
  FrameDecoder d(100);
  d.feed(H("A0 E5 00"));  // announces 101 bytes
  CHECK_ERR(d.next(), "exceeds the limit of 100");
  FrameDecoder small(100);
  small.feed(H("A0 61"));  // 97 + 2 = 99: fine, waits for the payload
  auto r = small.next();
  REQUIRE(r.ok());
  CHECK_FALSE(r.value().has_value());
}

TEST_CASE("frame decoder: reserved message types are errors") {
  for (const char* f : {"00 00", "30 00", "52 00"}) CHECK_ERR(DecodeFrame(H(f)), "unknown message type");
}

TEST_CASE("0x1: wrong lengths are named") {
  CHECK_ERR(ParseAuthRequest(F("12 7E 010200 00 0A" + A("TESTSN0001") + Rep("C1", 111))),
            "0x1 AUTH_I: sealed public key is 111 bytes, expected 112");
  CHECK_ERR(ParseAuthRequest(F("1A 8201 01 01 01 010200 00 0A" + A("TESTSN0002") + Rep("C2", 112))),
            "expected 113");
  CHECK_ERR(ParseAuthRequest(F("12 07 010200 00 0A 4142")), "serial length 10 exceeds");
  CHECK_ERR(ParseAuthRequest(F("12 05 010200 00 00")), "serial length is 0");
  CHECK_ERR(ParseAuthRequest(F("12 02 0102")), "truncated before version");
  CHECK_ERR(ParseAuthRequest(F("1A 02 01 05")), "group count exceeds");
  CHECK_ERR(ParseAuthRequest(F("1A 02 01 00")), "0 groups");
  CHECK_ERR(ParseAuthRequest(F("20 00")), "message type 0x02");
  AuthRequest m;
  m.serial = std::string(256, 'S');
  m.sealed_public_key = Bytes(112, 0);
  CHECK_ERR(EncodeAuthRequest(m), "1..255");
  m.serial = "SN";
  m.sealed_public_key = Bytes(113, 0);
  CHECK_ERR(EncodeAuthRequest(m), "must be 112");
}

TEST_CASE("0x2: flag, chosen type and key length checks") {
  CHECK_ERR(ParseAuthReply(F("20 74 010200 00" + Rep("D1", 112)), Generation::kGen2), "lacks the 0x08 flag");
  CHECK_ERR(ParseAuthReply(F("28 76 01 010200 00" + Rep("D2", 113)), Generation::kGen1), "carries the 0x08");
  CHECK_ERR(ParseAuthReply(F("28 76 02 010200 00" + Rep("D2", 113)), Generation::kGen2), "auth type 2");
  CHECK_ERR(ParseAuthReply(F("20 73 010200 00" + Rep("D1", 111)), Generation::kGen1), "expected 112");
  CHECK_ERR(ParseAuthReply(F("20 03 010200"), Generation::kGen1), "truncated before result");
  CHECK_ERR(ParseAuthReply(F("28 03 00 05 01"), Generation::kGen2), "group count exceeds");
}

TEST_CASE("0x72 / 0x42 / 0x70 / 0x90 / 0xA: wrong lengths are named") {
  CHECK_ERR(ParseApplyDevid(F("72 32 010100" + Rep("5A", 47))), "0x72 apply-devid: payload is 50 bytes, expected 51");
  CHECK_ERR(ParseRefreshRequest(F("42 54 010100 1F" + A(kDevid) + Rep("5A", 48))), "devid length byte is 31");
  CHECK_ERR(ParseRefreshRequest(F("42 53 010100 20" + A(kDevid) + Rep("5A", 47))), "expected 84");
  CHECK_ERR(ParseRefreshI(F("70 3E 010100 0A" + A("TESTSN0001") + "20" + A(kDevid) + Rep("B1", 15))),
            "sealed r1 is 15 bytes, expected 16");
  CHECK_ERR(ParseRefreshI(F("70 3F 010100 0A" + A("TESTSN0001") + "21" + A(kDevid) + Rep("B1", 16))),
            "devid length byte is 33");
  CHECK_ERR(ParseConfirm(F("90 14 010100" + Rep("B3", 17))), "expected 19");
  CHECK_ERR(ParseDasRequest(F("A0 14 010100" + Rep("B4", 17))), "multiple of 16");
  CHECK_ERR(ParseDasRequest(F("A0 03 010100")), "multiple of 16");
  // Dispatch by the 0x02 flag on type 7.
  CHECK_ERR(ParseDeviceMessage(F("70 33 010100" + Rep("5A", 48))), "0x70 refresh-I");
  CHECK_ERR(ParseDeviceMessage(F("80 00")), "not a device request");
  RefreshRequest bad{kVersionOther, "short", {}};
  CHECK_ERR(EncodeRefreshRequest(bad), "devid must be 32 bytes");
}

TEST_CASE("0x8 / 0x6 key grant: wrong length bytes and body sizes are named") {
  std::string g1_bad_len = "80 8601 010100 00 2F" + Rep("E1", 48) + "20" + Rep("E2", 32) + Rep("5A", 48);
  CHECK_ERR(ParseKeyGrant(F(g1_bad_len), Generation::kGen1, MsgType::kDevidReply),
            "0x8 key grant: devid length byte is 47, expected 48");
  std::string g1_bad_key = "60 8601 010100 00 30" + Rep("E1", 48) + "21" + Rep("E2", 32) + Rep("5A", 48);
  CHECK_ERR(ParseKeyGrant(F(g1_bad_key), Generation::kGen1, MsgType::kRefreshReply),
            "0x6 key grant: session key length byte is 33");
  std::string g1_short = "80 8501 010100 00 30" + Rep("E1", 48) + "20" + Rep("E2", 32) + Rep("5A", 47);
  CHECK_ERR(ParseKeyGrant(F(g1_short), Generation::kGen1, MsgType::kDevidReply), "gen-1 body is 129 bytes");
  // A gen-2 grant read as gen 1: same size, but the length byte sits elsewhere.
  std::string g2 = "80 8601 010100 00" + Rep("A1", 16) + "20" + Rep("E1", 32) + Rep("A2", 16) + "10" +
                   Rep("E2", 16) + Rep("5A", 48);
  CHECK_ERR(ParseKeyGrant(F(g2), Generation::kGen1, MsgType::kDevidReply), "length byte is 161");
  CHECK_ERR(ParseKeyGrant(F(g2), Generation::kGen2, MsgType::kRefreshReply), "message type 0x08");
  std::string g2_bad = "80 8601 010100 00" + Rep("A1", 16) + "20" + Rep("E1", 32) + Rep("A2", 16) + "11" +
                       Rep("E2", 16) + Rep("5A", 48);
  CHECK_ERR(ParseKeyGrant(F(g2_bad), Generation::kGen2, MsgType::kDevidReply), "session key length byte is 17");
}

TEST_CASE("key grant contents: wrong master key, bad padding, bad tag") {
  const std::string master = "0123456789ABCDEF";
  SessionKey sk = RandomSessionKey();
  Sign sign = ComputeSign(master, "TESTSN0001");
  for (Generation g : {Generation::kGen1, Generation::kGen2}) {
    auto kg = MakeKeyGrant(MsgType::kDevidReply, g, master, kDevid, sk, sign);
    REQUIRE(kg.ok());
    auto ok = OpenKeyGrant(kg.value(), master);
    REQUIRE(ok.ok());
    CHECK(ok->devid == kDevid);
    CHECK(ok->session_key == sk);
    auto wrong = OpenKeyGrant(kg.value(), "FEDCBA9876543210");
    REQUIRE_FALSE(wrong.ok());
    // Gen 2: the tag catches a wrong key. Gen 1 (CBC): padding, or (as here, where the wrong key
    // happens to leave a valid 1-byte pad) the decrypted length.
    CHECK(wrong.error().message.find(g == Generation::kGen1 ? "devid decrypted to 47 bytes" : "tag mismatch") !=
          std::string::npos);
  }
  // A devid that is not printable is refused on both ends.
  CHECK_ERR(MakeKeyGrant(MsgType::kDevidReply, Generation::kGen1, master, std::string(32, ' '), sk, sign),
            "printable");
  KeyGrant forged;
  forged.gen = Generation::kGen1;
  forged.sealed_devid = CbcEncrypt(AesKeyFromAscii(master), Bytes(32, 0x01));
  forged.sealed_session_key = CbcEncrypt(AesKeyFromAscii(master), Bytes(16, 0x02));
  CHECK_ERR(OpenKeyGrant(forged, master), "printable");
  forged.sealed_session_key = CbcEncrypt(AesKeyFromAscii(master), Bytes(15, 0x02));
  CHECK_ERR(OpenKeyGrant(forged, master), "decrypted to 15 bytes");
}

TEST_CASE("F3 pieces: r1, r2 and the 32-byte refresh grant") {
  const std::string master = "0123456789ABCDEF";
  CHECK(OpenByte(master, SealByte(master, 0x7E)).value() == 0x7E);
  CHECK_ERR(OpenByte(master, CbcEncrypt(AesKeyFromAscii(master), Bytes{1, 2})), "expected 1");
  RefreshKeys k{0x11, 0x22, RandomSessionKey()};
  Bytes sealed = SealRefreshKeys(master, k);
  CHECK(sealed.size() == 32);
  auto back = OpenRefreshKeys(master, sealed);
  REQUIRE(back.ok());
  CHECK(back->r1 == 0x11);
  CHECK(back->r2 == 0x22);
  CHECK(back->session_key == k.session_key);
  CHECK_ERR(OpenRefreshKeys(master, Bytes(48, 0)), "expected 32");
  CHECK_ERR(OpenRefreshKeys(master, CbcEncrypt(AesKeyFromAscii(master), Bytes(17, 0))), "expected 18");
  CHECK_ERR(OpenRefreshKeys("FEDCBA9876543210", sealed), "padding");
  CHECK_ERR(ParseRefreshGrant(F("80 23 010100 00" + Rep("B2", 31))), "expected 32");
}

TEST_CASE("0xA / 0xB JSON bodies") {
  SessionKey sk = RandomSessionKey();
  Bytes q = SealDasQuery(sk, DasQuery{"TESTSN0001", "DAS", 0});
  // The exact plaintext of the profile.
  CHECK(AsChars(CbcDecrypt(sk, q).value()) == R"({"DevSerial":"TESTSN0001","Type":"DAS","Mode":0})");
  auto oq = OpenDasQuery(sk, q);
  REQUIRE(oq.ok());
  CHECK(oq->dev_serial == "TESTSN0001");
  CHECK(oq->type == "DAS");
  CHECK_ERR(OpenDasQuery(sk, CbcEncrypt(sk, AsBytes(R"({"Type":"DAS"})"))), "DevSerial missing");
  CHECK_ERR(OpenDasQuery(sk, CbcEncrypt(sk, AsBytes("not json"))), "not valid JSON");
  CHECK_ERR(OpenDasQuery(RandomSessionKey(), q), "");

  DasInfo info{"127.0.0.1", 1883, 6001, "das.local", "das-1"};
  auto sealed = SealDasInfo(sk, info);
  REQUIRE(sealed.ok());
  CHECK(AsChars(CbcDecrypt(sk, sealed.value()).value()) ==
        R"({"Type":"DAS","DasInfo":{"Address":"127.0.0.1","Port":1883,"UdpPort":6001,"Domain":"das.local","ServerID":"das-1"}})");
  auto back = OpenDasInfo(sk, sealed.value());
  REQUIRE(back.ok());
  CHECK(back->address == "127.0.0.1");
  CHECK(back->port == 1883);
  CHECK(back->udp_port == 6001);
  CHECK(back->domain == "das.local");
  CHECK(back->server_id == "das-1");
  info.domain = std::string(64, 'd');
  CHECK_ERR(SealDasInfo(sk, info), "longer than 63");
  CHECK_ERR(OpenDasInfo(sk, CbcEncrypt(sk, AsBytes(
      R"({"Type":"DAS","DasInfo":{"Address":"a","Port":1,"UdpPort":2,"Domain":"d"}})"))),
            "DasInfo.ServerID missing");
  CHECK_ERR(OpenDasInfo(sk, CbcEncrypt(sk, AsBytes(
      R"({"Type":"DAS","DasInfo":{"Address":"a","Port":70000,"UdpPort":2,"Domain":"d","ServerID":"s"}})"))),
            "DasInfo.Port out of range");
}

TEST_CASE("server replies above 2048 bytes are refused") {
  DasReply big{kVersionOther, ResultCode::kOk, Bytes(2048, 0)};
  CHECK_ERR(EncodeDasReply(big), "exceeds the device limit of 2048");
  DasReply fits{kVersionOther, ResultCode::kOk, Bytes(2032, 0)};  // 4 + 2032 = 2036
  CHECK(EncodeDasReply(fits).ok());
}
