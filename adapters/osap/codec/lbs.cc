#include "osap/codec/lbs.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace gw::osap::lbs {
namespace {

constexpr size_t kDevidSealedGen1 = 48, kKeySealedGen1 = 32;  // CBC of 32 and 16 bytes
constexpr size_t kGcmTag = 16;
constexpr size_t kMaxDasString = 63;  // DasInfo strings are shorter than 64

Error Err(std::string_view msg, const std::string& what) {
  return make_error(std::string(msg) + ": " + what);
}

std::string Hex2(uint8_t b) { return "0x" + HexUpper(ByteView(&b, 1)); }

bool IsKnownType(uint8_t t) { return t != 0 && t != 3 && t != 5; }

Result<Bytes> Finish(uint8_t first_byte, const Bytes& payload, std::string_view msg) {
  if (payload.size() > kMaxRemainingLength) return Err(msg, "payload too large");
  return BuildFrame(first_byte, payload);
}

// Server replies must fit the device's 2048-byte reply buffer.
Result<Bytes> FinishReply(uint8_t first_byte, const Bytes& payload, std::string_view msg) {
  if (payload.size() > kMaxReplyPayload) {
    return Err(msg, "reply payload of " + std::to_string(payload.size()) +
                        " bytes exceeds the device limit of 2048");
  }
  return BuildFrame(first_byte, payload);
}

Result<void> ExpectType(const Frame& f, MsgType t, std::string_view msg) {
  if (f.type != t) {
    return Err(msg, "frame has message type " + Hex2(static_cast<uint8_t>(f.type)));
  }
  return {};
}

std::optional<Version> ReadVersion(ByteReader& r) {
  auto v = r.take(3);
  if (!v) return std::nullopt;
  return Version{(*v)[0], (*v)[1], (*v)[2]};
}

void PutVersion(Bytes& out, const Version& v) { out.insert(out.end(), v.begin(), v.end()); }

Result<std::string> ReadSerial(ByteReader& r, std::string_view msg) {
  auto len = r.u8();
  if (!len) return Err(msg, "truncated before serial length");
  if (*len == 0) return Err(msg, "serial length is 0");
  auto s = r.take(*len);
  if (!s) {
    return Err(msg, "serial length " + std::to_string(*len) + " exceeds the " +
                        std::to_string(r.remaining()) + " remaining bytes");
  }
  return std::string(AsChars(*s));
}

Result<void> PutSerial(Bytes& out, std::string_view serial, std::string_view msg) {
  if (serial.empty() || serial.size() > 255) {
    return Err(msg, "serial must be 1..255 bytes, got " + std::to_string(serial.size()));
  }
  out.push_back(static_cast<uint8_t>(serial.size()));
  Append(out, serial);
  return {};
}

Sign ToSign(ByteView b) {
  Sign s{};
  std::memcpy(s.data(), b.data(), s.size());
  return s;
}

std::string MsgName(MsgType t, uint8_t flags) {
  switch (t) {
    case MsgType::kDevid:
      return (flags & kFlagNewStyle) ? "0x72 apply-devid" : "0x70 refresh-I";
    case MsgType::kDevidReply:
      return "0x8 key grant";
    case MsgType::kRefreshReply:
      return "0x6 key grant";
    default:
      return Hex2(static_cast<uint8_t>(t)) + " message";
  }
}

// Reply prologue: [negotiation byte] version result. Returns the result code.
struct ReplyHead {
  std::optional<uint8_t> negotiation;
  Version version{};
  ResultCode result{};
};
Result<ReplyHead> ReadReplyHead(ByteReader& r, bool negotiation, std::string_view msg) {
  ReplyHead h;
  if (negotiation) {
    auto b = r.u8();
    if (!b) return Err(msg, "truncated before negotiation header");
    h.negotiation = *b;
  }
  auto v = ReadVersion(r);
  if (!v) return Err(msg, "truncated before version");
  h.version = *v;
  auto rc = r.u8();
  if (!rc) return Err(msg, "truncated before result code");
  h.result = static_cast<ResultCode>(*rc);
  return h;
}

Bytes ReplyPrologue(std::optional<uint8_t> negotiation, const Version& v, ResultCode rc) {
  Bytes out;
  if (negotiation) out.push_back(*negotiation);
  PutVersion(out, v);
  out.push_back(static_cast<uint8_t>(rc));
  return out;
}

}  // namespace

