// Wires the transport-independent XEP-0047 Engine (oic/codec/ibb.h) to one gloox ClientBase:
// <open/> and <close/> as IQ-set, <data/> in <message/> stanzas (OIC RA v1.0 section 7.3.1).
//
// Threading: everything runs on the thread that calls client.recv() (the gateway drives gloox
// with connect(false) + recv(timeout) from its own loop); IbbLink never blocks and never spawns
// threads. Callbacks are invoked from inside recv(); they may call IbbLink::send()/close() (same
// thread, gloox send() is re-entrant there) but should hand heavy work to the owner's loop.
//
// Error policy (PROTOCOL.md "IBB"): an incoming <open/> that the Engine refuses is answered with
// the matching stanza error; a data error (gap, oversize, bad base64, broken framing, buffer
// limit) closes the session locally, sends <close/> to the peer and reports on_session_error.
// Data for an unknown sid is answered with <close/> for that sid (message data cannot carry an
// IQ error) and reported too.
#pragma once

#include <gloox/clientbase.h>
#include <gloox/iqhandler.h>
#include <gloox/jid.h>
#include <gloox/messagehandler.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "gw/result.h"
#include "oic/codec/ibb.h"
#include "oic/codec/rest.h"

namespace gw::oic::xmpp {

class IbbLink : public gloox::IqHandler, public gloox::MessageHandler {
 public:
  struct Callbacks {
    // A complete <rest> document (raw XML) arrived on (peer, sid).
    std::function<void(const gloox::JID& peer, const std::string& sid, std::string xml)> on_document;
    // A session became usable: our <open/> was accepted, or we accepted the peer's.
    std::function<void(const gloox::JID& peer, const std::string& sid, bool we_initiated)> on_open;
    // Our <open/> was refused (error text names the condition), or it timed out at the server.
    std::function<void(const gloox::JID& peer, const std::string& sid, const gw::Error& e)> on_open_failed;
    // The peer closed the session (discarded = bytes of an incomplete document).
    std::function<void(const gloox::JID& peer, const std::string& sid, std::size_t discarded)> on_closed;
    // The session was closed because of a protocol error (ibb.* error).
    std::function<void(const gloox::JID& peer, const std::string& sid, const gw::Error& e)> on_session_error;
    // Optional policy for incoming opens (after the Engine's own checks); false = not-acceptable.
    std::function<bool(const gloox::JID& peer, const std::string& sid, std::uint32_t block_size)> accept_open;
  };

  IbbLink(gloox::ClientBase& client, ibb::Config cfg, Callbacks cb);
  ~IbbLink() override;
  IbbLink(const IbbLink&) = delete;
  IbbLink& operator=(const IbbLink&) = delete;

  // Sends <open/> (stanza='message'); on_open or on_open_failed follows.
  gw::Result<void> open(const gloox::JID& peer, const std::string& sid,
                        std::uint32_t block_size = ibb::kMaxBlockSize);
  // Sends one payload as <data/> messages on an open session.
  gw::Result<void> send(const gloox::JID& peer, const std::string& sid, std::string_view payload);
  // encode_rest_xml(m) then send().
  gw::Result<void> send_rest(const gloox::JID& peer, const std::string& sid, const RestMessage& m);
  // Sends <close/> and forgets the session.
  gw::Result<void> close(const gloox::JID& peer, const std::string& sid);
  // Forgets every session with peer (e.g. it went unavailable); nothing is sent.
  void drop_peer(const gloox::JID& peer);

  // A fresh session id ("oic-" + random hex).
  std::string new_sid();

  const ibb::Engine& engine() const { return engine_; }

  // gloox::IqHandler / MessageHandler
  bool handleIq(const gloox::IQ& iq) override;
  void handleIqID(const gloox::IQ& iq, int context) override;
  void handleMessage(const gloox::Message& msg, gloox::MessageSession* session = nullptr) override;

 private:
  enum Context { kOpenCtx = 1, kCloseCtx = 2 };
  void reply_error(const gloox::IQ& iq, ibb::Errc c);
  void send_close(const gloox::JID& peer, const std::string& sid);
  void fail_session(const gloox::JID& peer, const std::string& sid, const gw::Error& e, bool send_close_to_peer);
  void on_data(const gloox::JID& from, const class IbbExtension& ext);

  gloox::ClientBase& client_;
  ibb::Engine engine_;
  Callbacks cb_;
  std::map<std::string, std::pair<gloox::JID, std::string>> pending_opens_;  // iq id -> (peer, sid)
};

}  // namespace gw::oic::xmpp
