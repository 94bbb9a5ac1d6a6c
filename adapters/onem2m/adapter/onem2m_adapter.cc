// gw_onem2m: a oneM2M CSE over the MQTT binding (TS-0010), hosting the resource tree of cse.h and
// exposing the gateway's bridged devices as flexContainers. libmosquitto is driven from the
// gateway loop (no network thread): its socket is watched with watch_fd, mosquitto_loop_read /
// loop_write run on readiness, loop_misc on a 1 s timer, reconnects on a back-off timer.
#include <mosquitto.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <openssl/rand.h>

#include "cse.h"
#include "local_broker.h"
#include "gw/adapter_sdk.h"
#include "gw/status.h"
#include "gw/value.h"
#include "onem2m.pb.h"
#include "onem2m/codec/serialization.h"
#include "onem2m/codec/topic.h"

namespace {

using gw::v1::Envelope;
using namespace gw::onem2m;
using Cfg = gw::onem2m::v1::OneM2MConfig;

struct MosqInit {
  MosqInit() { mosquitto_lib_init(); }
};

class OneM2MAdapter : public gw::sdk::Adapter {
 public:
  using Adapter::Adapter;
  ~OneM2MAdapter() override {
    teardown();
    if (mosq_) mosquitto_destroy(mosq_);
  }

  std::string configure(const std::string& bytes) override {
    if (!cfg_.ParseFromString(bytes)) return "onem2m: config does not decode";
    if (cfg_.cse_id().empty() || cfg_.cse_name().empty()) return "onem2m: cse_id and cse_name are required";
    cse_id_ = sp_relative_cse_id(cfg_.cse_id());
    if (cfg_.cse_name().find('/') != std::string::npos) return "onem2m: cse_name must not contain '/'";
    if (cfg_.has_local_broker()) {
      std::string e = configure_local_broker();
      if (!e.empty()) return "onem2m: local_broker: " + e;
    } else {
      auto poa = parse_poa(cfg_.broker().url());
      if (!poa.ok()) return "onem2m: broker.url: " + poa.error().message;
      poa_ = poa.value();
    }
    if (poa_.tls && cfg_.broker().ca_file().empty()) return "onem2m: mqtts:// needs broker.ca_file";
    if (cfg_.role() == Cfg::IN && cfg_.has_registrar()) return "onem2m: an IN-CSE has no registrar";
    if (cfg_.has_registrar()) {
      if (cfg_.registrar().cse_id().empty() || cfg_.registrar().cse_name().empty())
        return "onem2m: registrar needs cse_id and cse_name";
      if (!cfg_.registrar().broker().url().empty() && cfg_.registrar().broker().url() != cfg_.broker().url())
        return "onem2m: a registrar on another broker is not implemented yet (registrar.broker must be ours)";
      registrar_id_ = sp_relative_cse_id(cfg_.registrar().cse_id());
    }
    for (int i = 0; i < cfg_.camera_access_size(); ++i) {
      const auto& rule = cfg_.camera_access(i);
      std::string where = "onem2m: camera_access[" + std::to_string(i) + "]: ";
      if (rule.originators().empty()) return where + "no originators";
      for (const auto& o : rule.originators())
        if (o.empty() || o.find_first_of(" \t\r\n") != std::string::npos)
          return where + "originator '" + o + "' is empty or has white space";
      if (rule.operations().empty()) return where + "no operations";
      for (int op : rule.operations())
        if (op == Cfg::OPERATION_UNSPECIFIED) return where + "OPERATION_UNSPECIFIED is not an operation";
    }
    keepalive_ = cfg_.keep_alive_s() ? static_cast<int>(cfg_.keep_alive_s()) : 60;
    backoff_min_ = cfg_.reconnect_min_ms() ? cfg_.reconnect_min_ms() : 500;
    backoff_max_ = cfg_.reconnect_max_ms() ? cfg_.reconnect_max_ms() : 30000;
    timeout_ms_ = cfg_.request_timeout_ms() ? cfg_.request_timeout_ms() : 5000;
    switch (cfg_.default_serialization()) {
      case Cfg::CBOR: default_fmt_ = Format::kCbor; break;
      case Cfg::XML: default_fmt_ = Format::kXml; break;
      default: default_fmt_ = Format::kJson; break;
    }
    return "";
  }