const char* ResultCodeName(ResultCode rc) {
  switch (rc) {
    case ResultCode::kOk: return "ok";
    case ResultCode::kSignFailed: return "sign check failed";
    case ResultCode::kBadOrder: return "bad order";
    case ResultCode::kInvalidData: return "invalid data";
    case ResultCode::kDevidMismatch: return "devid mismatch";
    case ResultCode::kNoSuchDevice: return "no such device";
    case ResultCode::kStorageError: return "storage error";
    case ResultCode::kDecryptFailed: return "decrypt failed";
    case ResultCode::kEncryptFailed: return "encrypt failed";
    case ResultCode::kLookupFailed: return "DAS/STUN lookup failed";
    case ResultCode::kMasterKeyInvalid: return "master key invalid";
  }
  return "unknown result code";
}

// ---- framing ------------------------------------------------------------------------------------

Result<std::optional<Frame>> FrameDecoder::next() {
  auto raw = asm_.next();
  if (!raw) return raw.error();
  if (!raw.value()) return std::optional<Frame>{};
  uint8_t type = raw.value()->first_byte >> 4;
  if (!IsKnownType(type)) {
    return make_error("lbs frame: unknown message type " + Hex2(type));
  }
  Frame f;
  f.type = static_cast<MsgType>(type);
  f.flags = raw.value()->first_byte & 0x0F;
  f.payload = std::move(raw.value()->payload);
  return std::optional<Frame>{std::move(f)};
}

Bytes EncodeFrame(const Frame& f) { return BuildFrame(f.first_byte(), f.payload); }

Result<Frame> DecodeFrame(ByteView bytes, size_t max_frame) {
  FrameDecoder d(max_frame);
  d.feed(bytes);
  auto f = d.next();
  if (!f) return f.error();
  if (!f.value()) return make_error("lbs frame: truncated");
  if (d.buffered() != 0) {
    return make_error("lbs frame: " + std::to_string(d.buffered()) + " bytes after the frame");
  }
  return std::move(*f.value());
}

// ---- 0x1 ----------------------------------------------------------------------------------------

Result<Bytes> EncodeAuthRequest(const AuthRequest& m) {
  constexpr std::string_view kMsg = "0x1 AUTH_I";
  Bytes p;
  uint8_t flags = kFlagNewStyle;
  if (m.gen == Generation::kGen2) {
    flags |= kFlagNegotiation;
    if (m.negotiation.groups.empty() || m.negotiation.groups.size() > 255) {
      return Err(kMsg, "negotiation needs 1..255 groups");
    }
    p.push_back(m.negotiation.current_type);
    p.push_back(static_cast<uint8_t>(m.negotiation.groups.size()));
    Append(p, m.negotiation.groups);
  }
  PutVersion(p, m.version);
  p.push_back(m.auth_mode);
  if (auto r = PutSerial(p, m.serial, kMsg); !r) return r.error();
  if (m.sealed_public_key.size() != SealedSize(m.gen, 97)) {
    return Err(kMsg, "sealed public key must be " + std::to_string(SealedSize(m.gen, 97)) +
                         " bytes, got " + std::to_string(m.sealed_public_key.size()));
  }
  Append(p, m.sealed_public_key);
  return Finish(static_cast<uint8_t>(0x10 | flags), p, kMsg);
}

Result<AuthRequest> ParseAuthRequest(const Frame& f) {
  constexpr std::string_view kMsg = "0x1 AUTH_I";
  if (auto r = ExpectType(f, MsgType::kAuthRequest, kMsg); !r) return r.error();
  AuthRequest m;
  ByteReader r(f.payload);
  m.gen = (f.flags & kFlagNegotiation) ? Generation::kGen2 : Generation::kGen1;
  if (m.gen == Generation::kGen2) {
    auto cur = r.u8();
    auto count = r.u8();
    if (!cur || !count) return Err(kMsg, "truncated negotiation header");
    if (*count == 0) return Err(kMsg, "negotiation header offers 0 groups");
    auto groups = r.take(*count);
    if (!groups) return Err(kMsg, "negotiation group count exceeds the frame");
    m.negotiation.current_type = *cur;
    m.negotiation.groups.assign(groups->begin(), groups->end());
  } else {
    m.negotiation.groups.clear();
  }
  auto v = ReadVersion(r);
  if (!v) return Err(kMsg, "truncated before version");
  m.version = *v;
  auto mode = r.u8();
  if (!mode) return Err(kMsg, "truncated before auth_mode");
  m.auth_mode = *mode;
  auto serial = ReadSerial(r, kMsg);
  if (!serial) return serial.error();
  m.serial = std::move(serial.value());
  size_t want = SealedSize(m.gen, 97);
  if (r.remaining() != want) {
    return Err(kMsg, "sealed public key is " + std::to_string(r.remaining()) + " bytes, expected " +
                         std::to_string(want));
  }
  auto key = r.rest();
  m.sealed_public_key.assign(key.begin(), key.end());
  return m;
}

// ---- 0x72 ---------------------------------------------------------------------------------------

