// SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK, both directions.
#include "osap/codec/mqtt.h"
#include "osap/codec/mqtt_wire.h"

namespace gw::osap::mqtt {
using detail::Err;

namespace {
constexpr std::string_view kSubscribe = "SUBSCRIBE", kSuback = "SUBACK", kUnsubscribe = "UNSUBSCRIBE";

Result<std::string> ReadFilter(ByteReader& r, std::string_view packet) {
  auto f = detail::ReadString(r, packet, "topic filter");
  if (!f) return f.error();
  if (!IsValidTopicFilter(f.value())) return Err(packet, "invalid topic filter \"" + f.value() + "\"");
  return f;
}
}  // namespace

Result<Bytes> EncodeSubscribe(const Subscribe& m) {
  if (m.packet_id == 0) return Err(kSubscribe, "packet identifier 0");
  if (m.subscriptions.empty()) return Err(kSubscribe, "no topic filter");
  Bytes b;
  AppendU16(b, m.packet_id);
  for (const auto& s : m.subscriptions) {
    if (!IsValidTopicFilter(s.filter)) return Err(kSubscribe, "invalid topic filter \"" + s.filter + "\"");
    if (s.qos > 2) return Err(kSubscribe, "requested QoS above 2");
    if (auto r = detail::PutBinary(b, AsBytes(s.filter), kSubscribe, "topic filter"); !r) return r.error();
    b.push_back(s.qos);
  }
  return detail::Finish(0x82, b, kMaxRemainingLength, kSubscribe);
}

Result<Subscribe> DecodeSubscribe(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kSubscribe); !r) return r.error();
  ByteReader r(p.body);
  Subscribe m;
  auto id = detail::ReadPacketId(r, kSubscribe);
  if (!id) return id.error();
  m.packet_id = id.value();
  if (r.empty()) return Err(kSubscribe, "no topic filter");
  while (!r.empty()) {
    auto f = ReadFilter(r, kSubscribe);
    if (!f) return f.error();
    auto qos = r.u8();
    if (!qos) return Err(kSubscribe, "truncated requested QoS");
    if (*qos > 2) return Err(kSubscribe, "requested QoS byte " + std::to_string(*qos) + " is malformed");
    m.subscriptions.push_back({std::move(f.value()), *qos});
  }
  return m;
}

Result<Bytes> EncodeSuback(const Suback& m) {
  if (m.packet_id == 0) return Err(kSuback, "packet identifier 0");
  if (m.return_codes.empty()) return Err(kSuback, "no return code");
  Bytes b;
  AppendU16(b, m.packet_id);
  for (uint8_t rc : m.return_codes) {
    if (rc > 2 && rc != kSubackFailure) return Err(kSuback, "invalid return code " + std::to_string(rc));
    b.push_back(rc);
  }
  return detail::Finish(0x90, b, kDeviceMaxPacket, kSuback);
}

Result<Suback> DecodeSuback(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kSuback); !r) return r.error();
  ByteReader r(p.body);
  Suback m;
  auto id = detail::ReadPacketId(r, kSuback);
  if (!id) return id.error();
  m.packet_id = id.value();
  if (r.empty()) return Err(kSuback, "no return code");
  for (uint8_t rc : r.rest()) {
    if (rc > 2 && rc != kSubackFailure) return Err(kSuback, "invalid return code " + std::to_string(rc));
    m.return_codes.push_back(rc);
  }
  return m;
}

Result<Bytes> EncodeUnsubscribe(const Unsubscribe& m) {
  if (m.packet_id == 0) return Err(kUnsubscribe, "packet identifier 0");
  if (m.filters.empty()) return Err(kUnsubscribe, "no topic filter");
  Bytes b;
  AppendU16(b, m.packet_id);
  for (const auto& f : m.filters) {
    if (!IsValidTopicFilter(f)) return Err(kUnsubscribe, "invalid topic filter \"" + f + "\"");
    if (auto r = detail::PutBinary(b, AsBytes(f), kUnsubscribe, "topic filter"); !r) return r.error();
  }
  return detail::Finish(0xA2, b, kMaxRemainingLength, kUnsubscribe);
}

Result<Unsubscribe> DecodeUnsubscribe(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kUnsubscribe); !r) return r.error();
  ByteReader r(p.body);
  Unsubscribe m;
  auto id = detail::ReadPacketId(r, kUnsubscribe);
  if (!id) return id.error();
  m.packet_id = id.value();
  if (r.empty()) return Err(kUnsubscribe, "no topic filter");
  while (!r.empty()) {
    auto f = ReadFilter(r, kUnsubscribe);
    if (!f) return f.error();
    m.filters.push_back(std::move(f.value()));
  }
  return m;
}

Bytes EncodeUnsuback(uint16_t packet_id) {
  return {0xB0, 0x02, static_cast<uint8_t>(packet_id >> 8), static_cast<uint8_t>(packet_id & 0xFF)};
}

Result<uint16_t> DecodeUnsuback(const Packet& p) {
  if (auto r = detail::ExpectType(p, PacketType::kUnsuback); !r) return r.error();
  if (p.body.size() != 2) {
    return Err("UNSUBACK", "remaining length " + std::to_string(p.body.size()) + ", expected 2");
  }
  ByteReader r(p.body);
  return detail::ReadPacketId(r, "UNSUBACK");
}

}  // namespace gw::osap::mqtt
