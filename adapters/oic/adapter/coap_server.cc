#include "coap_server.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>
#include <mutex>

#include "gw/status.h"
#include "gw/value.h"
#include "oic_adapter.h"

namespace gw::oic::adapter {

using J = nlohmann::ordered_json;

namespace {

enum Kind { kOicRes, kOicD, kOicP, kRaXmpp, kRaUser, kDevD, kDevP, kBridged };

// libcoap 4.3.1 has no context app data: the service of a context is looked up here (loop thread).
std::map<coap_context_t*, CoapService*>& services() {
  static std::map<coap_context_t*, CoapService*> m;
  return m;
}
CoapService* service_of(coap_session_t* s) {
  auto it = services().find(coap_session_get_context(s));
  return it == services().end() ? nullptr : it->second;
}

// libcoap's log goes to the adapter's log (the first running service's adapter).
OicAdapter* g_log_sink = nullptr;
void coap_log_to_host(coap_log_t level, const char* message) {
  if (!g_log_sink) return;
  std::string m(message ? message : "");
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
  int lv = level <= LOG_ERR ? GW_LOG_ERROR : level == LOG_WARNING ? GW_LOG_WARN : GW_LOG_DEBUG;
  g_log_sink->log(lv, "libcoap: " + m);
}

std::once_flag g_coap_once;

void method_tramp(coap_resource_t* r, coap_session_t* s, const coap_pdu_t* req, const coap_string_t* q,
                  coap_pdu_t* resp) {
  if (CoapService* svc = service_of(s)) svc->handle(r, s, req, q, resp);
}
coap_response_t response_tramp(coap_session_t* s, const coap_pdu_t* sent, const coap_pdu_t* received,
                               const coap_mid_t) {
  if (CoapService* svc = service_of(s)) svc->on_coap_response(s, sent, received);
  return COAP_RESPONSE_OK;
}
void nack_tramp(coap_session_t* s, const coap_pdu_t* sent, const coap_nack_reason_t reason, const coap_mid_t) {
  if (CoapService* svc = service_of(s)) svc->on_nack(s, sent, static_cast<int>(reason));
}

void release_bytes(coap_session_t*, void* p) { delete static_cast<std::vector<uint8_t>*>(p); }

std::optional<unsigned> opt_uint(const coap_pdu_t* pdu, uint16_t num) {
  coap_opt_iterator_t it;
  coap_opt_t* o = coap_check_option(pdu, num, &it);
  if (!o) return std::nullopt;
  return coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
}

std::string token_key(coap_bin_const_t t) { return std::string(reinterpret_cast<const char*>(t.s), t.length); }

std::string addr_text(const coap_address_t* a) {
  if (!a) return "?";
  unsigned char buf[INET6_ADDRSTRLEN + 16] = {};
  size_t n = coap_print_addr(a, buf, sizeof buf - 1);
  return std::string(reinterpret_cast<char*>(buf), n);
}

std::string pct_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(sep, b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

}  // namespace

struct CoapService::Res {
  int kind = kOicRes;
  std::string path, uuid, href;
  coap_resource_t* r = nullptr;
  J cache;                 // last full representation (bridged resources): served to observers
  bool cache_valid = false;
  bool notifying = false;  // a notification of this resource is being sent in this loop turn
};

// A request answered later (separate response through libcoap's async support).
struct CoapService::Pend {
  bool done = false;
  std::shared_ptr<Txn> t;
  coap_async_t* async = nullptr;
  int cf = kCfOcfCbor;
  Method method = Method::Get;
};

struct CoapService::Fwd {
  CoapService* svc = nullptr;
  std::string token, di, uri;
  v1::Envelope req;  // without content
  uint64_t timer = 0;
};

std::string CoapService::lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

CoapService::CoapService(OicAdapter& a, const ::gw::oic::v1::CoapConfig& cfg, std::string device_id)
    : a_(a), cfg_(cfg), device_id_(std::move(device_id)) {}

CoapService::~CoapService() { stop(); }

std::string CoapService::start() {
  std::call_once(g_coap_once, [] {
    coap_startup();  // once per process (libcoap keeps global state)
    coap_set_log_handler(&coap_log_to_host);
    coap_set_log_level(LOG_WARNING);
  });
  if (!g_log_sink) g_log_sink = &a_;
  ctx_ = coap_new_context(nullptr);
  if (!ctx_) return "coap: cannot create the libcoap context";
  services()[ctx_] = this;
  coap_context_set_block_mode(ctx_, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  coap_context_set_max_idle_sessions(ctx_, 256);
  // OCF critical options: without this libcoap drops every PDU that carries them (ENGINEERING-NOTES).
  coap_register_option(ctx_, kOptOcfAcceptVersion);
  coap_register_option(ctx_, kOptOcfContentVersion);
  coap_register_response_handler(ctx_, &response_tramp);
  coap_register_nack_handler(ctx_, &nack_tramp);

  coap_address_t la;
  coap_address_init(&la);
  std::string host = cfg_.listen_address().empty() ? "0.0.0.0" : cfg_.listen_address();
  uint16_t port = cfg_.listen_port_ephemeral() ? 0 : static_cast<uint16_t>(cfg_.listen_port() ? cfg_.listen_port() : 5683);
  if (::inet_pton(AF_INET, host.c_str(), &la.addr.sin.sin_addr) == 1) {
    la.addr.sin.sin_family = AF_INET;
    la.addr.sin.sin_port = htons(port);
    la.size = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &la.addr.sin6.sin6_addr) == 1) {
    la.addr.sin6.sin6_family = AF_INET6;
    la.addr.sin6.sin6_port = htons(port);
    la.size = sizeof(sockaddr_in6);
  } else {
    return "coap: listen_address \"" + host + "\" is not a numeric address";
  }
  coap_endpoint_t* ep = coap_new_endpoint(ctx_, &la, COAP_PROTO_UDP);
  if (!ep) return "coap: cannot listen on " + host + ":" + std::to_string(port) + " (UDP)";
  // coap_endpoint_str: "<bound address>:<port> UDP" (libcoap reads the address back after bind()).
  std::string eps = coap_endpoint_str(ep);
  auto sp = eps.find(' ');
  std::string bound = eps.substr(0, sp);
  auto colon = bound.rfind(':');
  port_ = colon == std::string::npos ? 0 : static_cast<uint16_t>(std::atoi(bound.c_str() + colon + 1));
  if (!port_) return "coap: cannot read the bound port from \"" + eps + "\"";

  add_resource("oic/res", kOicRes, "", "", false);
  add_resource("oic/d", kOicD, "", "", false);
  add_resource("oic/p", kOicP, "", "", false);
  add_resource(std::string(kXmppResHref).substr(1), kRaXmpp, "", "", false);
  add_resource(std::string(kXmppUserResHref).substr(1), kRaUser, "", "", false);

  for (const auto& d : cfg_.device()) {
    auto t = parse_coap_uri(d.uri());
    if (!t) continue;  // validated in configure()
    Constrained c;
    c.di = d.di();
    c.uri = d.uri();
    c.name = d.name();
    c.target = *t;
    constrained_[lower(d.di())] = std::move(c);
  }

  int fd = coap_context_get_coap_fd(ctx_);
  if (fd < 0) return "coap: libcoap was built without epoll support (no pollable fd)";
  watch_id_ = a_.host().watch_fd(fd, GW_FD_READ, &CoapService::on_fd, this);
  sync_devices();
  a_.log(GW_LOG_INFO, "OIC CoAP server listening on " + bound + " (UDP), di " + device_id_ + ", " +
                          std::to_string(constrained_.size()) + " constrained device(s)");
  return "";
}

void CoapService::stop() {
  if (!ctx_) return;
  if (watch_id_) a_.host().unwatch_fd(watch_id_);
  watch_id_ = 0;
  if (kick_timer_) a_.host().cancel(kick_timer_);
  kick_timer_ = 0;
  for (auto& [k, f] : fwds_)
    if (f->timer) a_.host().cancel(f->timer);
  fwds_.clear();
  pends_.clear();
  for (auto& [di, c] : constrained_)
    if (c.session) {
      coap_session_release(c.session);
      c.session = nullptr;
    }
  services().erase(ctx_);
  coap_free_context(ctx_);  // frees resources (Res stay ours), sessions, asyncs
  ctx_ = nullptr;
  resources_.clear();
  if (g_log_sink == &a_) g_log_sink = nullptr;
}

void CoapService::add_resource(const std::string& path, int kind, const std::string& uuid, const std::string& href,
                               bool observable) {
  if (resources_.count(path)) return;
  auto res = std::make_unique<Res>();
  res->kind = kind;
  res->path = path;
  res->uuid = uuid;
  res->href = href;
  coap_str_const_t* uri = coap_new_str_const(reinterpret_cast<const uint8_t*>(path.data()), path.size());
  res->r = coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI);
  coap_resource_set_userdata(res->r, res.get());
  coap_register_request_handler(res->r, COAP_REQUEST_GET, &method_tramp);
  if (kind == kRaXmpp || kind == kRaUser || kind == kBridged) {
    coap_register_request_handler(res->r, COAP_REQUEST_POST, &method_tramp);
    coap_register_request_handler(res->r, COAP_REQUEST_PUT, &method_tramp);
  }
  if (kind == kBridged) coap_register_request_handler(res->r, COAP_REQUEST_DELETE, &method_tramp);
  if (observable) coap_resource_set_get_observable(res->r, 1);
  coap_add_resource(ctx_, res->r);
  resources_[path] = std::move(res);
}

void CoapService::remove_resource(const std::string& path) {
  auto it = resources_.find(path);
  if (it == resources_.end()) return;
  coap_delete_resource(ctx_, it->second->r);  // observers get 4.04 from libcoap
  resources_.erase(it);
  kick();
}

void CoapService::sync_devices() {
  if (!ctx_) return;
  std::map<std::string, std::pair<int, std::pair<std::string, std::string>>> want;  // path -> kind, uuid, href
  std::set<std::string> observable;
  for (const auto& [uuid, link] : a_.links()) {
    if (link->constrained()) continue;
    want[uuid + "/oic/d"] = {kDevD, {uuid, "/oic/d"}};
    want[uuid + "/oic/p"] = {kDevP, {uuid, "/oic/p"}};
    for (const auto& [href, r] : link->resources().by_href) {
      std::string p = uuid + href;
      want[p] = {kBridged, {uuid, href}};
      if (r.observable() && !r.service()) observable.insert(p);
    }
  }
  std::vector<std::string> gone;
  for (const auto& [path, r] : resources_)
    if ((r->kind == kBridged || r->kind == kDevD || r->kind == kDevP) && !want.count(path)) gone.push_back(path);
  for (const auto& p : gone) remove_resource(p);
  for (const auto& [path, w] : want) add_resource(path, w.first, w.second.first, w.second.second, observable.count(path) != 0);
}

void CoapService::kick() {
  if (!ctx_ || kick_timer_) return;
  kick_timer_ = a_.host().timer(0, 0, &CoapService::on_kick, this);
}

void CoapService::on_kick(void* self) {
  auto* s = static_cast<CoapService*>(self);
  s->kick_timer_ = 0;
  on_fd(self, -1, GW_FD_READ);
}

void CoapService::on_fd(void* self, int, uint32_t) {
  auto* s = static_cast<CoapService*>(self);
  if (!s->ctx_) return;
  // With epoll, libcoap's fd covers every socket and its retransmission timerfd; never call this
  // from inside a libcoap callback (it would recurse).
  coap_io_process(s->ctx_, COAP_IO_NO_WAIT);
  for (auto& [p, r] : s->resources_) r->notifying = false;
}

J CoapService::discovery(const std::string& rt_filter) const {
  J out = J::array();
  auto keep = [&](const J& link) {
    if (rt_filter.empty()) return true;
    for (const auto& rt : link["rt"])
      if (rt == rt_filter) return true;
    return false;
  };
  auto add = [&](const std::string& di, J links) {
    J kept = J::array();
    for (auto& l : links)
      if (keep(l)) kept.push_back(std::move(l));
    if (!kept.empty()) out.push_back(J{{"di", di}, {"links", std::move(kept)}});
  };
  auto link = [](const std::string& href, J rt, const char* ifs, int bm) {
    return J{{"href", href}, {"rt", std::move(rt)}, {"if", J::array({ifs})}, {"p", J{{"bm", bm}}}};
  };
  add(device_id_, J::array({link("/oic/d", J::array({"oic.wk.d", "oic.d.bridge"}), "oic.if.r", 1),
                            link("/oic/p", J::array({"oic.wk.p"}), "oic.if.r", 1),
                            link(std::string(kXmppResHref), J::array({"oic.ra.xmpp"}), "oic.if.s", 1),
                            link(std::string(kXmppUserResHref), J::array({"oic.ra.user"}), "oic.if.s", 1)}));
  for (const auto& [uuid, l] : a_.links()) {
    if (l->constrained()) continue;
    J doc = oic_res(l->record(), l->resources());
    J links = J::array();
    for (auto& lk : doc[0]["links"]) {
      std::string href = lk["href"].get<std::string>();
      if (href == kXmppResHref || href == kXmppUserResHref) continue;  // the gateway's, above
      lk["href"] = "/" + uuid + href;
      links.push_back(std::move(lk));
    }
    add(uuid, std::move(links));
  }
  return out;
}

void CoapService::respond(Res& res, coap_session_t* s, const coap_pdu_t* req, const coap_string_t* query,
                          coap_pdu_t* resp, int code, const J* body, int cf, const std::string& diagnostic) {
  coap_pdu_set_code(resp, static_cast<coap_pdu_code_t>(coap_code_from_int(code)));
  if (code >= 400) {
    // RFC 7252 §5.5.2: diagnostic payload, UTF-8 text, no Content-Format.
    if (!diagnostic.empty())
      coap_add_data(resp, std::min<size_t>(diagnostic.size(), 512), reinterpret_cast<const uint8_t*>(diagnostic.data()));
    return;
  }
  if (!body) return;
  auto* bytes = new std::vector<uint8_t>(encode_payload(*body, cf));
  if (cf == kCfOcfCbor) {
    uint8_t buf[4];
    size_t n = coap_encode_var_safe(buf, sizeof buf, kOcfVersion100);
    coap_add_option(resp, kOptOcfContentVersion, n, buf);
  }
  coap_add_data_large_response(res.r, s, req, resp, query, static_cast<uint16_t>(cf), -1, 0, bytes->size(),
                               bytes->data(), &release_bytes, bytes);
}

void CoapService::handle(coap_resource_t* r, coap_session_t* s, const coap_pdu_t* req, const coap_string_t* query,
                         coap_pdu_t* resp) {
  auto* res = static_cast<Res*>(coap_resource_get_userdata(r));
  if (!res) return;
  // The completion of an asynchronous answer: libcoap calls the handler again with a copy of the
  // request once coap_async_trigger() ran.
  if (coap_async_t* as = coap_find_async(s, coap_pdu_get_token(req))) {
    auto it = pends_.find(as);
    if (it == pends_.end() || !it->second->done) return;
    auto p = it->second;
    pends_.erase(it);
    const RestMessage& rm = p->t->resp;
    int code = http_to_coap(rm.status, p->method);
    std::string diag;
    if (code >= 400 && rm.body && rm.body->is_object() && rm.body->contains("error") && (*rm.body)["error"].is_string())
      diag = (*rm.body)["error"].get<std::string>();
    else if (code >= 400)
      diag = rm.reason;
    if (code == 205 && res->kind == kBridged && rm.body && rm.body->is_object()) {
      res->cache = *rm.body;
      res->cache_valid = true;
    }
    respond(*res, s, req, query, resp, code, rm.body ? &*rm.body : nullptr, p->cf, diag);
    return;  // libcoap frees the async entry once it has fired (coap_check_async)
  }
  ++requests_;
  Method m;
  switch (coap_pdu_get_code(req)) {
    case COAP_REQUEST_CODE_GET: m = Method::Get; break;
    case COAP_REQUEST_CODE_POST: m = Method::Post; break;
    case COAP_REQUEST_CODE_PUT: m = Method::Put; break;
    case COAP_REQUEST_CODE_DELETE: m = Method::Delete; break;
    default: return respond(*res, s, req, query, resp, 405, nullptr, 0, "method not allowed");
  }
  auto cf = opt_uint(req, COAP_OPTION_CONTENT_FORMAT);
  auto accept = opt_uint(req, COAP_OPTION_ACCEPT);
  bool ocf_accept = opt_uint(req, kOptOcfAcceptVersion).has_value();
  auto observe = opt_uint(req, COAP_OPTION_OBSERVE);
  auto fmt = choose_response_format(accept, cf, ocf_accept);
  if (!fmt)
    return respond(*res, s, req, query, resp, 406, nullptr, 0,
                   "Accept " + std::to_string(*accept) + " not supported (10000, 60 or 50)");
  RestMessage rm;
  rm.method = m;
  if (query) rm.url.query.assign(reinterpret_cast<const char*>(query->s), query->length);
  if (m == Method::Post || m == Method::Put) {
    size_t len = 0, off = 0, total = 0;
    const uint8_t* data = nullptr;
    std::span<const uint8_t> bytes;
    if (coap_get_data_large(req, &len, &data, &off, &total) && data) bytes = std::span<const uint8_t>(data, len);
    auto dec = decode_payload(cf, bytes);
    if (dec.error) return respond(*res, s, req, query, resp, dec.error->coap, nullptr, 0, dec.error->message);
    rm.body = std::move(dec.body);
  }
  const Account& acc = a_.account();
  switch (res->kind) {
    case kOicRes: {
      std::string rt;
      for (const auto& q : split(rm.url.query, '&'))
        if (q.rfind("rt=", 0) == 0) rt = pct_decode(q.substr(3));
      J doc = discovery(rt);
      return respond(*res, s, req, query, resp, 205, &doc, *fmt, "");
    }
    case kOicD: {
      J d{{"rt", J::array({"oic.wk.d", "oic.d.bridge"})},
          {"n", cfg_.device_name().empty() ? std::string("camgw") : cfg_.device_name()},
          {"di", device_id_},
          {"icv", "core.1.0.0"},
          {"dmv", "res.1.0.0"}};
      return respond(*res, s, req, query, resp, 205, &d, *fmt, "");
    }
    case kOicP: {
      J p{{"rt", J::array({"oic.wk.p"})}, {"pi", device_id_}, {"mnmn", "camgw"}, {"mnmo", "camgw"}, {"mnfv", ""}};
      return respond(*res, s, req, query, resp, 205, &p, *fmt, "");
    }
    case kDevD:
    case kDevP: {
      DeviceLink* d = a_.find(res->uuid);
      if (!d) return respond(*res, s, req, query, resp, 404, nullptr, 0, "no such device");
      J doc = res->kind == kDevD ? oic_d(d->record(), d->resources()) : oic_p(d->record());
      return respond(*res, s, req, query, resp, 205, &doc, *fmt, "");
    }
    case kRaXmpp:
    case kRaUser: {
      if (m == Method::Get) {
        J body;
        if (res->kind == kRaUser) {
          body = ra_user_body(acc, a_.config().credential_readable());
        } else {
          // The account is shared by every bridged device: Connected when all sessions are.
          const char* st = "NotInitialized";
          std::string err;
          size_t online = 0, n = 0;
          for (const auto& [u, l] : a_.links()) {
            ++n;
            std::string ls = l->ra_status();
            if (ls == "Connected") ++online;
            else if (ls == "Error" && err.empty()) err = l->error();
          }
          if (n && online == n) st = "Connected";
          else if (!err.empty()) st = "Error";
          body = ra_xmpp_body(acc, st, st == std::string("Error") ? err : "");
        }
        return respond(*res, s, req, query, resp, 205, &body, *fmt, "");
      }
      if (!cfg_.ra_writable())
        return respond(*res, s, req, query, resp, 403, nullptr, 0,
                       "the remote-access resources are read-only over CoAP (coap.ra_writable)");
      RaAnswer ra = res->kind == kRaXmpp ? ra_xmpp_write(acc, rm.body) : ra_user_write(acc, rm.body);
      int code = http_to_coap(ra.code, m);
      std::string diag = code >= 400 && ra.body.contains("error") ? ra.body["error"].get<std::string>() : "";
      respond(*res, s, req, query, resp, code, &ra.body, *fmt, diag);
      if (ra.next) a_.schedule_account_change(std::move(*ra.next));
      return;
    }
    case kBridged: break;
  }
  DeviceLink* d = a_.find(res->uuid);
  if (!d) return respond(*res, s, req, query, resp, 404, nullptr, 0, "no such device");
  if (m == Method::Get && observe && *observe == 0 && res->notifying && res->cache_valid) {
    // A notification (libcoap re-runs the GET for each observer): the representation just updated.
    ++notifications_;
    return respond(*res, s, req, query, resp, 205, &res->cache, *fmt, "");
  }
  rm.url.path = res->href;
  auto t = std::make_shared<Txn>();
  t->uuid = res->uuid;
  t->peer = "coap://" + addr_text(coap_session_get_addr_remote(s));
  t->method = m;
  t->href = res->href;
  auto p = std::make_shared<Pend>();
  p->cf = *fmt;
  p->method = m;
  std::weak_ptr<Pend> wp = p;
  t->done_cb = [wp, this](const std::shared_ptr<Txn>& done) {
    auto pp = wp.lock();
    if (!pp) return;  // the service stopped meanwhile
    pp->done = true;
    pp->t = done;
    if (pp->async) {
      coap_async_trigger(pp->async);
      kick();
    }
  };
  d->serve_resource(t, rm, res->href, nullptr);
  if (p->done) {  // answered at once (404, 503, 400, ...)
    const RestMessage& r2 = p->t->resp;
    int code = http_to_coap(r2.status, m);
    std::string diag;
    if (code >= 400 && r2.body && r2.body->is_object() && r2.body->contains("error") && (*r2.body)["error"].is_string())
      diag = (*r2.body)["error"].get<std::string>();
    if (code == 205 && r2.body && r2.body->is_object()) {
      res->cache = *r2.body;
      res->cache_valid = true;
    }
    return respond(*res, s, req, query, resp, code, r2.body ? &*r2.body : nullptr, *fmt, diag);
  }
  // Separate response (RFC 7252 §5.2.2): libcoap ACKs a CON now and calls us again when triggered.
  coap_async_t* as = coap_register_async(s, req, 0);
  if (!as) {
    t->done_cb = nullptr;
    return respond(*res, s, req, query, resp, 503, nullptr, 0, "cannot defer the answer");
  }
  p->async = as;
  pends_[as] = p;
}

void CoapService::notify(const std::string& uuid, const std::string& point_path, const v1::Value& content) {
  if (!ctx_) return;
  DeviceLink* d = a_.find(uuid);
  if (!d) return;
  auto range = d->resources().by_path.equal_range(point_path);
  bool any = false;
  for (auto it = range.first; it != range.second; ++it) {
    const OicResource* r = d->resources().find(it->second);
    if (!r) continue;
    auto rit = resources_.find(uuid + r->href);
    if (rit == resources_.end() || !rit->second->cache_valid) continue;  // nobody can be observing
    for (const auto& p : r->points)
      if (p.path() == point_path) rit->second->cache[p.oic().property()] = to_oic(p, point_value(p, content));
    rit->second->notifying = true;
    coap_resource_notify_observers(rit->second->r, nullptr);
    any = true;
  }
  if (any) kick();
}

// ---------------------------------------------------------------------------------------------
// XC-Proxy toward RA-constrained OIC devices

coap_session_t* CoapService::device_session(const std::string& di, std::string& err) {
  auto it = constrained_.find(lower(di));
  if (it == constrained_.end()) {
    err = "no constrained device " + di;
    return nullptr;
  }
  Constrained& c = it->second;
  if (c.session) return c.session;
  coap_address_t addr;
  coap_address_init(&addr);
  if (::inet_pton(AF_INET, c.target.host.c_str(), &addr.addr.sin.sin_addr) == 1) {
    addr.addr.sin.sin_family = AF_INET;
    addr.addr.sin.sin_port = htons(c.target.port);
    addr.size = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, c.target.host.c_str(), &addr.addr.sin6.sin6_addr) == 1) {
    addr.addr.sin6.sin6_family = AF_INET6;
    addr.addr.sin6.sin6_port = htons(c.target.port);
    addr.size = sizeof(sockaddr_in6);
  } else {
    err = "bad address " + c.target.host;
    return nullptr;
  }
  c.session = coap_new_client_session(ctx_, nullptr, &addr, COAP_PROTO_UDP);
  if (!c.session) err = "cannot create a CoAP session to " + c.uri;
  return c.session;
}

