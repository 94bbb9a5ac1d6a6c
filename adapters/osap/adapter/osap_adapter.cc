// The OSAP session adapter: configuration, listeners, the sweep timer, the device table, the
// envelope mapping and the "$provision" management requests.
#include "osap_adapter.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gw/value.h"

namespace gw::osap::session {

namespace {
constexpr uint64_t kSweepMs = 100;
constexpr const char* kSecretVcode = "verification_code";
constexpr const char* kSecretLicense = "license";
constexpr const char* kSecretMaster = "master_key";
constexpr const char* kSecretSession = "session_key";
constexpr int kQueryWindow = 16;

std::vector<std::string> SplitPath(const std::string& p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    out.push_back(p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

std::string StrOf(const pb::Value* v) { return v && v->has_string_value() ? v->string_value() : std::string(); }

// The device's answer code: {"code":n} or {"payload":{"code":n}}.
std::optional<int64_t> ReplyCode(const nlohmann::ordered_json& body) {
  auto c = body.find("code");
  if (c != body.end() && c->is_number_integer()) return c->get<int64_t>();
  auto p = body.find("payload");
  if (p != body.end() && p->is_object()) {
    auto pc = p->find("code");
    if (pc != p->end() && pc->is_number_integer()) return pc->get<int64_t>();
  }
  return std::nullopt;
}
}  // namespace

OsapAdapter::~OsapAdapter() {
  for (auto& [p, c] : conns_) c->on_closed = nullptr;
  conns_.clear();
  dead_.clear();
  if (sweep_timer_) host_.cancel(sweep_timer_);
  if (reap_timer_) host_.cancel(reap_timer_);
  if (lbs_watch_) host_.unwatch_fd(lbs_watch_);
  if (lbs_fd_ >= 0) ::close(lbs_fd_);
  for (auto& d : das_) {
    if (d->watch) host_.unwatch_fd(d->watch);
    if (d->fd >= 0) ::close(d->fd);
  }
}

void OsapAdapter::Log(int level, const std::string& msg) const {
  if (host_.log_enabled(level)) host_.log(level, msg);
}

// ---- configuration ------------------------------------------------------------------------------

std::string OsapAdapter::configure(const std::string& bytes) {
  if (!cfg_.ParseFromString(bytes)) return "osap: config does not decode";
  if (cfg_.lbs_address().empty()) cfg_.set_lbs_address("127.0.0.1");
  if (!cfg_.has_lbs_port()) cfg_.set_lbs_port(8666);
  if (cfg_.lbs_port() > 65535) return "osap: lbs_port above 65535";
  if (cfg_.das_size() == 0) cfg_.add_das();
  for (int i = 0; i < cfg_.das_size(); ++i) {
    auto* d = cfg_.mutable_das(i);
    if (d->listen_address().empty()) d->set_listen_address("127.0.0.1");
    if (!d->has_listen_port()) d->set_listen_port(8667);
    if (d->listen_port() > 65535 || d->advertised_port() > 65535 || d->advertised_udp_port() > 65535) {
      return "osap: das[" + std::to_string(i) + "]: port above 65535";
    }
    if (d->server_id().empty()) d->set_server_id("das-" + std::to_string(i));
    for (const std::string* s : {&d->advertised_address(), &d->domain(), &d->server_id()}) {
      if (s->size() > 63) return "osap: das[" + std::to_string(i) + "]: DasInfo strings must be shorter than 64 bytes";
    }
  }
  auto* l = cfg_.mutable_limits();
  if (!l->max_connections()) l->set_max_connections(4096);
  if (!l->message_timeout_ms()) l->set_message_timeout_ms(5000);
  if (!l->max_lbs_frame()) l->set_max_lbs_frame(static_cast<uint32_t>(lbs::kDefaultMaxFrame));
  if (!l->max_mqtt_packet()) l->set_max_mqtt_packet(static_cast<uint32_t>(mqtt::kDefaultMaxInbound));
  if (!l->max_output_buffer()) l->set_max_output_buffer(1u << 20);
  if (!l->max_pending_requests()) l->set_max_pending_requests(64);
  if (!l->max_unacked_uplinks()) l->set_max_unacked_uplinks(32);
  if (!cfg_.service_timeout_ms()) cfg_.set_service_timeout_ms(10000);
  if (cfg_.keep_alive_s() > 65535) return "osap: keep_alive_s above 65535";
  std::set<std::string> seen;
  for (auto& p : cfg_.device()) {
    if (!topics::IsValidSerial(p.serial())) return "osap: device serial \"" + p.serial() + "\" is not a valid serial";
    if (p.verification_code().empty() && p.license().empty())
      return "osap: device " + p.serial() + " has neither a verification_code nor a license";
    if (!seen.insert(p.serial()).second) return "osap: device " + p.serial() + " is listed twice";
  }
  return "";
}

// ---- devices ------------------------------------------------------------------------------------

DeviceState* OsapAdapter::FindDevice(const std::string& serial) {
  auto it = devices_.find(serial);
  return it == devices_.end() ? nullptr : &it->second;
}

bool OsapAdapter::Persist(DeviceState& d, std::function<void(bool ok)> durable) {
  pb::Device rec;
  if (auto old = host_.device(nullptr, d.serial.c_str())) rec = *old;
  rec.set_native_id(d.serial);
  rec.set_model(d.model);
  if (rec.name().empty()) rec.set_name("OSAP camera " + d.serial);
  rec.set_online(d.conn != nullptr);
  auto& id = *rec.mutable_identity();
  if (d.devid.empty()) id.erase("devid"); else id["devid"] = d.devid;
  if (d.blacklisted) id["blacklisted"] = "true"; else id.erase("blacklisted");
  auto set_or_erase = [&id](const char* k, const std::string& v) {
    if (v.empty()) id.erase(k); else id[k] = v;
  };
  set_or_erase("parent_serial", d.parent_serial);
  set_or_erase("firmware", d.firmware);
  set_or_erase("dev_type", d.dev_type);
  auto& sec = *rec.mutable_secrets();
  if (d.vcode.empty()) sec.erase(kSecretVcode); else sec[kSecretVcode] = d.vcode;
  if (d.license.empty()) sec.erase(kSecretLicense); else sec[kSecretLicense] = d.license;
  if (d.master.empty()) sec.erase(kSecretMaster); else sec[kSecretMaster] = d.master;
  if (d.session_key) sec[kSecretSession] = std::string(d.session_key->begin(), d.session_key->end());
  else sec.erase(kSecretSession);
  auto stored = durable ? host_.put_device_durable(rec, [durable](int rc) { durable(rc == GW_OK); })
                        : host_.put_device(rec);
  if (!stored) {
    Log(GW_LOG_ERROR, "sn=" + d.serial + ": registry write failed");
    return false;
  }
  d.uuid = stored->uuid();
  by_uuid_[d.uuid] = d.serial;
  return true;
}

Result<DeviceState*> OsapAdapter::AddDevice(const cfgpb::ProvisionedDevice& p, bool replace) {
  auto [it, fresh] = devices_.try_emplace(p.serial());
  DeviceState& d = it->second;
  if (!fresh && !replace) return make_error("device " + p.serial() + " is already provisioned");
  bool changed = fresh || d.vcode != p.verification_code() || d.license != p.license() || d.model != p.model() ||
                 d.blacklisted != p.blacklisted();
  d.serial = p.serial();
  d.vcode = p.verification_code();
  d.license = p.license();
  d.model = p.model();
  d.blacklisted = p.blacklisted();
  if (changed && !Persist(d)) {
    if (fresh) devices_.erase(it);
    return make_error("registry write failed for " + p.serial());
  }
  return &d;
}

const DasEndpointState* OsapAdapter::LeastLoadedDas() const {
  const DasEndpointState* best = nullptr;
  for (auto& d : das_) {
    if (d->fd < 0) continue;
    if (!best || d->connected < best->connected) best = d.get();
  }
  return best;
}

lbs::DasInfo OsapAdapter::DasInfoFor(const DasEndpointState& ep) const {
  lbs::DasInfo i;
  i.address = ep.cfg.advertised_address().empty() ? ep.cfg.listen_address() : ep.cfg.advertised_address();
  i.port = static_cast<uint16_t>(ep.cfg.advertised_port() ? ep.cfg.advertised_port() : ep.bound_port);
  i.udp_port = static_cast<uint16_t>(ep.cfg.advertised_udp_port() ? ep.cfg.advertised_udp_port() : i.port);
  i.domain = ep.cfg.domain().empty() ? i.address : ep.cfg.domain();
  i.server_id = ep.cfg.server_id();
  return i;
}

// ---- start / stop -------------------------------------------------------------------------------

std::string OsapAdapter::start() {
  if (auto list = host_.devices()) {
    for (auto& rec : list->devices()) {
      DeviceState& d = devices_[rec.native_id()];
      d.serial = rec.native_id();
      d.uuid = rec.uuid();
      d.model = rec.model();
      auto sec = rec.secrets();
      d.vcode = sec[kSecretVcode];
      d.license = sec[kSecretLicense];
      d.master = sec[kSecretMaster];
      const std::string& sk = sec[kSecretSession];
      if (sk.size() == 16) {
        SessionKey k{};
        std::copy(sk.begin(), sk.end(), k.begin());
        d.session_key = k;
      }
      auto ident = rec.identity();
      d.devid = ident["devid"];
      d.blacklisted = ident["blacklisted"] == "true";
      d.parent_serial = ident["parent_serial"];
      d.firmware = ident["firmware"];
      d.dev_type = ident["dev_type"];
      by_uuid_[d.uuid] = d.serial;
    }
  }
  for (auto& p : cfg_.device()) {
    auto r = AddDevice(p, true);
    if (!r) return "osap: " + r.error().message;
  }
  std::string err;
  lbs_fd_ = ListenTcp(cfg_.lbs_address(), static_cast<uint16_t>(cfg_.lbs_port()), &lbs_port_, &err);
  if (lbs_fd_ < 0) return "osap: LBS: " + err;
  lbs_watch_ = host_.watch_fd(lbs_fd_, GW_FD_READ, &OsapAdapter::OnAccept, this);
  Log(GW_LOG_INFO, "LBS listening on " + cfg_.lbs_address() + ":" + std::to_string(lbs_port_));
  for (int i = 0; i < cfg_.das_size(); ++i) {
    auto ep = std::make_unique<DasEndpointState>();
    ep->cfg = cfg_.das(i);
    ep->index = static_cast<size_t>(i);
    ep->owner = this;
    ep->fd = ListenTcp(ep->cfg.listen_address(), static_cast<uint16_t>(ep->cfg.listen_port()), &ep->bound_port, &err);
    if (ep->fd < 0) return "osap: DAS " + ep->cfg.server_id() + ": " + err;
    ep->watch = host_.watch_fd(ep->fd, GW_FD_READ, &OsapAdapter::OnDasAccept, ep.get());
    Log(GW_LOG_INFO, "DAS " + ep->cfg.server_id() + " listening on " + ep->cfg.listen_address() + ":" +
                         std::to_string(ep->bound_port));
    das_.push_back(std::move(ep));
  }
  sweep_timer_ = host_.timer(kSweepMs, kSweepMs, &OsapAdapter::OnSweep, this);
  key_pool_ = std::make_unique<KeyPool>(cfg_.limits().has_ecdh_key_pool() ? cfg_.limits().ecdh_key_pool() : 16);
  Log(GW_LOG_INFO, std::to_string(devices_.size()) + " provisioned devices");
  return "";
}

void OsapAdapter::stop() {
  stopping_ = true;
  if (lbs_watch_) host_.unwatch_fd(lbs_watch_);
  lbs_watch_ = 0;
  for (auto& d : das_) {
    if (d->watch) host_.unwatch_fd(d->watch);
    d->watch = 0;
  }
  std::vector<Conn*> all;
  for (auto& [p, c] : conns_) all.push_back(p);
  for (Conn* c : all) c->Close("gateway shutting down");
  for (auto& [key, p] : pending_) Respond(p.request, pb::TARGET_NOT_REACHABLE, nullptr, 0, "gateway shutting down");
  pending_.clear();
  key_pool_.reset();  // joins the key thread
}

bool OsapAdapter::done() { return conns_.empty(); }

// ---- sockets ------------------------------------------------------------------------------------

void OsapAdapter::OnAccept(void* user, int fd, uint32_t) { static_cast<OsapAdapter*>(user)->Accept(fd, nullptr); }

void OsapAdapter::OnDasAccept(void* user, int fd, uint32_t) {
  auto* ep = static_cast<DasEndpointState*>(user);
  ep->owner->Accept(fd, ep);
}

void OsapAdapter::Accept(int listen_fd, DasEndpointState* das) {
  for (int i = 0; i < 64; ++i) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) Log(GW_LOG_WARN, std::string("accept: ") + std::strerror(errno));
      return;
    }
    std::string peer = PeerName(fd);
    if (conns_.size() >= cfg_.limits().max_connections()) {
      Log(GW_LOG_WARN, std::string(das ? "das" : "lbs") + " peer=" + peer + ": closing: connection limit of " +
                           std::to_string(cfg_.limits().max_connections()) + " reached");
      if (das) {  // CONNACK 3 (server unavailable) without waiting for the CONNECT
        Bytes ack = mqtt::EncodeConnack(mqtt::Connack{false, mqtt::ConnectReturn::kServerUnavailable});
        (void)!::send(fd, ack.data(), ack.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      ::close(fd);
      continue;
    }
    std::unique_ptr<Conn> c;
    if (das) c = std::make_unique<DasConn>(*this, fd, peer, *das);
    else c = std::make_unique<LbsConn>(*this, fd, peer);
    Adopt(std::move(c));
  }
}

void OsapAdapter::Adopt(std::unique_ptr<Conn> c) {
  Conn* raw = c.get();
  raw->on_closed = [this](Conn* x, const std::string& reason) { Closed(x, reason); };
  conns_[raw] = std::move(c);
  if (!raw->Start()) raw->Close("cannot watch the socket");
}

void OsapAdapter::Closed(Conn* c, const std::string& reason) {
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> owned = std::move(it->second);
  conns_.erase(it);
  if (auto* d = dynamic_cast<DasConn*>(c); d && d->device) DeviceLost(*d, reason);
  Log(GW_LOG_DEBUG, "peer=" + c->peer() + ": closed: " + reason);
  dead_.push_back(std::move(owned));
  if (!reap_timer_) reap_timer_ = host_.timer(0, 0, &OsapAdapter::OnReap, this);
}

void OsapAdapter::OnReap(void* user) {
  auto* self = static_cast<OsapAdapter*>(user);
  self->reap_timer_ = 0;
  self->dead_.clear();
}

void OsapAdapter::OnSweep(void* user) { static_cast<OsapAdapter*>(user)->Sweep(); }

void OsapAdapter::Sweep() {
  uint64_t now = host_.now_ms();
  std::vector<std::pair<Conn*, std::string>> expired;
  for (auto& [p, c] : conns_) {
    if (auto* l = dynamic_cast<LbsConn*>(p)) {
      if (now >= l->deadline_ms) {
        expired.emplace_back(p, "no complete message within " + std::to_string(message_timeout()) + " ms");
      } else if (now >= l->hard_deadline_ms) {
        expired.emplace_back(p, "handshake not finished within 30 s");
      }
    } else if (auto* d = dynamic_cast<DasConn*>(p)) {
      if (now >= d->deadline_ms) {
        expired.emplace_back(p, d->device ? "keep-alive expired (no packet within 1.5 x " + std::to_string(d->keep_alive_s) + " s)"
                                          : "no CONNECT within " + std::to_string(message_timeout()) + " ms");
      }
    }
  }
  for (auto& [p, why] : expired) {
    if (conns_.count(p) == 0) continue;
    std::string who = dynamic_cast<LbsConn*>(p) ? static_cast<LbsConn*>(p)->Who() : static_cast<DasConn*>(p)->Who();
    Log(GW_LOG_WARN, who + ": closing: " + why);
    p->Close(why);
  }
  for (auto& [sn, d] : devices_) {
    if (!d.conn && d.mqtt.exists && now >= d.mqtt.retain_until) EndSession(d, "session expired");
  }
  std::vector<std::pair<std::string, uint32_t>> late;
  for (auto& [key, p] : pending_)
    if (now >= p.deadline_ms) late.push_back(key);
  for (auto& key : late) {
    auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    Respond(it->second.request, pb::REQUEST_TIMEOUT, nullptr, 0, "the device did not answer in time");
    if (DeviceState* d = FindDevice(key.first)) {
      std::erase_if(d->mqtt.queue, [&](const Inflight& m) { return m.seq == key.second && !m.sent; });
    }
    pending_.erase(it);
  }
}

// ---- DAS session events -------------------------------------------------------------------------

void OsapAdapter::DeviceConnected(DasConn& c, bool resumed) {
  DeviceState& d = *c.device;
  ++c.endpoint.connected;
  ++das_connects_;
  Log(GW_LOG_INFO, c.Who() + ": connected (keep-alive " + std::to_string(c.keep_alive_s) + " s" +
                       (resumed ? ", session resumed" : "") + ")");
  if (!d.online) {
    host_.set_online(d.uuid, true);
    EmitOnline(d, true, resumed ? "session resumed" : "connected", "");
  }
  if (cfg_.keep_alive_s() && cfg_.keep_alive_s() != c.keep_alive_s) {
    // PROTOCOL.md 5.5: announce the new interval; enforce the larger one until the device
    // acknowledges it.
    nlohmann::ordered_json body;
    body["KeepAlive"]["Interval"] = cfg_.keep_alive_s();
    CommonHeader common{NextSeq(d), std::string(kLegacyCmdVer), kMsgTypeRequest};
    auto topic = topics::BuildLegacyDownlink({d.serial, topics::kDomainAccess, 1});
    if (topic) {
      auto r = PublishToDevice(d, topic.value(), common, body.dump(), static_cast<uint16_t>(cfg_.keep_alive_s()));
      if (!r) {
        Log(GW_LOG_WARN, c.Who() + ": keep-alive change not sent: " + r.error().message);
      } else {
        c.keep_alive_s = std::max(c.keep_alive_s, cfg_.keep_alive_s());
        Log(GW_LOG_INFO, c.Who() + ": keep-alive change to " + std::to_string(cfg_.keep_alive_s()) + " s queued on " + topic.value());
      }
      c.Touch();
    }
  }
  FlushInflight(d);
}

void OsapAdapter::EndSession(DeviceState& d, const std::string& why) {
  FailPending(d, pb::TARGET_NOT_REACHABLE, "device offline (" + why + ")");
  d.mqtt = MqttSession{};
  if (d.online) {
    host_.set_online(d.uuid, false);
    EmitOnline(d, false, why, "");
  }
}

void OsapAdapter::DeviceLost(DasConn& c, const std::string& reason) {
  DeviceState& d = *c.device;
  if (c.endpoint.connected) --c.endpoint.connected;
  if (d.conn != &c) return;
  d.conn = nullptr;
  if (c.graceful) {
    Log(GW_LOG_INFO, c.Who() + ": offline (DISCONNECT)");
    EndSession(d, "disconnect");
    return;
  }
  // Ungraceful (or replaced): the session is retained for 2 x keep-alive; the unacknowledged
  // downlink is resent with DUP on a resumed session.
  d.mqtt.retain_until = host_.now_ms() + 2000ull * c.keep_alive_s;
  if (!d.mqtt.queue.empty() && d.mqtt.queue.front().sent) {
    d.mqtt.queue.front().sent = false;
    d.mqtt.queue.front().pub.dup = true;
  }
  if (c.taken_over) return;  // replaced by a newer connection: no will, still online
  Log(GW_LOG_INFO, c.Who() + ": offline (" + reason + "), will " + (c.will ? c.will->topic : std::string("-")));
  host_.set_online(d.uuid, false);
  EmitOnline(d, false, reason, c.will ? c.will->topic : "");
}

uint32_t OsapAdapter::NextSeq(DeviceState& d) {
  uint32_t s = d.next_seq;
  d.next_seq = d.next_seq >= 2147483647u ? 1 : d.next_seq + 1;
  return s;
}

void OsapAdapter::FlushInflight(DeviceState& d) {
  if (!d.conn || d.conn->closed() || d.mqtt.queue.empty()) return;
  Inflight& m = d.mqtt.queue.front();  // at most one unacknowledged downlink (PROTOCOL.md 5.6)
  if (m.sent) return;
  bool subscribed = std::any_of(d.mqtt.filters.begin(), d.mqtt.filters.end(),
                                [&](const std::string& f) { return mqtt::TopicMatches(f, m.pub.topic); });
  if (!subscribed) return;
  if (d.conn->SendPacket(mqtt::EncodePublish(m.pub), "PUBLISH")) m.sent = true;
}

Result<void> OsapAdapter::PublishToDevice(DeviceState& d, const std::string& topic, const CommonHeader& common,
                                          const std::string& body, uint16_t keep_alive_change) {
  if (!d.session_key) return make_error("no session key");
  if (d.mqtt.queue.size() >= 1024) return make_error("too many queued messages for the device");
  auto payload = SealPayload(*d.session_key, common, AsBytes(body));
  if (!payload) return payload.error();
  Inflight m;
  m.pub.topic = topic;
  m.pub.payload = std::move(payload.value());
  m.pub.qos = 1;
  auto in_use = [&](uint16_t id) {
    return std::any_of(d.mqtt.queue.begin(), d.mqtt.queue.end(), [&](const Inflight& q) { return q.pub.packet_id == id; });
  };
  uint16_t id = d.mqtt.next_packet_id;
  while (id == 0 || in_use(id)) ++id;
  d.mqtt.next_packet_id = static_cast<uint16_t>(id + 1);
  m.pub.packet_id = id;
  m.seq = common.seq;
  m.keep_alive_change = keep_alive_change;
  auto enc = mqtt::EncodePublish(m.pub);  // refuses packets above the device's 2048 bytes
  if (!enc) return enc.error();
  d.mqtt.queue.push_back(std::move(m));
  FlushInflight(d);
  return {};
}

void OsapAdapter::DevicePuback(DasConn& c, uint16_t packet_id) {
  auto& q = c.device->mqtt.queue;
  if (q.empty() || !q.front().sent || q.front().pub.packet_id != packet_id) {
    Log(GW_LOG_DEBUG, c.Who() + ": PUBACK " + std::to_string(packet_id) + " for nothing in flight");
    return;
  }
  if (q.front().keep_alive_change) {
    c.keep_alive_s = q.front().keep_alive_change;
    c.Touch();
    Log(GW_LOG_INFO, c.Who() + ": keep-alive now " + std::to_string(c.keep_alive_s) + " s");
  }
  q.pop_front();
  FlushInflight(*c.device);
}

void OsapAdapter::DevicePublish(DasConn& c, const mqtt::Publish& pub) {
  DeviceState& d = *c.device;
  auto msg = OpenPayload(*d.session_key, pub.payload, PolicyForTopic(pub.topic));
  if (!msg) {
    Log(GW_LOG_WARN, c.Who() + ": dropped PUBLISH on \"" + pub.topic + "\": " + msg.error().message);
    return;
  }
  uint32_t seq = msg->common.seq;
  auto body = nlohmann::ordered_json::parse(msg->body.begin(), msg->body.end(), nullptr, false);
  if (!pub.topic.starts_with("/iot/")) {
    auto up = topics::ParseLegacyUplink(pub.topic);
    if (!up) {
      Log(GW_LOG_DEBUG, c.Who() + ": ignored PUBLISH on \"" + pub.topic + "\"");
      return;
    }
    nlohmann::ordered_json content = body.is_discarded() ? nlohmann::ordered_json(std::string(AsChars(msg->body))) : body;
    if (msg->common.msg_type == kMsgTypeReply) {
      auto it = pending_.find({d.serial, seq});
      if (it != pending_.end() && it->second.what == Pending::What::kLegacy) {
        Pending p = std::move(it->second);
        pending_.erase(it);
        pb::Value out = value_from_ojson(content);
        return Respond(p.request, pb::OK, &out);
      }
    }
    EmitEvent(d, "$legacy/" + std::to_string(up->domain) + "/" + std::to_string(up->cmd), content, seq);
    return;
  }
  auto t = topics::ParseThingTopic(pub.topic);
  if (!t) {
    Log(GW_LOG_WARN, c.Who() + ": dropped PUBLISH: " + t.error().message);
    return;
  }
  if (body.is_discarded() || !body.is_object()) {
    Log(GW_LOG_WARN, c.Who() + ": dropped PUBLISH on \"" + pub.topic + "\": body is not a JSON object");
    return;
  }
  const std::string& li = t->local_index;
  auto learn = [&](const std::string& domain) { d.learned_rt[li + "/" + domain] = t->resource_type; };
  if (t->kind == topics::ThingKind::kShadow) {
    const std::string& a = t->shadow_action;
    if (a == "report") {
      auto st = body.find("state");
      if (st == body.end() || !st->is_object() || !st->contains("reported")) {
        Log(GW_LOG_WARN, c.Who() + ": dropped shadow report without state.reported");
        return;
      }
      auto& rep = (*st)["reported"];
      std::vector<const nlohmann::ordered_json*> items;
      if (rep.is_array()) {
        for (auto& x : rep) items.push_back(&x);
      } else {
        items.push_back(&rep);
      }
      for (auto* x : items) {
        if (!x->is_object() || !x->contains("domain") || !x->contains("identifier") || !x->contains("value") ||
            !(*x)["domain"].is_string() || !(*x)["identifier"].is_string()) {
          Log(GW_LOG_WARN, c.Who() + ": dropped reported entry without domain/identifier/value");
          continue;
        }
        std::string domain = (*x)["domain"].get<std::string>(), id = (*x)["identifier"].get<std::string>();
        learn(domain);
        EmitReport(d, li + "/" + domain + "/" + id, (*x)["value"], seq);
      }
    } else if (a == "set_reply") {
      AnswerPending(d, seq, Pending::What::kSet, body, "", "");
    } else if (a == "query_reply") {
      AnswerPending(d, seq, Pending::What::kQuery, body, "", "");
    } else {
      Log(GW_LOG_DEBUG, c.Who() + ": ignored shadow " + a);
    }
    return;
  }
  if (t->kind != topics::ThingKind::kModel) {
    Log(GW_LOG_DEBUG, c.Who() + ": ignored PUBLISH on \"" + pub.topic + "\"");
    return;
  }
  learn(t->domain);
  std::string path = li + "/" + t->domain + "/" + t->identifier;
  const std::string& bt = t->business_type;
  switch (t->category) {
    case topics::ModelCategory::kAttribute:
      if (bt == "report") {
        nlohmann::ordered_json value = body;
        auto st = body.find("state");
        if (st != body.end() && st->is_object() && st->contains("reported") && (*st)["reported"].is_object() &&
            (*st)["reported"].contains("value")) {
          value = (*st)["reported"]["value"];
        } else if (body.contains("value")) {
          value = body["value"];
        }
        EmitReport(d, path, value, seq);
      } else if (bt == "set_reply") {
        AnswerPending(d, seq, Pending::What::kSet, body, t->domain, t->identifier);
      } else if (bt == "query_reply") {
        AnswerPending(d, seq, Pending::What::kQuery, body, t->domain, t->identifier);
      }
      return;
    case topics::ModelCategory::kEvent:
      if (bt == "report") EmitEvent(d, path, body, seq);
      return;
    case topics::ModelCategory::kService:
      if (bt == "operate_reply") AnswerPending(d, seq, Pending::What::kOperate, body, t->domain, t->identifier);
      return;
  }
}

// ---- envelopes ----------------------------------------------------------------------------------

// Device uplinks (reports, events, online state) go through the journal: the envelope is durable
// before the device's QoS 1 PUBLISH is acknowledged (PROTOCOL.md 12.4), and journal consumers get it
// again after a crash or an upstream outage. Without a PUBLISH in progress (online/offline events,
// QoS 0) nothing waits for the fsync, but the record is journaled all the same.
void OsapAdapter::EmitUplink(pb::Envelope& e) {
  if (!uplink_) {
    if (host_.emit_durable(e, nullptr, nullptr) == GW_ERR_IO) host_.emit(e);
    return;
  }
  auto* done = new std::function<void(int)>(uplink_->HoldAck());
  int rc = host_.emit_durable(
      e,
      [](void* user, uint64_t, int result) {
        std::unique_ptr<std::function<void(int)>> f(static_cast<std::function<void(int)>*>(user));
        (*f)(result);
      },
      done);
  if (rc == GW_ERR_IO || rc == GW_ERR_INVALID) {
    // Not journaled, so the callback will not run: the PUBACK is withheld (the device retransmits).
    std::unique_ptr<std::function<void(int)>> f(done);
    (*f)(GW_ERR_IO);
  }
}

// A stable id for an uplink, the same for a DUP retransmission of the same PUBLISH, so duplicates
// delivered at-least-once can be removed downstream: serial, the device's Seq, the path and a hash
// of the content.
static std::string UplinkId(const DeviceState& d, uint32_t seq, const std::string& path, const pb::Value& v) {
  std::string bytes;
  v.SerializeToString(&bytes);
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char ch : bytes) h = (h ^ ch) * 1099511628211ull;
  for (unsigned char ch : path) h = (h ^ ch) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return "osap:" + d.serial + ":" + std::to_string(seq) + ":" + buf;
}

void OsapAdapter::EmitOnline(DeviceState& d, bool online, const std::string& cause, const std::string& will_topic) {
  pb::Envelope e;
  e.set_model_version(1);
  e.set_kind(pb::EVENT);
  e.set_op(pb::EVENT_OP);
  e.mutable_origin()->set_device(d.uuid);
  e.mutable_origin()->set_path("$state/online");
  d.online = online;
  *e.mutable_content() = make_bool(online);
  e.set_device_seq(++d.device_seq);
  e.set_device_model(d.model);
  (*e.mutable_attributes())["cause"] = cause;
  if (!will_topic.empty()) (*e.mutable_attributes())["will_topic"] = will_topic;
  ++events_;
  EmitUplink(e);
}

void OsapAdapter::EmitReport(DeviceState& d, const std::string& path, const nlohmann::ordered_json& value, uint32_t seq) {
  pb::Envelope e;
  e.set_model_version(1);
  e.set_kind(pb::REPORT);
  e.set_op(pb::REPORT_OP);
  e.mutable_origin()->set_device(d.uuid);
  e.mutable_origin()->set_path(path);
  *e.mutable_content() = value_from_ojson(value);
  e.set_device_seq(++d.device_seq);
  e.set_device_model(d.model);
  (*e.mutable_attributes())["osap-seq"] = std::to_string(seq);
  e.set_message_id(UplinkId(d, seq, path, e.content()));
  ++reports_;
  EmitUplink(e);
}

void OsapAdapter::EmitEvent(DeviceState& d, const std::string& path, const nlohmann::ordered_json& body, uint32_t seq) {
  pb::Envelope e;
  e.set_model_version(1);
  e.set_kind(pb::EVENT);
  e.set_op(pb::EVENT_OP);
  e.mutable_origin()->set_device(d.uuid);
  e.mutable_origin()->set_path(path);
  *e.mutable_content() = value_from_ojson(body);
  e.set_device_seq(++d.device_seq);
  e.set_device_model(d.model);
  (*e.mutable_attributes())["osap-seq"] = std::to_string(seq);
  e.set_message_id(UplinkId(d, seq, path, e.content()));
  ++events_;
  EmitUplink(e);
}

void OsapAdapter::Respond(const pb::Envelope& req, pb::Status st, const pb::Value* content, int native,
                          const std::string& detail) {
  pb::Envelope r;
  r.set_model_version(1);
  r.set_kind(pb::RESPONSE);
  r.set_op(req.op());
  r.set_correlation_id(req.correlation_id());
  *r.mutable_origin() = req.target();
  *r.mutable_target() = req.origin();
  r.set_trace_id(req.trace_id());
  r.set_status(st);
  r.set_native_status(native);
  if (!detail.empty()) r.set_status_detail(detail);
  if (content) *r.mutable_content() = *content;
  if (!req.device_model().empty()) r.set_device_model(req.device_model());
  host_.emit(r);
}

int OsapAdapter::deliver(const pb::Envelope& env) {
  if (env.kind() != pb::REQUEST) return GW_OK;  // reports/events/responses routed here are not ours
  if (stopping_) {
    Respond(env, pb::TARGET_NOT_REACHABLE, nullptr, 0, "gateway shutting down");
    return GW_OK;
  }
  if (env.target().device().empty()) {
    if (env.target().path() == "$provision") HandleProvision(env);
    else Respond(env, pb::NOT_FOUND, nullptr, 0, "unknown adapter resource \"" + env.target().path() + "\"");
    return GW_OK;
  }
  HandleDeviceRequest(env);
  return GW_OK;
}

void OsapAdapter::HandleProvision(const pb::Envelope& req) {
  const pb::Value& c = req.content();
  if (req.op() == pb::RETRIEVE) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    std::vector<const DeviceState*> sorted;
    for (auto& [sn, d] : devices_) sorted.push_back(&d);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->serial < b->serial; });
    for (auto* d : sorted) {
      list.push_back({{"serial", d->serial}, {"uuid", d->uuid}, {"model", d->model}, {"online", d->conn != nullptr},
                      {"onboarded", !d->devid.empty()}, {"blacklisted", d->blacklisted}});
    }
    pb::Value v = value_from_ojson(list);
    Respond(req, pb::OK, &v);
    return;
  }
  std::string serial = StrOf(map_find(c, "serial"));
  if (req.op() == pb::CREATE) {
    cfgpb::ProvisionedDevice p;
    p.set_serial(serial);
    p.set_verification_code(StrOf(map_find(c, "verification_code")));
    p.set_license(StrOf(map_find(c, "license")));
    p.set_model(StrOf(map_find(c, "model")));
    if (auto* b = map_find(c, "blacklisted"); b && b->has_bool_value()) p.set_blacklisted(b->bool_value());
    if (!topics::IsValidSerial(serial)) return Respond(req, pb::BAD_REQUEST, nullptr, 3, "serial is missing or invalid");
    if (p.verification_code().empty() && p.license().empty())
      return Respond(req, pb::BAD_REQUEST, nullptr, 3, "verification_code (or license) is missing");
    if (FindDevice(serial)) return Respond(req, pb::CONFLICT, nullptr, 0, "device " + serial + " is already provisioned");
    auto d = AddDevice(p, false);
    if (!d) return Respond(req, pb::INTERNAL_ERROR, nullptr, 6, d.error().message);
    Log(GW_LOG_INFO, "sn=" + serial + ": provisioned (model \"" + p.model() + "\")");
    pb::Value v;
    map_set(v, "serial", make_string(serial));
    map_set(v, "uuid", make_string((*d)->uuid));
    Respond(req, pb::CREATED, &v);
    return;
  }
  if (req.op() == pb::DELETE) {
    DeviceState* d = FindDevice(serial);
    if (!d) return Respond(req, pb::NOT_FOUND, nullptr, 5, "device " + serial + " is not provisioned");
    if (d->conn) {
      d->conn->graceful = true;  // ends the session without the will
      d->conn->Close("device deprovisioned");
    }
    EndSession(*d, "deprovisioned");
    std::string uuid = d->uuid;
    if (host_.api()->registry_remove(host_.api()->ctx, uuid.c_str()) != GW_OK) {
      return Respond(req, pb::INTERNAL_ERROR, nullptr, 6, "registry remove failed");
    }
    by_uuid_.erase(uuid);
    devices_.erase(serial);
    Log(GW_LOG_INFO, "sn=" + serial + ": deprovisioned");
    Respond(req, pb::DELETED);
    return;
  }
  Respond(req, pb::OPERATION_NOT_ALLOWED, nullptr, 0, "$provision supports CREATE, RETRIEVE and DELETE");
}

