#include "oic_adapter.h"

#include <gloox/error.h>
#include <gloox/iq.h>
#include <gloox/presence.h>
#include <gloox/tag.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gw/status.h"
#include "gw/value.h"
#include "oic/codec/base64.h"
#include "oic/codec/status.h"
#include "coap_server.h"
#include "oic/xmpp/client_setup.h"

namespace gw::oic::adapter {

using J = nlohmann::ordered_json;

namespace {

constexpr int kExtRoster = gloox::ExtUser + 48;
constexpr int kRosterCtx = 1;

// <query xmlns='jabber:iq:roster'/>: the roster get of RFC 6121 §2.2 (gloox's RosterManager is
// disabled: it keeps every resource's presence of the account per client, which is quadratic when
// thousands of devices share one account).
class RosterQuery : public gloox::StanzaExtension {
 public:
  RosterQuery() : StanzaExtension(kExtRoster) {}
  explicit RosterQuery(const gloox::Tag* t) : StanzaExtension(kExtRoster) {
    if (t) items_ = t->findChildren("item").size();
  }
  const std::string& filterString() const override {
    static const std::string f = "/iq/query[@xmlns='jabber:iq:roster']";
    return f;
  }
  gloox::StanzaExtension* newInstance(const gloox::Tag* t) const override { return new RosterQuery(t); }
  gloox::Tag* tag() const override { return new gloox::Tag("query", "xmlns", "jabber:iq:roster"); }
  gloox::StanzaExtension* clone() const override { return new RosterQuery(*this); }
  size_t items() const { return items_; }

