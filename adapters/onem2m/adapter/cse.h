// The CSE resource tree: resolution of addresses, access control, the CREATE / RETRIEVE / UPDATE /
// DELETE / discovery procedures of TS-0001/TS-0004 for CSEBase, AE, container, contentInstance,
// subscription (with notifications), accessControlPolicy, flexContainer and remoteCSE, plus the
// bridged devices (one flexContainer per gateway device). Transport-free: requests come in as
// primitives, replies and CSE-originated requests go out through callbacks. Loop thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "gw/v1/mapping.pb.h"
#include "onem2m/codec/primitive.h"
#include "onem2m/codec/serialization.h"
#include "store.h"

namespace gw::onem2m::cse {

struct Settings {
  std::string cse_id;    // "/id-mn"
  std::string cse_name;  // "cse-mn"
  int cst = 2;           // cst::kMN / kIN
  std::string poa;       // our broker as a pointOfAccess
  std::string admin = "CAdmin";
  std::string bridge_ae = "camgw";
  std::string db_path;
  bool sync_full = true;
  // A notification nobody answered (timeout, broker down) is sent again, same rqi, up to
  // notify_retries times after notify_retry_ms, doubling. An answer with an error is final.
  int notify_retries = 2;
  uint64_t notify_retry_ms = 1000;
  // Store changes made by device_report() are committed in groups within this many ms (Store
  // group commit); 0 = one commit per report. Requests of oneM2M entities always commit at once.
  uint64_t group_commit_ms = 5;
  // Access to the bridged cameras for originators other than admin (OneM2MConfig.camera_access):
  // the acr entries of the "<bridge_ae>-cameras" policy. Empty = admin only.
  struct AccessRule {
    std::vector<std::string> originators;
    int operations = 0;  // acop bits
  };
  std::vector<AccessRule> camera_access;
};

using Reply = std::function<void(ResponsePrimitive)>;
using Done = std::function<void(int rsc, const std::string& dbg)>;
using DoneOut = std::function<void(int rsc, const std::string& dbg, const Tree& output)>;

struct Hooks {
  // Send a CSE-originated request (a notification) to the entity `to_id` (AE-ID or CSE-ID) in `f`;
  // done(rsc) runs with the target's answer or a timeout code.
  std::function<void(const std::string& to_id, RequestPrimitive req, Format f, Done done)> send;
  // A oneM2M UPDATE of a writable bridged attribute: write `value` to device/path.
  std::function<void(const std::string& device, const std::string& path, const Tree& value, Done done)> device_write;
  // A oneM2M UPDATE of a bridged service (action) attribute: invoke device/path with `input`;
  // done gets the device's output.
  std::function<void(const std::string& device, const std::string& path, const Tree& input, DoneOut done)> device_invoke;
  // Retargeting: forward `req` to the registered remote CSE `cse_id`; reply gets its answer (or a
  // timeout / unreachable answer made by the transport).
  std::function<void(const std::string& cse_id, RequestPrimitive req, Reply reply)> forward;
  // Run fn once after ms on the loop (notification retries). Pending calls are dropped at stop.
  std::function<void(uint64_t ms, std::function<void()> fn)> after;
  std::function<int64_t()> wall_ms;
  // Thread-safe: run fn on the loop soon (false once shutting down). With it, the store's
  // writes, their fsyncs and the WAL checkpoints run on a writer thread (Store::start_writer).
  std::function<bool(std::function<void()>)> post;
  std::function<void(int level, const std::string&)> log;
};

class Cse {
 public:
  Cse(Settings s, Hooks h) : s_(std::move(s)), h_(std::move(h)) {}
  // Opens the store, loads the tree, creates the CSEBase on first start. "" or the reason.
  std::string open();

  // One request; reply runs exactly once (now, or later for requests that wait on a peer).
  void handle(const RequestPrimitive& req, const Reply& reply);

  // Bridged devices. ensure_device creates (or completes) the device's flexContainer tree.
  std::string ensure_device(const std::string& uuid, const std::string& name, const v1::DeviceModel* model);
  // A REPORT / EVENT from a device. Returns false when nothing in the mapping names that path.
  bool device_report(const std::string& uuid, const std::string& path, const Tree& value, bool is_event);
  void set_online(const std::string& uuid, bool online);
  // cb(ok) once every change made so far is committed to the store and durable (at once if none
  // is pending).
  void after_commit(std::function<void(bool ok)> cb) { store_.after_commit(std::move(cb)); }
  // Commits what a group commit holds (at stop).
  std::string flush_store() { return store_.flush(); }
  bool has_device(const std::string& uuid) const { return devices_.count(uuid) != 0; }

  // The local remoteCSE resource of our registrar (created once it accepted our registration).
  std::string add_registrar(const std::string& csi, const std::string& cse_name, const std::string& poa);
  // The remoteCSE resource content this CSE sends when registering with a registrar.
  Tree registration_content() const;

  size_t resource_count() const { return res_.size() + static_cast<size_t>(store_.cin_count()); }
  size_t resources_in_memory() const { return res_.size(); }
  uint64_t notifications_sent() const { return notifications_; }
  uint64_t notification_retries() const { return notify_retried_; }
  uint64_t notifications_failed() const { return notify_failed_; }
  uint64_t resources_expired() const { return expired_; }
  std::string structured(const std::string& ri) const;

