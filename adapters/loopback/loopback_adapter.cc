// The loopback adapter (see loopback.proto). Real module, real loader, no protocol: it exists so
// the core can be demonstrated, tested and benchmarked end to end without cameras.
#include <map>
#include <string>
#include <vector>

#include "gw/adapter_sdk.h"
#include "gw/value.h"
#include "loopback.pb.h"

namespace {

using gw::v1::Envelope;

class Loopback : public gw::sdk::Adapter {
 public:
  using Adapter::Adapter;

  std::string configure(const std::string& bytes) override {
    if (!cfg_.ParseFromString(bytes)) return "loopback: config does not decode";
    if (cfg_.report_path().empty()) cfg_.set_report_path("0/demo/counter");
    if (cfg_.request_path().empty()) cfg_.set_request_path("0/demo/setting");
    if (cfg_.request_interval_ms() && cfg_.request_target_adapter().empty())
      return "loopback: request_interval_ms needs request_target_adapter";
    return "";
  }

  std::string start() override {
    for (uint32_t i = 0; i < cfg_.devices(); ++i) {
      gw::v1::Device d;
      d.set_native_id("loop-" + std::to_string(i));
      d.set_model(cfg_.model());
      d.set_name("loopback device " + std::to_string(i));
      auto stored = host_.put_device(d);
      if (!stored) return "loopback: cannot register device " + d.native_id();
      host_.set_online(stored->uuid(), true);
      uuids_.push_back(stored->uuid());
    }
    if (cfg_.report_interval_ms())
      report_timer_ = host_.timer(cfg_.report_interval_ms(), cfg_.report_interval_ms(), &Loopback::on_report, this);
    if (cfg_.request_interval_ms())
      request_timer_ = host_.timer(cfg_.request_interval_ms(), cfg_.request_interval_ms(), &Loopback::on_request, this);
    return "";
  }

  int deliver(const Envelope& env) override {
    ++received_[gw::v1::Kind_Name(env.kind())];
    if (cfg_.ack_journal() && env.journal_seq()) host_.journal_ack(env.journal_seq());
    if (cfg_.log_received() && host_.log_enabled(GW_LOG_INFO)) {
      std::string line = "received " + gw::v1::Kind_Name(env.kind()) + " " + gw::v1::Operation_Name(env.op()) +
                         " from " + env.origin().adapter() + " device " + env.origin().device() + " path \"" +
                         env.origin().path() + "\" content " + gw::value_to_json(env.content());
      if (env.kind() == gw::v1::RESPONSE) line += " status " + gw::v1::Status_Name(env.status());
      host_.log(GW_LOG_INFO, line);
    }
    if (env.kind() == gw::v1::REQUEST && cfg_.respond()) {
      if (cfg_.respond_delay_ms() == 0) return respond(env);
      auto* pending = new Envelope(env);
      delayed_.push_back(pending);
      host_.timer(cfg_.respond_delay_ms(), 0, &Loopback::on_delayed, this);
    }
    return GW_OK;
  }

  void stop() override {
    if (report_timer_) host_.cancel(report_timer_);
    if (request_timer_) host_.cancel(request_timer_);
    report_timer_ = request_timer_ = 0;
    for (auto& u : uuids_) host_.set_online(u, false);
  }

  ~Loopback() override {
    for (auto* e : delayed_) delete e;
  }

  std::string status_json() override {
    nlohmann::json j;
    j["devices"] = uuids_.size();
    j["sent"] = sent_;
    j["durable_acks"] = durable_acks_;
    for (auto& [k, v] : received_) j["received"][k] = v;
    return j.dump();
  }

 private:
  int respond(const Envelope& req) {
    Envelope r;
    r.set_kind(gw::v1::RESPONSE);
    r.set_op(req.op());
    r.set_correlation_id(req.correlation_id());
    *r.mutable_origin() = req.target();
    *r.mutable_target() = req.origin();
    r.set_trace_id(req.trace_id());
    switch (req.op()) {
      case gw::v1::CREATE: r.set_status(gw::v1::CREATED); break;
      case gw::v1::DELETE: r.set_status(gw::v1::DELETED); break;
      case gw::v1::UPDATE: r.set_status(gw::v1::CHANGED); break;
      default: r.set_status(gw::v1::OK); break;
    }
    *r.mutable_content() = req.content();
    ++sent_;
    return host_.emit(r);
  }

  static void on_delayed(void* self) {
    auto* a = static_cast<Loopback*>(self);
    if (a->delayed_.empty()) return;
    Envelope* e = a->delayed_.front();
    a->delayed_.erase(a->delayed_.begin());
    a->respond(*e);
    delete e;
  }

  static void on_report(void* self) {
    auto* a = static_cast<Loopback*>(self);
    ++a->counter_;
    for (const auto& uuid : a->uuids_) {
      Envelope e;
      e.set_kind(gw::v1::REPORT);
      e.set_op(gw::v1::REPORT_OP);
      e.mutable_origin()->set_device(uuid);
      e.mutable_origin()->set_path(a->cfg_.report_path());
      e.set_device_model(a->cfg_.model());
      e.set_device_seq(a->counter_);
      *e.mutable_content() = gw::make_int(static_cast<int64_t>(a->counter_));
      ++a->sent_;
      if (a->cfg_.durable())
        a->host_.emit_durable(e, &Loopback::on_durable, a);
      else
        a->host_.emit(e);
    }
  }

  static void on_durable(void* self, uint64_t, int result) {
    auto* a = static_cast<Loopback*>(self);
    if (result == GW_OK) ++a->durable_acks_;
  }

  static void on_request(void* self) {
    auto* a = static_cast<Loopback*>(self);
    Envelope e;
    e.set_kind(gw::v1::REQUEST);
    e.set_op(gw::v1::UPDATE);
    e.set_correlation_id(std::string(a->host_.name()) + "-req-" + std::to_string(++a->requests_));
    e.mutable_target()->set_adapter(a->cfg_.request_target_adapter());
    e.mutable_target()->set_path(a->cfg_.request_path());
    gw::v1::Value v;
    gw::map_set(v, "value", gw::make_int(static_cast<int64_t>(a->requests_ % 2)));
    *e.mutable_content() = v;
    ++a->sent_;
    a->host_.emit(e);
  }

  gw::loopback::v1::LoopbackConfig cfg_;
  std::vector<std::string> uuids_;
  std::vector<Envelope*> delayed_;
  std::map<std::string, uint64_t> received_;
  uint64_t report_timer_ = 0, request_timer_ = 0;
  uint64_t counter_ = 0, requests_ = 0, sent_ = 0, durable_acks_ = 0;
};

}  // namespace

GW_DEFINE_ADAPTER(Loopback, "loopback", "1.0.0", "Simulated devices and a request echo, for demos, tests and benchmarks",
                  "gw.loopback.v1.LoopbackConfig")