 private:
  size_t items_ = 0;
};

std::string conn_error_text(gloox::ConnectionError e) {
  switch (e) {
    case gloox::ConnNoError: return "no error";
    case gloox::ConnStreamError: return "stream error";
    case gloox::ConnStreamVersionError: return "stream version error";
    case gloox::ConnStreamClosed: return "stream closed by the server";
    case gloox::ConnProxyAuthRequired: return "proxy authentication required";
    case gloox::ConnProxyAuthFailed: return "proxy authentication failed";
    case gloox::ConnProxyNoSupportedAuth: return "proxy: no supported authentication";
    case gloox::ConnIoError: return "I/O error";
    case gloox::ConnParseError: return "XML parse error";
    case gloox::ConnConnectionRefused: return "connection refused";
    case gloox::ConnDnsError: return "DNS error";
    case gloox::ConnOutOfMemory: return "out of memory";
    case gloox::ConnNoSupportedAuth: return "no supported SASL mechanism (SCRAM-SHA-1 required)";
    case gloox::ConnTlsFailed: return "TLS failed (certificate not trusted or handshake error)";
    case gloox::ConnTlsNotAvailable: return "TLS not offered by the server";
    case gloox::ConnCompressionFailed: return "compression failed";
    case gloox::ConnAuthenticationFailed: return "authentication failed";
    case gloox::ConnUserDisconnected: return "disconnected";
    case gloox::ConnNotConnected: return "not connected";
  }
  return "connection error " + std::to_string(static_cast<int>(e));
}

std::string path_of(const RestMessage& m) { return m.url.path.empty() ? "/" : m.url.path; }

uint64_t rand64() {
  uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) v = 0x9e3779b97f4a7c15ull;
  return v;
}

// A name-based UUID (RFC 4122 §4.3, SHA-1, version 5) in the DNS namespace: stable per instance.
std::string uuid_v5(const std::string& name) {
  static const unsigned char ns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                       0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  std::string in(reinterpret_cast<const char*>(ns), 16);
  in += name;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(in.data(), in.size(), md, &n, EVP_sha1(), nullptr);
  md[6] = static_cast<unsigned char>((md[6] & 0x0F) | 0x50);
  md[8] = static_cast<unsigned char>((md[8] & 0x3F) | 0x80);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

}  // namespace

const char* link_state_name(LinkState s) {
  switch (s) {
    case LinkState::Idle: return "idle";
    case LinkState::Queued: return "queued";
    case LinkState::Connecting: return "connecting";
    case LinkState::Online: return "online";
    case LinkState::Backoff: return "backoff";
    case LinkState::Stopped: return "stopped";
  }
  return "?";
}

// ================================================================================================
// DeviceLink
// ================================================================================================

DeviceLink::DeviceLink(OicAdapter& a, v1::Device rec, DeviceResources res, OicJid jid)
    : a_(a), rec_(std::move(rec)), res_(std::move(res)), jid_(std::move(jid)), reachable_(rec_.online()) {}

DeviceLink::~DeviceLink() {
  cancel_timers();
  a_.forget_login(this);
  teardown();
}

void DeviceLink::cancel_timers() {
  for (uint64_t* t : {&reconnect_timer_, &login_timer_, &ping_timer_, &ping_timeout_timer_, &kick_timer_})
    if (*t) {
      a_.host().cancel(*t);
      *t = 0;
    }
  ping_outstanding_ = false;
}

void DeviceLink::teardown() {
  clear_sessions();
  link_.reset();
  if (client_) {
    client_->removeConnectionListener(this);
    client_->removePresenceHandler(this);
    client_->removeIqHandler(this, kExtRoster);
    client_->removeIDHandler(this);
  }
  client_.reset();  // deletes the LoopConnection, which unwatches and closes its fd
  conn_ = nullptr;
  fd_unwatch();
}

void DeviceLink::clear_sessions() {
  sessions_.clear();  // pending transactions find no session and are dropped
}

void DeviceLink::start() {
  if (state_ == LinkState::Stopped) return;
  state_ = LinkState::Queued;
  a_.request_login(this);
}

void DeviceLink::begin_login() {
  if (state_ != LinkState::Queued) return;
  teardown();
  std::string err;
  auto addr = a_.server_address(err);
  if (!addr) {
    state_ = LinkState::Connecting;  // fail() expects a login in progress
    logging_in_ = true;
    fail(err);
    return;
  }
  const Account& acc = a_.account();
  state_ = LinkState::Connecting;
  logging_in_ = true;
  ++logins_;
  bind_mismatch_ = false;
  roster_received_ = false;
  client_ = std::make_unique<gloox::Client>(gloox::JID(jid_.full()), acc.password, static_cast<int>(acc.port));
  client_->setServer(acc.connect_host());
  client_->disableRoster();
  xmpp::ClientSecurity sec;
  sec.ca_files.assign(a_.config().ca_file().begin(), a_.config().ca_file().end());
  sec.server_name = acc.domain;
  sec.drop_available_presence = true;  // handlePresence() acts on unavailable only; O(N²) at login
  std::string tls_error;
  if (!xmpp::apply_client_security(*client_, sec, &tls_error)) {
    fail("cannot initialise TLS: " + tls_error);
    return;
  }
  client_->registerConnectionListener(this);
  client_->registerPresenceHandler(this);
  client_->registerStanzaExtension(new RosterQuery());
  client_->registerIqHandler(this, kExtRoster);
  conn_ = new LoopConnection(client_.get(), client_->logInstance(), addr->first, addr->second, this);
  client_->setConnectionImpl(conn_);
  client_->setPresence(reachable_ ? gloox::Presence::Available : gloox::Presence::Unavailable,
                       a_.config().priority());
  xmpp::IbbLink::Callbacks cb;
  cb.on_open = [this](const gloox::JID& peer, const std::string& sid, bool) { sessions_[{peer.full(), sid}]; };
  cb.on_closed = [this](const gloox::JID& peer, const std::string& sid, std::size_t) {
    sessions_.erase({peer.full(), sid});
  };
  cb.on_session_error = [this](const gloox::JID& peer, const std::string& sid, const gw::Error& e) {
    sessions_.erase({peer.full(), sid});
    a_.log(GW_LOG_DEBUG, "device " + rec_.uuid() + ": IBB session " + sid + " with " + peer.full() +
                             " closed: " + e.message);
  };
  cb.on_document = [this](const gloox::JID& peer, const std::string& sid, std::string xml) {
    on_document(peer, sid, std::move(xml));
  };
  link_ = std::make_unique<xmpp::IbbLink>(*client_, ibb::Config{}, std::move(cb));
  login_timer_ = a_.host().timer(a_.config().login_timeout_ms(), 0, &DeviceLink::on_login_timeout, this);
  if (!client_->connect(false)) fail("cannot connect to " + acc.connect_host() + ":" + std::to_string(acc.port));
}

void DeviceLink::restart(OicJid jid) {
  jid_ = std::move(jid);
  cancel_timers();
  if (client_ && state_ == LinkState::Online) {
    state_ = LinkState::Idle;  // onDisconnect ignores a user disconnect in this state
    client_->disconnect();
  }
  a_.forget_login(this);
  logging_in_ = false;
  teardown();
  attempts_ = 0;
  error_.clear();
  state_ = LinkState::Idle;
  start();
}

void DeviceLink::shutdown() {
  cancel_timers();
  a_.forget_login(this);
  logging_in_ = false;
  LinkState was = state_;
  state_ = LinkState::Stopped;
  if (client_ && was == LinkState::Online) {
    client_->setPresence(gloox::Presence::Unavailable, a_.config().priority());
    client_->disconnect();
  }
  teardown();
}

void DeviceLink::fail(const std::string& reason) {
  if (state_ == LinkState::Stopped || state_ == LinkState::Idle) return;
  error_ = reason;
  if (logging_in_) {
    logging_in_ = false;
    a_.login_finished(this);
  }
  for (uint64_t* t : {&login_timer_, &ping_timer_, &ping_timeout_timer_, &kick_timer_, &reconnect_timer_})
    if (*t) {
      a_.host().cancel(*t);
      *t = 0;
    }
  ping_outstanding_ = false;
  clear_sessions();
  state_ = LinkState::Backoff;
  uint64_t delay = a_.backoff_ms(attempts_++);
  a_.log(GW_LOG_WARN, "device " + rec_.uuid() + " (" + jid_.resource() + "): " + reason + "; reconnecting in " +
                          std::to_string(delay) + " ms");
  reconnect_timer_ = a_.host().timer(delay, 0, &DeviceLink::on_reconnect_timer, this);
}

void DeviceLink::on_reconnect_timer(void* self) {
  auto* d = static_cast<DeviceLink*>(self);
  d->reconnect_timer_ = 0;
  d->teardown();
  d->start();
}

void DeviceLink::on_login_timeout(void* self) {
  auto* d = static_cast<DeviceLink*>(self);
  d->login_timer_ = 0;
  if (d->state_ == LinkState::Connecting) d->kick("login did not complete in time");
}

void DeviceLink::kick(const std::string& reason) {
  kick_reason_ = reason;
  if (client_) client_->disconnect();  // onDisconnect -> fail(kick_reason_)
  if (state_ == LinkState::Connecting || state_ == LinkState::Online) fail(reason);
  kick_reason_.clear();
}

void DeviceLink::on_deferred_disconnect(void* self) {
  auto* d = static_cast<DeviceLink*>(self);
  d->kick_timer_ = 0;
  d->kick("the server bound resource \"" + (d->client_ ? d->client_->resource() : std::string()) +
          "\" instead of \"" + d->jid_.resource() + "\" (OIC RA §7.2)");
}

void DeviceLink::on_ping_timer(void* self) {
  auto* d = static_cast<DeviceLink*>(self);
  if (d->state_ != LinkState::Online || !d->client_ || d->ping_outstanding_) return;
  d->ping_outstanding_ = true;
  d->client_->xmppPing(gloox::JID(d->a_.account().domain), d);
  d->ping_timeout_timer_ = d->a_.host().timer(d->a_.config().ping_timeout_ms(), 0, &DeviceLink::on_ping_timeout, d);
}

void DeviceLink::on_ping_timeout(void* self) {
  auto* d = static_cast<DeviceLink*>(self);
  d->ping_timeout_timer_ = 0;
  if (d->ping_outstanding_) d->kick("no answer to XEP-0199 ping within " +
                                    std::to_string(d->a_.config().ping_timeout_ms()) + " ms");
}

void DeviceLink::handleEvent(const gloox::Event& event) {
  if (event.eventType() != gloox::Event::PingPong && event.eventType() != gloox::Event::PingError) return;
  ping_outstanding_ = false;
  if (ping_timeout_timer_) {
    a_.host().cancel(ping_timeout_timer_);
    ping_timeout_timer_ = 0;
  }
}

void DeviceLink::fd_watch(int fd, bool read, bool write) {
  uint32_t ev = (read ? static_cast<uint32_t>(GW_FD_READ) : 0u) | (write ? static_cast<uint32_t>(GW_FD_WRITE) : 0u);
  if (watch_id_ && watched_fd_ == fd) {
    a_.host().update_fd(watch_id_, ev);
    return;
  }
  fd_unwatch();
  watch_id_ = a_.host().watch_fd(fd, ev, &DeviceLink::on_fd, this);
  watched_fd_ = fd;
}

void DeviceLink::fd_unwatch() {
  if (watch_id_) a_.host().unwatch_fd(watch_id_);
  watch_id_ = 0;
  watched_fd_ = -1;
}

void DeviceLink::on_fd(void* self, int /*fd*/, uint32_t events) {
  auto* d = static_cast<DeviceLink*>(self);
  if (!d->conn_) return;
  d->conn_->on_ready((events & (static_cast<uint32_t>(GW_FD_READ) | GW_FD_ERROR)) != 0,
                    (events & (static_cast<uint32_t>(GW_FD_WRITE) | GW_FD_ERROR)) != 0);
}

bool DeviceLink::onTLSConnect(const gloox::CertInfo& info) {
  if (info.status == gloox::CertOk) return true;
  error_ = "server certificate not trusted for \"" + a_.account().domain + "\" (gloox status " +
           std::to_string(info.status) + ")";
  kick_reason_ = error_;
  return false;
}

void DeviceLink::onResourceBind(const std::string& resource) {
  if (resource == jid_.resource()) return;
  // OIC RA §7.2: the RAE disconnects when the server changes the offered resource. gloox cannot be
  // disconnected from inside its own parser, so: no presence now, disconnect from a timer.
  bind_mismatch_ = true;
  client_->presence().setPresence(gloox::Presence::Unavailable);
  if (!kick_timer_) kick_timer_ = a_.host().timer(0, 0, &DeviceLink::on_deferred_disconnect, this);
}

void DeviceLink::onConnect() {
  if (bind_mismatch_) return;
  if (login_timer_) {
    a_.host().cancel(login_timer_);
    login_timer_ = 0;
  }
  state_ = LinkState::Online;
  attempts_ = 0;
  error_.clear();
  connected_at_ = a_.host().now_ms();
  if (logging_in_) {
    logging_in_ = false;
    a_.login_finished(this);
  }
  // Roster retrieval (RFC 6121 §2.2, OIC RA §7.3); presence was sent by gloox on session start.
  gloox::IQ iq(gloox::IQ::Get, gloox::JID(), client_->getID());
  iq.addExtension(new RosterQuery());
  client_->send(iq, this, kRosterCtx);
  uint32_t interval = a_.config().ping_interval_ms();
  if (interval) {
    uint64_t first = interval / 2 + rand64() % (interval / 2 + 1);  // spread the pings of many devices
    ping_timer_ = a_.host().timer(first, interval, &DeviceLink::on_ping_timer, this);
  }
  a_.log(GW_LOG_INFO, "device " + rec_.uuid() + " online as " + jid_.full() +
                          (reachable_ ? " (available)" : " (unavailable: device not reachable)"));
}

void DeviceLink::onDisconnect(gloox::ConnectionError e) {
  if (state_ == LinkState::Stopped || state_ == LinkState::Idle) return;
  std::string reason = !kick_reason_.empty() ? kick_reason_ : conn_error_text(e);
  if (e == gloox::ConnAuthenticationFailed && client_) reason += " (SASL error " + std::to_string(client_->authError()) + ")";
  if (e == gloox::ConnTlsFailed && !error_.empty() && kick_reason_.empty()) reason = error_;
  fail(reason);
}

bool DeviceLink::handleIq(const gloox::IQ& iq) {
  // Roster push (RFC 6121 §2.1.6): acknowledge.
  if (iq.subtype() == gloox::IQ::Set && client_) {
    if (!iq.from() || iq.from().bare() == client_->jid().bare())
      client_->send(gloox::IQ(gloox::IQ::Result, iq.from(), iq.id()));
    return true;
  }
  return false;
}

void DeviceLink::handleIqID(const gloox::IQ& iq, int context) {
  if (context == kRosterCtx && iq.subtype() == gloox::IQ::Result) roster_received_ = true;
}

void DeviceLink::handlePresence(const gloox::Presence& p) {
  if (p.subtype() != gloox::Presence::Unavailable || !client_) return;
  if (p.from() == client_->jid()) return;
  peer_gone(p.from());
}

void DeviceLink::peer_gone(const gloox::JID& peer) {
  if (link_) link_->drop_peer(peer);
  std::string full = peer.full();
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = it->first.first == full ? sessions_.erase(it) : std::next(it);
}

void DeviceLink::set_reachable(bool on) {
  if (on == reachable_) return;
  reachable_ = on;
  rec_.set_online(on);
  if (client_ && state_ == LinkState::Online) {
    client_->setPresence(on ? gloox::Presence::Available : gloox::Presence::Unavailable, a_.config().priority());
    a_.log(GW_LOG_INFO, "device " + rec_.uuid() + (on ? " reachable: presence available" : " not reachable: presence unavailable"));
  } else if (client_) {
    client_->presence().setPresence(on ? gloox::Presence::Available : gloox::Presence::Unavailable);
  }
}

// --- CRUDN ---------------------------------------------------------------------------------------

std::shared_ptr<Txn> DeviceLink::new_txn(const gloox::JID& peer, const std::string& sid, IbbSession& s,
                                         const RestMessage& m) {
  auto t = std::make_shared<Txn>();
  t->uuid = rec_.uuid();
  t->peer = peer.full();
  t->sid = sid;
  t->method = m.method;
  t->href = path_of(m);
  s.fifo.push_back(t);
  return t;
}

void DeviceLink::answer(const std::shared_ptr<Txn>& t, int code, J body) {
  t->resp = RestMessage::response(code);
  t->resp.headers = {{"Content-Type", "application/json"}};
  if (!body.is_null()) t->resp.body = std::move(body);
  t->done = true;
  deliver_txn(t);
}

void DeviceLink::deliver_txn(const std::shared_ptr<Txn>& t) {
  if (t->done_cb) {
    auto cb = std::move(t->done_cb);
    t->done_cb = nullptr;
    cb(t);
    return;
  }
  flush({t->peer, t->sid});
}

void DeviceLink::complete(const std::shared_ptr<Txn>& t) {
  if (t->observe_failed) {  // a registration whose first retrieval failed is not registered
    auto it = sessions_.find({t->peer, t->sid});
    if (it != sessions_.end() && it->second.observe_href == t->href) it->second.observe_href.clear();
  }
  flush({t->peer, t->sid});
}

void DeviceLink::flush(const Key& k) {
  auto it = sessions_.find(k);
  if (it == sessions_.end() || !link_) return;
  auto& fifo = it->second.fifo;
  gloox::JID peer(k.first);
  while (!fifo.empty() && fifo.front()->done) {
    auto t = fifo.front();
    fifo.pop_front();
    auto r = link_->send_rest(peer, k.second, t->resp);
    if (!r) {
      a_.log(GW_LOG_WARN, "device " + rec_.uuid() + ": cannot send the answer to " + k.first + ": " + r.error().message);
      // An unencodable answer (e.g. a device string that is not UTF-8) still gets a response.
      auto fallback = RestMessage::response(502);
      fallback.body = J{{"error", "the device's answer cannot be represented"}};
      (void)link_->send_rest(peer, k.second, fallback);
    }
    if (sessions_.find(k) == sessions_.end()) return;  // the send failed and closed the session
  }
}

void DeviceLink::on_document(const gloox::JID& peer, const std::string& sid, std::string xml) {
  auto sit = sessions_.find({peer.full(), sid});
  if (sit == sessions_.end()) sit = sessions_.emplace(Key{peer.full(), sid}, IbbSession{}).first;
  IbbSession& s = sit->second;
  auto m = decode_rest_xml(xml);
  if (!m) {
    // An undecodable RESPONSE is dropped (PROTOCOL.md §3.6); anything else gets 400.
    std::string low = xml.substr(0, 512);
    std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
    if (low.find("method=\"response\"") != std::string::npos || low.find("method='response'") != std::string::npos) {
      a_.log(GW_LOG_DEBUG, "device " + rec_.uuid() + ": undecodable RESPONSE from " + peer.full() + " dropped");
      return;
    }
    auto t = new_txn(peer, sid, s, RestMessage{});
    t->resp = bad_request_response(m.error());
    t->done = true;
    flush({peer.full(), sid});
    return;
  }
  if (m->is_response()) return;  // the gateway sends no requests; nothing to correlate
  dispatch(peer, sid, s, std::move(m.value()));
}

void DeviceLink::dispatch(const gloox::JID& peer, const std::string& sid, IbbSession& s, RestMessage m) {
  const std::string path = path_of(m);
  auto obs = m.observe();
  if (!s.observe_href.empty()) {
    // An observing session carries nothing but the deregistration (PROTOCOL.md §4).
    if (m.method == Method::Get && obs && *obs == 1 && path == s.observe_href) {
      s.observe_href.clear();
    } else {
      auto t = new_txn(peer, sid, s, m);
      answer(t, 409, J{{"error", "this session observes " + s.observe_href + "; deregister first"}});
      return;
    }
  }
  auto t = new_txn(peer, sid, s, m);
  if (constrained_ && path != kXmppResHref && path != kXmppUserResHref) return serve_resource(t, m, path, &s);
  if (path == "/oic/res" || path == "/oic/d" || path == "/oic/p") {
    if (m.method != Method::Get) return answer(t, 405, J{{"error", "read-only resource"}});
    if (path == "/oic/res") return answer(t, 200, oic_res(rec_, res_));
    return answer(t, 200, path == "/oic/d" ? oic_d(rec_, res_) : oic_p(rec_));
  }
  if (path == kXmppResHref) return ra_xmpp(t, m);
  if (path == kXmppUserResHref) return ra_user(t, m);
  serve_resource(t, m, path, &s);
}

void DeviceLink::serve_resource(const std::shared_ptr<Txn>& t, const RestMessage& m, const std::string& path,
                                IbbSession* s) {
  if (constrained_) {
    // XC-Proxy toward an RA-constrained OIC device: everything but the RA resources is the
    // device's own (PROTOCOL.md §8.6).
    a_.send_forward(t, *this, m);
    return;
  }
  auto obs = m.observe();
  const OicResource* res = res_.find(path);
  if (!res) return answer(t, 404, J{{"error", "no resource " + path}});
  if (!reachable_) return answer(t, 503, J{{"error", "device not reachable"}});
  switch (m.method) {
    case Method::Get: {
      if (res->service()) return answer(t, 405, J{{"error", "service resource: use POST"}});
      t->body["rt"] = res->rt;
      if (s && obs && *obs == 0 && res->observable()) {
        s->observe_href = path;
        t->observe = true;
      }
      for (const auto& p : res->points) {
        if (p.kind() == v1::POINT_EVENT) {
          auto ev = last_event_.find(p.path());
          t->body[p.oic().property()] = ev == last_event_.end() ? J(nullptr) : to_oic(p, point_value(p, ev->second));
          continue;
        }
        a_.send_request(t, *this, v1::RETRIEVE, p, v1::Value());
      }
      if (t->observe) s->observe_seq = 1;  // the registration's answer is notification 0
      if (t->outstanding == 0) {
        t->resp = RestMessage::response(200);
        t->resp.headers = {{"Content-Type", "application/json"}};
        t->resp.body = t->body;
        if (t->observe) t->resp.set_header(kHeaderObserve, "0");
        t->done = true;
        deliver_txn(t);
      }
      return;
    }
    case Method::Post:
    case Method::Put: {
      if (!m.body || !m.body->is_object()) return answer(t, 400, J{{"error", "a JSON object body is required"}});
      if (res->service()) {
        J in = *m.body;
        for (const char* k : {"rt", "if", "n", "id"}) in.erase(k);
        a_.send_request(t, *this, v1::INVOKE, res->points.front(), value_from_ojson(in));
        return;
      }
      std::vector<std::pair<const v1::Point*, v1::Value>> writes;
      for (const auto& [k, v] : m.body->items()) {
        if (k == "rt" || k == "if" || k == "n" || k == "id") continue;
        const v1::Point* pt = nullptr;
        for (const auto& p : res->points)
          if (p.oic().property() == k) pt = &p;
        if (!pt) return answer(t, 400, J{{"error", "resource " + path + " has no property \"" + k + "\""}});
        if (!pt->writable() || pt->kind() != v1::POINT_PROPERTY)
          return answer(t, 405, J{{"error", "property \"" + k + "\" is read-only"}});
        auto nv = from_oic(*pt, v);
        if (!nv) return answer(t, 400, J{{"error", nv.error().message}});
        writes.emplace_back(pt, std::move(nv.value()));
      }
      if (writes.empty()) return answer(t, 400, J{{"error", "no property to update"}});
      t->body["rt"] = res->rt;
      for (auto& [pt, nv] : writes) {
        t->body[pt->oic().property()] = m.body->at(pt->oic().property());
        a_.send_request(t, *this, v1::UPDATE, *pt, std::move(nv));
      }
      return;
    }
    case Method::Delete: return answer(t, 405, J{{"error", "bridged resources cannot be deleted"}});
    case Method::Response: break;
  }
}

void DeviceLink::notify(const std::string& path, const v1::Value& content) {
  auto range = res_.by_path.equal_range(path);
  for (auto it = range.first; it != range.second; ++it) {
    const OicResource* res = res_.find(it->second);
    if (!res) continue;
    const v1::Point* pt = nullptr;
    for (const auto& p : res->points)
      if (p.path() == path) pt = &p;
    if (!pt) continue;
    if (pt->kind() == v1::POINT_EVENT) last_event_[path] = content;
    std::vector<Key> keys;
    for (auto& [k, s] : sessions_)
      if (s.observe_href == res->href) keys.push_back(k);
    for (const auto& k : keys) {
      auto& s = sessions_[k];
      auto t = std::make_shared<Txn>();
      t->uuid = rec_.uuid();
      t->peer = k.first;
      t->sid = k.second;
      t->href = res->href;
      t->resp = RestMessage::response(200);
      t->resp.headers = {{"Content-Type", "application/json"}};
      t->resp.set_header(kHeaderObserve, std::to_string(s.observe_seq++ & 0xFFFFFF));
      t->resp.body = J{{"rt", res->rt}, {pt->oic().property(), to_oic(*pt, point_value(*pt, content))}};
      t->done = true;
      s.fifo.push_back(t);
      flush(k);
    }
  }
}

// --- Remote access resources (Annex A) -----------------------------------------------------------

const char* DeviceLink::ra_status() const {
  return state_ == LinkState::Online ? "Connected" : !error_.empty() ? "Error" : "NotInitialized";
}

void DeviceLink::ra_xmpp(const std::shared_ptr<Txn>& t, const RestMessage& m) {
  const Account& acc = a_.account();
  if (m.method == Method::Get)
    return answer(t, 200, ra_xmpp_body(acc, ra_status(), state_ == LinkState::Online ? "" : error_));
  if (m.method != Method::Post && m.method != Method::Put) return answer(t, 405, J{{"error", "GET or POST"}});
  RaAnswer r = ra_xmpp_write(acc, m.body);
  answer(t, r.code, std::move(r.body));
  if (r.next) a_.schedule_account_change(std::move(*r.next));
}

void DeviceLink::ra_user(const std::shared_ptr<Txn>& t, const RestMessage& m) {
  const Account& acc = a_.account();
  if (m.method == Method::Get) return answer(t, 200, ra_user_body(acc, a_.config().credential_readable()));
  if (m.method != Method::Post && m.method != Method::Put) return answer(t, 405, J{{"error", "GET or POST"}});
  RaAnswer r = ra_user_write(acc, m.body);
  answer(t, r.code, std::move(r.body));
  if (r.next) a_.schedule_account_change(std::move(*r.next));
}

J ra_xmpp_body(const Account& acc, const char* status, const std::string& error_reason) {
  return J{{"rt", "oic.ra.xmpp"}, {"address", acc.connect_host()}, {"port", acc.port},
           {"status", status}, {"ErrorReason", error_reason}};
}

RaAnswer ra_xmpp_write(const Account& acc, const std::optional<J>& body) {
  if (!body || !body->is_object()) return {400, J{{"error", "a JSON object body is required"}}, {}};
  const J& b = *body;
  if (!b.contains("address") || !b["address"].is_string() || b["address"].get<std::string>().empty() ||
      b["address"].get<std::string>().find_first_of(" /@") != std::string::npos)
    return {400, J{{"error", "\"address\" must be a host name or address"}}, {}};
  if (!b.contains("port") || !b["port"].is_number_integer() || b["port"].get<int64_t>() < 1 ||
      b["port"].get<int64_t>() > 65535)
    return {400, J{{"error", "\"port\" must be 1..65535"}}, {}};
  Account next = acc;
  next.host = b["address"].get<std::string>();
  next.port = static_cast<uint32_t>(b["port"].get<int64_t>());
  return {200, J{{"rt", "oic.ra.xmpp"}, {"address", next.host}, {"port", next.port}}, next};
}

J ra_user_body(const Account& acc, bool credential_readable) {
  // Spec §6.2.2.2: reading the credential should be restricted; it is write-only unless the
  // operator enabled credential_readable.
  std::string cred = credential_readable ? base64_encode(acc.password) : "";
  return J{{"rt", "oic.ra.user"}, {"jid", acc.user + "@" + acc.domain}, {"credential", cred}};
}

RaAnswer ra_user_write(const Account& acc, const std::optional<J>& body) {
  if (!body || !body->is_object()) return {400, J{{"error", "a JSON object body is required"}}, {}};
  const J& b = *body;
  if (!b.contains("jid") || !b["jid"].is_string() || !b.contains("credential") || !b["credential"].is_string())
    return {400, J{{"error", "\"jid\" and \"credential\" (strings) are required"}}, {}};
  std::string jid = b["jid"].get<std::string>();
  auto at = jid.find('@');
  if (at == std::string::npos || jid.find('/') != std::string::npos)
    return {400, J{{"error", "\"jid\" must be a bare JID user@domain"}}, {}};
  Account next = acc;
  next.user = jid.substr(0, at);
  next.domain = jid.substr(at + 1);
  if (!make_server_jid(next.user, next.domain, kDefaultDeviceType, "00000000-0000-0000-0000-000000000000").ok())
    return {400, J{{"error", "\"jid\" is not a valid bare JID"}}, {}};
  auto pw = base64_decode(b["credential"].get<std::string>());
  if (!pw || pw->empty()) return {400, J{{"error", "\"credential\" must be non-empty base64"}}, {}};
  next.password = std::move(pw.value());
  return {200, J{{"rt", "oic.ra.user"}, {"jid", next.user + "@" + next.domain}, {"credential", ""}}, next};
}

// ================================================================================================
// OicAdapter
// ================================================================================================

OicAdapter::OicAdapter(const gw_host_api* api) : Adapter(api) {}

OicAdapter::~OicAdapter() {
  for (uint64_t* t : {&rescan_timer_, &start_timer_, &account_timer_})
    if (*t) host_.cancel(*t);
  coap_.reset();
  login_queue_.clear();
  links_.clear();
}

std::string OicAdapter::configure(const std::string& bytes) {
  if (!cfg_.ParseFromString(bytes)) return "oic: config does not decode";
  if (cfg_.domain().empty()) return "oic: domain is required";
  if (cfg_.user().empty()) return "oic: user is required";
  if (cfg_.password().empty()) return "oic: password is required";
  if (!cfg_.server_port()) cfg_.set_server_port(5222);
  if (cfg_.server_port() > 65535) return "oic: server_port must be 1..65535";
  if (cfg_.ping_interval_ms() == 0) cfg_.set_ping_interval_ms(60000);
  if (cfg_.ping_timeout_ms() == 0) cfg_.set_ping_timeout_ms(10000);
  if (cfg_.reconnect_initial_ms() == 0) cfg_.set_reconnect_initial_ms(1000);
  if (cfg_.reconnect_max_ms() == 0) cfg_.set_reconnect_max_ms(60000);
  if (cfg_.reconnect_max_ms() < cfg_.reconnect_initial_ms()) return "oic: reconnect_max_ms < reconnect_initial_ms";
  if (cfg_.reconnect_jitter_pct() > 100) return "oic: reconnect_jitter_pct must be 0..100";
  if (cfg_.login_timeout_ms() == 0) cfg_.set_login_timeout_ms(30000);
  if (cfg_.max_concurrent_logins() == 0) cfg_.set_max_concurrent_logins(64);
  if (cfg_.request_timeout_ms() == 0) cfg_.set_request_timeout_ms(10000);
  if (cfg_.rescan_interval_ms() == 0) cfg_.set_rescan_interval_ms(30000);
  if (cfg_.default_device_type().empty()) cfg_.set_default_device_type(kDefaultDeviceType);
  if (!is_valid_device_type(cfg_.default_device_type())) return "oic: default_device_type is not a valid rt";
  if (cfg_.priority() == 0) cfg_.set_priority(-50);
  int pr = cfg_.priority();
  if (!((pr >= -100 && pr <= -33) || (pr >= 1 && pr <= 66)))
    return "oic: priority must be in [-100, -33] or [1, 66] (OIC RA §7.3, OIC Server)";
  for (const auto& f : cfg_.ca_file())
    if (::access(f.c_str(), R_OK) != 0) return "oic: ca_file " + f + " is not readable";
  auto probe = make_server_jid(cfg_.user(), cfg_.domain(), cfg_.default_device_type(),
                               "00000000-0000-0000-0000-000000000000");
  if (!probe) return "oic: " + probe.error().message;
  if (cfg_.coap().enabled()) {
    auto* c = cfg_.mutable_coap();
    if (c->listen_port() > 65535) return "oic: coap.listen_port must be 1..65535";
    if (!c->listen_address().empty()) {
      unsigned char buf[16];
      if (::inet_pton(AF_INET, c->listen_address().c_str(), buf) != 1 &&
          ::inet_pton(AF_INET6, c->listen_address().c_str(), buf) != 1)
        return "oic: coap.listen_address must be a numeric IPv4 or IPv6 address";
    }
    if (!c->device_id().empty() && !is_valid_uuid(c->device_id())) return "oic: coap.device_id must be a UUID";
    if (c->forward_timeout_ms() == 0) c->set_forward_timeout_ms(5000);
    if (c->forward_timeout_ms() > cfg_.request_timeout_ms()) c->set_forward_timeout_ms(cfg_.request_timeout_ms());
    std::map<std::string, bool> seen;
    for (auto& d : *c->mutable_device()) {
      if (!is_valid_uuid(d.di())) return "oic: coap.device di \"" + d.di() + "\" is not a UUID";
      std::string low = d.di();
      std::transform(low.begin(), low.end(), low.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (seen[low]) return "oic: coap.device di " + d.di() + " is listed twice";
      seen[low] = true;
      if (!parse_coap_uri(d.uri())) return "oic: coap.device uri \"" + d.uri() + "\" must be coap://<numeric host>[:port]";
      if (d.device_type().empty()) d.set_device_type("oic.d.unknown");
      if (!is_valid_device_type(d.device_type())) return "oic: coap.device device_type is not a valid rt";
    }
  }
  account_.host = cfg_.server_host();
  account_.port = cfg_.server_port();
  account_.domain = cfg_.domain();
  account_.user = cfg_.user();
  account_.password = cfg_.password();
  return "";
}

std::string OicAdapter::start() {
  if (cfg_.coap().enabled()) {
    std::string di = cfg_.coap().device_id().empty() ? uuid_v5(std::string("camgw-oic-gateway/") + host_.name())
                                                     : cfg_.coap().device_id();
    coap_ = std::make_unique<CoapService>(*this, cfg_.coap(), di);
    std::string err = coap_->start();
    if (!err.empty()) {
      coap_.reset();
      return err;
    }
  }
  // Other adapters register their devices in their own start(): scan once every start() has run.
  start_timer_ = host_.timer(0, 0, &OicAdapter::on_rescan_timer, this);
  rescan_timer_ = host_.timer(cfg_.rescan_interval_ms(), cfg_.rescan_interval_ms(), &OicAdapter::on_rescan_timer, this);
  return "";
}

void OicAdapter::on_rescan_timer(void* self) {
  auto* a = static_cast<OicAdapter*>(self);
  a->start_timer_ = 0;
  a->rescan();
}

std::string OicAdapter::on_mappings() {
  rescan();
  return "";
}

void OicAdapter::rescan() {
  if (stopping_) return;
  auto all = host_.all_devices();
  auto maps = host_.mappings();
  if (!all || !maps) return;
  std::map<std::string, const v1::DeviceModel*> models;
  for (const auto& m : maps->model()) models[m.name()] = &m;
  std::map<std::string, bool> wanted;
  for (const auto& d : all->devices()) {
    if (d.adapter() == host_.name()) continue;
    if (cfg_.bridge_adapter_size() &&
        std::find(cfg_.bridge_adapter().begin(), cfg_.bridge_adapter().end(), d.adapter()) == cfg_.bridge_adapter().end())
      continue;
    auto mit = models.find(d.model());
    if (mit == models.end() || !has_oic_bindings(*mit->second)) continue;
    auto res = build_resources(*mit->second, cfg_.default_device_type());
    if (!res) {
      log(GW_LOG_WARN, res.error().message + "; device " + d.uuid() + " not bridged");
      continue;
    }
    auto jid = make_server_jid(account_.user, account_.domain, res->device_type, d.uuid());
    if (!jid) {
      log(GW_LOG_WARN, "device " + d.uuid() + " not bridged: " + jid.error().message);
      continue;
    }
    wanted[d.uuid()] = true;
    auto it = links_.find(d.uuid());
    if (it == links_.end()) {
      auto link = std::make_unique<DeviceLink>(*this, d, std::move(res.value()), std::move(jid.value()));
      DeviceLink* l = link.get();
      links_.emplace(d.uuid(), std::move(link));
      l->start();
    } else if (it->second->jid().full() != jid->full()) {
      it->second->set_resources(std::move(res.value()));
      it->second->restart(std::move(jid.value()));
    } else {
      it->second->set_resources(std::move(res.value()));
    }
  }
  if (coap_) {
    for (const auto& cd : cfg_.coap().device()) {
      std::string di = cd.di();
      wanted[di] = true;
      if (links_.count(di)) continue;
      auto jid = make_server_jid(account_.user, account_.domain, cd.device_type(), di);
      if (!jid) {
        log(GW_LOG_WARN, "constrained device " + di + " not proxied: " + jid.error().message);
        wanted.erase(di);
        continue;
      }
      v1::Device rec;
      rec.set_uuid(di);
      rec.set_adapter(host_.name());
      rec.set_native_id(cd.uri());
      rec.set_name(cd.name());
      rec.set_online(true);
      DeviceResources res;
      res.device_type = cd.device_type();
      auto link = std::make_unique<DeviceLink>(*this, std::move(rec), std::move(res), std::move(jid.value()));
      link->set_constrained(true);
      DeviceLink* l = link.get();
      links_.emplace(di, std::move(link));
      l->start();
    }
  }
  for (auto it = links_.begin(); it != links_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    log(GW_LOG_INFO, "device " + it->first + " no longer bridged");
    it->second->shutdown();
    it = links_.erase(it);
  }
  if (coap_) coap_->sync_devices();
}

std::optional<std::pair<sockaddr_storage, socklen_t>> OicAdapter::server_address(std::string& err) {
  std::string key = account_.connect_host() + ":" + std::to_string(account_.port);
  uint64_t now = host_.now_ms();
  if (addr_ && addr_for_ == key && now - addr_at_ < 60000) return addr_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  // Blocking lookup, at most once a minute for all devices together (numeric hosts never block).
  int rc = ::getaddrinfo(account_.connect_host().c_str(), std::to_string(account_.port).c_str(), &hints, &res);
  if (rc != 0 || !res) {
    err = "cannot resolve " + account_.connect_host() + ": " + gai_strerror(rc);
    addr_.reset();
    return std::nullopt;
  }
  std::pair<sockaddr_storage, socklen_t> out{};
  std::memcpy(&out.first, res->ai_addr, res->ai_addrlen);
  out.second = res->ai_addrlen;
  ::freeaddrinfo(res);
  addr_ = out;
  addr_at_ = now;
  addr_for_ = key;
  return addr_;
}

void OicAdapter::request_login(DeviceLink* d) {
  if (std::find(login_queue_.begin(), login_queue_.end(), d) == login_queue_.end()) login_queue_.push_back(d);
  pump_logins();
}

void OicAdapter::login_finished(DeviceLink* /*d*/) {
  if (logins_in_progress_) --logins_in_progress_;
  pump_logins();
}

void OicAdapter::forget_login(DeviceLink* d) {
  login_queue_.erase(std::remove(login_queue_.begin(), login_queue_.end(), d), login_queue_.end());
}

void OicAdapter::pump_logins() {
  // A login that fails synchronously (e.g. the server name does not resolve) calls back into
  // login_finished(); the outer loop continues instead of recursing once per queued device.
  if (pumping_) return;
  pumping_ = true;
  while (!stopping_ && !login_queue_.empty() && logins_in_progress_ < cfg_.max_concurrent_logins()) {
    DeviceLink* d = login_queue_.front();
    login_queue_.pop_front();
    ++logins_in_progress_;
    d->begin_login();  // may finish (fail) synchronously and call login_finished()
  }
  pumping_ = false;
}

uint64_t OicAdapter::backoff_ms(uint32_t attempts) {
  uint64_t d = cfg_.reconnect_initial_ms();
  for (uint32_t i = 0; i < attempts && d < cfg_.reconnect_max_ms(); ++i) d *= 2;
  d = std::min<uint64_t>(d, cfg_.reconnect_max_ms());
  uint64_t span = d * cfg_.reconnect_jitter_pct() / 100;
  if (span) d = d - span + rand64() % (2 * span + 1);
  return d;
}

void OicAdapter::send_request(const std::shared_ptr<Txn>& t, const DeviceLink& d, v1::Operation op,
                              const v1::Point& p, v1::Value content) {
  v1::Envelope e;
  e.set_model_version(1);
  e.set_kind(v1::REQUEST);
  e.set_op(op);
  std::string corr = std::string(host_.name()) + "-" + std::to_string(++next_corr_);
  e.set_correlation_id(corr);
  e.mutable_origin()->set_peer(t->peer);
  e.mutable_target()->set_device(d.record().uuid());
  e.mutable_target()->set_path(p.path());
  e.set_device_model(d.record().model());
  e.set_expires_ms(host_.wall_ms() + cfg_.request_timeout_ms());
  if (content.kind_case() != v1::Value::KIND_NOT_SET) *e.mutable_content() = std::move(content);
  pending_[corr] = Pending{t, p, op};
  ++t->outstanding;
  int rc = host_.emit(e);
  if (rc != GW_OK) {
    pending_.erase(corr);
    --t->outstanding;
    if (t->worst == v1::OK) {
      t->worst = rc == GW_ERR_BUSY ? v1::BUSY : v1::INTERNAL_ERROR;
      t->detail = "gateway cannot route the request (rc " + std::to_string(rc) + ")";
    }
    if (t->outstanding == 0) finish(t);
  }
}

void OicAdapter::send_forward(const std::shared_ptr<Txn>& t, const DeviceLink& d, const RestMessage& m) {
  t->forward = true;
  t->body = J();
  v1::Envelope e;
  e.set_model_version(1);
  e.set_kind(v1::REQUEST);
  switch (m.method) {
    case Method::Get: e.set_op(v1::RETRIEVE); break;
    case Method::Post: e.set_op(v1::UPDATE); break;
    case Method::Put: e.set_op(v1::CREATE); break;
    case Method::Delete: e.set_op(v1::DELETE); break;
    case Method::Response: e.set_op(v1::RETRIEVE); break;
  }
  std::string corr = std::string(host_.name()) + "-" + std::to_string(++next_corr_);
  e.set_correlation_id(corr);
  e.mutable_origin()->set_peer(t->peer);
  e.mutable_target()->set_adapter(host_.name());
  e.mutable_target()->set_device(d.record().uuid());
  e.mutable_target()->set_path(m.url.path.empty() ? "/" : m.url.path);
  if (!m.url.query.empty()) (*e.mutable_attributes())["oic.query"] = m.url.query;
  e.set_expires_ms(host_.wall_ms() + cfg_.request_timeout_ms());
  if (m.body) *e.mutable_content() = value_from_ojson(*m.body);
  pending_[corr] = Pending{t, v1::Point(), e.op()};
  ++t->outstanding;
  int rc = host_.emit(e);
  if (rc != GW_OK) {
    pending_.erase(corr);
    --t->outstanding;
    t->worst = rc == GW_ERR_BUSY ? v1::BUSY : v1::INTERNAL_ERROR;
    t->detail = "gateway cannot route the request (rc " + std::to_string(rc) + ")";
    finish(t);
  }
}

void OicAdapter::on_response(const v1::Envelope& env) {
  auto it = pending_.find(env.correlation_id());
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  auto& t = p.txn;
  --t->outstanding;
  if (t->forward) {
    t->worst = env.status();
    t->detail = env.status_detail();
    t->body = env.content().kind_case() == v1::Value::KIND_NOT_SET ? J() : value_to_ojson(env.content());
    if (t->outstanding == 0) finish(t);
    return;
  }
  if (status_is_success(env.status())) {
    const std::string& prop = p.point.oic().property();
    if (p.op == v1::RETRIEVE) {
      t->body[prop] = to_oic(p.point, point_value(p.point, env.content()));
    } else if (p.op == v1::INVOKE) {
      J out = env.content().kind_case() == v1::Value::KIND_NOT_SET ? J(nullptr) : value_to_ojson(env.content());
      if (out.is_object()) {
        for (auto& [k, v] : out.items()) t->body[k] = v;
      } else if (!out.is_null()) {
        t->body[prop] = out;
      }
    }
  } else if (t->worst == v1::OK || status_is_success(t->worst)) {
    t->worst = env.status();
    t->detail = env.status_detail();
  }
  if (t->outstanding == 0) finish(t);
}

void OicAdapter::finish(const std::shared_ptr<Txn>& t) {
  DeviceLink* d = find(t->uuid);
  if (t->forward) {
    // The constrained device's answer (or the XC-Proxy's error), status line from the table.
    const StatusInfo& si = status_info(t->worst == v1::STATUS_UNSPECIFIED ? v1::OK : t->worst);
    t->resp = RestMessage::response(si.http);
    t->resp.reason = si.http_reason;
    t->resp.headers = {{"Content-Type", "application/json"}};
    if (!t->body.is_null()) t->resp.body = t->body;
    else if (!status_is_success(t->worst) && t->worst != v1::STATUS_UNSPECIFIED)
      t->resp.body = J{{"error", t->detail.empty() ? std::string(si.http_reason) : t->detail}};
    t->done = true;
    if (t->done_cb) {
      auto cb = std::move(t->done_cb);
      t->done_cb = nullptr;
      cb(t);
    } else if (d) {
      d->complete(t);
    }
    return;
  }
  if (status_is_success(t->worst) || t->worst == v1::STATUS_UNSPECIFIED) {
    t->resp = RestMessage::response(200);
    t->resp.headers = {{"Content-Type", "application/json"}};
    if (!t->body.empty()) t->resp.body = t->body;
  } else {
    const StatusInfo& si = status_info(t->worst);
    t->resp = RestMessage::response(si.http);
    t->resp.reason = si.http_reason;
    t->resp.headers = {{"Content-Type", "application/json"}};
    t->resp.body = J{{"error", t->detail.empty() ? std::string(si.http_reason) : t->detail}};
    if (t->observe) t->observe_failed = true;
    t->observe = false;
  }
  if (t->observe && d) {
    // The registration's answer is notification 0 of the observation.
    t->resp.set_header(kHeaderObserve, "0");
  }
  t->done = true;
  if (t->done_cb) {
    auto cb = std::move(t->done_cb);
    t->done_cb = nullptr;
    cb(t);
    return;
  }
  if (d) d->complete(t);
}

int OicAdapter::deliver(const v1::Envelope& env) {
  switch (env.kind()) {
    case v1::RESPONSE: on_response(env); return GW_OK;
    case v1::REPORT:
    case v1::EVENT: {
      DeviceLink* d = find(env.origin().device());
      if (!d) {
        if (env.origin().path() == "$state/online") rescan();  // a device we have not seen yet
        return GW_OK;
      }
      if (env.origin().path() == "$state/online") {
        const v1::Value& c = env.content();
        bool on = c.kind_case() == v1::Value::kBoolValue ? c.bool_value()
                  : c.kind_case() == v1::Value::kMapValue && map_find(c, "online")
                      ? map_find(c, "online")->bool_value()
                      : d->reachable();
        d->set_reachable(on);
        return GW_OK;
      }
      d->notify(env.origin().path(), env.content());
      if (coap_) coap_->notify(env.origin().device(), env.origin().path(), env.content());
      return GW_OK;
    }
    case v1::REQUEST: {
      if (coap_ && env.target().adapter() == host_.name() && coap_->is_constrained(env.target().device())) {
        coap_->forward(env);  // XC-Proxy: a <rest> request for a constrained device
        return GW_OK;
      }
      // Nothing else is addressed to the OIC side from inside the gateway (yet): answer so the
      // requester is not left waiting for the router's timeout.
      v1::Envelope r;
      r.set_kind(v1::RESPONSE);
      r.set_op(env.op());
      r.set_correlation_id(env.correlation_id());
      *r.mutable_origin() = env.target();
      *r.mutable_target() = env.origin();
      r.set_status(v1::NOT_IMPLEMENTED);
      r.set_status_detail("the oic adapter serves no requests from the gateway");
      host_.emit(r);
      return GW_OK;
    }
    default: return GW_OK;
  }
}

void OicAdapter::schedule_account_change(Account next) {
  next_account_ = std::move(next);
  if (!account_timer_) account_timer_ = host_.timer(0, 0, &OicAdapter::on_account_timer, this);
}

void OicAdapter::on_account_timer(void* self) {
  auto* a = static_cast<OicAdapter*>(self);
  a->account_timer_ = 0;
  if (!a->next_account_) return;
  a->account_ = std::move(*a->next_account_);
  a->next_account_.reset();
  a->addr_.reset();
  a->log(GW_LOG_INFO, "XMPP account settings changed (server " + a->account_.connect_host() + ":" +
                          std::to_string(a->account_.port) + ", user " + a->account_.user + "@" + a->account_.domain +
                          "): reconnecting every bridged device");
  for (auto& [uuid, link] : a->links_) {
    auto jid = make_server_jid(a->account_.user, a->account_.domain, link->resources().device_type, uuid);
    if (jid) link->restart(std::move(jid.value()));
  }
}

void OicAdapter::stop() {
  stopping_ = true;
  for (uint64_t* t : {&rescan_timer_, &start_timer_, &account_timer_})
    if (*t) {
      host_.cancel(*t);
      *t = 0;
    }
  login_queue_.clear();
  for (auto& [uuid, link] : links_) link->shutdown();
  if (coap_) coap_->stop();
}

bool OicAdapter::done() { return true; }

std::string OicAdapter::status_json() {
  nlohmann::json j;
  std::map<std::string, int> by_state;
  int available = 0;
  for (auto& [uuid, l] : links_) {
    ++by_state[link_state_name(l->state())];
    if (l->state() == LinkState::Online && l->reachable()) ++available;
  }
  j["server"] = account_.connect_host() + ":" + std::to_string(account_.port);
  j["account"] = account_.user + "@" + account_.domain;
  j["devices"] = links_.size();
  j["available"] = available;
  for (auto& [k, v] : by_state) j["state"][k] = v;
  j["logins_in_progress"] = logins_in_progress_;
  j["pending_requests"] = pending_.size();
  for (auto& [uuid, l] : links_)
    if (!l->error().empty() && l->state() != LinkState::Online) {
      j["last_error"] = l->error();
      break;
    }
  if (coap_) j["coap"] = coap_->status();
  return j.dump();
}

}  // namespace gw::oic::adapter

GW_DEFINE_ADAPTER(gw::oic::adapter::OicAdapter, "oic", "1.0.0",
                  "OIC Remote Access v1.0 XC-Proxy: bridged devices as OIC Servers over XMPP",
                  "gw.oic.v1.OicConfig")
