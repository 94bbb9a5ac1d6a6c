// LBS server: one TCP connection per handshake, both generations on one port (wire profile §1).
#include <algorithm>

#include "osap_adapter.h"

namespace gw::osap::session {

using lbs::MsgType;
using lbs::ResultCode;

namespace {
constexpr uint64_t kHandshakeLimitMs = 30000;  // a whole LBS connection (PROTOCOL.md 4.3)

// The reply type of a device request (result-only answers use it).
std::optional<MsgType> ReplyTypeOf(MsgType t) {
  switch (t) {
    case MsgType::kAuthRequest: return MsgType::kAuthReply;
    case MsgType::kRefreshRequest: return MsgType::kRefreshReply;
    case MsgType::kDevid: return MsgType::kDevidReply;
    case MsgType::kDasRequest: return MsgType::kDasReply;
    default: return std::nullopt;
  }
}
}  // namespace

LbsConn::LbsConn(OsapAdapter& a, int fd, std::string peer)
    : Conn(a.host(), fd, std::move(peer), a.cfg().limits().max_output_buffer()),
      a_(a),
      decoder_(a.cfg().limits().max_lbs_frame()) {
  deadline_ms = a.now() + a.message_timeout();
  hard_deadline_ms = a.now() + kHandshakeLimitMs;
}

std::string LbsConn::Who() const {
  return "lbs peer=" + peer() + (serial_.empty() ? std::string() : " sn=" + serial_);
}

void LbsConn::Abort(const std::string& why) {
  ++a_.lbs_failures_;
  a_.Log(GW_LOG_WARN, Who() + ": closing: " + why);
  Close(why);
}

void LbsConn::OnBytes(ByteView bytes) {
  decoder_.feed(bytes);
  Drain();
}

void LbsConn::Drain() {
  while (!closing() && !persisting_) {
    auto f = decoder_.next();
    if (!f) return Abort(f.error().message);
    if (!f.value()) return;
    deadline_ms = a_.now() + a_.message_timeout();
    Handle(*f.value());
  }
}

void LbsConn::Reply(const Result<Bytes>& bytes, const char* what) {
  if (!bytes) return Abort(std::string("cannot encode ") + what + ": " + bytes.error().message);
  Send(bytes.value());
}

void LbsConn::Fail(MsgType type, ResultCode rc, const std::string& why) {
  ++a_.lbs_failures_;
  a_.Log(GW_LOG_WARN, Who() + ": result " + std::to_string(static_cast<int>(rc)) + " (" + lbs::ResultCodeName(rc) +
                          "): " + why);
  Result<Bytes> r = make_error("unset");
  if (type == MsgType::kAuthReply) {
    lbs::AuthReply rep;
    rep.gen = gen_;
    rep.result = rc;
    r = lbs::EncodeAuthReply(rep);
  } else {
    r = lbs::EncodeResultReply(type, rc);
  }
  if (r) Send(r.value());
  CloseAfterFlush("handshake failed");
}

void LbsConn::Handle(const lbs::Frame& f) {
  auto msg = lbs::ParseDeviceMessage(f);
  if (!msg) {
    // A frame that is not a well-formed request: result 3 in the reply type, or close.
    if (f.type == MsgType::kAuthRequest) gen_ = (f.flags & lbs::kFlagNegotiation) ? Generation::kGen2 : Generation::kGen1;
    if (auto rt = ReplyTypeOf(f.type)) return Fail(*rt, ResultCode::kInvalidData, msg.error().message);
    return Abort(msg.error().message);
  }
  auto& m = msg.value();
  if (auto* x = std::get_if<lbs::AuthRequest>(&m)) return OnAuth(*x);
  if (auto* x = std::get_if<lbs::ApplyDevid>(&m)) return OnApply(*x);
  if (auto* x = std::get_if<lbs::RefreshRequest>(&m)) return OnRefresh(*x);
  if (auto* x = std::get_if<lbs::RefreshI>(&m)) return OnRefreshI(*x);
  if (auto* x = std::get_if<lbs::Confirm>(&m)) return OnConfirm(*x);
  if (auto* x = std::get_if<lbs::DasRequest>(&m)) return OnDas(*x);
  auto& u = std::get<lbs::UnsupportedRequest>(m);
  ++a_.lbs_failures_;
  a_.Log(GW_LOG_INFO, Who() + ": unsupported request type 0x" + HexUpper(ByteView(reinterpret_cast<const uint8_t*>(&u.type), 1)) +
                          " answered with result 9");
  Reply(lbs::EncodeUnsupportedReply(u.type, ResultCode::kLookupFailed), "unsupported reply");
  CloseAfterFlush("unsupported request");
}

// 0x1 -> 0x2: negotiation, share key, fresh server key pair, master key.
void LbsConn::OnAuth(const lbs::AuthRequest& m) {
  gen_ = m.gen;
  if (stage_ != Stage::kStart) return Fail(MsgType::kAuthReply, ResultCode::kBadOrder, "0x1 after the handshake began");
  serial_ = m.serial;
  if (m.gen == Generation::kGen2) {
    // Only ECDH (1) is defined, so it is the most secure type in common whenever one exists.
    auto& g = m.negotiation.groups;
    if (std::find(g.begin(), g.end(), lbs::kAuthTypeEcdh) == g.end()) {
      ++a_.lbs_failures_;
      a_.Log(GW_LOG_WARN, Who() + ": no common auth type in the negotiation header; sent the supported list");
      lbs::NegotiationReject rej;
      Reply(lbs::EncodeNegotiationReject(rej), "negotiation reject");
      return CloseAfterFlush("no common auth type");
    }
  }
  DeviceState* d = a_.FindDevice(m.serial);
  if (!d) return Fail(MsgType::kAuthReply, ResultCode::kNoSuchDevice, "serial is not provisioned");
  if (d->blacklisted) return Fail(MsgType::kAuthReply, ResultCode::kNoSuchDevice, "serial is blacklisted");
  // auth_mode 0: the share key comes from the verification code; 1: from the device's license code
  // (PROTOCOL.md 4.2). A device must be provisioned with the credential of the mode it uses.
  const std::string* secret = nullptr;
  if (m.auth_mode == 0) secret = &d->vcode;
  if (m.auth_mode == 1) secret = &d->license;
  if (!secret) {
    return Fail(MsgType::kAuthReply, ResultCode::kNoSuchDevice,
                "auth_mode " + std::to_string(m.auth_mode) + " is not defined");
  }
  if (secret->empty()) {
    return Fail(MsgType::kAuthReply, ResultCode::kNoSuchDevice,
                m.auth_mode == 1 ? "license mode, but no license is provisioned for this serial"
                                 : "verification-code mode, but only a license is provisioned for this serial");
  }
  auto opened = lbs::OpenDevicePublicKey(m, *secret);
  if (!opened) return Fail(MsgType::kAuthReply, ResultCode::kDecryptFailed, "device public key does not open");
  auto mine = a_.ServerKey();  // fresh per handshake: never rely on the device's randomness
  if (!mine) return Fail(MsgType::kAuthReply, ResultCode::kEncryptFailed, mine.error().message);
  auto x = mine->Derive(opened->key);
  if (!x) return Fail(MsgType::kAuthReply, ResultCode::kDecryptFailed, x.error().message);
  master_ = MasterKeyFromShared(*x);
  lbs::AuthReply rep;
  rep.gen = gen_;
  rep.sealed_public_key = lbs::SealPublicKey(gen_, AesKeyFromAscii(opened->share_key), mine->PublicRaw());
  stage_ = Stage::kAuthed;
  if (opened->lower_first_md5) a_.Log(GW_LOG_DEBUG, Who() + ": opened with the lower-case retry share key");
  Reply(lbs::EncodeAuthReply(rep), "0x2");
}

void LbsConn::PersistThen(DeviceState& d, const DeviceState& saved, std::function<void()> then,
                          std::function<void(const std::string&)> fail) {
  std::weak_ptr<int> life = life_;
  std::string serial = d.serial;
  auto restore = [this, serial, devid = saved.devid, master = saved.master, sk = saved.session_key] {
    if (DeviceState* x = a_.FindDevice(serial)) {
      x->devid = devid;
      x->master = master;
      x->session_key = sk;
    }
  };
  persisting_ = true;
  bool queued = a_.Persist(d, [this, life, restore, then, fail](bool ok) {
    if (!ok) restore();
    if (life.expired()) return;  // the connection went away meanwhile; the keys stay stored
    persisting_ = false;
    if (closing()) return;
    if (!ok) return fail("registry write failed");
    then();
    Drain();  // whatever the device sent meanwhile
  });
  if (!queued) {
    persisting_ = false;
    restore();
    fail("registry write failed");
  }
}

// 0x72 -> 0x8 (F1): new devid and session key.
void LbsConn::OnApply(const lbs::ApplyDevid& m) {
  if (stage_ != Stage::kAuthed) return Fail(MsgType::kDevidReply, ResultCode::kBadOrder, "0x72 before 0x1/0x2");
  DeviceState* d = a_.FindDevice(serial_);
  if (!d) return Fail(MsgType::kDevidReply, ResultCode::kNoSuchDevice, "device was deprovisioned");
  Sign sign = ComputeSign(master_, serial_);
  if (!SignEquals(sign, m.sign)) return Fail(MsgType::kDevidReply, ResultCode::kSignFailed, "0x72 sign mismatch");
  session_key_ = RandomSessionKey();
  std::string devid = RandomDevid();
  auto grant = lbs::MakeKeyGrant(MsgType::kDevidReply, gen_, master_, devid, session_key_, sign);
  if (!grant) return Fail(MsgType::kDevidReply, ResultCode::kEncryptFailed, grant.error().message);
  DeviceState saved;
  saved.devid = d->devid;
  saved.master = d->master;
  saved.session_key = d->session_key;
  d->devid = devid;
  d->master = master_;
  d->session_key = session_key_;
  // The device gets its keys only once they are durable: a power cut never leaves it holding a
  // devid the gateway forgot.
  PersistThen(
      *d, saved,
      [this, g = grant.value()] {
        stage_ = Stage::kGranted;
        Reply(lbs::EncodeKeyGrant(g), "0x8");
      },
      [this](const std::string& why) { Fail(MsgType::kDevidReply, ResultCode::kStorageError, why); });
}

// 0x42 -> 0x6 (F2): devid stored on both sides, new master key from this ECDH, new session key.
void LbsConn::OnRefresh(const lbs::RefreshRequest& m) {
  if (stage_ != Stage::kAuthed) return Fail(MsgType::kRefreshReply, ResultCode::kBadOrder, "0x42 before 0x1/0x2");
  DeviceState* d = a_.FindDevice(serial_);
  if (!d) return Fail(MsgType::kRefreshReply, ResultCode::kNoSuchDevice, "device was deprovisioned");
  Sign sign = ComputeSign(master_, serial_);
  if (!SignEquals(sign, m.sign)) return Fail(MsgType::kRefreshReply, ResultCode::kSignFailed, "0x42 sign mismatch");
  if (d->devid.empty() || m.devid != d->devid) {
    return Fail(MsgType::kRefreshReply, ResultCode::kDevidMismatch,
                d->devid.empty() ? "no devid stored for this serial" : "devid differs from the stored one");
  }
  session_key_ = RandomSessionKey();
  auto grant = lbs::MakeKeyGrant(MsgType::kRefreshReply, gen_, master_, d->devid, session_key_, sign);
  if (!grant) return Fail(MsgType::kRefreshReply, ResultCode::kEncryptFailed, grant.error().message);
  DeviceState saved;
  saved.devid = d->devid;
  saved.master = d->master;
  saved.session_key = d->session_key;
  d->master = master_;
  d->session_key = session_key_;
  PersistThen(
      *d, saved,
      [this, g = grant.value()] {
        stage_ = Stage::kGranted;
        Reply(lbs::EncodeKeyGrant(g), "0x6");
      },
      [this](const std::string& why) { Fail(MsgType::kRefreshReply, ResultCode::kStorageError, why); });
}

// 0x70 -> 0x8 (F3): stored devid and master key; r1 echoed, r2 and the session key granted.
void LbsConn::OnRefreshI(const lbs::RefreshI& m) {
  if (stage_ != Stage::kStart) return Fail(MsgType::kDevidReply, ResultCode::kBadOrder, "0x70 after the handshake began");
  serial_ = m.serial;
  DeviceState* d = a_.FindDevice(m.serial);
  if (!d) return Fail(MsgType::kDevidReply, ResultCode::kNoSuchDevice, "serial is not provisioned");
  if (d->devid.empty() || m.devid != d->devid) {
    return Fail(MsgType::kDevidReply, ResultCode::kDevidMismatch,
                d->devid.empty() ? "no devid stored for this serial" : "devid differs from the stored one");
  }
  if (!IsValidMasterKey(d->master)) {
    return Fail(MsgType::kDevidReply, ResultCode::kMasterKeyInvalid, "no valid master key stored");
  }
  // r1 opens only under the master key the device holds: a failure means the keys differ, and
  // result 10 sends the device to F2 to agree on a new one.
  auto r1 = lbs::OpenByte(d->master, m.sealed_r1);
  if (!r1) return Fail(MsgType::kDevidReply, ResultCode::kMasterKeyInvalid, "r1 does not open under the stored master key");
  master_ = d->master;
  RandomFill(&r2_, 1);
  session_key_ = RandomSessionKey();
  lbs::RefreshGrant g;
  g.sealed = lbs::SealRefreshKeys(master_, lbs::RefreshKeys{*r1, r2_, session_key_});
  stage_ = Stage::kRefreshed;
  Reply(lbs::EncodeRefreshGrant(g), "0x8 refresh grant");
}

// 0x90 (F3): r2 confirms the device holds the master key; only then the session key is stored.
void LbsConn::OnConfirm(const lbs::Confirm& m) {
  if (stage_ != Stage::kRefreshed) return Abort("0x90 out of order");
  auto r2 = lbs::OpenByte(master_, m.sealed_r2);
  if (!r2) return Abort("0x90 does not decrypt under the master key");
  if (*r2 != r2_) return Abort("0x90 r2 does not match");
  DeviceState* d = a_.FindDevice(serial_);
  if (!d) return Abort("device was deprovisioned");
  DeviceState saved;
  saved.devid = d->devid;
  saved.master = d->master;
  saved.session_key = d->session_key;
  d->session_key = session_key_;
  PersistThen(
      *d, saved, [this] { stage_ = Stage::kReady; }, [this](const std::string& why) { Abort(why); });
}

// 0xA -> 0xB: the least-loaded DAS endpoint, under the session key.
void LbsConn::OnDas(const lbs::DasRequest& m) {
  if (stage_ != Stage::kGranted && stage_ != Stage::kReady) {
    return Fail(MsgType::kDasReply, ResultCode::kBadOrder, "0xA before a session key was granted");
  }
  if (!CbcDecrypt(session_key_, m.sealed_query)) {
    return Fail(MsgType::kDasReply, ResultCode::kDecryptFailed, "query does not decrypt under the session key");
  }
  auto q = lbs::OpenDasQuery(session_key_, m.sealed_query);
  if (!q) return Fail(MsgType::kDasReply, ResultCode::kInvalidData, q.error().message);
  if (q->dev_serial != serial_) return Fail(MsgType::kDasReply, ResultCode::kInvalidData, "DevSerial is not the handshake's serial");
  if (q->type != "DAS") return Fail(MsgType::kDasReply, ResultCode::kLookupFailed, "Type \"" + q->type + "\" is not served");
  const DasEndpointState* ep = a_.LeastLoadedDas();
  if (!ep) return Fail(MsgType::kDasReply, ResultCode::kLookupFailed, "no DAS endpoint");
  lbs::DasReply r;
  auto info = lbs::SealDasInfo(session_key_, a_.DasInfoFor(*ep));
  if (!info) return Fail(MsgType::kDasReply, ResultCode::kEncryptFailed, info.error().message);
  r.sealed_info = std::move(info.value());
  ++a_.lbs_handshakes_;
  a_.Log(GW_LOG_INFO, Who() + ": handshake complete, DAS " + ep->cfg.server_id() + " handed out");
  Reply(lbs::EncodeDasReply(r), "0xB");
  CloseAfterFlush("handshake complete");
}

}  // namespace gw::osap::session