void CoapService::forward(const v1::Envelope& req) {
  ++forwarded_;
  auto fail = [&](v1::Status st, const std::string& why) {
    v1::Envelope r;
    r.set_kind(v1::RESPONSE);
    r.set_op(req.op());
    r.set_correlation_id(req.correlation_id());
    *r.mutable_origin() = req.target();
    *r.mutable_target() = req.origin();
    r.set_status(st);
    r.set_status_detail(why);
    a_.host().emit(r);
  };
  if (!ctx_) return fail(v1::TARGET_NOT_REACHABLE, "CoAP is not running");
  std::string err;
  coap_session_t* s = device_session(req.target().device(), err);
  if (!s) return fail(v1::TARGET_NOT_REACHABLE, err);
  const Constrained& c = constrained_[lower(req.target().device())];
  coap_pdu_code_t code = COAP_REQUEST_CODE_GET;
  switch (req.op()) {
    case v1::RETRIEVE: code = COAP_REQUEST_CODE_GET; break;
    case v1::UPDATE: code = COAP_REQUEST_CODE_POST; break;
    case v1::CREATE: code = COAP_REQUEST_CODE_PUT; break;
    case v1::DELETE: code = COAP_REQUEST_CODE_DELETE; break;
    default: return fail(v1::NOT_IMPLEMENTED, "operation not forwarded over CoAP");
  }
  coap_pdu_t* pdu = coap_new_pdu(COAP_MESSAGE_CON, code, s);
  if (!pdu) return fail(v1::BUSY, "cannot allocate a CoAP PDU");
  uint8_t tok[8];
  size_t tl = sizeof tok;
  coap_session_new_token(s, &tl, tok);
  coap_add_token(pdu, tl, tok);
  coap_optlist_t* ol = nullptr;
  for (const auto& seg : split(req.target().path(), '/')) {
    std::string d = pct_decode(seg);
    coap_insert_optlist(&ol, coap_new_optlist(COAP_OPTION_URI_PATH, d.size(), reinterpret_cast<const uint8_t*>(d.data())));
  }
  auto q = req.attributes().find("oic.query");
  if (q != req.attributes().end())
    for (const auto& seg : split(q->second, '&')) {
      std::string d = pct_decode(seg);
      coap_insert_optlist(&ol, coap_new_optlist(COAP_OPTION_URI_QUERY, d.size(), reinterpret_cast<const uint8_t*>(d.data())));
    }
  uint8_t buf[4];
  bool has_body = req.content().kind_case() != v1::Value::KIND_NOT_SET;
  if (has_body)
    coap_insert_optlist(&ol, coap_new_optlist(COAP_OPTION_CONTENT_FORMAT,
                                              coap_encode_var_safe(buf, sizeof buf, kCfOcfCbor), buf));
  coap_insert_optlist(&ol, coap_new_optlist(COAP_OPTION_ACCEPT, coap_encode_var_safe(buf, sizeof buf, kCfOcfCbor), buf));
  coap_insert_optlist(&ol, coap_new_optlist(kOptOcfAcceptVersion, coap_encode_var_safe(buf, sizeof buf, kOcfVersion100), buf));
  if (has_body)
    coap_insert_optlist(&ol, coap_new_optlist(kOptOcfContentVersion, coap_encode_var_safe(buf, sizeof buf, kOcfVersion100), buf));
  coap_add_optlist_pdu(pdu, &ol);
  coap_delete_optlist(ol);
  if (has_body) {
    auto* bytes = new std::vector<uint8_t>(gw::value_to_cbor(req.content()));
    coap_add_data_large_request(s, pdu, bytes->size(), bytes->data(), &release_bytes, bytes);
  }
  auto f = std::make_unique<Fwd>();
  f->svc = this;
  f->token.assign(reinterpret_cast<const char*>(tok), tl);
  f->di = req.target().device();
  f->uri = c.uri;
  f->req = req;
  f->req.clear_content();
  if (coap_send(s, pdu) == COAP_INVALID_MID) return fail(v1::TARGET_NOT_REACHABLE, "cannot send to " + c.uri);
  uint64_t timeout = cfg_.forward_timeout_ms();
  f->timer = a_.host().timer(timeout, 0, &CoapService::on_fwd_timeout, f.get());
  fwds_[f->token] = std::move(f);
  kick();
}