Result<Bytes> EncodeApplyDevid(const ApplyDevid& m) {
  Bytes p;
  PutVersion(p, m.version);
  Append(p, m.sign);
  return Finish(0x72, p, "0x72 apply-devid");
}

Result<ApplyDevid> ParseApplyDevid(const Frame& f) {
  constexpr std::string_view kMsg = "0x72 apply-devid";
  if (auto r = ExpectType(f, MsgType::kDevid, kMsg); !r) return r.error();
  if (f.payload.size() != 3 + 48) {
    return Err(kMsg, "payload is " + std::to_string(f.payload.size()) +
                         " bytes, expected 51 (version + 48-byte sign)");
  }
  ApplyDevid m;
  ByteReader r(f.payload);
  m.version = *ReadVersion(r);
  m.sign = ToSign(r.rest());
  return m;
}

// ---- 0x42 ---------------------------------------------------------------------------------------

Result<Bytes> EncodeRefreshRequest(const RefreshRequest& m) {
  constexpr std::string_view kMsg = "0x42 refresh";
  if (m.devid.size() != kDevidLen) return Err(kMsg, "devid must be 32 bytes");
  Bytes p;
  PutVersion(p, m.version);
  p.push_back(static_cast<uint8_t>(kDevidLen));
  Append(p, m.devid);
  Append(p, m.sign);
  return Finish(0x42, p, kMsg);
}

Result<RefreshRequest> ParseRefreshRequest(const Frame& f) {
  constexpr std::string_view kMsg = "0x42 refresh";
  if (auto r = ExpectType(f, MsgType::kRefreshRequest, kMsg); !r) return r.error();
  if (f.payload.size() != 3 + 1 + 32 + 48) {
    return Err(kMsg, "payload is " + std::to_string(f.payload.size()) +
                         " bytes, expected 84 (version, 0x20, devid 32, sign 48)");
  }
  RefreshRequest m;
  ByteReader r(f.payload);
  m.version = *ReadVersion(r);
  uint8_t len = *r.u8();
  if (len != kDevidLen) return Err(kMsg, "devid length byte is " + std::to_string(len) + ", expected 32");
  m.devid = std::string(AsChars(*r.take(kDevidLen)));
  m.sign = ToSign(r.rest());
  return m;
}

// ---- 0x70 ---------------------------------------------------------------------------------------

Result<Bytes> EncodeRefreshI(const RefreshI& m) {
  constexpr std::string_view kMsg = "0x70 refresh-I";
  Bytes p;
  PutVersion(p, m.version);
  if (auto r = PutSerial(p, m.serial, kMsg); !r) return r.error();
  if (m.devid.size() != kDevidLen) return Err(kMsg, "devid must be 32 bytes");
  p.push_back(static_cast<uint8_t>(kDevidLen));
  Append(p, m.devid);
  if (m.sealed_r1.size() != 16) return Err(kMsg, "sealed r1 must be 16 bytes");
  Append(p, m.sealed_r1);
  return Finish(0x70, p, kMsg);
}

Result<RefreshI> ParseRefreshI(const Frame& f) {
  constexpr std::string_view kMsg = "0x70 refresh-I";
  if (auto r = ExpectType(f, MsgType::kDevid, kMsg); !r) return r.error();
  RefreshI m;
  ByteReader r(f.payload);
  auto v = ReadVersion(r);
  if (!v) return Err(kMsg, "truncated before version");
  m.version = *v;
  auto serial = ReadSerial(r, kMsg);
  if (!serial) return serial.error();
  m.serial = std::move(serial.value());
  auto len = r.u8();
  if (!len) return Err(kMsg, "truncated before devid length");
  if (*len != kDevidLen) return Err(kMsg, "devid length byte is " + std::to_string(*len) + ", expected 32");
  auto devid = r.take(kDevidLen);
  if (!devid) return Err(kMsg, "truncated devid");
  m.devid = std::string(AsChars(*devid));
  if (r.remaining() != 16) {
    return Err(kMsg, "sealed r1 is " + std::to_string(r.remaining()) + " bytes, expected 16");
  }
  auto r1 = r.rest();
  m.sealed_r1.assign(r1.begin(), r1.end());
  return m;
}

// ---- 0x90 ---------------------------------------------------------------------------------------

Result<Bytes> EncodeConfirm(const Confirm& m) {
  if (m.sealed_r2.size() != 16) return Err("0x90 confirm", "sealed r2 must be 16 bytes");
  Bytes p;
  PutVersion(p, m.version);
  Append(p, m.sealed_r2);
  return Finish(0x90, p, "0x90 confirm");
}

