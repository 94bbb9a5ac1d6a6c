// The device side of the OSAP wire, written from adapters/osap/PROTOCOL.md (and the wire profile)
// independently of the gateway's codec (adapters/osap/codec/{lbs,mqtt,payload,topics}.*): LBS frames
// and the device's LBS messages (§2, §3), a minimal MQTT 3.1.1 client packet encoder/decoder with
// the NUL-padded will topic (§5), the payload framing (§6) and the thing-model topics (§7). Only the
// crypto primitives (codec/crypto.h) are shared with the gateway. Nothing here does I/O or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gw/result.h>

#include "osap/codec/crypto.h"

namespace camsim {

using gw::Result;
using gw::osap::Generation;
using gw::osap::SessionKey;
using gw::osap::Sign;

// ---- framing (LBS §2.1 and the MQTT fixed header, the same varint) ------------------------------

// Appends the remaining-length varint (minimal form). Precondition: v <= 268435455.
void PutVarint(std::string& out, uint32_t v);
// type_and_flags ‖ varint(len) ‖ payload.
std::string Frame(uint8_t first_byte, std::string_view payload);

struct RawFrame {
  uint8_t first = 0;  // type << 4 | flags
  std::string body;   // the remaining-length bytes
  uint8_t type() const { return first >> 4; }
  uint8_t flags() const { return first & 0x0F; }
};

// Takes one complete frame from the front of buf[pos..]: 1 = got one (pos advanced), 0 = need more
// bytes, -1 = framing error (length field of more than 4 bytes, or total size above max_total).
int NextFrame(std::string_view buf, size_t& pos, size_t max_total, RawFrame* out, std::string* err = nullptr);

// ---- LBS device messages (§3) --------------------------------------------------------------------

namespace lbs {

inline constexpr uint8_t kResultOk = 0;

// 0x1 AUTH_I. gen 2: flag 08 and the negotiation header 01 01 01 (current ECDH, one group: ECDH).
std::string AuthI(Generation gen, std::string_view serial, const gw::osap::Bytes& sealed_public_key);
std::string ApplyDevid(const Sign& sign);                                    // 0x72
std::string Refresh(std::string_view devid, const Sign& sign);               // 0x42 (F2)
std::string RefreshI(std::string_view serial, std::string_view devid,
                     const gw::osap::Bytes& sealed_r1);                      // 0x70 (F3)
std::string Confirm(const gw::osap::Bytes& sealed_r2);                      // 0x90
std::string GetDas(const gw::osap::Bytes& sealed_query);                    // 0xA0

// A server reply: [negotiation] ‖ version (3) ‖ result ‖ body.
struct Reply {
  uint8_t type = 0;
  int negotiated = -1;             // gen-2 0x2: the chosen auth type (0 = "no common group")
  std::vector<uint8_t> groups;     // with negotiated == 0: the server's supported list (§3.3)
  uint8_t result = 0;
  std::string body;                // after the result byte (empty unless result 0)
};
// expect_negotiation: the reply is a 0x2 to a gen-2 request (flag 08 must be set).
Result<Reply> ParseReply(const RawFrame& f, bool expect_negotiation);

// The 0x8 / 0x6 body after 0x72 / 0x42 (§3.5), opened with the master key.
struct KeyGrant {
  std::string devid;
  SessionKey session_key{};
  Sign sign{};
};
Result<KeyGrant> OpenKeyGrant(Generation gen, std::string_view master_key, std::string_view body);

// The 0x8 body after 0x70 (§3.8): r1 ‖ r2 ‖ session key under the master key.
struct RefreshKeys {
  uint8_t r1 = 0, r2 = 0;
  SessionKey session_key{};
};
Result<RefreshKeys> OpenRefreshKeys(std::string_view master_key, std::string_view body);

// The 0xA0 JSON, exactly as devices write it.
std::string DasQueryJson(std::string_view serial);

// The 0xB body, opened with the session key (§3.11).
struct DasInfo {
  std::string address, domain, server_id;
  uint16_t port = 0, udp_port = 0;
};
Result<DasInfo> OpenDasInfo(const SessionKey& sk, std::string_view body);

}  // namespace lbs

// ---- MQTT 3.1.1, device side (§5) ----------------------------------------------------------------

namespace mqtt {

enum : uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6, kPubcomp = 7,
  kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11, kPingreq = 12, kPingresp = 13,
  kDisconnect = 14,
};
inline constexpr size_t kWillTopicPad = 128;  // §5.1: the will topic is NUL-padded to 128 bytes

struct ConnectOptions {
  bool clean_session = true;
  uint16_t keep_alive = 30;
  std::string will_topic;  // padded to 128 bytes with NULs (longer topics are sent as they are)
  std::string will_payload;
  std::string username;
  std::string password = "test";
};
// Flags EE (or EC with clean session 0), empty client id.
std::string Connect(const ConnectOptions& o);
std::string Subscribe(uint16_t packet_id, const std::vector<std::string>& filters);  // QoS 1 each
std::string Publish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain, bool dup,
                    uint16_t packet_id);
std::string Puback(uint16_t packet_id);
std::string Pingreq();
std::string Disconnect();

struct Connack {
  bool session_present = false;
  uint8_t code = 0;
};
Result<Connack> ParseConnack(const RawFrame& f);
struct Suback {
  uint16_t packet_id = 0;
  std::vector<uint8_t> codes;
};
Result<Suback> ParseSuback(const RawFrame& f);
struct PublishIn {
  std::string topic;
  uint8_t qos = 0;
  bool dup = false, retain = false;
  uint16_t packet_id = 0;
  std::string payload;
};
Result<PublishIn> ParsePublish(const RawFrame& f);
Result<uint16_t> ParsePuback(const RawFrame& f);

}  // namespace mqtt

// ---- payload framing (§6) ------------------------------------------------------------------------

namespace payload {

// Common JSON in the order CmdVer, Seq, MsgType; absent members omitted (msg_type 0 = absent).
std::string Common(std::string_view cmd_ver, uint32_t seq, int msg_type);
// CBC(session key, length(2) ‖ common ‖ body).
std::string Seal(const SessionKey& sk, std::string_view common, std::string_view body);
// The will message: CBC(session key) of the JSON itself, no framing (§5.3).
std::string SealWill(const SessionKey& sk, std::string_view json);

struct Message {
  std::string common_json;
  uint32_t seq = 0;
  std::optional<std::string> cmd_ver;
  int msg_type = 0;  // 0 = absent
  std::string body;
};
// thing = the topic is under /iot/ (Seq required; elsewhere Seq and CmdVer are required, §6.2).
Result<Message> Open(const SessionKey& sk, std::string_view data, bool thing);

}  // namespace payload

// ---- topics (§7) ---------------------------------------------------------------------------------

namespace topics {

// "/iot/{sn}/{sub}/{li}-{rt}"
std::string ThingPrefix(std::string_view sn, std::string_view sub, std::string_view li, std::string_view rt);
std::string WillTopic(std::string_view sn, bool first_connect);

// A downlink topic as the device sees it.
struct Down {
  enum Kind { kOther, kShadowSet, kShadowQuery, kServiceOperate, kAttributeSet, kLegacy } kind = kOther;
  std::string sub, li, rt, domain, identifier;  // thing topics
  uint32_t legacy_domain = 0, legacy_cmd = 0;     // /{sn}/{domain}/{cmd}
};
// nullopt when the topic does not belong to sn.
std::optional<Down> ParseDown(std::string_view topic, std::string_view sn);

}  // namespace topics

}  // namespace camsim
