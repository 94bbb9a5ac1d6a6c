// Fuzz target: DAS MQTT packet decoder and every packet decoder, server and client side, with
// encode/decode round trips for the packets that decode.
// Input: byte 0 picks the chunk size used to feed the decoder; the rest is the byte stream.
#include <cstdint>
#include <cstdlib>

#include "fuzz_util.h"

#include "osap/codec/mqtt.h"

using gw::Result;
using namespace gw::osap;
using namespace gw::osap::mqtt;

namespace {

Packet Redecode(const Result<Bytes>& enc) {
  FUZZ_ASSERT(enc.ok());
  auto p = DecodePacket(enc.value(), kMaxRemainingLength);
  FUZZ_ASSERT(p.ok());
  return p.value();
}

void Exercise(const Packet& p) {
  switch (p.type) {
    case PacketType::kConnect: {
      auto c = DecodeConnect(p);
      if (!c.ok()) return;
      auto again = DecodeConnect(Redecode(EncodeConnect(c.value(), c->will_topic_wire_len)));
      FUZZ_ASSERT(again.ok());
      FUZZ_ASSERT(again->client_id == c->client_id && again->username == c->username &&
                  again->password == c->password && again->keep_alive == c->keep_alive &&
                  again->clean_session == c->clean_session && again->will.has_value() == c->will.has_value());
      if (c->will) FUZZ_ASSERT(again->will->topic == c->will->topic && again->will->payload == c->will->payload);
      return;
    }
    case PacketType::kPublish: {
      auto m = DecodePublish(p);
      if (!m.ok()) return;
      auto again = DecodePublish(Redecode(EncodePublish(m.value(), kMaxRemainingLength)));
      FUZZ_ASSERT(again.ok());
      FUZZ_ASSERT(again->topic == m->topic && again->payload == m->payload && again->qos == m->qos &&
                  again->packet_id == m->packet_id && again->retain == m->retain && again->dup == m->dup);
      return;
    }
    case PacketType::kSubscribe: {
      auto m = DecodeSubscribe(p);
      if (!m.ok()) return;
      auto again = DecodeSubscribe(Redecode(EncodeSubscribe(m.value())));
      FUZZ_ASSERT(again.ok() && again->subscriptions.size() == m->subscriptions.size());
      return;
    }
    case PacketType::kUnsubscribe: {
      auto m = DecodeUnsubscribe(p);
      if (!m.ok()) return;
      auto again = DecodeUnsubscribe(Redecode(EncodeUnsubscribe(m.value())));
      FUZZ_ASSERT(again.ok() && again->filters == m->filters);
      return;
    }
    case PacketType::kSuback: {
      auto m = DecodeSuback(p);
      if (m.ok() && m->return_codes.size() < 1000) (void)EncodeSuback(m.value());
      return;
    }
    case PacketType::kConnack: {
      auto m = DecodeConnack(p);
      if (m.ok()) FUZZ_ASSERT(DecodeConnack(Redecode(EncodeConnack(m.value()))).ok());
      return;
    }
    case PacketType::kPuback: (void)DecodePuback(p); return;
    case PacketType::kUnsuback: (void)DecodeUnsuback(p); return;
    case PacketType::kPingreq:
    case PacketType::kPingresp:
    case PacketType::kDisconnect: (void)DecodeEmpty(p, p.type); return;
    default: return;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = static_cast<size_t>(data[0] % 16) + 1;
  ByteView in(data + 1, size - 1);
  PacketDecoder dec(kDefaultMaxInbound);
  for (size_t off = 0; off < in.size(); off += chunk) {
    dec.feed(in.subspan(off, std::min(chunk, in.size() - off)));
    while (true) {
      auto p = dec.next();
      if (!p.ok()) return 0;
      if (!p.value()) break;
      Exercise(*p.value());
    }
  }
  // Topic helpers on the raw bytes as a string.
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (IsValidTopicFilter(s) && IsValidTopicName(s)) FUZZ_ASSERT(TopicMatches(s, s));
  return 0;
}
