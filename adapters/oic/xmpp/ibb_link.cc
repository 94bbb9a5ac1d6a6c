#include "oic/xmpp/ibb_link.h"

#include <gloox/error.h>
#include <gloox/iq.h>
#include <gloox/message.h>
#include <openssl/rand.h>

#include "oic/xmpp/ibb_extension.h"

namespace gw::oic::xmpp {

namespace {

gloox::StanzaError to_gloox(ibb::Errc c) {
  switch (c) {
    case ibb::Errc::BadRequest: return gloox::StanzaErrorBadRequest;
    case ibb::Errc::ItemNotFound: return gloox::StanzaErrorItemNotFound;
    case ibb::Errc::NotAcceptable: return gloox::StanzaErrorNotAcceptable;
    case ibb::Errc::ResourceConstraint: return gloox::StanzaErrorResourceConstraint;
    case ibb::Errc::UnexpectedRequest: return gloox::StanzaErrorUnexpectedRequest;
    case ibb::Errc::PolicyViolation: return gloox::StanzaErrorResourceConstraint;  // gloox 1.0 lacks policy-violation
    case ibb::Errc::None: break;
  }
  return gloox::StanzaErrorUndefinedCondition;
}

gloox::StanzaErrorType error_type(ibb::Errc c) {
  return c == ibb::Errc::ResourceConstraint ? gloox::StanzaErrorTypeModify : gloox::StanzaErrorTypeCancel;
}

}  // namespace

IbbLink::IbbLink(gloox::ClientBase& client, ibb::Config cfg, Callbacks cb)
    : client_(client), engine_(cfg), cb_(std::move(cb)) {
  client_.registerStanzaExtension(new IbbExtension());
  client_.registerIqHandler(this, kExtIbb);
  client_.registerMessageHandler(this);
}

IbbLink::~IbbLink() {
  client_.removeIqHandler(this, kExtIbb);
  client_.removeIDHandler(this);
  client_.removeMessageHandler(this);
  client_.removeStanzaExtension(kExtIbb);
}

std::string IbbLink::new_sid() {
  unsigned char b[12];
  if (RAND_bytes(b, sizeof b) != 1) {
    // Extremely unlikely; fall back to gloox's stream-unique id generator.
    return "oic-" + client_.getID();
  }
  static const char* hex = "0123456789abcdef";
  std::string s = "oic-";
  for (unsigned char c : b) {
    s.push_back(hex[c >> 4]);
    s.push_back(hex[c & 15]);
  }
  return s;
}

gw::Result<void> IbbLink::open(const gloox::JID& peer, const std::string& sid, std::uint32_t block_size) {
  if (auto r = engine_.initiate(peer.full(), sid, block_size, ibb::StanzaType::Message); !r) return r;
  gloox::IQ iq(gloox::IQ::Set, peer, client_.getID());
  iq.addExtension(new IbbExtension(IbbExtension::make_open(sid, block_size, ibb::StanzaType::Message)));
  pending_opens_[iq.id()] = {peer, sid};
  client_.send(iq, this, kOpenCtx);
  return {};
}

gw::Result<void> IbbLink::send(const gloox::JID& peer, const std::string& sid, std::string_view payload) {
  auto blocks = engine_.send(peer.full(), sid, payload);
  if (!blocks) return blocks.error();
  for (auto& b : blocks.value()) {
    gloox::Message m(gloox::Message::Normal, peer);
    m.setID(client_.getID());
    m.addExtension(new IbbExtension(IbbExtension::make_data(b.sid, b.seq, b.data)));
    client_.send(m);
  }
  return {};
}

gw::Result<void> IbbLink::send_rest(const gloox::JID& peer, const std::string& sid, const RestMessage& m) {
  auto xml = encode_rest_xml(m);
  if (!xml) return xml.error();
  return send(peer, sid, xml.value());
}

gw::Result<void> IbbLink::close(const gloox::JID& peer, const std::string& sid) {
  if (auto r = engine_.close(peer.full(), sid); !r) return r;
  send_close(peer, sid);
  return {};
}

void IbbLink::drop_peer(const gloox::JID& peer) {
  (void)engine_.close_peer(peer.full());
  for (auto it = pending_opens_.begin(); it != pending_opens_.end();)
    it = it->second.first == peer ? pending_opens_.erase(it) : std::next(it);
}

void IbbLink::send_close(const gloox::JID& peer, const std::string& sid) {
  gloox::IQ iq(gloox::IQ::Set, peer, client_.getID());
  iq.addExtension(new IbbExtension(IbbExtension::make_close(sid)));
  client_.send(iq, this, kCloseCtx);
}

void IbbLink::reply_error(const gloox::IQ& iq, ibb::Errc c) {
  gloox::IQ re(gloox::IQ::Error, iq.from(), iq.id());
  re.addExtension(new gloox::Error(error_type(c), to_gloox(c)));
  client_.send(re);
}

void IbbLink::fail_session(const gloox::JID& peer, const std::string& sid, const gw::Error& e, bool send_close_to_peer) {
  if (send_close_to_peer) send_close(peer, sid);
  if (cb_.on_session_error) cb_.on_session_error(peer, sid, e);
}

void IbbLink::on_data(const gloox::JID& from, const IbbExtension& ext) {
  if (!ext.parse_error().empty()) {
    gw::Error e = make_error("ibb.bad-request: " + ext.parse_error());
    if (engine_.info(from.full(), ext.sid())) (void)engine_.close(from.full(), ext.sid());
    if (!ext.sid().empty()) fail_session(from, ext.sid(), e, true);
    return;
  }
  auto docs = engine_.on_data(from.full(), ext.sid(), ext.seq(), ext.data());
  if (!docs) {
    fail_session(from, ext.sid(), docs.error(), true);
    return;
  }
  if (cb_.on_document)
    for (auto& d : docs.value()) cb_.on_document(from, ext.sid(), std::move(d));
}

bool IbbLink::handleIq(const gloox::IQ& iq) {
  const auto* ext = iq.findExtension<IbbExtension>(kExtIbb);
  if (!ext || iq.subtype() != gloox::IQ::Set) return false;
  const gloox::JID& from = iq.from();
  if (!ext->parse_error().empty()) {
    reply_error(iq, ibb::Errc::BadRequest);
    return true;
  }
  switch (ext->kind()) {
    case IbbExtension::Kind::Open: {
      auto r = engine_.on_open(from.full(), ext->sid(), ext->block_size(), ext->stanza());
      if (r.ok() && cb_.accept_open && !cb_.accept_open(from, ext->sid(), ext->block_size())) {
        (void)engine_.close(from.full(), ext->sid());
        r = make_error("ibb.not-acceptable: refused by policy");
      }
      if (!r) {
        reply_error(iq, ibb::ibb_errc(r.error()));
        return true;
      }
      client_.send(gloox::IQ(gloox::IQ::Result, from, iq.id()));
      if (cb_.on_open) cb_.on_open(from, ext->sid(), false);
      return true;
    }
    case IbbExtension::Kind::Close: {
      auto r = engine_.on_close(from.full(), ext->sid());
      if (!r) {
        reply_error(iq, ibb::Errc::ItemNotFound);
        return true;
      }
      client_.send(gloox::IQ(gloox::IQ::Result, from, iq.id()));
      if (cb_.on_closed) cb_.on_closed(from, ext->sid(), r.value());
      return true;
    }
    case IbbExtension::Kind::Data: {
      // Data over IQ: only for sessions opened with stanza='iq' (the Engine refuses those unless
      // Config::accept_iq_stanza); acknowledged per XEP-0047.
      auto info = engine_.info(from.full(), ext->sid());
      if (info && info->stanza != ibb::StanzaType::Iq) {
        (void)engine_.close(from.full(), ext->sid());
        reply_error(iq, ibb::Errc::BadRequest);
        fail_session(from, ext->sid(), make_error("ibb.bad-request: data over iq on a stanza='message' session"), true);
        return true;
      }
      auto docs = engine_.on_data(from.full(), ext->sid(), ext->seq(), ext->data());
      if (!docs) {
        reply_error(iq, ibb::ibb_errc(docs.error()));
        if (ibb::ibb_errc(docs.error()) != ibb::Errc::ItemNotFound) fail_session(from, ext->sid(), docs.error(), true);
        return true;
      }
      client_.send(gloox::IQ(gloox::IQ::Result, from, iq.id()));
      if (cb_.on_document)
        for (auto& d : docs.value()) cb_.on_document(from, ext->sid(), std::move(d));
      return true;
    }
    case IbbExtension::Kind::Invalid:
      break;
  }
  return false;
}

void IbbLink::handleIqID(const gloox::IQ& iq, int context) {
  if (context != kOpenCtx) return;  // close acknowledgements need no action
  auto it = pending_opens_.find(iq.id());
  if (it == pending_opens_.end()) return;
  auto [peer, sid] = it->second;
  pending_opens_.erase(it);
  if (iq.subtype() == gloox::IQ::Result) {
    if (engine_.on_open_accepted(peer.full(), sid).ok() && cb_.on_open) cb_.on_open(peer, sid, true);
    return;
  }
  engine_.on_open_refused(peer.full(), sid);
  std::string cond = "undefined-condition";
  if (const gloox::Error* e = iq.error()) {
    switch (e->error()) {
      case gloox::StanzaErrorResourceConstraint: cond = "resource-constraint"; break;
      case gloox::StanzaErrorNotAcceptable: cond = "not-acceptable"; break;
      case gloox::StanzaErrorBadRequest: cond = "bad-request"; break;
      case gloox::StanzaErrorServiceUnavailable: cond = "service-unavailable"; break;
      case gloox::StanzaErrorFeatureNotImplemented: cond = "feature-not-implemented"; break;
      case gloox::StanzaErrorItemNotFound: cond = "item-not-found"; break;
      default: break;
    }
  }
  if (cb_.on_open_failed) cb_.on_open_failed(peer, sid, make_error("ibb.open-refused: " + cond));
}

void IbbLink::handleMessage(const gloox::Message& msg, gloox::MessageSession* /*session*/) {
  const auto* ext = msg.findExtension<IbbExtension>(kExtIbb);
  if (!ext || ext->kind() != IbbExtension::Kind::Data) return;
  if (msg.subtype() == gloox::Message::Error) {
    // Our data bounced (recipient gone): the stream is broken.
    if (engine_.close(msg.from().full(), ext->sid()).ok())
      fail_session(msg.from(), ext->sid(), make_error("ibb.item-not-found: data bounced by the server"), false);
    return;
  }
  on_data(msg.from(), *ext);
}

}  // namespace gw::oic::xmpp
