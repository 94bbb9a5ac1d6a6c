// gw_oic: the OIC Remote Access v1.0 XC-Proxy (PROTOCOL.md §7). One gloox Client per bridged
// device, all driven from the gateway's event loop through LoopConnection; <rest> requests over
// XEP-0047 (message stanzas) are translated to REQUEST envelopes and back.
#pragma once

#include <gloox/client.h>
#include <gloox/connectionlistener.h>
#include <gloox/eventhandler.h>
#include <gloox/iqhandler.h>
#include <gloox/presencehandler.h>
#include <sys/socket.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gw/adapter_sdk.h"
#include "loop_connection.h"
#include "oic.pb.h"
#include "oic/codec/jid.h"
#include "oic/codec/rest.h"
#include "oic/xmpp/ibb_link.h"
#include "resource_map.h"

namespace gw::oic::adapter {

class OicAdapter;
class CoapService;

// Account and server settings shared by every bridged device; writable at run time through
// /XMPPResURI and /XMPPUserResURI.
struct Account {
  std::string host;  // "" = domain
  uint32_t port = 5222;
  std::string domain;
  std::string user;
  std::string password;
  std::string connect_host() const { return host.empty() ? domain : host; }
};

// The remote-access resources of Annex A (PROTOCOL.md §7.5), shared by the XMPP and the CoAP side.
struct RaAnswer {
  int code = 200;
  nlohmann::ordered_json body;
  std::optional<Account> next;  // set: apply this account (schedule_account_change) after answering
};
nlohmann::ordered_json ra_xmpp_body(const Account& acc, const char* status, const std::string& error_reason);
RaAnswer ra_xmpp_write(const Account& acc, const std::optional<nlohmann::ordered_json>& body);
nlohmann::ordered_json ra_user_body(const Account& acc, bool credential_readable);
RaAnswer ra_user_write(const Account& acc, const std::optional<nlohmann::ordered_json>& body);

// One <rest> request being answered (or a notification waiting for its turn): responses leave an
// IBB session in the order the requests arrived (PROTOCOL.md §4).
struct Txn {
  std::string uuid, peer, sid, href;
  Method method = Method::Get;
  bool observe = false;  // answer carries the Observe header
  bool observe_failed = false;
  int outstanding = 0;
  bool done = false;
  v1::Status worst = v1::OK;
  std::string detail;
  nlohmann::ordered_json body = nlohmann::ordered_json::object();
  RestMessage resp;
  // Set by the CoAP side: called with the finished transaction instead of queueing the answer on
  // an IBB session.
  std::function<void(const std::shared_ptr<Txn>&)> done_cb;
  bool forward = false;  // XC-Proxy: the answer is a constrained device's (body = its payload)
};

struct IbbSession {
  std::deque<std::shared_ptr<Txn>> fifo;
  std::string observe_href;  // non-empty while an observation is registered
  uint32_t observe_seq = 0;
};

enum class LinkState { Idle, Queued, Connecting, Online, Backoff, Stopped };
const char* link_state_name(LinkState s);

class DeviceLink : public FdOwner,
                   public gloox::ConnectionListener,
                   public gloox::PresenceHandler,
                   public gloox::EventHandler,
                   public gloox::IqHandler {
 public:
  DeviceLink(OicAdapter& a, v1::Device rec, DeviceResources res, OicJid jid);
  ~DeviceLink() override;
  DeviceLink(const DeviceLink&) = delete;
  DeviceLink& operator=(const DeviceLink&) = delete;

  const v1::Device& record() const { return rec_; }
  const OicJid& jid() const { return jid_; }
  const DeviceResources& resources() const { return res_; }
  void set_resources(DeviceResources r) { res_ = std::move(r); }
  LinkState state() const { return state_; }
  bool reachable() const { return reachable_; }
  const std::string& error() const { return error_; }
  uint64_t connected_at_ms() const { return connected_at_; }
  bool roster_received() const { return roster_received_; }
  uint64_t logins() const { return logins_; }

  void start();                // queue a login
  void begin_login();          // called by the adapter's login limiter
  void restart(OicJid jid);    // account changed: drop the session and log in again
  void shutdown();             // graceful: unavailable presence, close the stream
  void set_reachable(bool on);

  // Adapter -> link: a finished transaction, an observed value changed.
  void complete(const std::shared_ptr<Txn>& t);
  void notify(const std::string& path, const v1::Value& content);
  // Serves a request on this device's resources (discovery documents and RA resources excluded);
  // shared by the XMPP and the CoAP side. The answer goes to t->done_cb when set, else to t's IBB
  // session. s: the IBB session (Observe registration), nullptr on the CoAP side.
  void serve_resource(const std::shared_ptr<Txn>& t, const RestMessage& m, const std::string& path, IbbSession* s);
  bool constrained() const { return constrained_; }
  void set_constrained(bool on) { constrained_ = on; }
  // The answer of a finished transaction leaves (done_cb or the IBB session).
  void deliver_txn(const std::shared_ptr<Txn>& t);
  // Session status of /XMPPResURI.
  const char* ra_status() const;

  // FdOwner
  void fd_watch(int fd, bool read, bool write) override;
  void fd_unwatch() override;
  // gloox::ConnectionListener
  void onConnect() override;
  void onDisconnect(gloox::ConnectionError e) override;
  void onResourceBind(const std::string& resource) override;
  bool onTLSConnect(const gloox::CertInfo& info) override;
  // gloox::PresenceHandler
  void handlePresence(const gloox::Presence& presence) override;
  // gloox::EventHandler (XEP-0199 pong)
  void handleEvent(const gloox::Event& event) override;
  // gloox::IqHandler (roster result and pushes)
  bool handleIq(const gloox::IQ& iq) override;
  void handleIqID(const gloox::IQ& iq, int context) override;

 private:
  using Key = std::pair<std::string, std::string>;  // (peer full JID, sid)
  static void on_fd(void* self, int fd, uint32_t events);
  static void on_reconnect_timer(void* self);
  static void on_login_timeout(void* self);
  static void on_ping_timer(void* self);
  static void on_ping_timeout(void* self);
  static void on_deferred_disconnect(void* self);

  void fail(const std::string& reason);  // schedule a reconnect with back-off
  void teardown();                       // destroy client + link (never from inside gloox)
  void cancel_timers();
  void clear_sessions();
  void kick(const std::string& reason);  // disconnect now (from a timer), then back-off
  void on_document(const gloox::JID& peer, const std::string& sid, std::string xml);
  void dispatch(const gloox::JID& peer, const std::string& sid, IbbSession& s, RestMessage m);
  std::shared_ptr<Txn> new_txn(const gloox::JID& peer, const std::string& sid, IbbSession& s, const RestMessage& m);
  void answer(const std::shared_ptr<Txn>& t, int code, nlohmann::ordered_json body);
  void flush(const Key& k);
  void peer_gone(const gloox::JID& peer);
  void ra_xmpp(const std::shared_ptr<Txn>& t, const RestMessage& m);
  void ra_user(const std::shared_ptr<Txn>& t, const RestMessage& m);

  OicAdapter& a_;
  v1::Device rec_;
  DeviceResources res_;
  OicJid jid_;
  bool reachable_ = false;
  bool constrained_ = false;  // an RA-constrained OIC device behind the XC-Proxy (CoAP)
  LinkState state_ = LinkState::Idle;
  std::string error_;
  std::string kick_reason_;
  bool logging_in_ = false;  // holds a slot of the login limiter
  bool bind_mismatch_ = false;
  bool roster_received_ = false;
  bool ping_outstanding_ = false;
  uint32_t attempts_ = 0;
  uint64_t connected_at_ = 0, logins_ = 0;
  uint64_t watch_id_ = 0;
  int watched_fd_ = -1;
  uint64_t reconnect_timer_ = 0, login_timer_ = 0, ping_timer_ = 0, ping_timeout_timer_ = 0, kick_timer_ = 0;
  std::unique_ptr<gloox::Client> client_;
  std::unique_ptr<xmpp::IbbLink> link_;
  LoopConnection* conn_ = nullptr;  // owned by client_
  std::map<Key, IbbSession> sessions_;
  std::map<std::string, v1::Value> last_event_;  // event point path -> last content
};

class OicAdapter : public gw::sdk::Adapter {
 public:
  explicit OicAdapter(const gw_host_api* api);
  ~OicAdapter() override;