// The thing-model profile of a camera model: the mapping set's `thing_model_file` of that model
// (relative to its mapping file), else {profile_dir}/{model}.json. Cached until the next mapping
// reload.
const tsl::Profile* OsapAdapter::ProfileFor(const std::string& model) {
  if (model.empty()) return nullptr;
  auto it = profiles_.find(model);
  if (it == profiles_.end()) {
    std::string path;
    if (auto ms = host_.mappings()) {
      for (const auto& m : ms->model())
        if (m.name() == model && !m.thing_model_file().empty()) {
          auto dir = ms->model_dir().find(model);
          path = (dir == ms->model_dir().end() || m.thing_model_file().front() == '/' ? std::string() : dir->second + "/") +
                 m.thing_model_file();
        }
    }
    if (path.empty() && !cfg_.profile_dir().empty() && model.find('/') == std::string::npos)
      path = cfg_.profile_dir() + "/" + model + ".json";
    std::optional<tsl::Profile> prof;
    if (!path.empty()) {
      std::ifstream in(path, std::ios::binary);
      if (in) {
        std::stringstream ss;
        ss << in.rdbuf();
        auto p = tsl::LoadProfile(ss.str());
        if (p) prof = std::move(p.value());
        else Log(GW_LOG_WARN, "thing-model profile " + path + ": " + p.error().message);
      }
    }
    it = profiles_.emplace(model, std::move(prof)).first;
  }
  return it->second ? &*it->second : nullptr;
}