Result<Confirm> ParseConfirm(const Frame& f) {
  constexpr std::string_view kMsg = "0x90 confirm";
  if (auto r = ExpectType(f, MsgType::kConfirm, kMsg); !r) return r.error();
  if (f.payload.size() != 3 + 16) {
    return Err(kMsg, "payload is " + std::to_string(f.payload.size()) +
                         " bytes, expected 19 (version + 16-byte sealed r2)");
  }
  Confirm m;
  ByteReader r(f.payload);
  m.version = *ReadVersion(r);
  auto rest = r.rest();
  m.sealed_r2.assign(rest.begin(), rest.end());
  return m;
}

// ---- 0xA ----------------------------------------------------------------------------------------

Result<Bytes> EncodeDasRequest(const DasRequest& m) {
  constexpr std::string_view kMsg = "0xA get-DAS";
  if (m.sealed_query.empty() || m.sealed_query.size() % 16) {
    return Err(kMsg, "sealed query must be a non-zero multiple of 16 bytes");
  }
  Bytes p;
  PutVersion(p, m.version);
  Append(p, m.sealed_query);
  return Finish(0xA0, p, kMsg);
}

Result<DasRequest> ParseDasRequest(const Frame& f) {
  constexpr std::string_view kMsg = "0xA get-DAS";
  if (auto r = ExpectType(f, MsgType::kDasRequest, kMsg); !r) return r.error();
  ByteReader r(f.payload);
  auto v = ReadVersion(r);
  if (!v) return Err(kMsg, "truncated before version");
  DasRequest m;
  m.version = *v;
  if (r.remaining() == 0 || r.remaining() % 16) {
    return Err(kMsg, "sealed query is " + std::to_string(r.remaining()) +
                         " bytes, expected a non-zero multiple of 16");
  }
  auto rest = r.rest();
  m.sealed_query.assign(rest.begin(), rest.end());
  return m;
}

Result<Bytes> EncodeUnsupportedRequest(const UnsupportedRequest& m) {
  Frame f{m.type, static_cast<uint8_t>(m.flags & 0x0F), m.payload};
  return Finish(f.first_byte(), f.payload, "unsupported request");
}

// ---- dispatch -----------------------------------------------------------------------------------

Result<DeviceMessage> ParseDeviceMessage(const Frame& f) {
  auto wrap = [](auto r) -> Result<DeviceMessage> {
    if (!r) return r.error();
    return DeviceMessage(std::move(r.value()));
  };
  switch (f.type) {
    case MsgType::kAuthRequest: return wrap(ParseAuthRequest(f));
    case MsgType::kRefreshRequest: return wrap(ParseRefreshRequest(f));
    case MsgType::kDevid:
      return (f.flags & kFlagNewStyle) ? wrap(ParseApplyDevid(f)) : wrap(ParseRefreshI(f));
    case MsgType::kConfirm: return wrap(ParseConfirm(f));
    case MsgType::kDasRequest: return wrap(ParseDasRequest(f));
    case MsgType::kStunRequest:
    case MsgType::kStunRefresh:
    case MsgType::kSecretKey:
      return DeviceMessage(UnsupportedRequest{f.type, f.flags, f.payload});
    default:
      break;
  }
  return make_error("lbs: message type " + Hex2(static_cast<uint8_t>(f.type)) +
                    " is not a device request");
}

// ---- 0x2 ----------------------------------------------------------------------------------------

Result<Bytes> EncodeAuthReply(const AuthReply& m) {
  constexpr std::string_view kMsg = "0x2 AUTH_II";
  bool g2 = m.gen == Generation::kGen2;
  Bytes p = ReplyPrologue(g2 ? std::optional<uint8_t>(m.chosen_type) : std::nullopt, m.version,
                          m.result);
  if (m.result == ResultCode::kOk) {
    if (m.sealed_public_key.size() != SealedSize(m.gen, 97)) {
      return Err(kMsg, "sealed public key must be " + std::to_string(SealedSize(m.gen, 97)) + " bytes");
    }
    Append(p, m.sealed_public_key);
  }
  return FinishReply(g2 ? 0x28 : 0x20, p, kMsg);
}

Result<Bytes> EncodeNegotiationReject(const NegotiationReject& m) {
  constexpr std::string_view kMsg = "0x2 negotiation reject";
  if (m.supported_groups.empty() || m.supported_groups.size() > 255) {
    return Err(kMsg, "needs 1..255 supported groups");
  }
  Bytes p{kNoCommonGroup, static_cast<uint8_t>(m.supported_groups.size())};
  Append(p, m.supported_groups);
  PutVersion(p, m.version);
  p.push_back(static_cast<uint8_t>(m.result));
  return FinishReply(0x28, p, kMsg);
}