  std::string start() override {
    static MosqInit init;
    if (cfg_.has_local_broker()) {
      std::string e = start_local_broker();
      if (!e.empty()) return "onem2m: local broker: " + e;
    }
    gw::onem2m::cse::Settings s;
    s.cse_id = cse_id_;
    s.cse_name = cfg_.cse_name();
    s.cst = cfg_.role() == Cfg::IN ? cst::kIN : cst::kMN;
    s.poa = format_poa(poa_);
    if (!cfg_.admin_originator().empty()) s.admin = cfg_.admin_originator();
    if (!cfg_.bridge_ae().empty()) s.bridge_ae = cfg_.bridge_ae();
    s.db_path = std::string(host_.state_dir()) + "/cse.db";
    s.sync_full = !cfg_.db_sync_normal();
    if (cfg_.has_notify_retries()) s.notify_retries = static_cast<int>(std::min<uint32_t>(cfg_.notify_retries(), 10));
    if (cfg_.notify_retry_ms()) s.notify_retry_ms = cfg_.notify_retry_ms();
    if (cfg_.has_db_group_commit_ms()) s.group_commit_ms = std::min<uint32_t>(cfg_.db_group_commit_ms(), 1000);
    for (const auto& rule : cfg_.camera_access()) {
      gw::onem2m::cse::Settings::AccessRule r;
      r.originators.assign(rule.originators().begin(), rule.originators().end());
      for (int op : rule.operations()) r.operations |= op;
      s.camera_access.push_back(std::move(r));
    }
    gw::onem2m::cse::Hooks h;
    h.send = [this](const std::string& to, RequestPrimitive req, Format f, gw::onem2m::cse::Done done) {
      send_request(to, std::move(req), f, std::move(done));
    };
    h.device_write = [this](const std::string& dev, const std::string& path, const Tree& v, gw::onem2m::cse::Done done) {
      device_write(dev, path, v, std::move(done));
    };
    h.device_invoke = [this](const std::string& dev, const std::string& path, const Tree& v,
                             gw::onem2m::cse::DoneOut done) { device_request(gw::v1::INVOKE, dev, path, v, nullptr, std::move(done)); };
    h.forward = [this](const std::string& cse, RequestPrimitive req, gw::onem2m::cse::Reply reply) {
      req.rqi = "fwd-" + std::to_string(++corr_seq_);
      send_full(cse, std::move(req), default_fmt_, std::move(reply));
    };
    h.after = [this](uint64_t ms, std::function<void()> fn) {
      auto ctx = std::make_unique<AfterCtx>(AfterCtx{this, ++after_seq_, std::move(fn), 0});
      AfterCtx* c = ctx.get();
      c->timer = host_.timer(ms, 0, &OneM2MAdapter::on_after, c);
      after_[c->id] = std::move(ctx);
    };
    h.wall_ms = [this] { return host_.wall_ms(); };
    h.post = [this](std::function<void()> fn) { return host_.post(std::move(fn)); };
    h.log = [this](int level, const std::string& m) { host_.log(level, m); };
    cse_ = std::make_unique<gw::onem2m::cse::Cse>(s, h);
    std::string e = cse_->open();
    if (!e.empty()) return "onem2m: " + e;
    sync_devices();

    std::string client_id = make_client_id(EntityKind::kCse, cse_id_);
    mosq_ = mosquitto_new(client_id.c_str(), false, this);
    if (!mosq_) return "onem2m: mosquitto_new failed";
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(mosq_, 1000);
    if (broker_)
      mosquitto_username_pw_set(mosq_, broker_settings_.cse_user.c_str(), broker_settings_.cse_password.c_str());
    else if (!cfg_.broker().username().empty())
      mosquitto_username_pw_set(mosq_, cfg_.broker().username().c_str(),
                                cfg_.broker().password().empty() ? nullptr : cfg_.broker().password().c_str());
    if (poa_.tls && mosquitto_tls_set(mosq_, cfg_.broker().ca_file().c_str(), nullptr, nullptr, nullptr, nullptr) !=
                        MOSQ_ERR_SUCCESS)
      return "onem2m: cannot use CA file " + cfg_.broker().ca_file();
    mosquitto_connect_callback_set(mosq_, &OneM2MAdapter::on_connect);
    mosquitto_disconnect_callback_set(mosq_, &OneM2MAdapter::on_disconnect);
    mosquitto_subscribe_callback_set(mosq_, &OneM2MAdapter::on_subscribe);
    mosquitto_message_callback_set(mosq_, &OneM2MAdapter::on_message);
    misc_timer_ = host_.timer(1000, 1000, &OneM2MAdapter::on_misc, this);
    if (broker_) {
      // The broker child was just spawned: connect once it had a moment to listen.
      std::string e = broker_->start();
      if (!e.empty()) return "onem2m: local broker: " + e;
      return "";
    }
    first_connect_ = false;
    int rc = mosquitto_connect_async(mosq_, poa_.host.c_str(), poa_.port, keepalive_);
    if (rc != MOSQ_ERR_SUCCESS) {
      host_.log(GW_LOG_WARN, std::string("broker ") + format_poa(poa_) + ": " + mosquitto_strerror(rc));
      schedule_reconnect();
    } else {
      watch_socket();
    }
    return "";
  }

