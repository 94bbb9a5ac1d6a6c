// Full LBS handshakes (F1, F2, F3) for both generations, run in memory: a device side and a server
// side built only from the codec's primitives, every message passing through encode -> bytes ->
// FrameDecoder -> parse. Checks: both sides derive the same master key, the devid and session key
// decrypt on the device, r1 is echoed, r2 confirmed, and the DAS address arrives.
#include <algorithm>
#include <map>

#include "osap/codec/lbs.h"
#include "test_util.h"

using namespace gw::osap;
using namespace gw::osap::lbs;

namespace {

// Bytes on a TCP stream, delivered in small pieces to a fresh decoder.
Frame Wire(const gw::Result<Bytes>& encoded) {
  REQUIRE_MESSAGE(encoded.ok(), encoded.error().message);
  FrameDecoder d;
  const Bytes& b = encoded.value();
  std::optional<Frame> out;
  for (size_t i = 0; i < b.size(); i += 7) {
    d.feed(ByteView(b).subspan(i, std::min<size_t>(7, b.size() - i)));
    auto f = d.next();
    REQUIRE_MESSAGE(f.ok(), f.error().message);
    if (f.value()) {
      CHECK(i + 7 >= b.size());  // the frame completes only with its last byte
      out = std::move(*f.value());
    }
  }
  REQUIRE(out.has_value());
  return *out;
}

struct DeviceRecord {
  std::string vcode;
  std::string devid;
  std::string master;
};

// Server side: provisioned serials (+ verification codes), stored devid and master key.
struct Server {
  std::map<std::string, DeviceRecord> registry;
  // Per-connection state.
  Generation gen = Generation::kGen1;
  std::string serial;
  std::string master;
  SessionKey session_key{};
  uint8_t r2 = 0;
  EcPoint last_server_public{};
  DasInfo das{"127.0.0.1", 1883, 6001, "das.local", "das-1"};

  Bytes Handle(const Frame& f) {
    auto msg = ParseDeviceMessage(f);
    REQUIRE_MESSAGE(msg.ok(), msg.error().message);
    if (auto* m = std::get_if<AuthRequest>(&msg.value())) return OnAuth(*m);
    if (auto* m = std::get_if<ApplyDevid>(&msg.value())) return OnApply(*m);
    if (auto* m = std::get_if<RefreshRequest>(&msg.value())) return OnRefresh(*m);
    if (auto* m = std::get_if<RefreshI>(&msg.value())) return OnRefreshI(*m);
    if (auto* m = std::get_if<Confirm>(&msg.value())) return OnConfirm(*m);
    if (auto* m = std::get_if<DasRequest>(&msg.value())) return OnDas(*m);
    FAIL("unexpected message");
    return {};
  }

  Bytes OnAuth(const AuthRequest& m) {
    gen = m.gen;
    serial = m.serial;
    auto it = registry.find(m.serial);
    REQUIRE(it != registry.end());
    if (gen == Generation::kGen2) {
      CHECK(m.negotiation.current_type == kAuthTypeEcdh);
      CHECK(std::find(m.negotiation.groups.begin(), m.negotiation.groups.end(), kAuthTypeEcdh) !=
            m.negotiation.groups.end());
    }
    auto opened = OpenDevicePublicKey(m, it->second.vcode);
    REQUIRE_MESSAGE(opened.ok(), opened.error().message);
    auto mine = EcKey::Generate();  // fresh per handshake
    REQUIRE(mine.ok());
    auto x = mine->Derive(opened->key);
    REQUIRE(x.ok());
    master = MasterKeyFromShared(*x);
    last_server_public = mine->PublicRaw();
    AuthReply r;
    r.gen = gen;
    r.sealed_public_key = SealPublicKey(gen, AesKeyFromAscii(opened->share_key), last_server_public);
    return EncodeAuthReply(r).value();
  }

  Bytes OnApply(const ApplyDevid& m) {
    REQUIRE(SignEquals(m.sign, ComputeSign(master, serial)));
    auto& rec = registry[serial];
    rec.devid = RandomDevid();
    rec.master = master;
    session_key = RandomSessionKey();
    auto g = MakeKeyGrant(MsgType::kDevidReply, gen, master, rec.devid, session_key, m.sign);
    REQUIRE(g.ok());
    return EncodeKeyGrant(g.value()).value();
  }

  Bytes OnRefresh(const RefreshRequest& m) {
    auto& rec = registry[serial];
    REQUIRE(m.devid == rec.devid);
    REQUIRE(SignEquals(m.sign, ComputeSign(master, serial)));
    rec.master = master;
    session_key = RandomSessionKey();
    auto g = MakeKeyGrant(MsgType::kRefreshReply, gen, master, rec.devid, session_key, m.sign);
    REQUIRE(g.ok());
    return EncodeKeyGrant(g.value()).value();
  }