std::string OsapAdapter::on_mappings() {
  profiles_.clear();  // profiles are read again from the new mapping set when next needed
  return "";
}

std::optional<std::string> OsapAdapter::ResourceType(DeviceState& d, const std::string& li, const std::string& domain) {
  if (const tsl::Profile* p = ProfileFor(d.model)) {
    for (auto& r : p->resources)
      if (r.FindDomain(domain) && r.AcceptsLocalIndex(li)) return r.category;
  }
  auto it = d.learned_rt.find(li + "/" + domain);
  if (it != d.learned_rt.end()) return it->second;
  return std::nullopt;
}

void OsapAdapter::HandleDeviceRequest(const pb::Envelope& req) {
  auto u = by_uuid_.find(req.target().device());
  DeviceState* d = u == by_uuid_.end() ? nullptr : FindDevice(u->second);
  if (!d) return Respond(req, pb::NOT_FOUND, nullptr, 5, "no such OSAP device");
  const std::string& path = req.target().path();
  if (path == "$state/online") {
    if (req.op() != pb::RETRIEVE) return Respond(req, pb::OPERATION_NOT_ALLOWED, nullptr, 0, "$state/online is read-only");
    pb::Value v = make_bool(d->conn != nullptr);
    return Respond(req, pb::OK, &v);
  }
  if (path.rfind("$legacy/", 0) == 0) return HandleLegacyCommand(*d, req);
  auto parts = SplitPath(path);
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty() ||
      parts[0].find('-') != std::string::npos) {
    return Respond(req, pb::NOT_FOUND, nullptr, 0, "unknown path \"" + path + "\"");
  }
  const std::string &li = parts[0], &domain = parts[1], &ident = parts[2];
  if (req.op() != pb::UPDATE && req.op() != pb::RETRIEVE && req.op() != pb::INVOKE) {
    return Respond(req, pb::OPERATION_NOT_ALLOWED, nullptr, 0, "OSAP device resources support UPDATE, RETRIEVE and INVOKE");
  }
  if (const tsl::Profile* p = ProfileFor(d->model)) {
    const tsl::Domain* dom = nullptr;
    for (auto& r : p->resources)
      if (r.AcceptsLocalIndex(li))
        if ((dom = r.FindDomain(domain))) break;
    if (!dom) return Respond(req, pb::NOT_FOUND, nullptr, 0, "unknown path \"" + path + "\" in the " + d->model + " profile");
    if (req.op() == pb::INVOKE) {
      const tsl::Action* act = dom->FindAction(ident);
      if (!act) return Respond(req, pb::NOT_FOUND, nullptr, 0, "no operation \"" + path + "\" in the profile");
      if (act->input) {
        auto ok = tsl::Validate(*act->input, nlohmann::json::parse(value_to_json(req.content()), nullptr, false), "input");
        if (!ok) return Respond(req, pb::BAD_REQUEST, nullptr, 0, ok.error().message);
      }
    } else {
      const tsl::Prop* prop = dom->FindProp(ident);
      if (!prop) return Respond(req, pb::NOT_FOUND, nullptr, 0, "no attribute \"" + path + "\" in the profile");
      if (req.op() == pb::UPDATE) {
        if (prop->access != tsl::Access::kReadWrite) {
          return Respond(req, pb::OPERATION_NOT_ALLOWED, nullptr, 0, "attribute \"" + path + "\" is read-only");
        }
        auto ok = tsl::Validate(prop->schema, nlohmann::json::parse(value_to_json(req.content()), nullptr, false), "value");
        if (!ok) return Respond(req, pb::BAD_REQUEST, nullptr, 0, ok.error().message);
      }
    }
  }
  auto rt = ResourceType(*d, li, domain);
  if (!rt) return Respond(req, pb::NOT_FOUND, nullptr, 0, "unknown path \"" + path + "\": no profile or report names its resource");
  if (!d->conn) return Respond(req, pb::TARGET_NOT_REACHABLE, nullptr, 0, "device " + d->serial + " is offline");
  size_t mine = 0;
  for (auto& [key, p] : pending_) mine += key.first == d->serial;
  if (mine >= cfg_.limits().max_pending_requests()) return Respond(req, pb::BUSY, nullptr, 0, "too many requests pending for the device");

  topics::ThingTopic t;
  t.serial = d->serial;
  t.local_index = li;
  t.resource_type = *rt;
  nlohmann::ordered_json body;
  Pending p;
  p.domain = domain;
  p.identifier = ident;
  p.request = req;
  nlohmann::ordered_json value = value_to_ojson(req.content());
  if (req.op() == pb::UPDATE) {
    t.kind = topics::ThingKind::kShadow;
    t.shadow_action = "set";
    body["state"]["desired"] = {{"domain", domain}, {"identifier", ident}, {"value", value}};
    p.what = Pending::What::kSet;
  } else if (req.op() == pb::RETRIEVE) {
    t.kind = topics::ThingKind::kShadow;
    t.shadow_action = "query";
    body = {{"method", "query"}, {"windowsize", kQueryWindow}};
    p.what = Pending::What::kQuery;
  } else {
    t.kind = topics::ThingKind::kModel;
    t.category = topics::ModelCategory::kService;
    t.business_type = "operate";
    t.domain = domain;
    t.identifier = ident;
    body["data"] = value;
    p.what = Pending::What::kOperate;
  }
  auto topic = topics::BuildThingTopic(t);
  if (!topic) return Respond(req, pb::BAD_REQUEST, nullptr, 0, topic.error().message);
  uint32_t seq = NextSeq(*d);
  CommonHeader common;
  common.seq = seq;
  auto sent = PublishToDevice(*d, topic.value(), common, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!sent) return Respond(req, pb::BAD_REQUEST, nullptr, 0, sent.error().message);
  AddPending(*d, seq, std::move(p));
}