  std::string on_mappings() override {
    if (cse_) sync_devices();
    return "";
  }

  int deliver(const Envelope& env) override {
    if (env.kind() == gw::v1::RESPONSE) {
      auto it = device_pending_.find(env.correlation_id());
      if (it == device_pending_.end()) return GW_OK;
      auto p = std::move(it->second);
      device_pending_.erase(it);
      host_.cancel(p.timer);
      int rsc = gw::status_info(env.status()).onem2m_rsc;
      std::string dbg = env.status_detail().empty() ? gw::v1::Status_Name(env.status()) : env.status_detail();
      if (p.done_out) p.done_out(rsc, dbg, gw::value_to_ojson(env.content()));
      else p.done(rsc, dbg);
      return GW_OK;
    }
    if (env.kind() == gw::v1::REPORT || env.kind() == gw::v1::EVENT) {
      const std::string& dev = env.origin().device();
      if (!dev.empty()) {
        if (!cse_->has_device(dev)) add_device(dev);
        bool event = env.kind() == gw::v1::EVENT;
        if (cse_->has_device(dev)) {
          Tree v = gw::value_to_ojson(env.content());
          if (!cse_->device_report(dev, env.origin().path(), v, event)) ++unmapped_;
          else ++bridged_;
        }
      }
      // Once the tree change is committed (group commit, Settings.group_commit_ms) the journal may
      // move on; until then a crash replays the record (at-least-once). One callback per group.
      if (env.journal_seq()) {
        journal_consumer_ = true;
        ack_upto_ = std::max(ack_upto_, env.journal_seq());
        if (!ack_waiting_) wait_for_durable();
      }
      return GW_OK;
    }
    if (env.kind() == gw::v1::REQUEST) {
      Envelope r;
      r.set_kind(gw::v1::RESPONSE);
      r.set_op(env.op());
      r.set_correlation_id(env.correlation_id());
      *r.mutable_origin() = env.target();
      *r.mutable_target() = env.origin();
      r.set_status(gw::v1::NOT_IMPLEMENTED);
      r.set_status_detail("the oneM2M adapter takes no envelope requests");
      host_.emit(r);
    }
    return GW_OK;
  }

  void stop() override {
    stopping_ = true;
    if (cse_) cse_->flush_store();  // the group commit's pending changes, and their journal acks
    if (mosq_ && connected_) {
      mosquitto_disconnect(mosq_);
      flush();
    }
    teardown();
    if (broker_) broker_->stop();  // SIGTERM by PID; done() once it is reaped
  }

  bool done() override { return !broker_ || broker_->done(); }

  std::string status_json() override {
    nlohmann::json j;
    j["connected"] = connected_;
    j["subscribed"] = subscribed_;  // every CSE subscription acknowledged (SUBACK): requests reach us
    if (!registrar_id_.empty()) j["registered"] = registered_;
    j["requests"] = requests_;
    j["resources"] = cse_ ? cse_->resource_count() : 0;
    j["notifications"] = cse_ ? cse_->notifications_sent() : 0;
    j["notification_retries"] = cse_ ? cse_->notification_retries() : 0;
    j["notifications_failed"] = cse_ ? cse_->notifications_failed() : 0;
    j["resources_expired"] = cse_ ? cse_->resources_expired() : 0;
    j["bridged"] = bridged_;
    j["unmapped"] = unmapped_;
    j["reconnects"] = reconnects_;
    if (broker_) j["local_broker"] = {{"pid", broker_->pid()}, {"restarts", broker_->restarts()}};
    return j.dump();
  }

 private:
  struct TimerCtx;
  struct Pending {
    gw::onem2m::cse::Done done;
    gw::onem2m::cse::DoneOut done_out;  // instead of done: with the response's content (INVOKE)
    gw::onem2m::cse::Reply full;    // instead of done: the whole response (retargeting, registration)
    uint64_t timer = 0;
    std::unique_ptr<TimerCtx> ctx;  // what the timeout timer gets; freed with the entry
    RequestPrimitive req;           // for answers made here (timeouts)
  };

