// DAS payload framing (wire profile §2, PROTOCOL.md §5): every PUBLISH payload and the will
// payload is CBC(session key) of [length u16 BE][common JSON][body], where length counts the common
// JSON's bytes. The common JSON carries Seq, CmdVer and MsgType.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <gw/result.h>

#include "osap/codec/bytes.h"
#include "osap/codec/crypto.h"

namespace gw::osap {

// Which common JSON an incoming message must carry.
//  kLegacy:     Seq (non-negative integer) and CmdVer (string) required; MsgType optional (1 or 2).
//  kThingModel: Seq required; CmdVer and MsgType optional (gen-2 v3 messages carry only {"Seq":n}).
enum class CommonPolicy { kLegacy, kThingModel };
// kThingModel for topics under /iot/, kLegacy for everything else.
CommonPolicy PolicyForTopic(std::string_view topic);

inline constexpr int kMsgTypeRequest = 1;
inline constexpr int kMsgTypeReply = 2;
inline constexpr std::string_view kLegacyCmdVer = "v1.0.0";

struct CommonHeader {
  uint32_t seq = 0;
  std::optional<std::string> cmd_ver;  // e.g. "v1.0.0" (legacy) or "3.0" (v3 events)
  std::optional<int> msg_type;         // 1 = request, 2 = reply
};

struct PayloadMessage {
  CommonHeader common;
  std::string common_json;  // the exact bytes received
  Bytes body;
};

// {"CmdVer":"…","Seq":n,"MsgType":m} in this key order, absent fields omitted, no spaces.
std::string EncodeCommon(const CommonHeader& c);
Result<CommonHeader> ParseCommon(std::string_view json, CommonPolicy policy);

// The plaintext [len][common][body] (before encryption) and its parser.
Result<Bytes> FramePayload(std::string_view common_json, ByteView body);
Result<PayloadMessage> ParsePayloadPlain(ByteView plain, CommonPolicy policy);

// Encrypt / decrypt + parse with the session key.
Result<Bytes> SealPayload(const SessionKey& key, const CommonHeader& common, ByteView body);
Result<PayloadMessage> OpenPayload(const SessionKey& key, ByteView cipher, CommonPolicy policy);

// ---- will message (DAS CONNECT) ---------------------------------------------------------------
// The will message is CBC(session key) of the device-info JSON itself (no length/common framing),
// e.g. {"SubSerial":"TESTSN0001",…,"DeviceID":"<32 chars>"}. Decision: the framed form of §6 is
// accepted too (a plaintext not starting with '{' is parsed as [len][common][body] and its body is
// the JSON). Duplicate keys: the last one wins.
struct WillInfo {
  std::string sub_serial;
  std::string device_id;
  std::string json;  // the device-info JSON text
};
Bytes SealWillPayload(const SessionKey& key, std::string_view device_info_json);
Result<WillInfo> OpenWillPayload(const SessionKey& key, ByteView cipher);

}  // namespace gw::osap
