// CONNECT (decode: server side; encode: device simulators) and CONNACK.
#include "osap/codec/mqtt.h"
#include "osap/codec/mqtt_wire.h"

namespace gw::osap::mqtt {
using detail::Err;

namespace {
constexpr uint8_t kFlagReserved = 0x01, kFlagClean = 0x02, kFlagWill = 0x04, kFlagWillRetain = 0x20,
                  kFlagPassword = 0x40, kFlagUsername = 0x80;
constexpr std::string_view kConnect = "CONNECT";
}  // namespace

Result<Connect> DecodeConnect(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kConnect); !r) return r.error();
  ByteReader r(p.body);
  Connect c;
  auto name = detail::ReadString(r, kConnect, "protocol name");
  if (!name) return name.error();
  c.protocol_name = std::move(name.value());
  auto level = r.u8();
  if (!level) return Err(kConnect, "truncated protocol level");
  c.protocol_level = *level;
  if (!(c.protocol_name == "MQTT" || c.protocol_name == "MQIsdp")) {
    return Err(kConnect, "unknown protocol name \"" + c.protocol_name + "\"");
  }
  auto flags = r.u8();
  if (!flags) return Err(kConnect, "truncated connect flags");
  if (*flags & kFlagReserved) return Err(kConnect, "reserved connect flag bit 0 is set");
  uint8_t will_qos = (*flags >> 3) & 3;
  bool will = *flags & kFlagWill, will_retain = *flags & kFlagWillRetain;
  if (!will && (will_qos != 0 || will_retain)) {
    return Err(kConnect, "will QoS/retain set without the will flag");
  }
  if (will_qos == 3) return Err(kConnect, "will QoS 3");
  if ((*flags & kFlagPassword) && !(*flags & kFlagUsername)) {
    return Err(kConnect, "password flag without username flag");
  }
  c.clean_session = *flags & kFlagClean;
  auto ka = r.u16be();
  if (!ka) return Err(kConnect, "truncated keep-alive");
  c.keep_alive = *ka;

  auto id = detail::ReadString(r, kConnect, "client id");
  if (!id) return id.error();
  c.client_id = std::move(id.value());
  if (will) {
    auto raw = detail::ReadBinary(r);
    if (!raw) return Err(kConnect, "truncated will topic");
    c.will_topic_wire_len = raw->size();
    // Dialect: the will topic is a fixed 128-byte field padded with NULs. Strip trailing NULs;
    // anything else (NUL inside, bad UTF-8, wildcards) is still malformed.
    std::string_view topic = AsChars(*raw);
    while (!topic.empty() && topic.back() == '\0') topic.remove_suffix(1);
    if (!IsValidTopicName(topic)) return Err(kConnect, "will topic is not a valid topic name");
    auto payload = detail::ReadBinary(r);
    if (!payload) return Err(kConnect, "truncated will message");
    c.will = Will{std::string(topic), Bytes(payload->begin(), payload->end()), will_qos, will_retain};
  }
  if (*flags & kFlagUsername) {
    auto u = detail::ReadString(r, kConnect, "username");
    if (!u) return u.error();
    c.username = std::move(u.value());
  }
  if (*flags & kFlagPassword) {
    auto pw = detail::ReadBinary(r);
    if (!pw) return Err(kConnect, "truncated password");
    c.password = Bytes(pw->begin(), pw->end());
  }
  if (!r.empty()) return Err(kConnect, std::to_string(r.remaining()) + " unexpected trailing bytes");
  return c;
}

Result<Bytes> EncodeConnect(const Connect& c, size_t pad_will_topic_to) {
  if (c.password && !c.username) return Err(kConnect, "password without username");
  if (!IsValidMqttUtf8(c.client_id)) return Err(kConnect, "client id is not valid UTF-8");
  Bytes b;
  if (auto r = detail::PutBinary(b, AsBytes(c.protocol_name), kConnect, "protocol name"); !r) {
    return r.error();
  }
  b.push_back(c.protocol_level);
  uint8_t flags = 0;
  if (c.clean_session) flags |= kFlagClean;
  if (c.will) {
    if (c.will->qos > 2) return Err(kConnect, "will QoS above 2");
    flags |= kFlagWill | static_cast<uint8_t>(c.will->qos << 3);
    if (c.will->retain) flags |= kFlagWillRetain;
  }
  if (c.username) flags |= kFlagUsername;
  if (c.password) flags |= kFlagPassword;
  b.push_back(flags);
  AppendU16(b, c.keep_alive);
  if (auto r = detail::PutBinary(b, AsBytes(c.client_id), kConnect, "client id"); !r) return r.error();
  if (c.will) {
    if (!IsValidTopicName(c.will->topic)) return Err(kConnect, "will topic is not a valid topic name");
    std::string topic = c.will->topic;
    if (pad_will_topic_to) {
      if (topic.size() > pad_will_topic_to) {
        return Err(kConnect, "will topic longer than the padded field of " +
                                 std::to_string(pad_will_topic_to) + " bytes");
      }
      topic.resize(pad_will_topic_to, '\0');
    }
    if (auto r = detail::PutBinary(b, AsBytes(topic), kConnect, "will topic"); !r) return r.error();
    if (auto r = detail::PutBinary(b, c.will->payload, kConnect, "will message"); !r) return r.error();
  }
  if (c.username) {
    if (!IsValidMqttUtf8(*c.username)) return Err(kConnect, "username is not valid UTF-8");
    if (auto r = detail::PutBinary(b, AsBytes(*c.username), kConnect, "username"); !r) return r.error();
  }
  if (c.password) {
    if (auto r = detail::PutBinary(b, *c.password, kConnect, "password"); !r) return r.error();
  }
  return detail::Finish(0x10, b, kMaxRemainingLength, kConnect);
}

Bytes EncodeConnack(const Connack& c) {
  bool sp = c.session_present && c.code == ConnectReturn::kAccepted;
  return {0x20, 0x02, static_cast<uint8_t>(sp ? 1 : 0), static_cast<uint8_t>(c.code)};
}

Result<Connack> DecodeConnack(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kConnack); !r) return r.error();
  if (p.body.size() != 2) {
    return Err("CONNACK", "remaining length " + std::to_string(p.body.size()) + ", expected 2");
  }
  if (p.body[0] & 0xFE) return Err("CONNACK", "reserved acknowledge flags set");
  Connack c;
  c.session_present = p.body[0] & 1;
  c.code = static_cast<ConnectReturn>(p.body[1]);
  return c;
}

}  // namespace gw::osap::mqtt