Result<AuthAnswer> ParseAuthReply(const Frame& f, Generation gen) {
  constexpr std::string_view kMsg = "0x2 AUTH_II";
  if (auto r = ExpectType(f, MsgType::kAuthReply, kMsg); !r) return r.error();
  bool flagged = f.flags & kFlagNegotiation;
  if ((gen == Generation::kGen2) != flagged) {
    return Err(kMsg, gen == Generation::kGen2 ? "reply to a gen-2 request lacks the 0x08 flag"
                                              : "reply to a gen-1 request carries the 0x08 flag");
  }
  ByteReader r(f.payload);
  if (flagged && !f.payload.empty() && f.payload[0] == kNoCommonGroup) {
    NegotiationReject rej;
    r.u8();
    auto count = r.u8();
    if (!count || *count == 0) return Err(kMsg, "negotiation reject without a group list");
    auto groups = r.take(*count);
    if (!groups) return Err(kMsg, "negotiation reject group count exceeds the frame");
    rej.supported_groups.assign(groups->begin(), groups->end());
    auto v = ReadVersion(r);
    auto rc = r.u8();
    if (!v || !rc) return Err(kMsg, "negotiation reject truncated before result code");
    rej.version = *v;
    rej.result = static_cast<ResultCode>(*rc);
    return AuthAnswer(std::move(rej));
  }
  auto head = ReadReplyHead(r, flagged, kMsg);
  if (!head) return head.error();
  AuthReply m;
  m.gen = gen;
  m.chosen_type = head->negotiation.value_or(kAuthTypeEcdh);
  m.version = head->version;
  m.result = head->result;
  if (m.result != ResultCode::kOk) return AuthAnswer(std::move(m));
  if (flagged && m.chosen_type != kAuthTypeEcdh) {
    return Err(kMsg, "server chose auth type " + std::to_string(m.chosen_type) + ", expected 1 (ECDH)");
  }
  size_t want = SealedSize(gen, 97);
  if (r.remaining() != want) {
    return Err(kMsg, "sealed public key is " + std::to_string(r.remaining()) + " bytes, expected " +
                         std::to_string(want));
  }
  auto key = r.rest();
  m.sealed_public_key.assign(key.begin(), key.end());
  return AuthAnswer(std::move(m));
}

// ---- 0x8 / 0x6 key grant ------------------------------------------------------------------------

Result<Bytes> EncodeKeyGrant(const KeyGrant& m) {
  std::string msg = MsgName(m.type, 0);
  if (m.type != MsgType::kDevidReply && m.type != MsgType::kRefreshReply) {
    return Err(msg, "key grant type must be 0x8 or 0x6");
  }
  Bytes p = ReplyPrologue(std::nullopt, m.version, m.result);
  if (m.result == ResultCode::kOk) {
    if (m.sealed_devid.size() != SealedSize(m.gen, kDevidLen)) {
      return Err(msg, "sealed devid must be " + std::to_string(SealedSize(m.gen, kDevidLen)) + " bytes");
    }
    if (m.sealed_session_key.size() != SealedSize(m.gen, 16)) {
      return Err(msg, "sealed session key must be " + std::to_string(SealedSize(m.gen, 16)) + " bytes");
    }
    // Each field: gen 1 = [ct length][ct]; gen 2 = [tag][ct length][ct].
    for (const Bytes* field : {&m.sealed_devid, &m.sealed_session_key}) {
      ByteView sealed(*field);
      if (m.gen == Generation::kGen2) {
        Append(p, sealed.first(kGcmTag));
        sealed = sealed.subspan(kGcmTag);
      }
      p.push_back(static_cast<uint8_t>(sealed.size()));
      Append(p, sealed);
    }
    Append(p, m.sign);
  }
  return FinishReply(static_cast<uint8_t>(static_cast<uint8_t>(m.type) << 4), p, msg);
}

Result<KeyGrant> ParseKeyGrant(const Frame& f, Generation gen, MsgType expected) {
  std::string msg = MsgName(expected, 0);
  if (auto r = ExpectType(f, expected, msg); !r) return r.error();
  ByteReader r(f.payload);
  auto head = ReadReplyHead(r, false, msg);
  if (!head) return head.error();
  KeyGrant m;
  m.type = expected;
  m.gen = gen;
  m.version = head->version;
  m.result = head->result;
  if (m.result != ResultCode::kOk) return m;
  const size_t body = gen == Generation::kGen1 ? 1 + 48 + 1 + 32 + 48 : 16 + 1 + 32 + 16 + 1 + 16 + 48;
  if (r.remaining() != body) {
    return Err(msg, std::string(gen == Generation::kGen1 ? "gen-1" : "gen-2") + " body is " +
                        std::to_string(r.remaining()) + " bytes, expected " + std::to_string(body));
  }
  auto read_field = [&](size_t ct_len, const char* name, Bytes& out) -> Result<void> {
    out.clear();
    if (gen == Generation::kGen2) Append(out, *r.take(kGcmTag));
    uint8_t len = *r.u8();
    if (len != ct_len) {
      return Err(msg, std::string(name) + " length byte is " + std::to_string(len) + ", expected " +
                          std::to_string(ct_len));
    }
    Append(out, *r.take(ct_len));
    return {};
  };
  bool g1 = gen == Generation::kGen1;
  if (auto x = read_field(g1 ? kDevidSealedGen1 : kDevidLen, "devid", m.sealed_devid); !x) return x.error();
  if (auto x = read_field(g1 ? kKeySealedGen1 : 16, "session key", m.sealed_session_key); !x) {
    return x.error();
  }
  m.sign = ToSign(r.rest());
  return m;
}