  Bytes OnRefreshI(const RefreshI& m) {
    auto it = registry.find(m.serial);
    REQUIRE(it != registry.end());
    REQUIRE(m.devid == it->second.devid);
    serial = m.serial;
    master = it->second.master;
    auto r1 = OpenByte(master, m.sealed_r1);
    REQUIRE(r1.ok());
    RandomFill(&r2, 1);
    session_key = RandomSessionKey();
    RefreshGrant g;
    g.sealed = SealRefreshKeys(master, RefreshKeys{*r1, r2, session_key});
    return EncodeRefreshGrant(g).value();
  }

  Bytes OnConfirm(const Confirm& m) {
    auto r = OpenByte(master, m.sealed_r2);
    REQUIRE(r.ok());
    CHECK(*r == r2);
    return {};  // no reply
  }

  Bytes OnDas(const DasRequest& m) {
    auto q = OpenDasQuery(session_key, m.sealed_query);
    REQUIRE(q.ok());
    CHECK(q->dev_serial == serial);
    CHECK(q->type == "DAS");
    DasReply r;
    r.sealed_info = SealDasInfo(session_key, das).value();
    return EncodeDasReply(r).value();
  }
};

// Device side, as the profile describes it.
struct Device {
  Device(Generation g, std::string sn, std::string vc, bool lower = false)
      : gen(g), serial(std::move(sn)), vcode(std::move(vc)), lower_first_md5(lower) {}
  Generation gen;
  std::string serial;
  std::string vcode;
  bool lower_first_md5 = false;
  std::optional<std::string> devid;   // stored
  std::optional<std::string> master;  // stored
  SessionKey session_key{};           // RAM only
  std::optional<EcKey> key;

  Bytes AuthRequestBytes() {
    auto k = EcKey::Generate();
    REQUIRE(k.ok());
    key = std::move(k.value());
    AuthRequest m;
    m.gen = gen;
    m.auth_mode = 0;
    m.serial = serial;
    std::string share = ShareKey(gen, vcode, serial, lower_first_md5);
    m.sealed_public_key = SealPublicKey(gen, AesKeyFromAscii(share), key->PublicRaw());
    return EncodeAuthRequest(m).value();
  }

  void OnAuthReply(const Frame& f) {
    CHECK(((f.flags & kFlagNegotiation) != 0) == (gen == Generation::kGen2));
    auto a = ParseAuthReply(f, gen);
    REQUIRE_MESSAGE(a.ok(), a.error().message);
    auto& r = std::get<AuthReply>(a.value());
    REQUIRE(r.result == ResultCode::kOk);
    std::string share = ShareKey(gen, vcode, serial, lower_first_md5);
    auto point = OpenPublicKey(gen, AesKeyFromAscii(share), r.sealed_public_key);
    REQUIRE(point.ok());
    auto peer = EcKey::FromPublic(*point);
    REQUIRE(peer.ok());
    auto x = key->Derive(*peer);
    REQUIRE(x.ok());
    master = MasterKeyFromShared(*x);
  }

  void OnKeyGrant(const Frame& f, MsgType expected) {
    auto g = ParseKeyGrant(f, gen, expected);
    REQUIRE_MESSAGE(g.ok(), g.error().message);
    REQUIRE(g->result == ResultCode::kOk);
    CHECK(SignEquals(g->sign, ComputeSign(*master, serial)));
    auto keys = OpenKeyGrant(g.value(), *master);
    REQUIRE_MESSAGE(keys.ok(), keys.error().message);
    if (devid) CHECK(keys->devid == *devid);
    devid = keys->devid;
    session_key = keys->session_key;
  }

  DasInfo GetDas(Server& s) {
    DasRequest q;
    q.sealed_query = SealDasQuery(session_key, DasQuery{serial, "DAS", 0});
    Frame reply = Wire(s.Handle(Wire(EncodeDasRequest(q))));
    auto r = ParseDasReply(reply);
    REQUIRE(r.ok());
    REQUIRE(r->result == ResultCode::kOk);
    auto info = OpenDasInfo(session_key, r->sealed_info);
    REQUIRE_MESSAGE(info.ok(), info.error().message);
    return info.value();
  }
};

void RunF1(Server& s, Device& d) {
  d.OnAuthReply(Wire(s.Handle(Wire(d.AuthRequestBytes()))));
  CHECK(d.master == s.master);
  CHECK(IsValidMasterKey(*d.master));
  d.OnKeyGrant(Wire(s.Handle(Wire(EncodeApplyDevid(ApplyDevid{kVersionOther, ComputeSign(*d.master, d.serial)})))),
               MsgType::kDevidReply);
  CHECK(d.devid == s.registry[d.serial].devid);
  CHECK(d.session_key == s.session_key);
  DasInfo info = d.GetDas(s);
  CHECK(info.address == "127.0.0.1");
  CHECK(info.port == 1883);
  CHECK(info.server_id == "das-1");
}

}  // namespace