  // ---- co-located broker ----
  std::string configure_local_broker() {
    const auto& lb = cfg_.local_broker();
    if (!cfg_.broker().url().empty() || !cfg_.broker().username().empty() || !cfg_.broker().password().empty())
      return "broker must be unset (the CSE connects to its local broker with a generated account)";
    if (cfg_.has_registrar())
      return "a registrar on another broker is not implemented yet (registrar and local_broker exclude each other)";
    if (lb.listen().empty()) return "listen (host:port) is required";
    auto p = parse_poa("mqtt://" + lb.listen());
    if (!p.ok() || lb.listen().find(':') == std::string::npos)
      return "listen '" + lb.listen() + "' is not host:port" + (p.ok() ? "" : ": " + p.error().message);
    auto& s = broker_settings_;
    s.host = p.value().host;
    s.port = p.value().port;
    if (!lb.mosquitto().empty()) s.bin = lb.mosquitto();
    s.cse_topic = id_to_topic(cse_id_);
    s.cse_user = "cse-" + s.cse_topic;
    std::replace(s.cse_user.begin(), s.cse_user.end(), ':', '_');
    for (auto& a : lb.account()) {
      std::string e = gw::onem2m::check_ae_username(a.username());
      if (!e.empty()) return "account: " + e;
      if (a.password().empty()) return "account " + a.username() + ": empty password";
      s.accounts.push_back({a.username(), a.password()});
    }
    if (!lb.password_file().empty()) {
      std::error_code ec;
      s.password_file = std::filesystem::absolute(lb.password_file(), ec).string();  // relative: to the cwd
    }
    if (lb.restart_min_ms()) s.restart_min_ms = lb.restart_min_ms();
    if (lb.restart_max_ms()) s.restart_max_ms = lb.restart_max_ms();
    poa_ = PointOfAccess{};
    poa_.tls = false;
    poa_.port = s.port;
    poa_.host = (s.host.empty() || s.host == "0.0.0.0") ? "127.0.0.1" : s.host == "::" ? "::1" : s.host;
    return "";
  }

  std::string start_local_broker() {
    unsigned char r[24];
    if (RAND_bytes(r, sizeof r) != 1) return "no random bytes";
    static const char* hex = "0123456789abcdef";
    broker_settings_.cse_password.clear();
    for (unsigned char c : r) {
      broker_settings_.cse_password += hex[c >> 4];
      broker_settings_.cse_password += hex[c & 15];
    }
    // Absolute: the paths go into mosquitto.conf.
    std::error_code ec;
    auto dir = std::filesystem::absolute(std::string(host_.state_dir()) + "/mosquitto", ec);
    if (ec) return "state dir: " + ec.message();
    broker_settings_.dir = dir.lexically_normal().string();
    broker_ = std::make_unique<gw::onem2m::LocalBroker>(host_, broker_settings_, [this] { broker_started(); });
    return broker_->prepare();
  }

  // After every spawn: (re)connect soon, with a fresh back-off.
  void broker_started() {
    if (connected_ || stopping_ || !mosq_) return;
    if (reconnect_timer_) host_.cancel(reconnect_timer_);
    backoff_ = 0;
    reconnect_timer_ = host_.timer(first_connect_ ? 50 : 100, 0, &OneM2MAdapter::on_reconnect, this);
  }

  struct AfterCtx {
    OneM2MAdapter* self;
    uint64_t id;
    std::function<void()> fn;
    uint64_t timer;
  };
  static void on_after(void* u) {
    auto* c = static_cast<AfterCtx*>(u);
    OneM2MAdapter* self = c->self;
    auto it = self->after_.find(c->id);
    if (it == self->after_.end()) return;
    auto fn = std::move(it->second->fn);
    self->after_.erase(it);  // frees c
    if (!self->stopping_) fn();
  }

  void teardown() {
    if (watch_) host_.unwatch_fd(watch_);
    watch_ = 0;
    watched_fd_ = -1;
    if (misc_timer_) host_.cancel(misc_timer_);
    if (reconnect_timer_) host_.cancel(reconnect_timer_);
    misc_timer_ = reconnect_timer_ = 0;
    for (auto& [k, p] : mqtt_pending_) host_.cancel(p.timer);
    for (auto& [k, p] : device_pending_) host_.cancel(p.timer);
    mqtt_pending_.clear();
    device_pending_.clear();
    for (auto& [k, c] : after_) host_.cancel(c->timer);
    after_.clear();
  }

  // ---- devices ----
  const gw::v1::DeviceModel* model_of(const std::string& name) {
    for (auto& m : mappings_.model())
      if (m.name() == name) return &m;
    return nullptr;
  }

  void sync_devices() {
    if (auto m = host_.mappings()) mappings_ = *m;
    auto all = host_.all_devices();
    if (!all) return;
    for (auto& d : all->devices()) {
      if (d.adapter() == host_.name()) continue;
      std::string e = cse_->ensure_device(d.uuid(), d.name(), model_of(d.model()));
      if (!e.empty()) host_.log(GW_LOG_ERROR, "device " + d.uuid() + ": " + e);
      cse_->set_online(d.uuid(), d.online());
    }
  }

  void add_device(const std::string& uuid) {
    auto d = host_.device(uuid.c_str());
    if (!d) return;
    std::string e = cse_->ensure_device(d->uuid(), d->name(), model_of(d->model()));
    if (!e.empty()) host_.log(GW_LOG_ERROR, "device " + uuid + ": " + e);
  }

  void device_write(const std::string& dev, const std::string& path, const Tree& v, gw::onem2m::cse::Done done) {
    device_request(gw::v1::UPDATE, dev, path, v, std::move(done), nullptr);
  }

