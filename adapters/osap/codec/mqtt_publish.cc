// PUBLISH and PUBACK, both directions.
#include "osap/codec/mqtt.h"
#include "osap/codec/mqtt_wire.h"

namespace gw::osap::mqtt {
using detail::Err;

namespace {
constexpr std::string_view kPublish = "PUBLISH";
}

Result<Bytes> EncodePublish(const Publish& m, size_t max_packet) {
  if (m.qos > 1) return Err(kPublish, "QoS " + std::to_string(m.qos) + " is not supported (0 or 1)");
  if (!IsValidTopicName(m.topic)) return Err(kPublish, "invalid topic name \"" + m.topic + "\"");
  if (m.qos == 0 && m.dup) return Err(kPublish, "DUP set on a QoS 0 message");
  if (m.qos == 1 && m.packet_id == 0) return Err(kPublish, "QoS 1 needs a non-zero packet id");
  Bytes b;
  if (auto r = detail::PutBinary(b, AsBytes(m.topic), kPublish, "topic"); !r) return r.error();
  if (m.qos) AppendU16(b, m.packet_id);
  Append(b, m.payload);
  uint8_t first = static_cast<uint8_t>(0x30 | (m.dup ? 0x08 : 0) | (m.qos << 1) | (m.retain ? 1 : 0));
  return detail::Finish(first, b, max_packet, kPublish);
}

Result<Publish> DecodePublish(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kPublish); !r) return r.error();
  Publish m;
  m.dup = p.flags & 0x08;
  m.qos = (p.flags >> 1) & 3;
  m.retain = p.flags & 0x01;
  if (m.qos == 2) {
    return Err(kPublish, "QoS 2 is not supported by the DAS (QoS 0 and 1 only)");
  }
  if (m.qos == 3) return Err(kPublish, "QoS 3 is malformed");
  if (m.qos == 0 && m.dup) return Err(kPublish, "DUP set on a QoS 0 message");
  ByteReader r(p.body);
  auto topic = detail::ReadString(r, kPublish, "topic");
  if (!topic) return topic.error();
  if (!IsValidTopicName(topic.value())) {
    return Err(kPublish, "topic \"" + topic.value() + "\" is empty or contains a wildcard");
  }
  m.topic = std::move(topic.value());
  if (m.qos) {
    auto id = detail::ReadPacketId(r, kPublish);
    if (!id) return id.error();
    m.packet_id = id.value();
  }
  auto rest = r.rest();
  m.payload.assign(rest.begin(), rest.end());
  return m;
}

Bytes EncodePuback(uint16_t packet_id) {
  return {0x40, 0x02, static_cast<uint8_t>(packet_id >> 8), static_cast<uint8_t>(packet_id & 0xFF)};
}

Result<uint16_t> DecodePuback(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kPuback); !r) return r.error();
  if (p.body.size() != 2) {
    return Err("PUBACK", "remaining length " + std::to_string(p.body.size()) + ", expected 2");
  }
  ByteReader r(p.body);
  return detail::ReadPacketId(r, "PUBACK");
}

}  // namespace gw::osap::mqtt
