// DAS MQTT 3.1.1 codec (wire profile §2, PROTOCOL.md §4): the server side the gateway needs
// (decode what a device sends, encode what the DAS answers) and the client-side counterparts a
// device simulator needs. One encoder and one decoder per packet type; decoders take a Packet from
// PacketDecoder (fixed header already validated) and never throw.
//
// Dialect points: empty client id always accepted; a will topic padded with trailing NUL bytes is
// accepted with the NULs stripped; CONNACK codes 10/11/12; QoS 0 and 1 only (a QoS 2 PUBLISH is a
// protocol error, see PROTOCOL.md "Decision: QoS"); packets toward a device at most 2048 bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gw/result.h>

#include "osap/codec/bytes.h"
#include "osap/codec/frame.h"

namespace gw::osap::mqtt {

enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
};
const char* PacketTypeName(PacketType t);

inline constexpr size_t kDeviceMaxPacket = 2048;      // packets sent to a device (whole packet)
inline constexpr size_t kDefaultMaxInbound = 16384;   // default limit on packets from a device
inline constexpr size_t kNulPaddedWillTopic = 128;    // the dialect's fixed will-topic field
inline constexpr uint16_t kDefaultKeepAlive = 30;

// CONNACK return codes: 0-5 are MQTT 3.1.1, 10-12 the device dialect.
enum class ConnectReturn : uint8_t {
  kAccepted = 0,
  kBadProtocolVersion = 1,
  kIdentifierRejected = 2,
  kServerUnavailable = 3,
  kBadCredentials = 4,
  kNotAuthorized = 5,
  kBlacklisted = 10,    // device stops trying
  kRedirect = 11,       // device goes back to the LBS
  kSessionExists = 12,  // device does a fast re-registration
};

struct Packet {
  PacketType type{};
  uint8_t flags = 0;  // low nibble of byte 0
  Bytes body;         // variable header + payload
};

// Incremental fixed-header decoder. Validates the type (1..14), the fixed flag bits of MQTT 3.1.1
// §2.2.2 (PUBLISH QoS 3 is malformed) and the packet size limit (whole packet). Errors are final.
class PacketDecoder {
 public:
  explicit PacketDecoder(size_t max_packet = kDefaultMaxInbound) : asm_(max_packet, "mqtt packet") {}
  void feed(ByteView bytes) { asm_.feed(bytes); }
  Result<std::optional<Packet>> next();
  size_t buffered() const { return asm_.buffered(); }

 private:
  FrameAssembler asm_;
};
// Exactly one packet from a buffer (tests, fuzzing).
Result<Packet> DecodePacket(ByteView bytes, size_t max_packet = kDefaultMaxInbound);

// MQTT strings: well-formed UTF-8 without U+0000 (MQTT 3.1.1 §1.5.3).
bool IsValidMqttUtf8(std::string_view s);
// PUBLISH topic names: valid string, non-empty, no '+' or '#'.
bool IsValidTopicName(std::string_view s);
// SUBSCRIBE / UNSUBSCRIBE filters: non-empty; '+' a whole level; '#' only as the whole last level.
bool IsValidTopicFilter(std::string_view s);
// Splits a topic name or filter at '/' ("/a/b" -> "", "a", "b"; "" -> one empty level).
std::vector<std::string_view> SplitTopicLevels(std::string_view s);
// MQTT topic matching of a name against a filter (wildcards as in MQTT 3.1.1 §4.7).
bool TopicMatches(std::string_view filter, std::string_view name);

// ---- CONNECT / CONNACK ----------------------------------------------------------------------------

struct Will {
  std::string topic;  // trailing NUL padding stripped on decode
  Bytes payload;
  uint8_t qos = 0;
  bool retain = false;
};

struct Connect {
  std::string protocol_name = "MQTT";  // "MQTT" (level 4) or "MQIsdp" (level 3) decode
  uint8_t protocol_level = 4;          // the DAS answers CONNACK 1 to anything but 4
  bool clean_session = true;
  uint16_t keep_alive = kDefaultKeepAlive;
  std::string client_id;  // empty is allowed (the devices send it empty)
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<Bytes> password;
  // Decode only: length of the will topic field on the wire (128 for the NUL-padded dialect).
  size_t will_topic_wire_len = 0;
};

Result<Connect> DecodeConnect(const Packet& p);
// pad_will_topic_to > 0 pads the will topic with NUL bytes to that length (the dialect uses 128).
Result<Bytes> EncodeConnect(const Connect& c, size_t pad_will_topic_to = 0);

struct Connack {
  bool session_present = false;
  ConnectReturn code = ConnectReturn::kAccepted;
};
Bytes EncodeConnack(const Connack& c);  // session_present is sent only with code 0
Result<Connack> DecodeConnack(const Packet& p);

// ---- PUBLISH / PUBACK -----------------------------------------------------------------------------

struct Publish {
  std::string topic;
  Bytes payload;
  uint8_t qos = 0;  // 0 or 1
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  // non-zero when qos is 1
};
// Fails on QoS 2, a bad topic, a zero packet id at QoS 1, or a packet above max_packet bytes.
Result<Bytes> EncodePublish(const Publish& m, size_t max_packet = kDeviceMaxPacket);
Result<Publish> DecodePublish(const Packet& p);

Bytes EncodePuback(uint16_t packet_id);
Result<uint16_t> DecodePuback(const Packet& p);

// ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK ----------------------------------------------------

struct Subscription {
  std::string filter;
  uint8_t qos = 1;
};
struct Subscribe {
  uint16_t packet_id = 0;
  std::vector<Subscription> subscriptions;  // at least one
};
Result<Bytes> EncodeSubscribe(const Subscribe& m);
Result<Subscribe> DecodeSubscribe(const Packet& p);

inline constexpr uint8_t kSubackFailure = 0x80;
struct Suback {
  uint16_t packet_id = 0;
  std::vector<uint8_t> return_codes;  // 0, 1, 2 (granted QoS) or 0x80 per subscription
};
Result<Bytes> EncodeSuback(const Suback& m);
Result<Suback> DecodeSuback(const Packet& p);

struct Unsubscribe {
  uint16_t packet_id = 0;
  std::vector<std::string> filters;  // at least one
};
Result<Bytes> EncodeUnsubscribe(const Unsubscribe& m);
Result<Unsubscribe> DecodeUnsubscribe(const Packet& p);

Bytes EncodeUnsuback(uint16_t packet_id);
Result<uint16_t> DecodeUnsuback(const Packet& p);

// ---- bodiless packets -------------------------------------------------------------------------------

Bytes EncodePingreq();
Bytes EncodePingresp();
Bytes EncodeDisconnect();
// PINGREQ, PINGRESP, DISCONNECT: checks the type and the empty body.
Result<void> DecodeEmpty(const Packet& p, PacketType expected);

}  // namespace gw::osap::mqtt