  // A REQUEST to a bridged device (UPDATE of an attribute, INVOKE of an operation); exactly one of
  // done / done_out is set and runs with the answer or a timeout.
  void device_request(gw::v1::Operation op, const std::string& dev, const std::string& path, const Tree& v,
                      gw::onem2m::cse::Done done, gw::onem2m::cse::DoneOut done_out) {
    if (!done) done = [done_out](int rsc, const std::string& dbg) { done_out(rsc, dbg, Tree()); };
    Envelope e;
    e.set_kind(gw::v1::REQUEST);
    e.set_op(op);
    std::string corr = std::string(host_.name()) + "-w" + std::to_string(++corr_seq_);
    e.set_correlation_id(corr);
    e.mutable_target()->set_device(dev);
    e.mutable_target()->set_path(path.rfind("*/", 0) == 0 ? "0" + path.substr(1) : path);
    *e.mutable_content() = gw::value_from_ojson(v);
    e.set_expires_ms(host_.wall_ms() + timeout_ms_);
    int rc = host_.emit(e);
    if (rc != GW_OK && rc != GW_ERR_NO_ROUTE) {
      done(gw::status_info(gw::v1::BUSY).onem2m_rsc, "gateway busy");
      return;
    }
    if (rc == GW_ERR_NO_ROUTE) {
      // The router answers with an error response; wait for it like for any other answer.
    }
    Pending p;
    p.done = std::move(done);
    p.done_out = std::move(done_out);
    p.ctx = std::make_unique<TimerCtx>(TimerCtx{this, corr, true});
    p.timer = host_.timer(timeout_ms_ + 200, 0, &OneM2MAdapter::on_pending_timeout, p.ctx.get());
    device_pending_[corr] = std::move(p);
  }

  // ---- MQTT ----
  struct TimerCtx {
    OneM2MAdapter* self;
    std::string key;
    bool device;
  };

  static void on_pending_timeout(void* u) {
    auto* c = static_cast<TimerCtx*>(u);
    OneM2MAdapter* self = c->self;
    auto& map = c->device ? self->device_pending_ : self->mqtt_pending_;
    auto it = map.find(c->key);
    if (it == map.end()) return;
    Pending p = std::move(it->second);  // owns c from here on
    map.erase(it);
    if (p.full) {
      auto r = answer_to(p.req, gw::status_info(gw::v1::REQUEST_TIMEOUT).onem2m_rsc, self->cse_id_);
      r.pc = Tree{{"m2m:dbg", "no answer from " + p.req.to + " within " + std::to_string(self->timeout_ms_) + " ms"}};
      p.full(r);
      return;
    }
    p.done(gw::status_info(gw::v1::REQUEST_TIMEOUT).onem2m_rsc,
           "no answer within " + std::to_string(self->timeout_ms_) + " ms");
  }

  void send_request(const std::string& to, RequestPrimitive req, Format f, gw::onem2m::cse::Done done) {
    Pending p;
    p.done = std::move(done);
    send_pending(to, std::move(req), f, std::move(p));
  }

  void send_full(const std::string& to, RequestPrimitive req, Format f, gw::onem2m::cse::Reply reply) {
    Pending p;
    p.full = std::move(reply);
    send_pending(to, std::move(req), f, std::move(p));
  }

  void send_pending(const std::string& to, RequestPrimitive req, Format f, Pending p) {
    auto fail = [&](int rsc, const std::string& why) {
      if (p.done) return p.done(rsc, why);
      auto r = answer_to(req, rsc, cse_id_);
      r.pc = Tree{{"m2m:dbg", why}};
      p.full(r);
    };
    auto topic = make_topic(TopicKind::kRequest, cse_id_, to, f);
    auto bytes = encode(req, f);
    if (!topic.ok() || !bytes.ok())
      return fail(rsc::kInternalServerError, topic.ok() ? bytes.error().message : topic.error().message);
    if (!connected_) return fail(rsc::kTargetNotReachable, "broker not connected");
    publish(topic.value(), bytes.value());
    p.ctx = std::make_unique<TimerCtx>(TimerCtx{this, req.rqi, false});
    p.timer = host_.timer(timeout_ms_, 0, &OneM2MAdapter::on_pending_timeout, p.ctx.get());
    auto old = mqtt_pending_.find(req.rqi);
    if (old != mqtt_pending_.end()) host_.cancel(old->second.timer);
    p.req = std::move(req);
    std::string key = p.req.rqi;
    mqtt_pending_[key] = std::move(p);
  }

