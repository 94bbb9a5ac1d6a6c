// LBS wire codec (wire profile §1, PROTOCOL.md §2): the frame decoder and, for every message, a
// struct holding its wire fields, an Encode* function and a Parse* function. Sealed fields (the
// ciphertexts) are carried as bytes; the Seal*/Open* helpers at the end do the cryptography, so a
// server can parse a request before it knows which key to use (0x1 needs the serial first, 0x70 the
// devid). Parse* never throws; every error names the message and what was wrong.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <gw/result.h>

#include "osap/codec/bytes.h"
#include "osap/codec/crypto.h"
#include "osap/codec/frame.h"

namespace gw::osap::lbs {

enum class MsgType : uint8_t {
  kAuthRequest = 0x1,     // AUTH_I, device -> server
  kAuthReply = 0x2,       // AUTH_II, server -> device
  kRefreshRequest = 0x4,  // F2 session-key refresh (first byte 0x42)
  kRefreshReply = 0x6,    // answer to 0x4, laid out as 0x8
  kDevid = 0x7,           // 0x72 apply devid (flag 0x02), 0x70 refresh-I (F3)
  kDevidReply = 0x8,      // answer to 0x72 (key grant) or to 0x70 (32-byte refresh grant)
  kConfirm = 0x9,         // F3 confirmation of r2, no reply
  kDasRequest = 0xA,      // get DAS address
  kDasReply = 0xB,
  kStunRequest = 0xC,  // unsupported by the gateway: answered with result 9
  kStunReply = 0xD,
  kStunRefresh = 0xE,  // unsupported, answered with result 9
  kSecretKey = 0xF,    // gen 2 secret-key request, unsupported, answered with result 9
};

enum class ResultCode : uint8_t {
  kOk = 0,
  kSignFailed = 1,
  kBadOrder = 2,
  kInvalidData = 3,
  kDevidMismatch = 4,
  kNoSuchDevice = 5,
  kStorageError = 6,
  kDecryptFailed = 7,
  kEncryptFailed = 8,
  kLookupFailed = 9,
  kMasterKeyInvalid = 10,
};
const char* ResultCodeName(ResultCode rc);

inline constexpr uint8_t kFlagNegotiation = 0x08;  // negotiation header present (gen 2, 0x1/0x2)
inline constexpr uint8_t kFlagNewStyle = 0x02;     // device 0x1, 0x4, and 0x7 = apply devid
inline constexpr uint8_t kAuthTypeEcdh = 1;        // the only defined auth type / group
inline constexpr uint8_t kNoCommonGroup = 0;       // 0x2 header byte of the "no common group" reply
inline constexpr size_t kDefaultMaxFrame = 4096;   // whole frame, header included
inline constexpr size_t kMaxReplyPayload = 2048;   // what a device accepts in a server reply

using Version = std::array<uint8_t, 3>;
inline constexpr Version kVersionAuth = {0x01, 0x02, 0x00};   // in 0x1 (and mirrored in 0x2)
inline constexpr Version kVersionOther = {0x01, 0x01, 0x00};  // every other message

// ---- framing ------------------------------------------------------------------------------------

struct Frame {
  MsgType type{};
  uint8_t flags = 0;  // low nibble of byte 0
  Bytes payload;      // everything after the remaining length
  uint8_t first_byte() const { return static_cast<uint8_t>(static_cast<uint8_t>(type) << 4 | flags); }
};

// Incremental decoder: feed() bytes, then next() until it yields nullopt (need more). Errors
// (length over 4 bytes, frame above max_frame, message type 0/3/5) are final: close the connection.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame = kDefaultMaxFrame) : asm_(max_frame, "lbs frame") {}
  void feed(ByteView bytes) { asm_.feed(bytes); }
  Result<std::optional<Frame>> next();
  size_t buffered() const { return asm_.buffered(); }

 private:
  FrameAssembler asm_;
};

Bytes EncodeFrame(const Frame& f);
// One whole frame from a buffer that must hold exactly one frame (tests, fuzzing, datagram use).
Result<Frame> DecodeFrame(ByteView bytes, size_t max_frame = kDefaultMaxFrame);

// ---- messages (device -> server) ----------------------------------------------------------------

struct Negotiation {
  uint8_t current_type = kAuthTypeEcdh;
  std::vector<uint8_t> groups{kAuthTypeEcdh};  // offered auth types, 1..255 entries
};

