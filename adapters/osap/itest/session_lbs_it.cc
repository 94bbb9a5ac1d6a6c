// LBS server of gw_osap over real TCP: F1 (both generations), F2, F3, the result codes, and the
// connection hygiene (slow, oversize, garbage).
#include "session_rig.h"

using namespace osapit;
using gw::osap::lbs::MsgType;
using gw::osap::lbs::ResultCode;

namespace {
const char* kDevices = R"(
    das { listen_port: 0 server_id: "das-a" }
    device { serial: "4LYV8SK7UKLBOUOVS6HXVX:A532NO6K0Q2O" verification_code: "J7Fv5gCsTczVe38aNLe4ev" model: "cam1" }
    device { serial: "TESTSN0002" verification_code: "VCODE123" model: "cam1" }
    device { serial: "TESTSN0003" verification_code: "VCODE999" model: "cam1" }
    device { serial: "BLOCKED01" verification_code: "VCODE999" blacklisted: true }
    limits { message_timeout_ms: 400 }
)";

std::string Secret(const gw::v1::Device* d, const char* k) {
  auto it = d->secrets().find(k);
  return it == d->secrets().end() ? "" : it->second;
}
}  // namespace

TEST_CASE("LBS F1 onboarding, gen 1 and gen 2: keys stored in the registry, DAS handed out, nothing secret logged") {
  Rig rig(kDevices);
  for (auto [gen_, sn, vc] : {std::tuple{Generation::kGen1, "4LYV8SK7UKLBOUOVS6HXVX:A532NO6K0Q2O", "J7Fv5gCsTczVe38aNLe4ev"},
                             std::tuple{Generation::kGen2, "TESTSN0002", "VCODE123"}}) {
    const auto gen = gen_;  // clang 14 cannot capture a structured binding (CAPTURE)
    CAPTURE(static_cast<int>(gen));
    Device d{gen, sn, vc};
    d.F1(rig);
    CHECK(d.das.port == rig.das_ports.at(0));
    CHECK(d.das.address == "127.0.0.1");
    CHECK(d.das.server_id == "das-a");
    const auto* rec = rig.device(sn);
    REQUIRE(rec);
    CHECK(rec->identity().at("devid") == *d.devid);
    CHECK(IsValidDevid(*d.devid));
    CHECK(Secret(rec, "master_key") == *d.master);
    CHECK(Secret(rec, "session_key") == std::string(d.sk.begin(), d.sk.end()));
    CHECK(rec->model() == "cam1");
    CHECK_FALSE(Logged(*d.master));
    CHECK_FALSE(Logged(vc));
  }
  // The server's key pair is fresh per handshake: the same device key gives another master key.
  Device a{Generation::kGen1, "TESTSN0003", "VCODE999"};
  a.F1(rig);
  Device b{Generation::kGen1, "TESTSN0003", "VCODE999"};
  b.F1(rig);
  CHECK(*a.master != *b.master);
  CHECK(*a.devid != *b.devid);  // F1 always issues a new devid
  CHECK(rig.status()["lbs_handshakes"] == 4);
}

TEST_CASE("LBS F1 with the lower-case retry share key, then F3 and F2 (both generations)") {
  Rig rig(kDevices);
  for (Generation gen : {Generation::kGen1, Generation::kGen2}) {
    CAPTURE(static_cast<int>(gen));
    Device d{gen, "TESTSN0003", "VCODE999", /*lower=*/true};
    d.F1(rig);
    SessionKey sk1 = d.sk;
    // F3: devid and master key stored.
    REQUIRE(d.F3(rig) == ResultCode::kOk);
    CHECK(d.sk != sk1);
    CHECK(Secret(rig.device("TESTSN0003"), "session_key") == std::string(d.sk.begin(), d.sk.end()));
    // F2: the device lost its master key.
    std::string old_master = *d.master;
    d.master.reset();
    d.F2(rig);
    CHECK(*d.master != old_master);
    CHECK(Secret(rig.device("TESTSN0003"), "master_key") == *d.master);
    CHECK(rig.device("TESTSN0003")->identity().at("devid") == *d.devid);
  }
}

