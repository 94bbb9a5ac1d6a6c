#include "oic/codec/ibb.h"

#include "oic/codec/base64.h"
#include "oic/codec/text_util.h"

namespace gw::oic::ibb {

namespace {

gw::Error err(Errc c, const std::string& detail) {
  std::string m = "ibb.";
  m += errc_condition(c);
  m += ": ";
  m += detail;
  return make_error(std::move(m));
}

// XEP-0047: sid is an NMTOKEN-like opaque string; we accept 1..128 printable ASCII characters
// without white space and without XML-special characters.
bool valid_sid(std::string_view sid) {
  if (sid.empty() || sid.size() > kMaxSidLength) return false;
  for (unsigned char c : sid)
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '&' || c == '"' || c == '\'') return false;
  return true;
}

}  // namespace

std::string_view stanza_type_name(StanzaType t) { return t == StanzaType::Iq ? "iq" : "message"; }

std::optional<StanzaType> parse_stanza_type(std::string_view s) {
  if (s.empty() || s == "iq") return StanzaType::Iq;
  if (s == "message") return StanzaType::Message;
  return std::nullopt;
}

std::string_view errc_condition(Errc c) {
  switch (c) {
    case Errc::None: return "none";
    case Errc::BadRequest: return "bad-request";
    case Errc::ItemNotFound: return "item-not-found";
    case Errc::NotAcceptable: return "not-acceptable";
    case Errc::ResourceConstraint: return "resource-constraint";
    case Errc::UnexpectedRequest: return "unexpected-request";
    case Errc::PolicyViolation: return "policy-violation";
  }
  return "none";
}

Errc ibb_errc(const gw::Error& e) {
  std::string_view m = e.message;
  if (m.substr(0, 4) != "ibb.") return Errc::None;
  m.remove_prefix(4);
  for (Errc c : {Errc::BadRequest, Errc::ItemNotFound, Errc::NotAcceptable, Errc::ResourceConstraint,
                 Errc::UnexpectedRequest, Errc::PolicyViolation}) {
    auto n = errc_condition(c);
    if (m.size() > n.size() && m.substr(0, n.size()) == n && m[n.size()] == ':') return c;
  }
  return Errc::None;
}

std::vector<Block> split_blocks(std::string_view sid, std::string_view payload, std::uint32_t block_size,
                                std::uint16_t first_seq) {
  if (block_size == 0) block_size = 1;
  if (block_size > kMaxBlockSize) block_size = kMaxBlockSize;
  std::vector<Block> out;
  out.reserve(payload.size() / block_size + 1);
  std::uint16_t seq = first_seq;
  for (std::size_t off = 0; off < payload.size(); off += block_size) {
    Block b;
    b.sid.assign(sid);
    b.seq = seq;
    b.data = base64_encode(payload.substr(off, block_size));
    out.push_back(std::move(b));
    seq = static_cast<std::uint16_t>(seq + 1);  // 65535 -> 0
  }
  return out;
}