// ---- 0x8 refresh grant (F3) ---------------------------------------------------------------------

Result<Bytes> EncodeRefreshGrant(const RefreshGrant& m) {
  constexpr std::string_view kMsg = "0x8 refresh grant";
  Bytes p = ReplyPrologue(std::nullopt, m.version, m.result);
  if (m.result == ResultCode::kOk) {
    if (m.sealed.size() != 32) return Err(kMsg, "sealed keys must be 32 bytes");
    Append(p, m.sealed);
  }
  return FinishReply(0x80, p, kMsg);
}

Result<RefreshGrant> ParseRefreshGrant(const Frame& f) {
  constexpr std::string_view kMsg = "0x8 refresh grant";
  if (auto r = ExpectType(f, MsgType::kDevidReply, kMsg); !r) return r.error();
  ByteReader r(f.payload);
  auto head = ReadReplyHead(r, false, kMsg);
  if (!head) return head.error();
  RefreshGrant m;
  m.version = head->version;
  m.result = head->result;
  if (m.result != ResultCode::kOk) return m;
  if (r.remaining() != 32) {
    return Err(kMsg, "sealed keys are " + std::to_string(r.remaining()) + " bytes, expected 32");
  }
  auto rest = r.rest();
  m.sealed.assign(rest.begin(), rest.end());
  return m;
}

// ---- 0xB ----------------------------------------------------------------------------------------

Result<Bytes> EncodeDasReply(const DasReply& m) {
  constexpr std::string_view kMsg = "0xB DAS reply";
  Bytes p = ReplyPrologue(std::nullopt, m.version, m.result);
  if (m.result == ResultCode::kOk) {
    if (m.sealed_info.empty() || m.sealed_info.size() % 16) {
      return Err(kMsg, "sealed info must be a non-zero multiple of 16 bytes");
    }
    Append(p, m.sealed_info);
  }
  return FinishReply(0xB0, p, kMsg);
}

Result<DasReply> ParseDasReply(const Frame& f) {
  constexpr std::string_view kMsg = "0xB DAS reply";
  if (auto r = ExpectType(f, MsgType::kDasReply, kMsg); !r) return r.error();
  ByteReader r(f.payload);
  auto head = ReadReplyHead(r, false, kMsg);
  if (!head) return head.error();
  DasReply m;
  m.version = head->version;
  m.result = head->result;
  if (m.result != ResultCode::kOk) return m;
  if (r.remaining() == 0 || r.remaining() % 16) {
    return Err(kMsg, "sealed info is " + std::to_string(r.remaining()) +
                         " bytes, expected a non-zero multiple of 16");
  }
  auto rest = r.rest();
  m.sealed_info.assign(rest.begin(), rest.end());
  return m;
}

Result<Bytes> EncodeResultReply(MsgType type, ResultCode result, Version version) {
  Bytes p = ReplyPrologue(std::nullopt, version, result);
  return FinishReply(static_cast<uint8_t>(static_cast<uint8_t>(type) << 4), p, "result reply");
}

Result<Bytes> EncodeUnsupportedReply(MsgType request, ResultCode result) {
  switch (request) {
    case MsgType::kStunRequest: return EncodeResultReply(MsgType::kStunReply, result);
    case MsgType::kStunRefresh:
    case MsgType::kSecretKey: return EncodeResultReply(request, result);
    default: break;
  }
  return make_error("unsupported reply: " + Hex2(static_cast<uint8_t>(request)) +
                    " is not 0xC, 0xE or 0xF");
}

Result<ResultCode> PeekReplyResult(const Frame& f) {
  ByteReader r(f.payload);
  auto head = ReadReplyHead(r, f.type == MsgType::kAuthReply && (f.flags & kFlagNegotiation),
                            MsgName(f.type, f.flags));
  if (!head) return head.error();
  return head->result;
}

// ---- sealing helpers ----------------------------------------------------------------------------

Bytes SealPublicKey(Generation gen, const AesKey& share, const EcPoint& pub) {
  return Seal(gen, share, pub);
}

