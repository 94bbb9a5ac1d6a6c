#include "router.h"

#include "gw/adapter_abi.h"
#include "gw/status.h"
#include "log.h"

namespace gw {

Router::Router(EventLoop& loop, const Registry* registry, const v1::RouterConfig& cfg)
    : loop_(loop),
      registry_(registry),
      default_timeout_ms_(cfg.request_timeout_ms() ? cfg.request_timeout_ms() : 10000),
      max_pending_(cfg.max_pending() ? cfg.max_pending() : 100000),
      max_queue_(cfg.max_queue() ? cfg.max_queue() : 65536),
      max_queue_bytes_(cfg.max_queue_bytes() ? cfg.max_queue_bytes() : 32ull << 20),
      mappings_(std::make_shared<v1::MappingSet>()) {
  loop_.set_idle([this] { drain(1024); });
}

Router::~Router() {
  if (timer_id_) loop_.stop_timer(timer_id_);
  loop_.enable_idle(false);
  loop_.set_idle(nullptr);
}

void Router::add_adapter(const std::string& name, DeliverFn deliver) {
  names_.push_back(name);
  replaying_.push_back(false);
  delivers_.push_back(std::move(deliver));
}

void Router::set_replaying(const std::string& adapter, bool on) {
  int idx = index_of(adapter);
  if (idx >= 0) replaying_[idx] = on;
}

bool Router::replaying(const std::string& adapter) const {
  int idx = index_of(adapter);
  return idx >= 0 && replaying_[idx];
}

void Router::set_mappings(std::shared_ptr<const v1::MappingSet> m) { mappings_ = std::move(m); }

int Router::index_of(const std::string& adapter) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == adapter) return static_cast<int>(i);
  return -1;
}

void Router::enqueue(int adapter, std::shared_ptr<const std::string> bytes) {
  queued_bytes_ += bytes->size();
  queue_.push_back(Item{adapter, std::move(bytes)});
  if (!idle_on_) {
    idle_on_ = true;
    loop_.enable_idle(true);
  }
}

void Router::enqueue(int adapter, const v1::Envelope& env) {
  auto bytes = std::make_shared<std::string>();
  env.SerializeToString(bytes.get());
  enqueue(adapter, std::move(bytes));
}

void Router::respond_error(const v1::Envelope& request, const std::string& to_adapter, v1::Status status,
                           const std::string& detail) {
  int idx = index_of(to_adapter);
  if (idx < 0) return;
  v1::Envelope r;
  r.set_model_version(1);
  r.set_message_id(request.message_id() + "/r");
  r.set_correlation_id(request.correlation_id());
  r.set_kind(v1::RESPONSE);
  r.set_op(request.op());
  *r.mutable_origin() = request.target();
  r.mutable_origin()->set_adapter("router");
  *r.mutable_target() = request.origin();
  r.set_status(status);
  r.set_status_detail(detail);
  r.set_created_ms(EventLoop::wall_ms());
  r.set_trace_id(request.trace_id());
  r.set_device_model(request.device_model());
  enqueue(idx, r);
}

int Router::submit(v1::Envelope env) {
  ++stats_.submitted;
  // Responses are always accepted: refusing them would break "exactly one response".
  if (env.kind() != v1::RESPONSE && (queue_.size() >= max_queue_ || queued_bytes_ >= max_queue_bytes_)) {
    ++stats_.rejected_busy;
    return GW_ERR_BUSY;
  }
  switch (env.kind()) {
    case v1::REQUEST: return route_request(std::move(env));
    case v1::RESPONSE: return route_response(std::move(env));
    case v1::REPORT:
    case v1::EVENT:
    case v1::NOTIFICATION: return route_fanout(std::move(env));
    default:
      GW_LOG(Warn, "router", "dropping envelope " << env.message_id() << " from " << env.origin().adapter()
                                                  << ": kind unspecified");
      return GW_ERR_INVALID;
  }
}

int Router::route_request(v1::Envelope env) {
  ++stats_.requests;
  const std::string& from = env.origin().adapter();
  if (env.correlation_id().empty()) {
    GW_LOG(Warn, "router", "request " << env.message_id() << " from " << from << " has no correlation_id; dropped");
    return GW_ERR_INVALID;
  }
  if (pending_.count(env.correlation_id())) {
    respond_error(env, from, v1::BAD_REQUEST, "correlation_id " + env.correlation_id() + " is already outstanding");
    return GW_OK;
  }
  int64_t wall = EventLoop::wall_ms();
  if (env.expires_ms() != 0 && env.expires_ms() <= wall) {
    ++stats_.expired;
    respond_error(env, from, v1::EXPIRED, "request expired before it could be routed");
    return GW_OK;
  }
  // Resolve the target adapter.
  std::string to = env.target().adapter();
  if (to.empty() && !env.target().device().empty() && registry_) {
    if (const auto* d = registry_->get(env.target().device())) {
      to = d->adapter();
      if (env.device_model().empty()) env.set_device_model(d->model());
    }
  }
  if (to.empty()) {
    for (const auto& r : mappings_->route()) {
      if (!r.from_adapter().empty() && r.from_adapter() != from) continue;
      if (r.kind_size() && std::find(r.kind().begin(), r.kind().end(), v1::REQUEST) == r.kind().end()) continue;
      if (!r.device_model().empty() && r.device_model() != env.device_model()) continue;
      if (!r.path_prefix().empty() && env.target().path().rfind(r.path_prefix(), 0) != 0) continue;
      to = r.to_adapter(0);
      break;
    }
  }
  int idx = to.empty() ? -1 : index_of(to);
  if (idx < 0) {
    ++stats_.no_route;
    respond_error(env, from, v1::NOT_FOUND,
                  to.empty() ? "no adapter serves target device \"" + env.target().device() + "\" path \"" +
                                   env.target().path() + "\""
                             : "no adapter named \"" + to + "\"");
    return GW_OK;
  }
  if (pending_.size() >= max_pending_) {
    ++stats_.rejected_busy;
    respond_error(env, from, v1::BUSY, "too many outstanding requests");
    return GW_OK;
  }
  env.mutable_target()->set_adapter(to);
  uint64_t now = loop_.now_ms();
  uint64_t timeout = default_timeout_ms_;
  if (env.expires_ms() != 0) timeout = static_cast<uint64_t>(env.expires_ms() - wall);
  Pending p;
  p.origin_adapter = from;
  p.target_adapter = to;
  p.deadline = now + timeout;
  p.request_head = env;
  p.request_head.clear_content();
  p.deadline_it = deadlines_.emplace(p.deadline, env.correlation_id());
  pending_.emplace(env.correlation_id(), std::move(p));
  arm_timer();
  enqueue(idx, env);
  return GW_OK;
}