void CoapService::on_fwd_timeout(void* self) {
  auto* f = static_cast<Fwd*>(self);
  f->timer = 0;
  f->svc->fwd_done(f->token, v1::REQUEST_TIMEOUT, 0, std::nullopt,
                   "no CoAP answer from " + f->uri + " within " + std::to_string(f->svc->cfg_.forward_timeout_ms()) + " ms");
}

void CoapService::fwd_done(const std::string& token, v1::Status st, int native, std::optional<v1::Value> content,
                           const std::string& detail) {
  auto it = fwds_.find(token);
  if (it == fwds_.end()) return;
  std::unique_ptr<Fwd> f = std::move(it->second);
  fwds_.erase(it);
  if (f->timer) a_.host().cancel(f->timer);
  v1::Envelope r;
  r.set_kind(v1::RESPONSE);
  r.set_op(f->req.op());
  r.set_correlation_id(f->req.correlation_id());
  *r.mutable_origin() = f->req.target();
  *r.mutable_target() = f->req.origin();
  r.set_status(st);
  if (native) r.set_native_status(native);
  if (!detail.empty()) r.set_status_detail(detail);
  if (content) *r.mutable_content() = std::move(*content);
  a_.host().emit(r);
}

void CoapService::on_coap_response(coap_session_t*, const coap_pdu_t*, const coap_pdu_t* received) {
  std::string key = token_key(coap_pdu_get_token(received));
  if (!fwds_.count(key)) return;
  int code = coap_code_to_int(coap_pdu_get_code(received));
  size_t len = 0, off = 0, total = 0;
  const uint8_t* data = nullptr;
  std::span<const uint8_t> bytes;
  if (coap_get_data_large(received, &len, &data, &off, &total) && data) bytes = std::span<const uint8_t>(data, len);
  std::optional<v1::Value> content;
  std::string detail;
  v1::Status st = status_from_coap(code);
  if (!bytes.empty()) {
    if (code >= 400) {
      // Diagnostic payload (RFC 7252 §5.5.2).
      detail.assign(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 512));
    } else {
      auto dec = decode_payload(opt_uint(received, COAP_OPTION_CONTENT_FORMAT), bytes);
      if (dec.error) {
        st = v1::DEVICE_ERROR;
        detail = "the device's answer is not understood: " + dec.error->message;
      } else if (dec.body) {
        content = gw::value_from_ojson(*dec.body);
      }
    }
  }
  fwd_done(key, st, code, std::move(content), detail);
}

void CoapService::on_nack(coap_session_t*, const coap_pdu_t* sent, int reason) {
  if (!sent) return;
  std::string key = token_key(coap_pdu_get_token(sent));
  auto it = fwds_.find(key);
  if (it == fwds_.end()) return;
  std::string uri = it->second->uri;
  if (reason == COAP_NACK_TOO_MANY_RETRIES)
    fwd_done(key, v1::REQUEST_TIMEOUT, 0, std::nullopt, "no CoAP answer from " + uri + " (retransmissions exhausted)");
  else
    fwd_done(key, v1::TARGET_NOT_REACHABLE, 0, std::nullopt,
             "CoAP request to " + uri + " failed (" +
                 (reason == COAP_NACK_RST ? "reset by the device" : "not deliverable") + ")");
}

nlohmann::json CoapService::status() const {
  nlohmann::json j;
  j["port"] = port_;
  j["di"] = device_id_;
  j["resources"] = resources_.size();
  j["requests"] = requests_;
  j["notifications"] = notifications_;
  j["pending_answers"] = pends_.size();
  j["constrained_devices"] = constrained_.size();
  j["forwarded"] = forwarded_;
  j["forwards_pending"] = fwds_.size();
  return j;
}

}  // namespace gw::oic::adapter