TEST_CASE("handshake F1 (nothing stored), both generations") {
  for (auto [gen_, sn, vc] : {std::tuple{Generation::kGen1, "4LYV8SK7UKLBOUOVS6HXVX:A532NO6K0Q2O", "J7Fv5gCsTczVe38aNLe4ev"},
                             std::tuple{Generation::kGen2, "TESTSN0002", "VCODE123"}}) {
    const auto gen = gen_;  // clang 14 cannot capture a structured binding (CAPTURE)
    CAPTURE(static_cast<int>(gen));
    Server s;
    s.registry[sn] = {vc, "", ""};
    Device d{gen, sn, vc};
    RunF1(s, d);
    CHECK(s.registry[sn].master == *d.master);
  }
}

TEST_CASE("handshake F1 with the lower-case retry share key") {
  for (Generation gen : {Generation::kGen1, Generation::kGen2}) {
    Server s;
    s.registry["TESTSN0003"] = {"VCODE999", "", ""};
    Device d{gen, "TESTSN0003", "VCODE999", /*lower_first_md5=*/true};
    RunF1(s, d);
  }
}

TEST_CASE("handshake F2 (devid stored, master key missing), both generations") {
  for (Generation gen : {Generation::kGen1, Generation::kGen2}) {
    Server s;
    s.registry["TESTSN0001"] = {"VCODE123", "", ""};
    Device d{gen, "TESTSN0001", "VCODE123"};
    RunF1(s, d);
    std::string devid = *d.devid;
    std::string old_master = *d.master;
    SessionKey old_sk = d.session_key;
    d.master.reset();  // the device lost its master key (result 10 earlier)

    d.OnAuthReply(Wire(s.Handle(Wire(d.AuthRequestBytes()))));
    CHECK(d.master == s.master);
    CHECK(*d.master != old_master);  // a fresh ECDH on both sides
    RefreshRequest r{kVersionOther, devid, ComputeSign(*d.master, d.serial)};
    Frame reply = Wire(s.Handle(Wire(EncodeRefreshRequest(r))));
    CHECK(reply.type == MsgType::kRefreshReply);
    d.OnKeyGrant(reply, MsgType::kRefreshReply);
    CHECK(*d.devid == devid);
    CHECK(d.session_key == s.session_key);
    CHECK(d.session_key != old_sk);
    CHECK(d.GetDas(s).domain == "das.local");
  }
}

TEST_CASE("handshake F3 (devid and master key stored), both generations") {
  for (Generation gen : {Generation::kGen1, Generation::kGen2}) {
    Server s;
    s.registry["TESTSN0001"] = {"VCODE123", "", ""};
    Device d{gen, "TESTSN0001", "VCODE123"};
    RunF1(s, d);
    Server fresh_conn;  // a new TCP connection: per-connection state starts empty
    fresh_conn.registry = s.registry;

    uint8_t r1 = 0x5C;
    RefreshI req{kVersionOther, d.serial, *d.devid, SealByte(*d.master, r1)};
    Frame reply = Wire(fresh_conn.Handle(Wire(EncodeRefreshI(req))));
    auto g = ParseRefreshGrant(reply);
    REQUIRE(g.ok());
    REQUIRE(g->result == ResultCode::kOk);
    auto keys = OpenRefreshKeys(*d.master, g->sealed);
    REQUIRE(keys.ok());
    CHECK(keys->r1 == r1);  // echoed
    CHECK(keys->r2 == fresh_conn.r2);
    CHECK(keys->session_key == fresh_conn.session_key);
    d.session_key = keys->session_key;
    Bytes none = fresh_conn.Handle(Wire(EncodeConfirm(Confirm{kVersionOther, SealByte(*d.master, keys->r2)})));
    CHECK(none.empty());
    CHECK(d.GetDas(fresh_conn).port == 1883);
  }
}

TEST_CASE("handshake: a device with the wrong verification code cannot be opened") {
  for (Generation gen : {Generation::kGen1, Generation::kGen2}) {
    Device d{gen, "TESTSN0001", "WRONGCODE"};
    Frame f = Wire(d.AuthRequestBytes());
    auto m = ParseAuthRequest(f);
    REQUIRE(m.ok());
    CHECK_ERR(OpenDevicePublicKey(m.value(), "VCODE123"), "does not open under either share-key variant");
  }
}