  // Mcc: CREATE <remoteCSE> at the registrar's CSEBase; on 2001 (or 4105: we are known already)
  // the local remoteCSE of the registrar is created and retargeting to it works.
  void register_with_registrar() {
    // Only once our subscriptions are acknowledged: the registrar's answer must find us subscribed.
    if (registrar_id_.empty() || registered_ || registering_ || !connected_ || !subscribed_) return;
    registering_ = true;
    RequestPrimitive q;
    q.op = Operation::kCreate;
    q.to = registrar_id_ + "/" + cfg_.registrar().cse_name();
    q.fr = cse_id_;
    q.rqi = "reg-" + std::to_string(++corr_seq_);
    q.ty = ty::kRemoteCSE;
    q.rvi = "3";
    q.pc = cse_->registration_content();
    send_full(registrar_id_, q, default_fmt_, [this](const ResponsePrimitive& r) {
      registering_ = false;
      if (r.rsc != rsc::kCreated && r.rsc != rsc::kConflict) {
        host_.log(GW_LOG_WARN, "registration with " + registrar_id_ + ": rsc " + std::to_string(r.rsc) + "; retrying");
        return;
      }
      std::string e = cse_->add_registrar(registrar_id_, cfg_.registrar().cse_name(), format_poa(poa_));
      if (!e.empty()) {
        host_.log(GW_LOG_ERROR, "registrar " + registrar_id_ + ": " + e);
        return;
      }
      registered_ = true;
      host_.log(GW_LOG_INFO, "registered with " + registrar_id_ + " (rsc " + std::to_string(r.rsc) + ")");
    });
  }

  void publish(const std::string& topic, const std::string& payload) {
    int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) host_.log(GW_LOG_WARN, "publish " + topic + ": " + mosquitto_strerror(rc));
    update_interest();
  }

  void watch_socket() {
    int fd = mosquitto_socket(mosq_);
    if (fd == watched_fd_ && watch_) {
      update_interest();
      return;
    }
    if (watch_) host_.unwatch_fd(watch_);
    watch_ = 0;
    watched_fd_ = fd;
    if (fd < 0) return;
    watch_ = host_.watch_fd(fd, GW_FD_READ | GW_FD_WRITE, &OneM2MAdapter::on_fd, this);
  }

  void update_interest() {
    if (!watch_) return;
    // A connect in progress completes with writability; afterwards only pending output needs it.
    host_.update_fd(watch_, GW_FD_READ | (mosquitto_want_write(mosq_) || !connected_ ? GW_FD_WRITE : 0));
  }

  void flush() {
    if (mosquitto_socket(mosq_) >= 0 && mosquitto_want_write(mosq_)) mosquitto_loop_write(mosq_, 1);
  }

