// Internal helpers shared by the mqtt_*.cc files (not part of the public API).
#pragma once

#include <string>
#include <string_view>

#include "osap/codec/mqtt.h"

namespace gw::osap::mqtt::detail {

inline Error Err(std::string_view packet, const std::string& what) {
  return make_error("mqtt " + std::string(packet) + ": " + what);
}

// u16 length + bytes.
inline std::optional<ByteView> ReadBinary(ByteReader& r) {
  auto len = r.u16be();
  if (!len) return std::nullopt;
  return r.take(*len);
}

// u16 length + UTF-8; `field` names the field in errors.
inline Result<std::string> ReadString(ByteReader& r, std::string_view packet, std::string_view field) {
  auto b = ReadBinary(r);
  if (!b) return Err(packet, "truncated " + std::string(field));
  std::string s(AsChars(*b));
  if (!IsValidMqttUtf8(s)) return Err(packet, std::string(field) + " is not valid UTF-8 (or contains NUL)");
  return s;
}

inline Result<void> PutBinary(Bytes& out, ByteView b, std::string_view packet, std::string_view field) {
  if (b.size() > 0xFFFF) return Err(packet, std::string(field) + " longer than 65535 bytes");
  AppendU16(out, static_cast<uint16_t>(b.size()));
  Append(out, b);
  return {};
}

inline Result<uint16_t> ReadPacketId(ByteReader& r, std::string_view packet) {
  auto id = r.u16be();
  if (!id) return Err(packet, "truncated packet identifier");
  if (*id == 0) return Err(packet, "packet identifier 0");
  return *id;
}

inline Result<void> ExpectType(const Packet& p, PacketType t) {
  if (p.type != t) {
    return make_error(std::string("mqtt: expected ") + PacketTypeName(t) + ", got " +
                      PacketTypeName(p.type));
  }
  return {};
}

inline Result<Bytes> Finish(uint8_t first_byte, const Bytes& body, size_t max_packet,
                            std::string_view packet) {
  if (body.size() > kMaxRemainingLength) return Err(packet, "packet too large");
  Bytes out = BuildFrame(first_byte, body);
  if (out.size() > max_packet) {
    return Err(packet, "packet of " + std::to_string(out.size()) + " bytes exceeds the limit of " +
                           std::to_string(max_packet));
  }
  return out;
}

}  // namespace gw::osap::mqtt::detail