// 0x1 AUTH_I. Gen 1: first byte 0x12, no negotiation. Gen 2: 0x1A + negotiation header.
struct AuthRequest {
  Generation gen = Generation::kGen1;
  Negotiation negotiation;  // gen 2 only
  Version version = kVersionAuth;
  uint8_t auth_mode = 0;  // 0 = SAP verification code, 1 = license
  std::string serial;     // 1..255 bytes
  Bytes sealed_public_key;  // SealPublicKey(): 112 bytes (gen 1) or 113 (gen 2)
};

// 0x72: apply for a devid (F1).
struct ApplyDevid {
  Version version = kVersionOther;
  Sign sign{};
};

// 0x42: refresh the session key with a stored devid (F2).
struct RefreshRequest {
  Version version = kVersionOther;
  std::string devid;  // 32 bytes
  Sign sign{};
};

// 0x70: refresh-I (F3).
struct RefreshI {
  Version version = kVersionOther;
  std::string serial;  // 1..255 bytes
  std::string devid;   // 32 bytes
  Bytes sealed_r1;     // CBC(master, r1): 16 bytes
};

// 0x90: confirm r2 (F3). No reply.
struct Confirm {
  Version version = kVersionOther;
  Bytes sealed_r2;  // CBC(master, r2): 16 bytes
};

// 0xA0: get DAS address.
struct DasRequest {
  Version version = kVersionOther;
  Bytes sealed_query;  // CBC(session key, JSON): multiple of 16
};

// 0xC, 0xE, 0xF: recognised but not served; the server answers EncodeUnsupportedReply().
struct UnsupportedRequest {
  MsgType type{};
  uint8_t flags = 0;
  Bytes payload;
};

Result<Bytes> EncodeAuthRequest(const AuthRequest& m);
Result<AuthRequest> ParseAuthRequest(const Frame& f);
Result<Bytes> EncodeApplyDevid(const ApplyDevid& m);
Result<ApplyDevid> ParseApplyDevid(const Frame& f);
Result<Bytes> EncodeRefreshRequest(const RefreshRequest& m);
Result<RefreshRequest> ParseRefreshRequest(const Frame& f);
Result<Bytes> EncodeRefreshI(const RefreshI& m);
Result<RefreshI> ParseRefreshI(const Frame& f);
Result<Bytes> EncodeConfirm(const Confirm& m);
Result<Confirm> ParseConfirm(const Frame& f);
Result<Bytes> EncodeDasRequest(const DasRequest& m);
Result<DasRequest> ParseDasRequest(const Frame& f);
// Device side of the unsupported requests (simulators, tests): first byte type<<4, body as given.
Result<Bytes> EncodeUnsupportedRequest(const UnsupportedRequest& m);

// Server-side dispatch of any device message by its first byte (0x7 by the 0x02 flag).
using DeviceMessage = std::variant<AuthRequest, ApplyDevid, RefreshRequest, RefreshI, Confirm,
                                   DasRequest, UnsupportedRequest>;
Result<DeviceMessage> ParseDeviceMessage(const Frame& f);

// ---- messages (server -> device) ----------------------------------------------------------------
// Every reply: [negotiation byte if flagged] version(3) result(1) body. A reply whose result is not
// 0 carries no body; parsers ignore anything after a non-zero result.

// 0x2 AUTH_II. Gen 2: first byte 0x28 + chosen auth type (1).
struct AuthReply {
  Generation gen = Generation::kGen1;
  uint8_t chosen_type = kAuthTypeEcdh;  // gen 2 only
  Version version = kVersionAuth;
  ResultCode result = ResultCode::kOk;
  Bytes sealed_public_key;  // result 0: 112 bytes (gen 1) or 113 (gen 2)
};

// 0x28 "no common group": header byte 0, then count + the server's groups, version, result 3.
struct NegotiationReject {
  std::vector<uint8_t> supported_groups{kAuthTypeEcdh};
  Version version = kVersionAuth;
  ResultCode result = ResultCode::kInvalidData;
};

// 0x8 after 0x72 and 0x6 after 0x42: devid + session key under the master key, and the sign.
struct KeyGrant {
  MsgType type = MsgType::kDevidReply;  // kDevidReply or kRefreshReply
  Generation gen = Generation::kGen1;
  Version version = kVersionOther;
  ResultCode result = ResultCode::kOk;
  Bytes sealed_devid;        // Seal(gen, master, devid): 48 bytes both generations
  Bytes sealed_session_key;  // Seal(gen, master, key): 32 bytes both generations
  Sign sign{};
};

// 0x8 after 0x70: CBC(master, r1 || r2 || session key) = 32 bytes.
struct RefreshGrant {
  Version version = kVersionOther;
  ResultCode result = ResultCode::kOk;
  Bytes sealed;  // 32 bytes when result is 0
};