Result<EcPoint> OpenPublicKey(Generation gen, const AesKey& share, ByteView sealed) {
  auto plain = Open(gen, share, sealed);
  if (!plain) return make_error("public key: " + plain.error().message);
  if (plain->size() != 97) {
    return make_error("public key: decrypted to " + std::to_string(plain->size()) +
                      " bytes, expected 97");
  }
  EcPoint p{};
  std::memcpy(p.data(), plain->data(), p.size());
  return p;
}

Result<OpenedDeviceKey> OpenDevicePublicKey(const AuthRequest& m, std::string_view vcode) {
  std::string first_error;
  for (bool lower : {false, true}) {
    std::string share = ShareKey(m.gen, vcode, m.serial, lower);
    auto point = OpenPublicKey(m.gen, AesKeyFromAscii(share), m.sealed_public_key);
    if (!point) {
      if (first_error.empty()) first_error = point.error().message;
      continue;
    }
    auto key = EcKey::FromPublic(point.value());
    if (!key) {
      if (first_error.empty()) first_error = key.error().message;
      continue;
    }
    return OpenedDeviceKey{std::move(key.value()), std::move(share), lower};
  }
  return make_error("0x1 AUTH_I: device public key does not open under either share-key variant (" +
                    first_error + ")");
}

Result<KeyGrant> MakeKeyGrant(MsgType type, Generation gen, std::string_view master_key,
                              std::string_view devid, const SessionKey& session_key,
                              const Sign& sign) {
  if (!IsValidDevid(devid)) return make_error("key grant: devid must be 32 printable ASCII characters");
  if (master_key.size() != kMasterKeyLen) return make_error("key grant: master key must be 16 characters");
  KeyGrant m;
  m.type = type;
  m.gen = gen;
  AesKey k = AesKeyFromAscii(master_key);
  m.sealed_devid = Seal(gen, k, AsBytes(devid));
  m.sealed_session_key = Seal(gen, k, session_key);
  m.sign = sign;
  return m;
}

Result<GrantedKeys> OpenKeyGrant(const KeyGrant& m, std::string_view master_key) {
  std::string msg = MsgName(m.type, 0);
  if (master_key.size() != kMasterKeyLen) return Err(msg, "master key must be 16 characters");
  AesKey k = AesKeyFromAscii(master_key);
  auto devid = Open(m.gen, k, m.sealed_devid);
  if (!devid) return Err(msg, "devid: " + devid.error().message);
  if (devid->size() != kDevidLen) {
    return Err(msg, "devid decrypted to " + std::to_string(devid->size()) + " bytes, expected 32");
  }
  auto sk = Open(m.gen, k, m.sealed_session_key);
  if (!sk) return Err(msg, "session key: " + sk.error().message);
  if (sk->size() != 16) {
    return Err(msg, "session key decrypted to " + std::to_string(sk->size()) + " bytes, expected 16");
  }
  GrantedKeys g;
  g.devid.assign(devid->begin(), devid->end());
  if (!IsValidDevid(g.devid)) return Err(msg, "devid is not 32 printable ASCII characters");
  std::memcpy(g.session_key.data(), sk->data(), 16);
  return g;
}

Bytes SealByte(std::string_view master_key, uint8_t b) {
  return CbcEncrypt(AesKeyFromAscii(master_key), ByteView(&b, 1));
}

Result<uint8_t> OpenByte(std::string_view master_key, ByteView sealed) {
  auto p = CbcDecrypt(AesKeyFromAscii(master_key), sealed);
  if (!p) return p.error();
  if (p->size() != 1) {
    return make_error("random byte: decrypted to " + std::to_string(p->size()) + " bytes, expected 1");
  }
  return (*p)[0];
}

Bytes SealRefreshKeys(std::string_view master_key, const RefreshKeys& k) {
  Bytes plain{k.r1, k.r2};
  Append(plain, k.session_key);
  return CbcEncrypt(AesKeyFromAscii(master_key), plain);
}

Result<RefreshKeys> OpenRefreshKeys(std::string_view master_key, ByteView sealed) {
  if (sealed.size() != 32) {
    return make_error("0x8 refresh grant: sealed keys are " + std::to_string(sealed.size()) +
                      " bytes, expected 32");
  }
  auto p = CbcDecrypt(AesKeyFromAscii(master_key), sealed);
  if (!p) return make_error("0x8 refresh grant: " + p.error().message);
  if (p->size() != 18) {
    return make_error("0x8 refresh grant: decrypted to " + std::to_string(p->size()) +
                      " bytes, expected 18 (r1, r2, session key)");
  }
  RefreshKeys k;
  k.r1 = (*p)[0];
  k.r2 = (*p)[1];
  std::memcpy(k.session_key.data(), p->data() + 2, 16);
  return k;
}