void OsapAdapter::AddPending(DeviceState& d, uint32_t seq, Pending p) {
  uint64_t timeout = cfg_.service_timeout_ms();
  if (p.request.expires_ms() > 0) {
    int64_t left = p.request.expires_ms() - host_.wall_ms();
    if (left < static_cast<int64_t>(timeout)) timeout = left > 0 ? static_cast<uint64_t>(left) : 0;
  }
  p.deadline_ms = host_.now_ms() + timeout;
  pending_[{d.serial, seq}] = std::move(p);
}

void OsapAdapter::HandleLegacyCommand(DeviceState& d, const pb::Envelope& req) {
  const std::string& path = req.target().path();
  auto parts = SplitPath(path.substr(8));
  auto num = [](const std::string& x) -> std::optional<uint32_t> {
    if (x.empty() || x.size() > 10 || (x.size() > 1 && x[0] == '0') ||
        x.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    uint64_t v = std::stoull(x);
    if (v > 0xFFFFFFFFull) return std::nullopt;
    return static_cast<uint32_t>(v);
  };
  std::optional<uint32_t> domain, cmd;
  if (parts.size() == 2) {
    domain = num(parts[0]);
    cmd = num(parts[1]);
  }
  if (!domain || !cmd) return Respond(req, pb::NOT_FOUND, nullptr, 0, "legacy path must be $legacy/{domain}/{cmd} (decimal)");
  if (req.op() != pb::INVOKE) return Respond(req, pb::OPERATION_NOT_ALLOWED, nullptr, 0, "legacy commands take INVOKE");
  if (!d.conn) return Respond(req, pb::TARGET_NOT_REACHABLE, nullptr, 0, "device " + d.serial + " is offline");
  size_t mine = 0;
  for (auto& [key, p] : pending_) mine += key.first == d.serial;
  if (mine >= cfg_.limits().max_pending_requests()) return Respond(req, pb::BUSY, nullptr, 0, "too many requests pending for the device");
  auto topic = topics::BuildLegacyDownlink({d.serial, *domain, *cmd});
  if (!topic) return Respond(req, pb::BAD_REQUEST, nullptr, 0, topic.error().message);
  // The body: a string content is sent as it is (legacy XML bodies), anything else as JSON.
  std::string body = req.content().has_string_value() ? req.content().string_value() : value_to_json(req.content());
  if (req.content().kind_case() == pb::Value::KIND_NOT_SET) body.clear();
  uint32_t seq = NextSeq(d);
  CommonHeader common{seq, std::string(kLegacyCmdVer), kMsgTypeRequest};
  auto sent = PublishToDevice(d, topic.value(), common, body);
  if (!sent) return Respond(req, pb::BAD_REQUEST, nullptr, 0, sent.error().message);
  Pending p;
  p.what = Pending::What::kLegacy;
  p.request = req;
  AddPending(d, seq, std::move(p));
}

void OsapAdapter::AnswerPending(DeviceState& d, uint32_t seq, Pending::What what, const nlohmann::ordered_json& body,
                                const std::string& domain, const std::string& identifier) {
  auto it = pending_.find({d.serial, seq});
  if (it == pending_.end() || it->second.what != what ||
      (!domain.empty() && (domain != it->second.domain || identifier != it->second.identifier))) {
    Log(GW_LOG_INFO, "das sn=" + d.serial + ": reply with Seq " + std::to_string(seq) + " matches no pending request");
    return;
  }
  Pending p = std::move(it->second);
  pending_.erase(it);
  auto code = ReplyCode(body);
  if (!code) return Respond(p.request, pb::DEVICE_ERROR, nullptr, 0, "device reply carries no code");
  if (*code != 0) {
    return Respond(p.request, pb::DEVICE_ERROR, nullptr, static_cast<int>(*code),
                   "device answered code " + std::to_string(*code));
  }
  switch (what) {
    case Pending::What::kSet:
      return Respond(p.request, pb::CHANGED);
    case Pending::What::kOperate: {
      pb::Value out = body.contains("data") ? value_from_ojson(body["data"]) : make_null();
      return Respond(p.request, pb::OK, &out);
    }
    case Pending::What::kQuery: {
      auto st = body.find("state");
      if (st != body.end() && st->is_object()) {
        for (const char* k : {"reported", "desired"}) {
          auto arr = st->find(k);
          if (arr == st->end()) continue;
          std::vector<const nlohmann::ordered_json*> items;
          if (arr->is_array()) for (auto& x : *arr) items.push_back(&x);
          else items.push_back(&*arr);
          for (auto* x : items) {
            if (x->is_object() && x->value("domain", "") == p.domain && x->value("identifier", "") == p.identifier &&
                x->contains("value")) {
              pb::Value v = value_from_ojson((*x)["value"]);
              return Respond(p.request, pb::OK, &v);
            }
          }
        }
      }
      return Respond(p.request, pb::NOT_FOUND, nullptr, 0, "the device's shadow does not hold the attribute");
    }
    case Pending::What::kLegacy:
      return;  // answered by the legacy uplink path, never here
  }
}

void OsapAdapter::FailPending(DeviceState& d, pb::Status st, const std::string& detail) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->first.first == d.serial) {
      Respond(it->second.request, st, nullptr, 0, detail);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string OsapAdapter::status_json() {
  nlohmann::ordered_json j;
  j["lbs_port"] = lbs_port_;
  j["das"] = nlohmann::ordered_json::array();
  for (auto& d : das_) j["das"].push_back({{"server_id", d->cfg.server_id()}, {"port", d->bound_port}, {"connected", d->connected}});
  size_t online = 0;
  for (auto& [sn, d] : devices_) online += d.conn != nullptr;
  j["devices"] = devices_.size();
  j["online"] = online;
  j["connections"] = conns_.size();
  j["pending_requests"] = pending_.size();
  j["lbs_handshakes"] = lbs_handshakes_;
  if (key_pool_) {
    j["ecdh_pool_used"] = key_pool_->taken();
    j["ecdh_pool_missed"] = key_pool_->missed();
  }
  j["lbs_failures"] = lbs_failures_;
  j["das_connects"] = das_connects_;
  j["das_refusals"] = das_refusals_;
  j["reports"] = reports_;
  j["events"] = events_;
  j["refused_topics"] = refused_topics_;
  return j.dump();
}

}  // namespace gw::osap::session

GW_DEFINE_ADAPTER(gw::osap::session::OsapAdapter, "osap", "1.0.0",
                  "OSAP (Hikvision-style) cameras: LBS authentication server and DAS MQTT device access",
                  "gw.osap.v1.OsapConfig")