  std::string configure(const std::string& config) override;
  std::string start() override;
  int deliver(const v1::Envelope& env) override;
  std::string on_mappings() override;
  void stop() override;
  bool done() override;
  std::string status_json() override;

  // For the links.
  const ::gw::oic::v1::OicConfig& config() const { return cfg_; }
  const Account& account() const { return account_; }
  std::optional<std::pair<sockaddr_storage, socklen_t>> server_address(std::string& err);
  void request_login(DeviceLink* d);
  void login_finished(DeviceLink* d);
  void forget_login(DeviceLink* d);
  uint64_t backoff_ms(uint32_t attempts);
  // Sends a REQUEST envelope for one point of a transaction.
  void send_request(const std::shared_ptr<Txn>& t, const DeviceLink& d, v1::Operation op, const v1::Point& p,
                    v1::Value content);
  // XC-Proxy: a <rest> request for a constrained device becomes a REQUEST envelope addressed to
  // this instance (target.device = di, target.path = the URL path), forwarded over CoAP on delivery.
  void send_forward(const std::shared_ptr<Txn>& t, const DeviceLink& d, const RestMessage& m);
  CoapService* coap() { return coap_.get(); }
  const std::map<std::string, std::unique_ptr<DeviceLink>>& links() const { return links_; }
  // Account change requested through an RA resource: applied from a timer (never inside gloox).
  void schedule_account_change(Account next);
  void log(int level, const std::string& msg) const {
    if (host_.log_enabled(level)) host_.log(level, msg);
  }
  DeviceLink* find(const std::string& uuid) {
    auto it = links_.find(uuid);
    return it == links_.end() ? nullptr : it->second.get();
  }

 private:
  struct Pending {
    std::shared_ptr<Txn> txn;
    v1::Point point;
    v1::Operation op;
  };
  std::unique_ptr<CoapService> coap_;
  static void on_rescan_timer(void* self);
  static void on_account_timer(void* self);
  void rescan();
  void pump_logins();
  void on_response(const v1::Envelope& env);
  void finish(const std::shared_ptr<Txn>& t);

  ::gw::oic::v1::OicConfig cfg_;
  Account account_;
  std::optional<Account> next_account_;
  std::map<std::string, std::unique_ptr<DeviceLink>> links_;  // by device uuid
  std::deque<DeviceLink*> login_queue_;
  size_t logins_in_progress_ = 0;
  bool pumping_ = false;
  std::map<std::string, Pending> pending_;  // correlation id -> point of a transaction
  uint64_t next_corr_ = 0;
  uint64_t rescan_timer_ = 0, start_timer_ = 0, account_timer_ = 0;
  bool stopping_ = false;
  // Resolved server address (re-resolved after 60 s or an account change).
  std::optional<std::pair<sockaddr_storage, socklen_t>> addr_;
  uint64_t addr_at_ = 0;
  std::string addr_for_;
};

}  // namespace gw::oic::adapter