// 0xB.
struct DasReply {
  Version version = kVersionOther;
  ResultCode result = ResultCode::kOk;
  Bytes sealed_info;  // CBC(session key, JSON) when result is 0
};

// Either 0x2 shape, as a gen-2 device must handle it.
using AuthAnswer = std::variant<AuthReply, NegotiationReject>;

Result<Bytes> EncodeAuthReply(const AuthReply& m);
Result<Bytes> EncodeNegotiationReject(const NegotiationReject& m);
// gen: what the device sent in 0x1. A gen-2 device accepts both shapes.
Result<AuthAnswer> ParseAuthReply(const Frame& f, Generation gen);
Result<Bytes> EncodeKeyGrant(const KeyGrant& m);
// expected: kDevidReply (F1) or kRefreshReply (F2); gen: the generation negotiated in 0x1.
Result<KeyGrant> ParseKeyGrant(const Frame& f, Generation gen, MsgType expected);
Result<Bytes> EncodeRefreshGrant(const RefreshGrant& m);
Result<RefreshGrant> ParseRefreshGrant(const Frame& f);
Result<Bytes> EncodeDasReply(const DasReply& m);
Result<DasReply> ParseDasReply(const Frame& f);
// Result-only reply to 0xC (as 0xD), 0xE (as 0xE) and 0xF (as 0xF); any result code.
Result<Bytes> EncodeUnsupportedReply(MsgType request, ResultCode result = ResultCode::kLookupFailed);
// Generic result-only reply of any type (every error answer has this shape).
Result<Bytes> EncodeResultReply(MsgType type, ResultCode result, Version version = kVersionOther);
// Reads version + result of any server reply (negotiation byte skipped when flagged).
Result<ResultCode> PeekReplyResult(const Frame& f);

// ---- sealing helpers ----------------------------------------------------------------------------

// 0x1 / 0x2 public key under the share key (AES key = first 16 characters of the share key).
Bytes SealPublicKey(Generation gen, const AesKey& share, const EcPoint& pub);
Result<EcPoint> OpenPublicKey(Generation gen, const AesKey& share, ByteView sealed);

// Server side of 0x1: opens the device's public key with the share key of (vcode, serial), trying
// the normal share key first and then the lower-case-first-MD5 variant a device uses after result 1.
// The key is imported (and checked to be on the curve). Reply with SealPublicKey() under the same
// share key (`share_key`).
struct OpenedDeviceKey {
  EcKey key;
  std::string share_key;         // the 32-character share key that opened it
  bool lower_first_md5 = false;  // true if only the retry variant worked
};
Result<OpenedDeviceKey> OpenDevicePublicKey(const AuthRequest& m, std::string_view vcode);

// 0x8 / 0x6 contents. master_key is the 16-character ASCII master key.
struct GrantedKeys {
  std::string devid;
  SessionKey session_key{};
};
Result<KeyGrant> MakeKeyGrant(MsgType type, Generation gen, std::string_view master_key,
                              std::string_view devid, const SessionKey& session_key,
                              const Sign& sign);
Result<GrantedKeys> OpenKeyGrant(const KeyGrant& m, std::string_view master_key);

// One random byte under the master key (r1 in 0x70, r2 in 0x90).
Bytes SealByte(std::string_view master_key, uint8_t b);
Result<uint8_t> OpenByte(std::string_view master_key, ByteView sealed);

struct RefreshKeys {
  uint8_t r1 = 0;
  uint8_t r2 = 0;
  SessionKey session_key{};
};
Bytes SealRefreshKeys(std::string_view master_key, const RefreshKeys& k);
Result<RefreshKeys> OpenRefreshKeys(std::string_view master_key, ByteView sealed);

// 0xA JSON: {"DevSerial":sn,"Type":"DAS","Mode":0}.
struct DasQuery {
  std::string dev_serial;
  std::string type = "DAS";
  int64_t mode = 0;
};
Bytes SealDasQuery(const SessionKey& key, const DasQuery& q);
Result<DasQuery> OpenDasQuery(const SessionKey& key, ByteView sealed);

// 0xB JSON: {"Type":"DAS","DasInfo":{"Address","Port","UdpPort","Domain","ServerID"}}.
struct DasInfo {
  std::string address;
  uint16_t port = 0;
  uint16_t udp_port = 0;
  std::string domain;
  std::string server_id;
};
Result<Bytes> SealDasInfo(const SessionKey& key, const DasInfo& info);
Result<DasInfo> OpenDasInfo(const SessionKey& key, ByteView sealed);

}  // namespace gw::osap::lbs