int Router::route_response(v1::Envelope env) {
  ++stats_.responses;
  auto it = pending_.find(env.correlation_id());
  if (it == pending_.end()) {
    ++stats_.late_responses;
    GW_LOG(Debug, "router", "response " << env.correlation_id() << " from " << env.origin().adapter()
                                        << " matches no outstanding request (late or unknown); dropped");
    return GW_OK;
  }
  if (it->second.target_adapter != env.origin().adapter()) {
    GW_LOG(Warn, "router", "response " << env.correlation_id() << " came from " << env.origin().adapter()
                                       << " but the request went to " << it->second.target_adapter << "; dropped");
    return GW_ERR_INVALID;
  }
  int idx = index_of(it->second.origin_adapter);
  *env.mutable_target() = it->second.request_head.origin();
  if (env.trace_id().empty()) env.set_trace_id(it->second.request_head.trace_id());
  deadlines_.erase(it->second.deadline_it);
  pending_.erase(it);
  if (idx >= 0) enqueue(idx, env);
  return GW_OK;
}

int Router::route_fanout(v1::Envelope env) {
  const std::string& from = env.origin().adapter();
  std::vector<int> targets;
  if (!env.target().adapter().empty()) {
    int idx = index_of(env.target().adapter());
    if (idx >= 0) targets.push_back(idx);
  } else {
    if (env.device_model().empty() && !env.origin().device().empty() && registry_)
      if (const auto* d = registry_->get(env.origin().device())) env.set_device_model(d->model());
    const std::string& path = env.origin().path();
    for (const auto& r : mappings_->route()) {
      if (!r.from_adapter().empty() && r.from_adapter() != from) continue;
      if (r.kind_size() && std::find(r.kind().begin(), r.kind().end(), env.kind()) == r.kind().end()) continue;
      if (!r.device_model().empty() && r.device_model() != env.device_model()) continue;
      if (!r.path_prefix().empty() && path.rfind(r.path_prefix(), 0) != 0) continue;
      for (const auto& to : r.to_adapter()) {
        int idx = index_of(to);
        if (idx < 0 || to == from) continue;
        if (replaying_[idx] && env.journal_seq() != 0 && !env.replayed()) continue;  // the replay delivers it
        if (std::find(targets.begin(), targets.end(), idx) == targets.end()) targets.push_back(idx);
      }
    }
  }
  if (targets.empty()) {
    ++stats_.no_route;
    GW_LOG(Debug, "router", v1::Kind_Name(env.kind()) << " " << env.message_id() << " from " << from
                                                      << " matches no route");
    return GW_ERR_NO_ROUTE;
  }
  auto bytes = std::make_shared<std::string>();
  env.SerializeToString(bytes.get());
  stats_.fanout += targets.size();
  for (int idx : targets) enqueue(idx, bytes);
  return GW_OK;
}

void Router::drain(size_t max_items) {
  size_t n = 0;
  while (!queue_.empty() && n++ < max_items) {
    Item item = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= item.bytes->size();
    int rc = delivers_[item.adapter](*item.bytes);
    if (rc == GW_OK) {
      ++stats_.delivered;
    } else {
      ++stats_.delivery_failed;
      GW_LOG(Warn, "router", "adapter " << names_[item.adapter] << " refused an envelope (rc " << rc << ")");
    }
  }
  if (queue_.empty() && idle_on_) {
    idle_on_ = false;
    loop_.enable_idle(false);
  }
}

void Router::drain_all() {
  while (!queue_.empty()) drain(queue_.size());
}

void Router::arm_timer() {
  if (deadlines_.empty()) return;
  uint64_t first = deadlines_.begin()->first;
  if (timer_id_ && timer_at_ <= first) return;
  if (timer_id_) loop_.stop_timer(timer_id_);
  uint64_t now = loop_.now_ms();
  timer_at_ = first;
  timer_id_ = loop_.start_timer(first > now ? first - now : 0, 0, [this] {
    timer_id_ = 0;
    on_timer();
  });
}

void Router::on_timer() {
  uint64_t now = loop_.now_ms();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    std::string corr = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(corr);
    if (it == pending_.end()) continue;
    ++stats_.timeouts;
    GW_LOG(Info, "router", "request " << corr << " to " << it->second.target_adapter << " timed out; answering "
                                      << it->second.origin_adapter << " with REQUEST_TIMEOUT");
    auto head = std::move(it->second.request_head);
    auto origin = it->second.origin_adapter;
    pending_.erase(it);
    respond_error(head, origin, v1::REQUEST_TIMEOUT, "no response from " + head.target().adapter() + " in time");
  }
  arm_timer();
}

}  // namespace gw