TEST_CASE("LBS result codes: 5, 7, 1, 4, 10, 2, 9, negotiation reject") {
  Rig rig(kDevices);
  SUBCASE("unknown serial -> 0x2 result 5, then close") {
    for (Generation gen : {Generation::kGen1, Generation::kGen2}) {
      Device d{gen, "NOSUCHSN", "VCODE123"};
      Sock s(rig, rig.lbs_port);
      CHECK(d.Auth(s) == ResultCode::kNoSuchDevice);
      CHECK(s.WaitClosed());
    }
    CHECK(Logged("sn=NOSUCHSN: result 5"));
  }
  SUBCASE("after a failure nothing more is processed: two pipelined requests, one reply") {
    Device d{Generation::kGen1, "NOSUCHSN", "VCODE123"};
    Bytes two = d.AuthRequest();
    Bytes again = d.AuthRequest();
    two.insert(two.end(), again.begin(), again.end());
    Sock s(rig, rig.lbs_port);
    s.Send(two);
    CHECK(s.WaitClosed());
    auto f = lbs::DecodeFrame(s.in);  // exactly one frame: the result-5 reply
    REQUIRE(f.ok());
    CHECK(lbs::PeekReplyResult(f.value()).value() == ResultCode::kNoSuchDevice);
  }
  SUBCASE("blacklisted serial -> 5") {
    Device d{Generation::kGen1, "BLOCKED01", "VCODE999"};
    Sock s(rig, rig.lbs_port);
    CHECK(d.Auth(s) == ResultCode::kNoSuchDevice);
  }
  SUBCASE("wrong verification code -> 7") {
    Device d{Generation::kGen2, "TESTSN0002", "WRONGCODE"};
    Sock s(rig, rig.lbs_port);
    CHECK(d.Auth(s) == ResultCode::kDecryptFailed);
    CHECK(s.WaitClosed());
  }
  SUBCASE("bad sign on 0x72 -> 1; on 0x42 -> 1") {
    Device d{Generation::kGen1, "TESTSN0003", "VCODE999"};
    Sock s(rig, rig.lbs_port);
    REQUIRE(d.Auth(s) == ResultCode::kOk);
    s.Send(lbs::EncodeApplyDevid(lbs::ApplyDevid{lbs::kVersionOther, ComputeSign("0123456789ABCDEF", d.serial)}));
    CHECK(d.KeyGrant(s, MsgType::kDevidReply) == ResultCode::kSignFailed);
    CHECK(s.WaitClosed());
    CHECK(rig.device("TESTSN0003")->identity().count("devid") == 0);  // nothing stored
  }
  SUBCASE("F2 with a devid the server does not know -> 4; F3 likewise -> 4") {
    Device d{Generation::kGen2, "TESTSN0002", "VCODE123"};
    d.F1(rig);
    Device other{Generation::kGen2, "TESTSN0002", "VCODE123"};
    other.devid = std::string(32, 'Z');
    {
      Sock s(rig, rig.lbs_port);
      REQUIRE(other.Auth(s) == ResultCode::kOk);
      s.Send(lbs::EncodeRefreshRequest(lbs::RefreshRequest{lbs::kVersionOther, *other.devid, ComputeSign(*other.master, other.serial)}));
      CHECK(other.KeyGrant(s, MsgType::kRefreshReply) == ResultCode::kDevidMismatch);
    }
    CHECK(other.F3(rig) == ResultCode::kDevidMismatch);
  }
  SUBCASE("F3 with a master key the server does not hold -> 10") {
    Device d{Generation::kGen1, "TESTSN0003", "VCODE999"};
    d.F1(rig);
    d.master = "0123456789ABCDEF";
    CHECK(d.F3(rig) == ResultCode::kMasterKeyInvalid);
  }
  SUBCASE("messages out of order -> 2") {
    Device d{Generation::kGen1, "TESTSN0003", "VCODE999"};
    d.F1(rig);
    {
      Sock s(rig, rig.lbs_port);  // 0xA first
      CHECK(d.GetDas(s) == ResultCode::kBadOrder);
      CHECK(s.WaitClosed());
    }
    {
      Sock s(rig, rig.lbs_port);  // 0x72 without 0x1
      s.Send(lbs::EncodeApplyDevid(lbs::ApplyDevid{lbs::kVersionOther, ComputeSign(*d.master, d.serial)}));
      auto f = RecvLbs(s);
      REQUIRE(f);
      CHECK(f->type == MsgType::kDevidReply);
      CHECK(lbs::PeekReplyResult(*f).value() == ResultCode::kBadOrder);
    }
  }
  SUBCASE("0xC, 0xE, 0xF -> result 9") {
    for (MsgType t : {MsgType::kStunRequest, MsgType::kStunRefresh, MsgType::kSecretKey}) {
      Sock s(rig, rig.lbs_port);
      s.Send(lbs::EncodeUnsupportedRequest(lbs::UnsupportedRequest{t, 0, Bytes{1, 1, 0, 1, 2, 3}}));
      auto f = RecvLbs(s);
      REQUIRE(f);
      CHECK(lbs::PeekReplyResult(*f).value() == ResultCode::kLookupFailed);
      CHECK(s.WaitClosed());
    }
  }
  SUBCASE("gen 2 without a common auth type -> the server's list, then close") {
    Device d{Generation::kGen2, "TESTSN0002", "VCODE123"};
    Bytes req = d.AuthRequest();
    // Rewrite the negotiation header: offer only type 7.
    lbs::AuthRequest m = lbs::ParseAuthRequest(lbs::DecodeFrame(req).value()).value();
    m.negotiation.groups = {7};
    m.negotiation.current_type = 7;
    Sock s(rig, rig.lbs_port);
    s.Send(lbs::EncodeAuthRequest(m));
    auto f = RecvLbs(s);
    REQUIRE(f);
    auto a = lbs::ParseAuthReply(*f, Generation::kGen2);
    REQUIRE(a.ok());
    auto* rej = std::get_if<lbs::NegotiationReject>(&a.value());
    REQUIRE(rej);
    CHECK(rej->supported_groups == std::vector<uint8_t>{lbs::kAuthTypeEcdh});
    CHECK(s.WaitClosed());
  }
}

