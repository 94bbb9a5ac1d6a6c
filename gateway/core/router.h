// The router moves envelopes between adapter instances on the event-loop thread.
//
//  * REQUEST: goes to target.adapter if set, else to the adapter owning target.device in the
//    registry, else to the first mapping route that matches. It gets exactly one RESPONSE: the
//    target's, or one the router makes (NOT_FOUND when nothing can take it, EXPIRED when it arrives
//    past expires_ms, REQUEST_TIMEOUT at its deadline, BUSY when the pending table is full).
//    A response that arrives after that is dropped and counted.
//  * RESPONSE: returns to the adapter that sent the request, whatever its target field says, and
//    only if it comes from the adapter the request went to.
//  * REPORT / EVENT / NOTIFICATION: to target.adapter if set, else fanned out to every adapter of
//    every matching route, never back to the origin.
// Deliveries are queued and drained from the loop, so an adapter is never re-entered from its own
// emit(); the queue is bounded in entries and bytes (submit returns GW_ERR_BUSY beyond either:
// back-pressure — an adapter stops reading from the device that floods).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gw/event_loop.h"
#include "gw/v1/config.pb.h"
#include "gw/v1/envelope.pb.h"
#include "gw/v1/mapping.pb.h"
#include "registry.h"

namespace gw {

class Router {
 public:
  using DeliverFn = std::function<int(const std::string& bytes)>;  // returns a gw_result

  struct Stats {
    uint64_t submitted = 0, delivered = 0, requests = 0, responses = 0, fanout = 0;
    uint64_t timeouts = 0, no_route = 0, expired = 0, late_responses = 0, rejected_busy = 0, delivery_failed = 0;
  };

  Router(EventLoop& loop, const Registry* registry, const v1::RouterConfig& cfg);
  ~Router();

  void add_adapter(const std::string& name, DeliverFn deliver);
  void set_mappings(std::shared_ptr<const v1::MappingSet> mappings);
  std::shared_ptr<const v1::MappingSet> mappings() const { return mappings_; }

  // While an adapter is replaying the journal, live journaled envelopes are not fanned out to it
  // (the replay delivers them, in order).
  void set_replaying(const std::string& adapter, bool on);
  bool replaying(const std::string& adapter) const;

  // From an adapter (origin.adapter already set by the host). Returns a gw_result.
  int submit(v1::Envelope env);
  // Delivers everything queued now (shutdown, tests).
  void drain_all();

  const Stats& stats() const { return stats_; }
  size_t pending() const { return pending_.size(); }
  size_t queued() const { return queue_.size(); }
  size_t max_queue() const { return max_queue_; }
  uint64_t queued_bytes() const { return queued_bytes_; }

 private:
  struct Pending {
    std::string origin_adapter;
    std::string target_adapter;
    v1::Envelope request_head;  // the request without content, to build error responses
    uint64_t deadline;          // monotonic ms
    std::multimap<uint64_t, std::string>::iterator deadline_it;
  };
  struct Item {
    int adapter;
    std::shared_ptr<const std::string> bytes;
  };

  int index_of(const std::string& adapter) const;
  void enqueue(int adapter, std::shared_ptr<const std::string> bytes);
  void enqueue(int adapter, const v1::Envelope& env);
  void respond_error(const v1::Envelope& request, const std::string& to_adapter, v1::Status status,
                     const std::string& detail);
  int route_request(v1::Envelope env);
  int route_response(v1::Envelope env);
  int route_fanout(v1::Envelope env);
  void drain(size_t max_items);
  void arm_timer();
  void on_timer();

  EventLoop& loop_;
  const Registry* registry_;
  uint64_t default_timeout_ms_;
  size_t max_pending_;
  size_t max_queue_;
  uint64_t max_queue_bytes_;
  uint64_t queued_bytes_ = 0;  // bytes of envelopes waiting in queue_ (shared fan-out bytes count once per target)
  std::shared_ptr<const v1::MappingSet> mappings_;
  std::vector<std::string> names_;
  std::vector<bool> replaying_;
  std::vector<DeliverFn> delivers_;
  std::deque<Item> queue_;
  bool idle_on_ = false;
  std::unordered_map<std::string, Pending> pending_;
  std::multimap<uint64_t, std::string> deadlines_;
  uint64_t timer_id_ = 0;
  uint64_t timer_at_ = 0;
  Stats stats_;
};

}  // namespace gw
