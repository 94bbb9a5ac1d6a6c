// Fuzz target: a byte stream interpreted as a sequence of IBB events driving one Engine:
//   op = byte % 6: 0 open, 1 data, 2 close, 3 local send, 4 initiate+accept, 5 close_peer
//   then: peer (byte % 3), sid (byte % 4), and per op: block-size (2 bytes), seq (2 bytes + a
//   "use expected seq" bit), data length (1 byte) + raw bytes (sent base64-encoded, or raw as
//   "base64" when the op byte's high bit is set).
// Invariants: no crash; every error is an ibb.* error; every completed document fits the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "oic/codec/base64.h"
#include "oic/codec/ibb.h"

using namespace gw::oic;
using namespace gw::oic::ibb;

namespace {
struct Reader {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
  std::string bytes(size_t k) {
    k = k < n ? k : n;
    std::string s(reinterpret_cast<const char*>(p), k);
    p += k;
    n -= k;
    return s;
  }
};
const char* kPeers[] = {"me@x/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC",
                        "me@x/OIC/1.0/oic.d.camera/0685B960-736F-46F7-BEC0-9E6CBD671ADC", "other@y/z"};
const char* kSids[] = {"s0", "s1", "s2", ""};

void check_err(const gw::Error& e) {
  if (ibb_errc(e) == Errc::None) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Config cfg;
  cfg.max_message_bytes = 4096;
  cfg.max_sessions = 8;
  cfg.max_sessions_per_peer = 3;
  cfg.accept_iq_stanza = (size & 1) != 0;
  Engine e(cfg);
  Reader r{data, size};
  while (!r.empty()) {
    uint8_t op = r.u8();
    std::string peer = kPeers[r.u8() % 3];
    std::string sid = kSids[r.u8() % 4];
    switch (op % 6) {
      case 0: {
        uint32_t bs = r.u16() + (op & 0x80 ? 1u : 0u);
        auto res = e.on_open(peer, sid, bs, (op & 0x40) ? StanzaType::Iq : StanzaType::Message);
        if (!res.ok()) check_err(res.error());
        break;
      }
      case 1: {
        uint16_t seq = r.u16();
        bool use_expected = (op & 0x40) != 0;
        std::string raw = r.bytes(r.u8());
        uint32_t s = seq;
        if (use_expected) {
          auto i = e.info(peer, sid);
          if (i) s = i->next_in_seq;
        }
        auto res = e.on_data(peer, sid, s, (op & 0x80) ? raw : base64_encode(raw));
        if (!res.ok()) {
          check_err(res.error());
          if (e.info(peer, sid)) std::abort();  // error => session gone
        } else {
          for (auto& d : res.value())
            if (d.size() > cfg.max_message_bytes || d.empty() || d.front() != '<' || d.back() != '>') std::abort();
        }
        break;
      }
      case 2: {
        auto res = e.on_close(peer, sid);
        if (!res.ok()) check_err(res.error());
        break;
      }
      case 3: {
        std::string payload = r.bytes(r.u8());
        auto before = e.info(peer, sid);
        auto res = e.send(peer, sid, payload);
        if (!res.ok()) {
          check_err(res.error());
        } else {
          std::string joined;
          for (auto& b : res.value()) {
            auto dec = base64_decode(b.data);
            if (!before || !dec.ok() || dec->size() > before->block_size) std::abort();
            joined += dec.value();
          }
          // Mirrored double wrapping: a peer that sent base64-of-base64 gets the same back.
          bool mirrored = cfg.mirror_base64_wrapping && before->incoming == Wrapping::Base64;
          if (joined != (mirrored ? base64_encode(payload) : payload)) std::abort();
        }
        break;
      }
      case 4: {
        uint32_t bs = r.u16();
        auto res = e.initiate(peer, sid, bs);
        if (!res.ok()) {
          check_err(res.error());
        } else if (op & 0x40) {
          e.on_open_refused(peer, sid);
        } else if (!e.on_open_accepted(peer, sid).ok()) {
          std::abort();
        }
        break;
      }
      case 5:
        (void)e.close_peer(peer);
        break;
    }
    if (e.session_count() > cfg.max_sessions) std::abort();
  }
  return 0;
}