  static void on_fd(void* u, int, uint32_t ev) {
    auto* a = static_cast<OneM2MAdapter*>(u);
    int rc = MOSQ_ERR_SUCCESS;
    if (ev & (GW_FD_READ | GW_FD_ERROR)) rc = mosquitto_loop_read(a->mosq_, 100);
    if (rc == MOSQ_ERR_SUCCESS && (ev & GW_FD_WRITE) && mosquitto_socket(a->mosq_) >= 0)
      rc = mosquitto_loop_write(a->mosq_, 100);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(a->mosq_) >= 0 && mosquitto_want_write(a->mosq_))
      rc = mosquitto_loop_write(a->mosq_, 100);
    a->after_io(rc);
  }

  void after_io(int rc) {
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) < 0) {
      lost(rc);
      return;
    }
    watch_socket();
  }

  void lost(int rc) {
    if (watch_) host_.unwatch_fd(watch_);
    watch_ = 0;
    watched_fd_ = -1;
    bool was = connected_;
    connected_ = false;
    subscribed_ = false;
    if (stopping_) return;
    if (was || rc != MOSQ_ERR_SUCCESS)
      host_.log(GW_LOG_WARN, std::string("broker connection lost: ") + mosquitto_strerror(rc));
    schedule_reconnect();
  }

  void schedule_reconnect() {
    if (reconnect_timer_ || stopping_) return;
    uint64_t base = backoff_ ? backoff_ : backoff_min_;
    backoff_ = std::min<uint64_t>(base * 2, backoff_max_);
    std::uniform_int_distribution<int64_t> jitter(-static_cast<int64_t>(base / 4), static_cast<int64_t>(base / 4));
    uint64_t delay = static_cast<uint64_t>(std::max<int64_t>(10, static_cast<int64_t>(base) + jitter(rng_)));
    reconnect_timer_ = host_.timer(delay, 0, &OneM2MAdapter::on_reconnect, this);
  }

  static void on_reconnect(void* u) {
    auto* a = static_cast<OneM2MAdapter*>(u);
    a->reconnect_timer_ = 0;
    int rc;
    if (a->first_connect_) {
      a->first_connect_ = false;
      rc = mosquitto_connect_async(a->mosq_, a->poa_.host.c_str(), a->poa_.port, a->keepalive_);
    } else {
      ++a->reconnects_;
      rc = mosquitto_reconnect_async(a->mosq_);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      a->schedule_reconnect();
      return;
    }
    a->watch_socket();
  }

  static void on_misc(void* u) {
    auto* a = static_cast<OneM2MAdapter*>(u);
    if (mosquitto_socket(a->mosq_) < 0) return;
    a->register_with_registrar();  // retried every second until the registrar accepted
    int rc = mosquitto_loop_misc(a->mosq_);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(a->mosq_)) rc = mosquitto_loop_write(a->mosq_, 1);
    a->after_io(rc);
  }

  static void on_connect(struct mosquitto* m, void* u, int rc) {
    auto* a = static_cast<OneM2MAdapter*>(u);
    if (rc != 0) {
      a->host_.log(GW_LOG_WARN, std::string("broker refused the connection: ") + mosquitto_connack_string(rc));
      return;  // libmosquitto closes the socket; after_io schedules the retry
    }
    a->connected_ = true;
    a->subscribed_ = false;
    a->backoff_ = 0;
    a->sub_mids_.clear();
    a->sub_refused_ = false;
    for (auto& t : cse_subscriptions(a->cse_id_)) {
      int mid = 0;
      if (mosquitto_subscribe(m, &mid, t.c_str(), 1) == MOSQ_ERR_SUCCESS) a->sub_mids_.push_back(mid);
    }
    a->host_.log(GW_LOG_INFO, "connected to " + format_poa(a->poa_) + " as " + make_client_id(EntityKind::kCse, a->cse_id_));
    // The upstream was away: as a journal consumer, have the journal re-deliver what is unacked.
    if (a->ever_connected_ && a->journal_consumer_) a->host_.journal_replay();
    a->ever_connected_ = true;
    // Registration with the registrar waits for the SUBACKs (on_subscribe).
  }

  static void on_subscribe(struct mosquitto*, void* u, int mid, int n, const int* granted) {
    auto* a = static_cast<OneM2MAdapter*>(u);
    for (int i = 0; i < n; ++i)
      if (granted[i] == 0x80) {
        // The broker's ACL refused a subscription: requests to us would never arrive.
        a->host_.log(GW_LOG_ERROR, "broker refused a subscription of " + make_client_id(EntityKind::kCse, a->cse_id_) +
                                       " (ACL); not serving");
        a->sub_refused_ = true;
      }
    auto& v = a->sub_mids_;
    v.erase(std::remove(v.begin(), v.end(), mid), v.end());
    if (!v.empty() || !a->connected_ || a->subscribed_ || a->sub_refused_) return;
    a->subscribed_ = true;
    a->register_with_registrar();
  }

  static void on_disconnect(struct mosquitto*, void* u, int) {
    auto* a = static_cast<OneM2MAdapter*>(u);
    a->connected_ = false;
    a->subscribed_ = false;
  }

  static void on_message(struct mosquitto*, void* u, const struct mosquitto_message* msg) {
    auto* a = static_cast<OneM2MAdapter*>(u);
    a->incoming(msg->topic, std::string_view(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen)));
  }

  void incoming(const std::string& topic_s, std::string_view payload) {
    auto topic = parse_topic(topic_s);
    if (!topic.ok()) {
      host_.log(GW_LOG_WARN, "dropped message on " + topic_s + ": " + topic.error().message);
      return;
    }
    const Topic& t = topic.value();
    Format f = t.format_given ? t.format : sniff_format(payload);
    if (t.kind == TopicKind::kResponse) {
      auto r = decode_response(payload, f);
      if (!r.ok()) {
        host_.log(GW_LOG_WARN, "undecodable response on " + topic_s + ": " + r.error().message);
        return;
      }
      auto it = mqtt_pending_.find(r.value().rqi);
      if (it == mqtt_pending_.end()) return;
      auto p = std::move(it->second);
      mqtt_pending_.erase(it);
      host_.cancel(p.timer);
      if (p.full)
        p.full(r.value());
      else
        p.done(r.value().rsc, "");
      return;
    }
    if (t.kind != TopicKind::kRequest && t.kind != TopicKind::kRegRequest) return;
    auto rt = response_topic_for(t);
    if (!rt.ok()) return;
    std::string resp_topic = format_topic(rt.value());
    ++requests_;
    auto req = decode_request(payload, f);
    if (!req.ok()) {
      auto partial = partial_decode_request(payload, f);
      if (!partial.ok()) {
        host_.log(GW_LOG_WARN, "dropped undecodable request on " + topic_s + ": " + req.error().message);
        return;
      }
      answer(resp_topic, bad_request_answer(partial.value(), cse_id_), f);
      return;
    }
    if (t.kind == TopicKind::kRequest) {
      std::string why = originator_mismatch(t, req.value());
      if (!why.empty()) {
        auto r = answer_to(req.value(), rsc::kOriginatorHasNoPrivilege, cse_id_);
        r.pc = Tree{{"m2m:dbg", why}};
        answer(resp_topic, r, f);
        return;
      }
    }
    cse_->handle(req.value(), [this, resp_topic, f](const ResponsePrimitive& r) { answer(resp_topic, r, f); });
  }

  // The broker authorizes the topic's originator level (Y.4500.10 §8.2, §8.4), not the payload:
  // `fr` must name the same entity. Allowed otherwise only: an AE registration asking for an
  // assigned AE-ID (fr absent, "C" or "S"), and a CSE forwarding for its registrees (topic
  // originator = a CSE-ID, fr SP-relative below it: "/id-mn/Cae1" on /oneM2M/req/id-mn/...).
  static std::string originator_mismatch(const Topic& t, const RequestPrimitive& q) {
    if (same_topic_id(t.originator, q.fr)) return "";
    if (q.op == Operation::kCreate && q.ty == ty::kAE && (q.fr.empty() || q.fr == "C" || q.fr == "S")) return "";
    std::string o = topic_to_id(t.originator);
    o.erase(0, o.find_first_not_of('/'));
    if (!o.empty() && o.find('/') == std::string::npos && q.fr.rfind("/" + o + "/", 0) == 0) return "";
    return "originator '" + q.fr + "' does not match the topic's originator '" + t.originator + "'";
  }

  void answer(const std::string& topic, const ResponsePrimitive& r, Format f) {
    auto bytes = encode(r, f);
    if (!bytes.ok()) {
      host_.log(GW_LOG_ERROR, "cannot encode response " + r.rqi + ": " + bytes.error().message);
      ResponsePrimitive e;
      e.rsc = rsc::kInternalServerError;
      e.rqi = r.rqi;
      e.to = r.to;
      e.fr = r.fr;
      bytes = encode(e, f);
      if (!bytes.ok()) return;
    }
    if (!mosq_ || !connected_) return;
    publish(topic, bytes.value());
    update_interest();
  }

  Cfg cfg_;
  std::string cse_id_;
  std::string registrar_id_;
  bool registered_ = false, registering_ = false;
  PointOfAccess poa_;
  int keepalive_ = 60;
  uint64_t backoff_min_ = 500, backoff_max_ = 30000, backoff_ = 0;
  uint64_t timeout_ms_ = 5000;
  Format default_fmt_ = Format::kJson;
  std::unique_ptr<gw::onem2m::cse::Cse> cse_;
  gw::v1::MappingSet mappings_;
  struct mosquitto* mosq_ = nullptr;
  uint64_t watch_ = 0, misc_timer_ = 0, reconnect_timer_ = 0;
  int watched_fd_ = -1;
  gw::onem2m::LocalBrokerSettings broker_settings_;
  std::unique_ptr<gw::onem2m::LocalBroker> broker_;
  bool first_connect_ = true;  // with a local broker the first connect waits for its spawn
  std::vector<int> sub_mids_;  // SUBSCRIBEs of the current connection not yet acknowledged
  bool sub_refused_ = false;
  bool connected_ = false, subscribed_ = false, ever_connected_ = false, stopping_ = false, journal_consumer_ = false;
  std::map<std::string, Pending> mqtt_pending_, device_pending_;
  std::map<uint64_t, std::unique_ptr<AfterCtx>> after_;
  uint64_t after_seq_ = 0;
  // One callback at a time acknowledges the journal records bridged when it was registered — not
  // the ones bridged while it waited: those are in a later group, which may not be durable yet (a
  // crash would lose them). They get the next callback.
  void wait_for_durable() {
    ack_waiting_ = true;
    uint64_t upto = ack_upto_;
    cse_->after_commit([this, upto](bool ok) {
      ack_waiting_ = false;
      if (ok) {
        if (upto > acked_) host_.journal_ack(upto);
        acked_ = std::max(acked_, upto);
        if (ack_upto_ > acked_) wait_for_durable();
        return;
      }
      // The group was rolled back: have the journal deliver it again.
      host_.log(GW_LOG_ERROR, "CSE store commit failed: journal records after " + std::to_string(acked_) +
                                  " are replayed");
      ack_upto_ = acked_;
      host_.journal_replay();
    });
  }

  uint64_t ack_upto_ = 0, acked_ = 0;  // journal records bridged / acknowledged (group commit)
  bool ack_waiting_ = false;
  uint64_t corr_seq_ = 0, requests_ = 0, bridged_ = 0, unmapped_ = 0, reconnects_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

GW_DEFINE_ADAPTER(OneM2MAdapter, "onem2m", "0.1.0", "oneM2M CSE over the MQTT binding (TS-0010)",
                  "gw.onem2m.v1.OneM2MConfig")