 private:
  struct Res {
    std::string ri, pi, rn, tag;
    int ty = 0;
    Tree a;                         // attributes (+ internal "__" keys)
    std::vector<std::string> kids;  // child ri in creation order
  };
  struct Target {
    std::string ri;
    int virt = 0;  // 1 = la, 2 = ol
  };

  int64_t now() const { return h_.wall_ms(); }
  std::string ts() const;
  std::string new_ri(const std::string& prefix);
  std::string bare_cse() const;
  std::string norm_originator(const std::string& fr) const;
  bool known_originator(const std::string& fr) const;
  Target resolve(const std::string& to) const;
  std::string child_by_name(const std::string& pi, const std::string& rn) const;
  bool allowed(const std::string& fr, const Res& r, int acop_bit) const;
  std::string cameras_acp_ri() const { return "acp-" + s_.bridge_ae + "-cameras"; }
  std::string bridge_acp_ri() const { return "acp-" + s_.bridge_ae + "-bridge"; }
  bool acp_grants(const std::string& acp_ri, const std::string& fr, int bit, bool self_privileges) const;
  bool owns(const std::string& fr, const Res& r) const;
  bool may_change_acpi(const std::string& fr, const Res& r) const;
  Tree render(const Res& r) const;  // {tag: attributes}
  Tree attrs(const Res& r) const;   // attributes without internal keys
  std::string persist(const Res& r);
  // contentInstances live in the store only (Store::cin_*): these make one a Res for the time of a
  // request.
  std::string persist_cin(const Res& r);
  static bool cin_res(const CinRow& row, Res& out);
  std::string reconcile_containers();
  // The camera access policies from Settings.camera_access, and the acpi of the bridged resources
  // that name them (at open).
  std::string reconcile_access();
  // acpi for a bridged resource the CSE creates: the bridge AE names the bridge policy, the rest
  // the cameras policy; empty when no rules are configured.
  Tree bridged_acpi(int ty) const;
  // Replies once the request's changes are durable (the store's writer thread), or at once for the
  // internal requests of camera events (their group commit acknowledges the journal instead).
  void reply_committed(const RequestPrimitive& req, ResponsePrimitive resp, const Reply& reply);
  // The resource ri: from memory, or a contentInstance read into `tmp`; nullptr when neither.
  Res* lookup(const std::string& ri, Res& tmp);
  void insert(Res r);
  void remove_tree(const std::string& ri, bool notify);
  // After remove_tree: out of its parent's kids, or for a contentInstance its container's cni/cbs.
  void unlink_from_parent(const Res& removed);

  void do_create(const RequestPrimitive& req, const std::string& fr, Res& parent, const Reply& reply);
  void do_retrieve(const RequestPrimitive& req, const Res& r, const Reply& reply);
  void do_update(const RequestPrimitive& req, const std::string& fr, Res& r, const Reply& reply);
  void do_delete(const RequestPrimitive& req, Res& r, const Reply& reply);
  void do_discovery(const RequestPrimitive& req, const std::string& fr, const Res& r, const Reply& reply);
  ResponsePrimitive ok(const RequestPrimitive& req, int rsc) const;
  ResponsePrimitive err(const RequestPrimitive& req, int rsc, const std::string& dbg) const;
  void finish_create(const RequestPrimitive& req, Res r, const Reply& reply);
  void enforce_container(Res& cnt);
  void notify(const std::string& holder_ri, int net, const Res& subject, const Tree& modified);
  void send_notification(const Res& sub, const Tree& sgn);
  void deliver_notification(const std::string& to, RequestPrimitive q, Format f, const std::string& sur, int attempt);
  Format entity_format(const std::string& id) const;
  std::string nu_target(const std::string& nu) const;
  bool matches(const FilterCriteria& fc, const Res& r) const;
  void apply_update(Res& r, const Tree& pc, Tree& modified);
  // expirationTime (et): "" or why `v` cannot be one (not a timestamp, or not in the future).
  std::string check_et(const Tree& v, bool null_ok) const;  // null_ok: UPDATE may remove et
  void index_expiry(const Res& r, bool add);
  // Deletes the resources whose et has passed (as a DELETE would: subtree, subscribers told), and
  // keeps one timer (Hooks::after) armed for the next.
  void expire_due();
  void arm_expiry();
  // The earliest et of anything (in memory or a stored contentInstance), INT64_MAX if none.
  int64_t next_expiry() const {
    int64_t m = expiries_.empty() ? INT64_MAX : expiries_.begin()->first;
    return std::min(m, next_cin_et_);
  }
  void refresh_cin_expiry();  // next_cin_et_ from the store's et index

  Settings s_;
  Hooks h_;
  // mutable: reading contentInstances (resolve, structured, discovery) steps prepared statements.
  mutable Store store_;
  std::unordered_map<std::string, Res> res_;
  std::string base_ri_;
  std::set<std::string> aeis_;                          // registered AE-IDs
  std::set<std::string> csis_;                          // registered remote CSE-IDs
  std::map<std::string, std::string> devices_;          // device uuid -> fcnt ri
  uint64_t seq_ = 0;
  uint64_t notifications_ = 0, notify_retried_ = 0, notify_failed_ = 0;
  std::set<std::pair<int64_t, std::string>> expiries_;  // (et in Unix ms, ri) of resources in memory
  int64_t expiry_armed_ = INT64_MAX;                     // when the armed expiry timer fires
  int64_t next_cin_et_ = INT64_MAX;                      // earliest et of a stored contentInstance
  uint64_t expired_ = 0;
};

}  // namespace gw::onem2m::cse