Bytes SealDasQuery(const SessionKey& key, const DasQuery& q) {
  nlohmann::ordered_json j;
  j["DevSerial"] = q.dev_serial;
  j["Type"] = q.type;
  j["Mode"] = q.mode;
  return CbcEncrypt(key, AsBytes(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

namespace {
Result<nlohmann::json> DecryptJson(const SessionKey& key, ByteView sealed, std::string_view msg) {
  auto p = CbcDecrypt(key, sealed);
  if (!p) return Err(msg, p.error().message);
  auto j = nlohmann::json::parse(p->begin(), p->end(), nullptr, false);
  if (j.is_discarded()) return Err(msg, "body is not valid JSON");
  if (!j.is_object()) return Err(msg, "body is not a JSON object");
  return j;
}
}  // namespace

namespace {
Result<DasQuery> OpenDasQueryUnchecked(const SessionKey& key, ByteView sealed) {
  constexpr std::string_view kMsg = "0xA get-DAS";
  auto j = DecryptJson(key, sealed, kMsg);
  if (!j) return j.error();
  DasQuery q;
  auto sn = j->find("DevSerial");
  if (sn == j->end() || !sn->is_string()) return Err(kMsg, "DevSerial missing or not a string");
  q.dev_serial = sn->get<std::string>();
  auto type = j->find("Type");
  if (type == j->end() || !type->is_string()) return Err(kMsg, "Type missing or not a string");
  q.type = type->get<std::string>();
  auto mode = j->find("Mode");
  if (mode != j->end()) {
    if (!mode->is_number_integer()) return Err(kMsg, "Mode is not an integer");
    q.mode = mode->get<int64_t>();
  }
  return q;
}
}  // namespace

Result<DasQuery> OpenDasQuery(const SessionKey& key, ByteView sealed) {
  try {
    return OpenDasQueryUnchecked(key, sealed);
  } catch (const std::exception& e) {  // every access is type-checked; this is a last guard
    return make_error(std::string("0xA get-DAS: ") + e.what());
  }
}

Result<Bytes> SealDasInfo(const SessionKey& key, const DasInfo& info) {
  for (const std::string* s : {&info.address, &info.domain, &info.server_id}) {
    if (s->size() > kMaxDasString) return make_error("0xB DAS reply: DasInfo string longer than 63 bytes");
  }
  nlohmann::ordered_json j;
  j["Type"] = "DAS";
  j["DasInfo"] = {{"Address", info.address},
                  {"Port", info.port},
                  {"UdpPort", info.udp_port},
                  {"Domain", info.domain},
                  {"ServerID", info.server_id}};
  return CbcEncrypt(key, AsBytes(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

namespace {
Result<DasInfo> OpenDasInfoUnchecked(const SessionKey& key, ByteView sealed) {
  constexpr std::string_view kMsg = "0xB DAS reply";
  auto j = DecryptJson(key, sealed, kMsg);
  if (!j) return j.error();
  auto di = j->find("DasInfo");
  if (di == j->end() || !di->is_object()) return Err(kMsg, "DasInfo missing or not an object");
  DasInfo info;
  auto str = [&](const char* name, std::string& out) -> Result<void> {
    auto it = di->find(name);
    if (it == di->end() || !it->is_string()) {
      return Err(kMsg, std::string("DasInfo.") + name + " missing or not a string");
    }
    out = it->get<std::string>();
    if (out.size() > kMaxDasString) return Err(kMsg, std::string("DasInfo.") + name + " longer than 63 bytes");
    return {};
  };
  auto port = [&](const char* name, uint16_t& out) -> Result<void> {
    auto it = di->find(name);
    if (it == di->end() || !it->is_number_integer()) {
      return Err(kMsg, std::string("DasInfo.") + name + " missing or not an integer");
    }
    int64_t v = it->get<int64_t>();
    if (v < 0 || v > 65535) return Err(kMsg, std::string("DasInfo.") + name + " out of range");
    out = static_cast<uint16_t>(v);
    return {};
  };
  if (auto r = str("Address", info.address); !r) return r.error();
  if (auto r = port("Port", info.port); !r) return r.error();
  if (auto r = port("UdpPort", info.udp_port); !r) return r.error();
  if (auto r = str("Domain", info.domain); !r) return r.error();
  if (auto r = str("ServerID", info.server_id); !r) return r.error();
  return info;
}
}  // namespace

Result<DasInfo> OpenDasInfo(const SessionKey& key, ByteView sealed) {
  try {
    return OpenDasInfoUnchecked(key, sealed);
  } catch (const std::exception& e) {  // every access is type-checked; this is a last guard
    return make_error(std::string("0xB DAS reply: ") + e.what());
  }
}

}  // namespace gw::osap::lbs
