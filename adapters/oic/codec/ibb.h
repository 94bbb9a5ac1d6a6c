// XEP-0047 In-Band Bytestreams as OIC RA v1.0 section 7.3.1 uses them, independent of any XMPP
// library: the session table, block-size negotiation, seq numbering (16-bit, 65535 wraps to 0),
// base64 blocks, and reassembly of the byte stream into complete <rest> documents (XmlFramer).
//
// One Engine serves one XMPP connection. Sessions are keyed by (peer full JID, sid); a peer may
// hold several. Sessions are bidirectional (XEP-0047 section 3): each has an incoming and an
// outgoing seq counter. Every error result is prefixed "ibb.<xmpp-condition>: " (ibb_errc() maps
// it back); an error from on_data() means the session has been removed and the transport must
// send <close/> to the peer. Nothing here throws or blocks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gw/result.h"
#include "oic/codec/xml_framer.h"

namespace gw::oic::ibb {

inline constexpr std::string_view kNs = "http://jabber.org/protocol/ibb";
inline constexpr std::uint32_t kMaxBlockSize = 65535;  // XEP-0047 and OIC RA: block-size <= 65535
inline constexpr std::size_t kMaxSidLength = 128;

enum class StanzaType { Iq, Message };
std::string_view stanza_type_name(StanzaType t);  // "iq" / "message"
// "iq", "message"; an absent attribute means "iq" (XEP-0047 default): pass "".
std::optional<StanzaType> parse_stanza_type(std::string_view s);

// The XMPP stanza error condition that goes with an error (RFC 6120 section 8.3.3).
enum class Errc {
  None,                // not an ibb.* error
  BadRequest,          // malformed open/data, bad base64, oversize block, broken framing
  ItemNotFound,        // unknown (peer, sid)
  NotAcceptable,       // open refused: duplicate sid, stanza="iq" not allowed, too many sessions
  ResourceConstraint,  // open refused: block-size above our limit (the initiator may retry smaller)
  UnexpectedRequest,   // seq out of order / reused, data before the open was accepted
  PolicyViolation,     // reassembly buffer over the configured limit
};
Errc ibb_errc(const gw::Error& e);
std::string_view errc_condition(Errc c);  // "bad-request", "item-not-found", ...

struct Config {
  std::uint32_t max_block_size = kMaxBlockSize;  // largest block-size accepted in an incoming <open/>
  std::size_t max_message_bytes = 1 << 20;       // pending bytes of one incomplete <rest> document
  std::size_t max_sessions = 256;                // all peers together
  std::size_t max_sessions_per_peer = 32;
  bool accept_iq_stanza = false;                 // OIC RA mandates stanza="message"
  // A peer whose byte stream is itself base64 text (the <rest> documents base64-encoded once more
  // before IBB's own base64; PROTOCOL.md §3.0) gets its answers wrapped the same way.
  bool mirror_base64_wrapping = true;
};

// How a peer's byte stream carries the <rest> documents, detected from its first non-white-space
// byte: '<' = plain XML (what the gateway sends), a base64 character = base64 text of the XML.
enum class Wrapping { Unknown, Plain, Base64 };

// One <data/> element to send.
struct Block {
  std::string sid;
  std::uint16_t seq = 0;
  std::string data;  // base64 (RFC 4648 section 4, padded, no white space)
};

// Splits `payload` into blocks of at most `block_size` raw bytes (before base64), numbering them
// from `first_seq` with 65535 -> 0 wrap. An empty payload yields no blocks. block_size must be
// 1..65535 (clamped).
std::vector<Block> split_blocks(std::string_view sid, std::string_view payload, std::uint32_t block_size,
                                std::uint16_t first_seq);

enum class SessionState { Opening, Open };

struct SessionInfo {
  std::string peer;
  std::string sid;
  std::uint32_t block_size = 0;
  StanzaType stanza = StanzaType::Message;
  bool initiator = false;  // we sent the <open/>
  SessionState state = SessionState::Opening;
  std::uint16_t next_in_seq = 0;
  std::uint16_t next_out_seq = 0;
  std::size_t pending_bytes = 0;
  Wrapping incoming = Wrapping::Unknown;
};

class Engine {
 public:
  explicit Engine(Config cfg = {}) : cfg_(cfg) {}

  const Config& config() const { return cfg_; }

  // --- Responder side -------------------------------------------------------------------------
  // An incoming <open sid block-size stanza>. OK: the session is Open, answer with an IQ result.
  // Error: answer with the error condition; no session exists.
  gw::Result<void> on_open(std::string_view peer, std::string_view sid, std::uint32_t block_size,
                           StanzaType stanza);

  // --- Initiator side -------------------------------------------------------------------------
  // Registers an outgoing open (state Opening); the caller sends the <open/> IQ.
  gw::Result<void> initiate(std::string_view peer, std::string_view sid, std::uint32_t block_size,
                            StanzaType stanza = StanzaType::Message);
  // The IQ result for our <open/> arrived: Opening -> Open.
  gw::Result<void> on_open_accepted(std::string_view peer, std::string_view sid);
  // The IQ error for our <open/> arrived: the session is forgotten.
  void on_open_refused(std::string_view peer, std::string_view sid);

  // --- Both sides -----------------------------------------------------------------------------
  // An incoming <data seq sid>base64</data>. Returns the <rest> documents (raw XML bytes) this
  // block completed, in order. On error the session (if any) is removed.
  gw::Result<std::vector<std::string>> on_data(std::string_view peer, std::string_view sid, std::uint32_t seq,
                                               std::string_view base64);
  // An incoming <close sid>: the session is removed. Returns how many bytes of an incomplete
  // document were discarded (0 normally). Error ItemNotFound for an unknown session.
  gw::Result<std::size_t> on_close(std::string_view peer, std::string_view sid);

  // Blocks for one payload (a complete encoded <rest> document) on an Open session; advances the
  // outgoing seq. The caller sends each block as <data/> in order.
  gw::Result<std::vector<Block>> send(std::string_view peer, std::string_view sid, std::string_view payload);

  // Local close (the caller sends <close/>). Error ItemNotFound for an unknown session.
  gw::Result<void> close(std::string_view peer, std::string_view sid);
  // Drops every session with `peer` (e.g. it went unavailable); returns their sids.
  std::vector<std::string> close_peer(std::string_view peer);

  std::optional<SessionInfo> info(std::string_view peer, std::string_view sid) const;
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t session_count(std::string_view peer) const;

 private:
  struct Session {
    SessionInfo info;
    XmlFramer framer;
    std::string quad;  // Base64 wrapping: characters of an incomplete 4-character quantum
  };
  gw::Result<std::vector<std::string>> feed(Session& s, std::string_view bytes);
  using Key = std::pair<std::string, std::string>;
  gw::Result<void> check_new(std::string_view peer, std::string_view sid) const;
  Session* find(std::string_view peer, std::string_view sid);

  Config cfg_;
  std::map<Key, Session> sessions_;
};

}  // namespace gw::oic::ibb
