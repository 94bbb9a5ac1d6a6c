// Fixed header, strings and topics, and the bodiless packets.
#include "osap/codec/mqtt.h"
#include "osap/codec/mqtt_wire.h"

namespace gw::osap::mqtt {
using detail::Err;

const char* PacketTypeName(PacketType t) {
  switch (t) {
    case PacketType::kConnect: return "CONNECT";
    case PacketType::kConnack: return "CONNACK";
    case PacketType::kPublish: return "PUBLISH";
    case PacketType::kPuback: return "PUBACK";
    case PacketType::kPubrec: return "PUBREC";
    case PacketType::kPubrel: return "PUBREL";
    case PacketType::kPubcomp: return "PUBCOMP";
    case PacketType::kSubscribe: return "SUBSCRIBE";
    case PacketType::kSuback: return "SUBACK";
    case PacketType::kUnsubscribe: return "UNSUBSCRIBE";
    case PacketType::kUnsuback: return "UNSUBACK";
    case PacketType::kPingreq: return "PINGREQ";
    case PacketType::kPingresp: return "PINGRESP";
    case PacketType::kDisconnect: return "DISCONNECT";
  }
  return "reserved";
}

Result<std::optional<Packet>> PacketDecoder::next() {
  auto raw = asm_.next();
  if (!raw) return raw.error();
  if (!raw.value()) return std::optional<Packet>{};
  uint8_t type = raw.value()->first_byte >> 4;
  uint8_t flags = raw.value()->first_byte & 0x0F;
  if (type == 0 || type == 15) {
    return make_error("mqtt packet: reserved packet type " + std::to_string(type));
  }
  auto t = static_cast<PacketType>(type);
  if (t == PacketType::kPublish) {
    if (((flags >> 1) & 3) == 3) return make_error("mqtt PUBLISH: QoS 3 is malformed");
  } else {
    uint8_t want = (t == PacketType::kPubrel || t == PacketType::kSubscribe ||
                    t == PacketType::kUnsubscribe)
                       ? 0x2
                       : 0x0;
    if (flags != want) {
      return make_error(std::string("mqtt ") + PacketTypeName(t) + ": fixed-header flags " +
                        std::to_string(flags) + ", expected " + std::to_string(want));
    }
  }
  Packet p;
  p.type = t;
  p.flags = flags;
  p.body = std::move(raw.value()->payload);
  return std::optional<Packet>{std::move(p)};
}

Result<Packet> DecodePacket(ByteView bytes, size_t max_packet) {
  PacketDecoder d(max_packet);
  d.feed(bytes);
  auto p = d.next();
  if (!p) return p.error();
  if (!p.value()) return make_error("mqtt packet: truncated");
  if (d.buffered() != 0) {
    return make_error("mqtt packet: " + std::to_string(d.buffered()) + " bytes after the packet");
  }
  return std::move(*p.value());
}

bool IsValidMqttUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values above U+10FFFF are ill-formed.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += n + 1;
  }
  return true;
}

std::vector<std::string_view> SplitTopicLevels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool IsValidTopicName(std::string_view s) {
  return !s.empty() && s.size() <= 0xFFFF && s.find_first_of("+#") == std::string_view::npos &&
         IsValidMqttUtf8(s);
}

bool IsValidTopicFilter(std::string_view s) {
  if (s.empty() || s.size() > 0xFFFF || !IsValidMqttUtf8(s)) return false;
  auto levels = SplitTopicLevels(s);
  for (size_t i = 0; i < levels.size(); ++i) {
    std::string_view l = levels[i];
    if (l.find_first_of("+#") == std::string_view::npos) continue;
    if (l.size() != 1) return false;                      // wildcard must be the whole level
    if (l == "#" && i + 1 != levels.size()) return false;  // '#' only last
  }
  return true;
}


bool TopicMatches(std::string_view filter, std::string_view name) {
  auto fl = SplitTopicLevels(filter), nl = SplitTopicLevels(name);
  for (size_t i = 0; i < fl.size(); ++i) {
    if (fl[i] == "#") return true;  // also matches the parent level ("a/#" matches "a")
    if (i >= nl.size()) return false;
    if (fl[i] != "+" && fl[i] != nl[i]) return false;
  }
  return fl.size() == nl.size();
}

Bytes EncodePingreq() { return {0xC0, 0x00}; }
Bytes EncodePingresp() { return {0xD0, 0x00}; }
Bytes EncodeDisconnect() { return {0xE0, 0x00}; }

Result<void> DecodeEmpty(const Packet& p, PacketType expected) {
  if (auto r = detail::ExpectType(p, expected); !r) return r;
  if (!p.body.empty()) {
    return Err(PacketTypeName(expected), "remaining length " + std::to_string(p.body.size()) +
                                             ", expected 0");
  }
  return {};
}

}  // namespace gw::osap::mqtt