Engine::Session* Engine::find(std::string_view peer, std::string_view sid) {
  auto it = sessions_.find(Key{std::string(peer), std::string(sid)});
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<SessionInfo> Engine::info(std::string_view peer, std::string_view sid) const {
  auto it = sessions_.find(Key{std::string(peer), std::string(sid)});
  if (it == sessions_.end()) return std::nullopt;
  SessionInfo i = it->second.info;
  i.pending_bytes = it->second.framer.pending() + it->second.quad.size();
  return i;
}

std::size_t Engine::session_count(std::string_view peer) const {
  std::size_t n = 0;
  for (auto it = sessions_.lower_bound(Key{std::string(peer), std::string()});
       it != sessions_.end() && it->first.first == peer; ++it)
    ++n;
  return n;
}

gw::Result<void> Engine::check_new(std::string_view peer, std::string_view sid) const {
  if (peer.empty()) return err(Errc::BadRequest, "empty peer JID");
  if (!valid_sid(sid)) return err(Errc::BadRequest, "invalid sid '" + printable(sid) + "'");
  if (sessions_.count(Key{std::string(peer), std::string(sid)}))
    return err(Errc::NotAcceptable, "sid '" + std::string(sid) + "' already in use with " + printable(peer));
  if (sessions_.size() >= cfg_.max_sessions)
    return err(Errc::NotAcceptable, "session limit of " + std::to_string(cfg_.max_sessions) + " reached");
  if (session_count(peer) >= cfg_.max_sessions_per_peer)
    return err(Errc::NotAcceptable,
               "per-peer session limit of " + std::to_string(cfg_.max_sessions_per_peer) + " reached");
  return {};
}

gw::Result<void> Engine::on_open(std::string_view peer, std::string_view sid, std::uint32_t block_size,
                                 StanzaType stanza) {
  if (block_size == 0 || block_size > kMaxBlockSize)
    return err(Errc::BadRequest, "block-size " + std::to_string(block_size) + " outside 1..65535");
  if (block_size > cfg_.max_block_size)
    return err(Errc::ResourceConstraint, "block-size " + std::to_string(block_size) + " above our limit of " +
                                             std::to_string(cfg_.max_block_size));
  if (stanza == StanzaType::Iq && !cfg_.accept_iq_stanza)
    return err(Errc::NotAcceptable, "stanza='iq' refused: OIC RA uses stanza='message'");
  if (auto c = check_new(peer, sid); !c) return c;
  Session s{SessionInfo{}, XmlFramer(cfg_.max_message_bytes), std::string()};
  s.info.peer.assign(peer);
  s.info.sid.assign(sid);
  s.info.block_size = block_size;
  s.info.stanza = stanza;
  s.info.initiator = false;
  s.info.state = SessionState::Open;
  sessions_.emplace(Key{std::string(peer), std::string(sid)}, std::move(s));
  return {};
}

gw::Result<void> Engine::initiate(std::string_view peer, std::string_view sid, std::uint32_t block_size,
                                  StanzaType stanza) {
  if (block_size == 0 || block_size > kMaxBlockSize)
    return err(Errc::BadRequest, "block-size " + std::to_string(block_size) + " outside 1..65535");
  if (auto c = check_new(peer, sid); !c) return c;
  Session s{SessionInfo{}, XmlFramer(cfg_.max_message_bytes), std::string()};
  s.info.peer.assign(peer);
  s.info.sid.assign(sid);
  s.info.block_size = block_size;
  s.info.stanza = stanza;
  s.info.initiator = true;
  s.info.state = SessionState::Opening;
  sessions_.emplace(Key{std::string(peer), std::string(sid)}, std::move(s));
  return {};
}

gw::Result<void> Engine::on_open_accepted(std::string_view peer, std::string_view sid) {
  Session* s = find(peer, sid);
  if (!s) return err(Errc::ItemNotFound, "no session '" + printable(sid) + "' with " + printable(peer));
  if (!s->info.initiator || s->info.state != SessionState::Opening)
    return err(Errc::UnexpectedRequest, "session '" + printable(sid) + "' is not waiting for an open result");
  s->info.state = SessionState::Open;
  return {};
}

void Engine::on_open_refused(std::string_view peer, std::string_view sid) {
  auto it = sessions_.find(Key{std::string(peer), std::string(sid)});
  if (it != sessions_.end() && it->second.info.initiator && it->second.info.state == SessionState::Opening)
    sessions_.erase(it);
}

gw::Result<std::vector<std::string>> Engine::on_data(std::string_view peer, std::string_view sid,
                                                     std::uint32_t seq, std::string_view base64) {
  auto it = sessions_.find(Key{std::string(peer), std::string(sid)});
  if (it == sessions_.end())
    return err(Errc::ItemNotFound, "data for unknown session '" + printable(sid) + "' from " + printable(peer));
  Session& s = it->second;
  auto drop = [&](Errc c, const std::string& why) {
    sessions_.erase(it);
    return err(c, why + " (session '" + std::string(sid) + "' closed)");
  };
  if (s.info.state != SessionState::Open) return drop(Errc::UnexpectedRequest, "data before the open was accepted");
  if (seq > 0xFFFF) return drop(Errc::BadRequest, "seq " + std::to_string(seq) + " above 65535");
  if (seq != s.info.next_in_seq)
    return drop(Errc::UnexpectedRequest,
                "seq " + std::to_string(seq) + " where " + std::to_string(s.info.next_in_seq) + " was expected");
  // Reject before decoding: a canonical encoding of block_size bytes is at most this long.
  if (base64.size() > (static_cast<std::size_t>(s.info.block_size) + 2) / 3 * 4)
    return drop(Errc::BadRequest, "block of " + std::to_string(base64.size()) + " base64 characters exceeds block-size " +
                                      std::to_string(s.info.block_size));
  auto raw = base64_decode(base64);
  if (!raw) return drop(Errc::BadRequest, raw.error().message);
  if (raw->size() > s.info.block_size)
    return drop(Errc::BadRequest, "block of " + std::to_string(raw->size()) + " bytes exceeds block-size " +
                                      std::to_string(s.info.block_size));
  s.info.next_in_seq = static_cast<std::uint16_t>(seq + 1);  // 65535 -> 0
  auto docs = feed(s, raw.value());
  if (!docs) {
    Errc c = s.framer.overflowed() ? Errc::PolicyViolation : Errc::BadRequest;
    return drop(c, docs.error().message);
  }
  return std::move(docs.value());
}

gw::Result<std::vector<std::string>> Engine::feed(Session& s, std::string_view bytes) {
  if (s.info.incoming == Wrapping::Unknown) {
    std::size_t i = 0;
    while (i < bytes.size() && is_xml_space(bytes[i])) ++i;
    if (i == bytes.size()) return s.framer.feed(bytes);  // only white space so far
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    s.info.incoming = b64 ? Wrapping::Base64 : Wrapping::Plain;
  }
  if (s.info.incoming == Wrapping::Plain) return s.framer.feed(bytes);
  // Base64 text: decode quantum by quantum (white space ignored; '=' padding may end any quantum,
  // so separately encoded documents can follow each other) and frame the decoded bytes.
  std::vector<std::string> out;
  std::string decoded;
  for (char c : bytes) {
    if (is_xml_space(c)) continue;
    s.quad.push_back(c);
    if (s.quad.size() < 4) continue;
    auto q = base64_decode(s.quad);
    s.quad.clear();
    if (!q) return make_error("framing: base64-wrapped stream: " + q.error().message);
    decoded += q.value();
  }
  return s.framer.feed(decoded);
}

gw::Result<std::size_t> Engine::on_close(std::string_view peer, std::string_view sid) {
  auto it = sessions_.find(Key{std::string(peer), std::string(sid)});
  if (it == sessions_.end())
    return err(Errc::ItemNotFound, "close for unknown session '" + printable(sid) + "' from " + printable(peer));
  std::size_t pending = it->second.framer.pending() + it->second.quad.size();
  sessions_.erase(it);
  return pending;
}

gw::Result<std::vector<Block>> Engine::send(std::string_view peer, std::string_view sid, std::string_view payload) {
  Session* s = find(peer, sid);
  if (!s) return err(Errc::ItemNotFound, "no session '" + printable(sid) + "' with " + printable(peer));
  if (s->info.state != SessionState::Open)
    return err(Errc::UnexpectedRequest, "session '" + printable(sid) + "' is not open yet");
  std::vector<Block> blocks;
  if (cfg_.mirror_base64_wrapping && s->info.incoming == Wrapping::Base64)
    blocks = split_blocks(sid, base64_encode(payload), s->info.block_size, s->info.next_out_seq);
  else
    blocks = split_blocks(sid, payload, s->info.block_size, s->info.next_out_seq);
  s->info.next_out_seq = static_cast<std::uint16_t>(s->info.next_out_seq + blocks.size());
  return blocks;
}

gw::Result<void> Engine::close(std::string_view peer, std::string_view sid) {
  auto it = sessions_.find(Key{std::string(peer), std::string(sid)});
  if (it == sessions_.end()) return err(Errc::ItemNotFound, "no session '" + printable(sid) + "' with " + printable(peer));
  sessions_.erase(it);
  return {};
}

std::vector<std::string> Engine::close_peer(std::string_view peer) {
  std::vector<std::string> sids;
  auto it = sessions_.lower_bound(Key{std::string(peer), std::string()});
  while (it != sessions_.end() && it->first.first == peer) {
    sids.push_back(it->first.second);
    it = sessions_.erase(it);
  }
  return sids;
}

}  // namespace gw::oic::ibb