TEST_CASE("LBS connection hygiene: slow sender, oversize frame, garbage -> closed with a log line") {
  Rig rig(kDevices);
  SUBCASE("slowloris: half a frame, then nothing") {
    Device d{Generation::kGen1, "TESTSN0003", "VCODE999"};
    Bytes req = d.AuthRequest();
    Sock s(rig, rig.lbs_port);
    s.Send(Bytes(req.begin(), req.begin() + 20));
    uint64_t t0 = rig.loop.now_ms();
    CHECK(s.WaitClosed(3000));
    uint64_t took = rig.loop.now_ms() - t0;
    CHECK(took >= 350);
    CHECK(took < 2500);
    CHECK(Logged("no complete message within 400 ms"));
  }
  SUBCASE("oversize frame") {
    Sock s(rig, rig.lbs_port);
    s.Send(Bytes{0x12, 0xFF, 0xFF, 0x03});  // announces ~64 KiB
    CHECK(s.WaitClosed());
    CHECK(Logged("closing: lbs frame"));
  }
  SUBCASE("garbage: unknown message type") {
    Sock s(rig, rig.lbs_port);
    s.Send(Bytes{0x30, 0x01, 0x00});
    CHECK(s.WaitClosed());
    CHECK(Logged("unknown message type"));
  }
  SUBCASE("a 0x1 that does not parse -> 0x2 result 3") {
    Sock s(rig, rig.lbs_port);
    s.Send(Bytes{0x12, 0x04, 0x01, 0x02, 0x00, 0x00});
    auto f = RecvLbs(s);
    REQUIRE(f);
    CHECK(f->type == MsgType::kAuthReply);
    CHECK(lbs::PeekReplyResult(*f).value() == ResultCode::kInvalidData);
    CHECK(s.WaitClosed());
  }
}

TEST_CASE("LBS license mode (auth_mode 1): the share key comes from the provisioned license") {
  Rig rig(std::string(kDevices) + R"(
    device { serial: "LICSN0001" license: "LIC-7Q2W-9XZP" model: "cam1" }
  )");
  for (Generation gen : {Generation::kGen1, Generation::kGen2}) {
    CAPTURE(static_cast<int>(gen));
    Device d{gen, "LICSN0001", "LIC-7Q2W-9XZP"};
    d.auth_mode = 1;
    d.F1(rig);
    const auto* rec = rig.device("LICSN0001");
    REQUIRE(rec);
    CHECK(rec->identity().at("devid") == *d.devid);
    CHECK(Secret(rec, "license") == "LIC-7Q2W-9XZP");
    CHECK_FALSE(Logged("LIC-7Q2W-9XZP"));
  }
  // The mode must match what is provisioned: verification-code mode for a license-only device, and
  // license mode for a verification-code device, are both unknown (result 5).
  {
    Device d{Generation::kGen2, "LICSN0001", "LIC-7Q2W-9XZP"};
    Sock s(rig, rig.lbs_port);
    CHECK(d.Auth(s) == ResultCode::kNoSuchDevice);
  }
  {
    Device d{Generation::kGen2, "TESTSN0002", "VCODE123"};
    d.auth_mode = 1;
    Sock s(rig, rig.lbs_port);
    CHECK(d.Auth(s) == ResultCode::kNoSuchDevice);
    CHECK(Logged("license mode, but no license is provisioned"));
  }
  // A license provisioned at run time ($provision CREATE with "license").
  gw::v1::Value body;
  gw::map_set(body, "serial", gw::make_string("LICSN0002"));
  gw::map_set(body, "license", gw::make_string("LIC-0002"));
  rig.request("prov-1", gw::v1::CREATE, "", "$provision", body, "osap");
  auto r = rig.response("prov-1");
  REQUIRE(r);
  CHECK(r->status() == gw::v1::CREATED);
  Device d{Generation::kGen1, "LICSN0002", "LIC-0002"};
  d.auth_mode = 1;
  d.F1(rig);
  CHECK(rig.device("LICSN0002")->identity().at("devid") == *d.devid);
}
