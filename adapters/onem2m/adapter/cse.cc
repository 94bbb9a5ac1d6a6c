#include "cse.h"

#include <algorithm>
#include <ctime>
#include <memory>

#include "gw/adapter_abi.h"

namespace gw::onem2m::cse {
namespace {

const std::map<int, std::string>& type_tags() {
  static const std::map<int, std::string> m = {{ty::kAccessControlPolicy, "m2m:acp"},
                                               {ty::kAE, "m2m:ae"},
                                               {ty::kContainer, "m2m:cnt"},
                                               {ty::kContentInstance, "m2m:cin"},
                                               {ty::kCSEBase, "m2m:cb"},
                                               {ty::kRemoteCSE, "m2m:csr"},
                                               {ty::kSubscription, "m2m:sub"}};
  return m;
}

const char* ri_prefix(int t) {
  switch (t) {
    case ty::kAccessControlPolicy: return "acp";
    case ty::kContainer: return "cnt";
    case ty::kContentInstance: return "cin";
    case ty::kSubscription: return "sub";
    case ty::kFlexContainer: return "fcnt";
    case ty::kRemoteCSE: return "csr";
    default: return "r";
  }
}

bool child_allowed(int parent, int child) {
  switch (parent) {
    case ty::kCSEBase:
      return child == ty::kAccessControlPolicy || child == ty::kAE || child == ty::kContainer ||
             child == ty::kRemoteCSE || child == ty::kSubscription || child == ty::kFlexContainer;
    case ty::kAE:
    case ty::kRemoteCSE:
      return child == ty::kAccessControlPolicy || child == ty::kContainer || child == ty::kSubscription ||
             child == ty::kFlexContainer;
    case ty::kContainer:
      return child == ty::kContainer || child == ty::kContentInstance || child == ty::kSubscription;
    case ty::kFlexContainer:
      return child == ty::kContainer || child == ty::kSubscription || child == ty::kFlexContainer;
    default: return false;
  }
}

int acop_for(Operation op) {
  switch (op) {
    case Operation::kCreate: return acop::kCreate;
    case Operation::kRetrieve: return acop::kRetrieve;
    case Operation::kUpdate: return acop::kUpdate;
    case Operation::kDelete: return acop::kDelete;
    default: return acop::kNotify;
  }
}

// "20261122T175501,123" <-> Unix ms; -1 when s is not a timestamp.
int64_t parse_ts(const std::string& s) {
  if (s.size() < 15 || s[8] != 'T') return -1;
  struct tm tm {};
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14})
    if (s[i] < '0' || s[i] > '9') return -1;
  auto num = [&](int at, int n) { return std::stoi(s.substr(at, n)); };
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (s.size() > 16 && (s[15] == ',' || s[15] == '.')) {
    int64_t frac = 0, scale = 100;
    for (size_t i = 16; i < s.size() && i < 19 && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) frac += (s[i] - '0') * scale;
    ms += frac;
  }
  return ms;
}

size_t content_size(const Tree& con) {
  return con.is_string() ? con.get_ref<const std::string&>().size() : con.dump().size();
}

bool is_internal(const std::string& k) {
  return k.size() > 1 && k[0] == '_' && k[1] == '_';
}

}  // namespace

std::string Cse::ts() const {
  int64_t ms = now();
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d,%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string Cse::new_ri(const std::string& prefix) {
  for (;;) {
    std::string ri = prefix + std::to_string(now()) + std::to_string(++seq_ % 1000);
    if (!res_.count(ri) && !(prefix == "cin" && store_.cin_get(ri, nullptr))) return ri;
  }
}

std::string Cse::bare_cse() const {
  return s_.cse_id.size() > 1 && s_.cse_id[0] == '/' ? s_.cse_id.substr(1) : s_.cse_id;
}

std::string Cse::norm_originator(const std::string& fr) const {
  std::string pre = "/" + bare_cse() + "/";
  if (fr.rfind(pre, 0) == 0) return fr.substr(pre.size());
  return fr;
}

bool Cse::known_originator(const std::string& fr) const {
  // An entity of a registered remote CSE, addressed SP-relative ("/id-mn/Cae1").
  if (fr.size() > 1 && fr[0] == '/') {
    auto q = fr.find('/', 1);
    if (q != std::string::npos && csis_.count(fr.substr(0, q))) return true;
  }
  return fr == s_.admin || fr == s_.cse_id || fr == bare_cse() || aeis_.count(fr) || csis_.count(fr) ||
         csis_.count("/" + fr);
}

std::string Cse::structured(const std::string& ri) const {
  auto it = res_.find(ri);
  if (it == res_.end()) {
    CinRow c;
    return store_.cin_get(ri, &c) ? structured(c.pi) + "/" + c.rn : "";
  }
  if (it->second.ty == ty::kCSEBase) return s_.cse_name;
  return structured(it->second.pi) + "/" + it->second.rn;
}

std::string Cse::child_by_name(const std::string& pi, const std::string& rn) const {
  auto it = res_.find(pi);
  if (it == res_.end()) return "";
  for (auto& k : it->second.kids) {
    auto c = res_.find(k);
    if (c != res_.end() && c->second.rn == rn) return k;
  }
  // A container's contentInstances are not among its kids: they are in the store.
  if (it->second.ty == ty::kContainer) return store_.cin_by_name(pi, rn);
  return "";
}

Cse::Target Cse::resolve(const std::string& to_in) const {
  std::string to = to_in;
  std::string pre = "/" + bare_cse() + "/";
  if (to.rfind(pre, 0) == 0)
    to = to.substr(pre.size());
  else if (to == "/" + bare_cse())
    return {base_ri_, 0};
  else if (!to.empty() && to[0] == '/')
    return {};  // another CSE (retargeting is not implemented)
  if (to == "-") return {base_ri_, 0};
  if (to.rfind("-/", 0) == 0) to = s_.cse_name + to.substr(1);
  std::vector<std::string> seg;
  size_t p = 0;
  while (p <= to.size()) {
    size_t q = to.find('/', p);
    if (q == std::string::npos) q = to.size();
    seg.push_back(to.substr(p, q - p));
    p = q + 1;
  }
  std::string cur;
  size_t i = 1;
  if (seg[0] == s_.cse_name) {
    cur = base_ri_;
  } else if (res_.count(seg[0])) {
    cur = seg[0];  // unstructured (ri), optionally followed by a structured remainder
  } else if (seg.size() == 1 && store_.cin_get(seg[0], nullptr)) {
    return {seg[0], 0};  // a contentInstance by its ri (it has no children)
  } else {
    return {};
  }
  for (; i < seg.size(); ++i) {
    if (seg[i].empty()) return {};
    if (!res_.count(cur)) return {};  // below a contentInstance
    std::string next = child_by_name(cur, seg[i]);
    if (next.empty()) {
      const Res& c = res_.at(cur);
      if (i + 1 == seg.size() && c.ty == ty::kContainer && (seg[i] == "la" || seg[i] == "ol"))
        return {cur, seg[i] == "la" ? 1 : 2};
      return {};
    }
    cur = next;
  }
  return {cur, 0};
}

bool Cse::acp_grants(const std::string& acp_ri, const std::string& fr, int bit, bool self_privileges) const {
  auto it = res_.find(acp_ri);
  if (it == res_.end()) return false;
  const Tree& pv = it->second.a.value(self_privileges ? "pvs" : "pv", Tree::object());
  if (!pv.is_object() || !pv.contains("acr") || !pv["acr"].is_array()) return false;
  for (auto& r : pv["acr"]) {
    if (!r.is_object()) continue;
    int op = r.value("acop", 0);
    if (!(op & bit)) continue;
    for (auto& o : r.value("acor", Tree::array())) {
      if (!o.is_string()) continue;
      std::string s = o.get<std::string>();
      if (s == "all" || s == "*" || s == fr || norm_originator(s) == fr) return true;
    }
  }
  return false;
}

bool Cse::may_change_acpi(const std::string& fr, const Res& r) const {
  if (fr == s_.admin || fr == s_.cse_id || fr == bare_cse()) return true;
  bool any = false;
  if (r.a.contains("acpi") && r.a["acpi"].is_array())
    for (auto& a : r.a["acpi"]) {
      if (!a.is_string()) continue;
      Target t = resolve(a.get<std::string>());
      if (t.ri.empty()) continue;
      any = true;
      if (acp_grants(t.ri, fr, acop::kUpdate, true)) return true;
    }
  return !any && owns(fr, r);
}

bool Cse::owns(const std::string& fr, const Res& r) const {
  const Res* cur = &r;
  while (cur) {
    if (cur->a.value("__cr", "") == fr || (cur->ty == ty::kAE && cur->a.value("aei", "") == fr)) return true;
    if (cur->ty == ty::kCSEBase) return false;
    auto it = res_.find(cur->pi);
    cur = it == res_.end() ? nullptr : &it->second;
  }
  return false;
}

bool Cse::allowed(const std::string& fr, const Res& r, int bit) const {
  if (fr == s_.admin || fr == s_.cse_id || fr == bare_cse()) return true;
  if (r.ty == ty::kContentInstance) {  // no acpi of its own: its container's policies decide
    auto p = res_.find(r.pi);
    return p != res_.end() && allowed(fr, p->second, bit);
  }
  if (r.ty == ty::kAccessControlPolicy) return owns(fr, r) || acp_grants(r.ri, fr, bit, true);
  if (r.a.contains("acpi") && r.a["acpi"].is_array() && !r.a["acpi"].empty()) {
    for (auto& a : r.a["acpi"])
      if (a.is_string()) {
        Target t = resolve(a.get<std::string>());
        if (!t.ri.empty() && acp_grants(t.ri, fr, bit, false)) return true;
      }
    return false;
  }
  if (r.ty == ty::kCSEBase)  // without policies: registered entities may read, discover and create
    return bit == acop::kRetrieve || bit == acop::kDiscover || bit == acop::kCreate;
  return owns(fr, r);
}

Tree Cse::attrs(const Res& r) const {
  Tree out = Tree::object();
  for (auto& [k, v] : r.a.items())
    if (!is_internal(k)) out[k] = v;
  return out;
}

Tree Cse::render(const Res& r) const {
  Tree t = Tree::object();
  t[r.tag] = attrs(r);
  return t;
}

std::string Cse::persist_cin(const Res& r) {
  CinRow row;
  row.ri = r.ri;
  row.pi = r.pi;
  row.rn = r.rn;
  row.ct_ms = parse_ts(r.a.value("ct", ""));
  row.cs = r.a.value("cs", int64_t{0});
  row.body = r.a.dump();
  return store_.cin_put(row);
}

bool Cse::cin_res(const CinRow& row, Res& out) {
  out.a = Tree::parse(row.body, nullptr, false);
  if (out.a.is_discarded() || !out.a.is_object()) return false;
  out.ri = row.ri;
  out.pi = row.pi;
  out.rn = row.rn;
  out.ty = ty::kContentInstance;
  out.tag = "m2m:cin";
  out.kids.clear();
  return true;
}

Cse::Res* Cse::lookup(const std::string& ri, Res& tmp) {
  auto it = res_.find(ri);
  if (it != res_.end()) return &it->second;
  CinRow row;
  if (store_.cin_get(ri, &row) && cin_res(row, tmp)) return &tmp;
  return nullptr;
}

std::string Cse::persist(const Res& r) {
  // The stored row is the attributes object plus "__tag" (open() takes it out again). Appended to
  // the serialized text rather than to a copy of the tree: this runs for every camera event.
  std::string body = r.a.dump();
  if (body.size() < 2 || body.back() != '}') return "resource " + r.ri + " attributes are not an object";
  body.pop_back();
  if (body.size() > 1) body += ',';
  body += "\"__tag\":";
  body += Tree(r.tag).dump();
  body += '}';
  return store_.put(r.ri, body);
}

void Cse::insert(Res r) {
  if (!r.pi.empty()) {
    auto p = res_.find(r.pi);
    if (p != res_.end()) p->second.kids.push_back(r.ri);
  }
  if (r.ty == ty::kAE) aeis_.insert(r.a.value("aei", ""));
  if (r.ty == ty::kRemoteCSE) csis_.insert(r.a.value("csi", ""));
  if (r.a.contains("__dev")) devices_[r.a["__dev"].get<std::string>()] = r.ri;
  index_expiry(r, true);
  std::string ri = r.ri;
  res_[ri] = std::move(r);
}

std::string Cse::check_et(const Tree& v, bool null_ok) const {
  if (v.is_null() && null_ok) return "";  // UPDATE: no expiry any more
  int64_t ms = v.is_string() ? parse_ts(v.get<std::string>()) : -1;
  if (ms < 0) return "et is not a timestamp (YYYYMMDDTHHMMSS)";
  if (ms <= now()) return "et " + v.get<std::string>() + " is not in the future";
  return "";
}

void Cse::index_expiry(const Res& r, bool add) {
  // contentInstances are not in memory: the store indexes their et (refresh_cin_expiry).
  if (r.ty == ty::kContentInstance || !r.a.contains("et") || !r.a["et"].is_string()) return;
  int64_t ms = parse_ts(r.a["et"].get<std::string>());
  if (ms < 0) return;
  if (add)
    expiries_.emplace(ms, r.ri);
  else
    expiries_.erase({ms, r.ri});
}

void Cse::refresh_cin_expiry() {
  std::string et = store_.cin_next_expiry();
  if (et.empty()) {
    next_cin_et_ = INT64_MAX;
    return;
  }
  int64_t ms = parse_ts(et);
  // An et stored before it was checked and not a timestamp: due if it sorts before now (the sweep
  // compares the text), else looked at again in a minute.
  if (ms < 0) ms = et <= ts() ? 0 : now() + 60000;
  next_cin_et_ = ms;
}

void Cse::expire_due() {
  int64_t t = now();
  std::vector<std::pair<int64_t, std::string>> due;
  for (auto it = expiries_.begin(); it != expiries_.end() && it->first <= t; ++it) due.push_back(*it);
  std::vector<std::string> due_cins;
  bool cins_swept = next_cin_et_ <= t;
  if (cins_swept) {
    // The store's index holds committed instances only: read it again once these deletions are.
    std::string e = store_.cin_expired(ts(), 256, &due_cins);
    if (!e.empty()) h_.log(GW_LOG_ERROR, "store: reading expired contentInstances: " + e);
    next_cin_et_ = INT64_MAX;
  }
  if (due.empty() && due_cins.empty()) {
    if (cins_swept) refresh_cin_expiry();
    return;
  }
  std::vector<std::pair<std::string, Res>> gone;  // (parent, resource) for the parents' subscribers
  store_.begin();
  auto expire = [&](const Res& r) {
    Res copy = r;
    copy.kids.clear();
    h_.log(GW_LOG_INFO, "cse: " + structured(copy.ri) + " expired (et " + copy.a.value("et", "") + "), deleted");
    remove_tree(copy.ri, true);
    unlink_from_parent(copy);
    ++expired_;
    gone.emplace_back(copy.pi, std::move(copy));
  };
  for (auto& [ms, ri] : due) {
    auto it = res_.find(ri);
    if (it == res_.end()) {  // went with an expired ancestor (which took its entry along)
      expiries_.erase({ms, ri});
      continue;
    }
    expire(it->second);
  }
  for (auto& ri : due_cins) {
    Res tmp;
    Res* c = lookup(ri, tmp);
    if (c && c->ty == ty::kContentInstance) expire(*c);  // else deleted meanwhile
  }
  std::string e = store_.commit();
  if (!e.empty()) h_.log(GW_LOG_ERROR, "store: deleting expired resources: " + e);
  if (cins_swept)
    store_.after_commit([this](bool) {
      refresh_cin_expiry();
      arm_expiry();
    });
  for (auto& [pi, r] : gone)
    if (res_.count(pi)) notify(pi, net::kDeleteOfDirectChildResource, r, Tree::object());
}

void Cse::arm_expiry() {
  int64_t first = next_expiry();
  if (!h_.after || first == INT64_MAX) return;
  if (expiry_armed_ <= first) return;  // the armed timer fires by then
  // At most a minute ahead, so that a wall clock set forward is noticed.
  int64_t delay = std::clamp<int64_t>(first - now(), 0, 60000);
  expiry_armed_ = now() + delay;
  h_.after(static_cast<uint64_t>(delay), [this] {
    expiry_armed_ = INT64_MAX;
    expire_due();
    arm_expiry();
  });
}

std::string Cse::open() {
  std::string e = store_.open(s_.db_path, s_.sync_full);
  if (e.empty() && s_.group_commit_ms && h_.after) store_.set_group_commit(s_.group_commit_ms, h_.after);
  if (!e.empty()) return e;
  std::vector<Res> migrate;  // contentInstances stored as resources by earlier versions
  e = store_.load([&](const std::string& ri, const std::string& body) {
    Res r;
    r.a = Tree::parse(body, nullptr, false);
    if (r.a.is_discarded() || !r.a.is_object()) return;
    r.ri = ri;
    r.pi = r.a.value("pi", "");
    r.rn = r.a.value("rn", "");
    r.ty = r.a.value("ty", 0);
    r.tag = r.a.value("__tag", "");
    r.a.erase("__tag");
    if (r.ty == ty::kCSEBase) {
      base_ri_ = ri;
      r.pi.clear();
    }
    if (r.ty == ty::kContentInstance) return migrate.push_back(std::move(r));
    insert(std::move(r));
  });
  if (!e.empty()) return s_.db_path + ": " + e;
  if (!migrate.empty()) {
    store_.begin();
    for (auto& r : migrate) {
      if (e.empty()) e = persist_cin(r);
      if (e.empty()) e = store_.erase(r.ri);
    }
    if (e.empty()) e = store_.commit();
    else store_.commit();
    if (!e.empty()) return s_.db_path + ": moving contentInstances to their table: " + e;
    h_.log(GW_LOG_INFO, "store: moved " + std::to_string(migrate.size()) + " contentInstances to their own table");
    migrate.clear();
  }
  e = reconcile_containers();
  if (!e.empty()) return s_.db_path + ": " + e;
  if (base_ri_.empty()) {
    Res b;
    b.ri = bare_cse();
    b.rn = s_.cse_name;
    b.ty = ty::kCSEBase;
    b.tag = "m2m:cb";
    std::string t = ts();
    b.a = Tree{{"ty", ty::kCSEBase}, {"ri", b.ri}, {"rn", b.rn}, {"pi", ""}, {"ct", t}, {"lt", t},
               {"csi", s_.cse_id}, {"cst", s_.cst}, {"srt", Tree::array({1, 2, 3, 4, 5, 16, 23, 28})},
               {"poa", Tree::array({s_.poa})}, {"srv", Tree::array({"3", "4"})}};
    base_ri_ = b.ri;
    e = persist(b);
    if (!e.empty()) return s_.db_path + ": " + e;
    insert(std::move(b));
  } else {
    // Configuration may have changed the point of access.
    Res& b = res_[base_ri_];
    b.a["poa"] = Tree::array({s_.poa});
    persist(b);
  }
  e = reconcile_access();
  if (!e.empty()) return s_.db_path + ": " + e;
  refresh_cin_expiry();
  arm_expiry();  // what expired while the gateway was down goes at the first loop turn
  // From here on the store's writes (and fsyncs, and checkpoints) run on its writer thread.
  if (h_.post) {
    e = store_.start_writer(h_.post);
    if (!e.empty()) h_.log(GW_LOG_WARN, "store: no writer thread (" + e + "); writing on the loop");
  }
  return "";
}

Tree Cse::bridged_acpi(int t) const {
  if (s_.camera_access.empty()) return Tree();
  return Tree::array({t == ty::kAE ? bridge_acp_ri() : cameras_acp_ri()});
}

std::string Cse::reconcile_access() {
  const bool want = !s_.camera_access.empty();
  const std::string ids[2] = {cameras_acp_ri(), bridge_acp_ri()};
  const std::string names[2] = {s_.bridge_ae + "-cameras", s_.bridge_ae + "-bridge"};
  Tree pv[2] = {Tree::array(), Tree::array()};
  for (auto& rule : s_.camera_access) {
    pv[0].push_back(Tree{{"acor", rule.originators}, {"acop", rule.operations}});
    pv[1].push_back(Tree{{"acor", rule.originators}, {"acop", acop::kRetrieve | acop::kDiscover}});
  }
  Tree pvs = Tree{{"acr", Tree::array({Tree{{"acor", Tree::array({s_.admin})}, {"acop", acop::kAll}}})}};
  store_.begin();
  std::string e;
  size_t changed = 0;
  for (int i = 0; i < 2 && e.empty(); ++i) {
    std::string named = child_by_name(base_ri_, names[i]);
    if (!named.empty() && named != ids[i]) {
      e = "a resource named " + names[i] + " under the CSEBase is not the CSE's camera access policy (rename it)";
      break;
    }
    auto it = res_.find(ids[i]);
    if (!want) {
      if (it != res_.end()) {
        Res copy = it->second;
        remove_tree(ids[i], true);
        unlink_from_parent(copy);
        ++changed;
      }
      continue;
    }
    Tree privileges = Tree{{"acr", pv[i]}};
    if (it == res_.end()) {
      Res a;
      a.ty = ty::kAccessControlPolicy;
      a.tag = "m2m:acp";
      a.ri = ids[i];
      a.rn = names[i];
      a.pi = base_ri_;
      std::string t = ts();
      a.a = Tree{{"ty", a.ty}, {"ri", a.ri}, {"rn", a.rn}, {"pi", a.pi}, {"ct", t}, {"lt", t},
                 {"pv", privileges}, {"pvs", pvs}, {"__cr", s_.cse_id}};
      e = persist(a);
      insert(std::move(a));
      ++changed;
    } else if (it->second.a.value("pv", Tree()) != privileges || it->second.a.value("pvs", Tree()) != pvs) {
      it->second.a["pv"] = privileges;
      it->second.a["pvs"] = pvs;
      it->second.a["lt"] = ts();
      e = persist(it->second);
      ++changed;
    }
  }
  // The bridged resources name the policies (or, without rules, no longer do); other entries an
  // administrator put in their acpi stay.
  std::string ae = child_by_name(base_ri_, s_.bridge_ae);
  std::vector<std::string> todo;
  if (!ae.empty() && e.empty()) todo.push_back(ae);
  while (!todo.empty() && e.empty()) {
    auto found = res_.find(todo.back());
    todo.pop_back();
    if (found == res_.end()) continue;
    Res& r = found->second;
    for (auto& k : r.kids) todo.push_back(k);
    if (r.a.value("__cr", "") != s_.cse_id ||
        (r.ty != ty::kAE && r.ty != ty::kFlexContainer && r.ty != ty::kContainer))
      continue;
    Tree acpi = Tree::array();
    if (r.a.contains("acpi") && r.a["acpi"].is_array())
      for (auto& v : r.a["acpi"])
        if (v != ids[0] && v != ids[1]) acpi.push_back(v);
    for (auto& v : bridged_acpi(r.ty)) acpi.push_back(v);
    Tree before = r.a.value("acpi", Tree());
    if (acpi.empty() ? before.is_null() : before == acpi) continue;
    if (acpi.empty())
      r.a.erase("acpi");
    else
      r.a["acpi"] = acpi;
    e = persist(r);
    ++changed;
  }
  std::string c = store_.commit();
  if (e.empty()) e = c;
  if (!e.empty()) return "camera access policies: " + e;
  if (changed)
    h_.log(GW_LOG_INFO, "cse: camera access " + std::string(want ? "set to " : "removed: ") +
                            std::to_string(s_.camera_access.size()) + " rule(s), " + std::to_string(changed) +
                            " resource(s) updated");
  return "";
}

void Cse::reply_committed(const RequestPrimitive& req, ResponsePrimitive resp, const Reply& reply) {
  // A camera event's internal request joins the group commit: its durability is what the journal
  // waits for, not this reply.
  if (store_.deferring()) return reply(resp);
  store_.after_commit([this, req, resp = std::move(resp), reply](bool ok) {
    if (!ok) {
      h_.log(GW_LOG_ERROR, "store: the commit of request " + req.rqi + " failed");
      return reply(err(req, rsc::kInternalServerError, "storage error"));
    }
    reply(resp);
  });
}

std::string Cse::reconcile_containers() {
  // A container's instance counters and its st / lt as of its newest instance. Its stored row is
  // written by requests (UPDATE, DELETE of an instance), not for every instance created or evicted,
  // so the instances are the truth: cni and cbs are theirs; st is at least one past the newest
  // instance's st (an instance carries its container's st at its creation); lt at least its ct.
  std::map<std::string, CinTally> tally;
  std::string e = store_.cin_tally([&](const CinTally& t) { tally[t.pi] = t; });
  if (!e.empty()) return e;
  for (auto& [ri, r] : res_) {
    if (r.ty != ty::kContainer) continue;
    auto t = tally.find(ri);
    int64_t n = 0, bytes = 0, st = r.a.value("st", int64_t{0});
    std::string lt = r.a.value("lt", "");
    if (t != tally.end()) {
      n = t->second.count;
      bytes = t->second.bytes;
      Tree newest = Tree::parse(t->second.newest_body, nullptr, false);
      if (newest.is_object()) {
        st = std::max(st, newest.value("st", int64_t{0}) + 1);
        lt = std::max(lt, newest.value("ct", std::string()));
      }
    }
    r.a["cni"] = n;
    r.a["cbs"] = bytes;
    r.a["st"] = st;
    r.a["lt"] = lt;
  }
  // Instances whose container is gone (nothing can address them) are dropped.
  std::vector<std::string> orphans;
  for (auto& [pi, t] : tally) {
    auto it = res_.find(pi);
    if (it == res_.end() || it->second.ty != ty::kContainer) orphans.push_back(pi);
  }
  if (orphans.empty()) return "";
  store_.begin();
  for (auto& pi : orphans) {
    e = store_.cin_erase_all(pi);
    if (!e.empty()) break;
  }
  std::string ce = store_.commit();
  if (e.empty()) e = ce;
  if (e.empty())
    h_.log(GW_LOG_WARN, "store: dropped the contentInstances of " + std::to_string(orphans.size()) +
                            " parent(s) that are not containers of this CSE");
  return e;
}

ResponsePrimitive Cse::ok(const RequestPrimitive& req, int rsc) const {
  return answer_to(req, rsc, s_.cse_id);
}

ResponsePrimitive Cse::err(const RequestPrimitive& req, int rsc, const std::string& dbg) const {
  auto r = answer_to(req, rsc, s_.cse_id);
  r.pc = Tree{{"m2m:dbg", dbg}};
  return r;
}

void Cse::handle(const RequestPrimitive& req, const Reply& reply) {
  // Whatever expired is gone before anyone can see it, even if its timer has not run yet.
  if (next_expiry() <= now()) expire_due();
  // Expiry (TS-0004 §7.3.1.1): an expired request is answered 4008 and not executed.
  if (req.rqet) {
    int64_t exp = -1;
    if (is_relative_time(*req.rqet)) {
      int64_t base = req.ot ? parse_ts(*req.ot) : -1;
      if (base < 0) base = now();
      // More than 12 digits of milliseconds (> 31 years) is as good as never.
      exp = req.rqet->size() > 12 ? INT64_MAX : base + std::stoll(*req.rqet);
    } else {
      exp = parse_ts(*req.rqet);
      if (exp < 0) return reply(err(req, rsc::kBadRequest, "rqet is not a timestamp"));
    }
    if (exp <= now()) return reply(err(req, rsc::kRequestTimeout, "request expired (rqet " + *req.rqet + ")"));
  }
  std::string fr = norm_originator(req.fr);
  bool registration = req.op == Operation::kCreate && req.ty && (*req.ty == ty::kAE || *req.ty == ty::kRemoteCSE);
  if (!registration && !known_originator(fr))
    return reply(err(req, rsc::kOriginatorHasNoPrivilege, "originator " + req.fr + " is not registered"));
  // Retargeting (TS-0001 §10.2): an SP-relative address of a registered remote CSE.
  if (req.to.size() > 1 && req.to[0] == '/' && req.to[1] != '/') {
    auto q = req.to.find('/', 1);
    std::string target_cse = req.to.substr(0, q);
    if (target_cse != "/" + bare_cse() && csis_.count(target_cse) && h_.forward) {
      RequestPrimitive fwd = req;
      // The originator becomes SP-relative so that the remote CSE can tell where it lives.
      if (!fwd.fr.empty() && fwd.fr[0] != '/') fwd.fr = "/" + bare_cse() + "/" + fwd.fr;
      return h_.forward(target_cse, fwd, [req, reply](ResponsePrimitive r) {
        r.rqi = req.rqi;
        r.to = req.fr;
        reply(r);
      });
    }
  }
  Target t = resolve(req.to);
  Res cin;  // a contentInstance, read from the store for this request
  Res* rp = t.ri.empty() ? nullptr : lookup(t.ri, cin);
  if (!rp) return reply(err(req, rsc::kNotFound, "no resource " + req.to));
  Res& r = *rp;
  if (t.virt) {
    if (req.op != Operation::kRetrieve && req.op != Operation::kDelete)
      return reply(err(req, rsc::kOperationNotAllowed, "la/ol accept RETRIEVE and DELETE only"));
    if (!allowed(fr, r, acop_for(req.op)))
      return reply(err(req, rsc::kOriginatorHasNoPrivilege, "access denied to " + req.to));
    CinRow row;
    if (!store_.cin_edge(r.ri, t.virt == 1, &row) || !cin_res(row, cin))
      return reply(err(req, rsc::kNotFound, "container has no contentInstance"));
    if (req.op == Operation::kRetrieve) return do_retrieve(req, cin, reply);
    return do_delete(req, cin, reply);
  }
  if (req.op == Operation::kRetrieve && req.fc && req.fc->fu && *req.fc->fu == fu::kDiscovery) {
    if (!allowed(fr, r, acop::kDiscover) && !allowed(fr, r, acop::kRetrieve))
      return reply(err(req, rsc::kOriginatorHasNoPrivilege, "access denied to " + req.to));
    return do_discovery(req, fr, r, reply);
  }
  // Subscribing to a resource takes the right to RETRIEVE it (TS-0001 10.2.11.2), not to CREATE
  // under it.
  int needed = req.op == Operation::kCreate && req.ty && *req.ty == ty::kSubscription ? acop::kRetrieve
                                                                                      : acop_for(req.op);
  if (!(registration && r.ty == ty::kCSEBase) && !allowed(fr, r, needed))
    return reply(err(req, rsc::kOriginatorHasNoPrivilege, "access denied to " + req.to + " for " + req.fr));
  switch (req.op) {
    case Operation::kCreate: return do_create(req, fr, r, reply);
    case Operation::kRetrieve: return do_retrieve(req, r, reply);
    case Operation::kUpdate: return do_update(req, fr, r, reply);
    case Operation::kDelete: return do_delete(req, r, reply);
    case Operation::kNotify: return reply(err(req, rsc::kOperationNotAllowed, "NOTIFY to a resource of this CSE"));
  }
  reply(err(req, rsc::kBadRequest, "unknown operation"));
}

void Cse::do_create(const RequestPrimitive& req, const std::string& fr, Res& parent, const Reply& reply) {
  if (!req.ty) return reply(err(req, rsc::kBadRequest, "CREATE without ty"));
  int t = *req.ty;
  if (!child_allowed(parent.ty, t))
    return reply(err(req, rsc::kInvalidChildResourceType, "ty " + std::to_string(t) + " under ty " +
                                                               std::to_string(parent.ty)));
  if (!req.pc || !req.pc->is_object() || req.pc->size() != 1 || !req.pc->begin().value().is_object())
    return reply(err(req, rsc::kBadRequest, "pc must hold exactly one resource"));
  std::string tag = req.pc->begin().key();
  auto known = type_tags().find(t);
  if (t == ty::kFlexContainer) {
    if (tag.find(':') == std::string::npos) return reply(err(req, rsc::kBadRequest, "flexContainer tag " + tag));
  } else if (known == type_tags().end()) {
    return reply(err(req, rsc::kNotImplemented, "resource type " + std::to_string(t) + " not supported"));
  } else if (known->second != tag) {
    return reply(err(req, rsc::kBadRequest, "ty " + std::to_string(t) + " needs " + known->second + ", got " + tag));
  }
  const Tree& in = req.pc->begin().value();
  Res r;
  r.ty = t;
  r.tag = tag;
  r.pi = parent.ri;
  r.a = Tree::object();
  // Attributes set by the CSE only.
  for (const char* ro : {"ri", "pi", "ct", "lt", "ty", "st", "cni", "cbs", "cs", "aei", "cr", "la", "ol"})
    if (in.contains(ro) && !(t == ty::kRemoteCSE && std::string(ro) == "cr"))
      if (!(std::string(ro) == "cr" && in[ro].is_null()))
        return reply(err(req, rsc::kBadRequest, std::string("attribute ") + ro + " is set by the CSE"));
  for (auto& [k, v] : in.items())
    if (!is_internal(k)) r.a[k] = v;
  if (in.contains("et"))
    if (std::string bad = check_et(in["et"], false); !bad.empty()) return reply(err(req, rsc::kBadRequest, bad));
  std::string creator = fr;
  switch (t) {
    case ty::kAE: {
      if (!in.contains("api") || !in["api"].is_string()) return reply(err(req, rsc::kBadRequest, "AE without api"));
      if (!in.contains("rr")) return reply(err(req, rsc::kBadRequest, "AE without rr"));
      std::string aei = fr;
      if (aei.empty() || aei == "C" || aei == "S") {
        aei = (aei.empty() ? "C" : aei) + new_ri("").substr(0, 20);
      } else if (aei[0] != 'C' && aei[0] != 'S') {
        return reply(err(req, rsc::kBadRequest, "AE-ID must start with C or S: " + aei));
      }
      if (aeis_.count(aei) || res_.count(aei))
        return reply(err(req, rsc::kConflict, "originator " + aei + " has already registered"));
      r.ri = aei;
      r.a["aei"] = aei;
      creator = aei;
      break;
    }
    case ty::kRemoteCSE: {
      if (!in.contains("csi") || !in["csi"].is_string()) return reply(err(req, rsc::kBadRequest, "remoteCSE without csi"));
      std::string csi = in["csi"].get<std::string>();
      if (csis_.count(csi)) return reply(err(req, rsc::kConflict, "CSE " + csi + " has already registered"));
      if (!in.contains("cb")) r.a["cb"] = csi + "/" + r.a.value("rn", csi.substr(1));
      if (!r.a.contains("rn")) r.a["rn"] = csi.size() > 1 && csi[0] == '/' ? csi.substr(1) : csi;
      break;
    }
    case ty::kContainer:
      r.a["cni"] = 0;
      r.a["cbs"] = 0;
      r.a["st"] = 0;
      break;
    case ty::kContentInstance: {
      if (!in.contains("con")) return reply(err(req, rsc::kBadRequest, "contentInstance without con"));
      r.a["cs"] = content_size(in["con"]);
      r.a["st"] = parent.a.value("st", 0);
      if (parent.a.contains("mbs") && parent.a["mbs"].is_number_integer() &&
          r.a["cs"].get<int64_t>() > parent.a["mbs"].get<int64_t>())
        return reply(err(req, rsc::kNotAcceptable, "contentInstance larger than the container's mbs"));
      break;
    }
    case ty::kSubscription: {
      if (!in.contains("nu") || !in["nu"].is_array() || in["nu"].empty())
        return reply(err(req, rsc::kBadRequest, "subscription without nu"));
      if (!r.a.contains("nct")) r.a["nct"] = 1;
      if (!r.a.contains("enc")) r.a["enc"] = Tree{{"net", Tree::array({net::kUpdateOfResource})}};
      for (auto& n : in["nu"])
        if (!n.is_string() || nu_target(n.get<std::string>()).empty())
          return reply(err(req, rsc::kBadRequest, "notificationURI " + n.dump() + " is not reachable from this CSE"));
      break;
    }
    case ty::kAccessControlPolicy:
      if (!in.contains("pv") || !in.contains("pvs")) return reply(err(req, rsc::kBadRequest, "ACP needs pv and pvs"));
      break;
    case ty::kFlexContainer:
      if (!in.contains("cnd")) return reply(err(req, rsc::kBadRequest, "flexContainer without cnd"));
      r.a["st"] = 0;
      break;
  }
  if (r.ri.empty()) r.ri = new_ri(ri_prefix(t));
  if (!r.a.contains("rn") || !r.a["rn"].is_string() || r.a["rn"].get<std::string>().empty())
    r.a["rn"] = t == ty::kContentInstance ? "cin_" + r.ri.substr(3) : r.ri;
  r.rn = r.a["rn"].get<std::string>();
  if (r.rn.find('/') != std::string::npos || r.rn == "la" || r.rn == "ol")
    return reply(err(req, rsc::kBadRequest, "resource name " + r.rn));
  if (!child_by_name(parent.ri, r.rn).empty())
    return reply(err(req, rsc::kConflict, "a resource named " + r.rn + " exists under " + structured(parent.ri)));
  std::string now_ts = ts();
  r.a["ri"] = r.ri;
  r.a["pi"] = parent.ri;
  r.a["ty"] = t;
  r.a["ct"] = now_ts;
  r.a["lt"] = now_ts;
  if (t == ty::kSubscription || t == ty::kContentInstance || t == ty::kContainer || t == ty::kFlexContainer ||
      t == ty::kAccessControlPolicy)
    r.a["cr"] = creator;
  r.a["__cr"] = creator;

  if (t != ty::kSubscription) return finish_create(req, std::move(r), reply);
  // Verification request (TS-0004 §7.3.8.2.1) to every notificationURI that is not the originator.
  auto targets = std::make_shared<std::vector<std::string>>();
  for (auto& n : r.a["nu"]) {
    std::string to = nu_target(n.get<std::string>());
    if (to != fr) targets->push_back(to);
  }
  if (targets->empty()) return finish_create(req, std::move(r), reply);
  auto pending = std::make_shared<size_t>(targets->size());
  auto failed = std::make_shared<std::string>();
  auto held = std::make_shared<Res>(std::move(r));
  std::string sur = structured(parent.ri) + "/" + held->rn;
  for (auto& to : *targets) {
    RequestPrimitive v;
    v.op = Operation::kNotify;
    v.to = to;
    v.fr = s_.cse_id;
    v.rqi = "vrq-" + held->ri + "-" + to;
    v.pc = Tree{{"m2m:sgn", Tree{{"vrq", true}, {"sur", sur}, {"cr", fr}}}};
    h_.send(to, v, entity_format(to), [this, req, reply, pending, failed, held, to](int rsc, const std::string&) {
      if (!rsc::is_success(rsc) && failed->empty()) *failed = to + " answered " + std::to_string(rsc);
      if (--*pending > 0) return;
      if (!failed->empty())
        return reply(err(req, rsc::kSubscriptionVerificationInitiationFailed, "verification failed: " + *failed));
      auto p = res_.find(held->pi);
      if (p == res_.end()) return reply(err(req, rsc::kNotFound, "parent deleted during verification"));
      if (!child_by_name(held->pi, held->rn).empty()) return reply(err(req, rsc::kConflict, "name taken"));
      finish_create(req, *held, reply);
    });
  }
}

void Cse::finish_create(const RequestPrimitive& req, Res r, const Reply& reply) {
  Res& parent = res_.at(r.pi);
  store_.begin();
  std::string ri = r.ri;
  std::string pi = r.pi;
  bool is_cin = r.ty == ty::kContentInstance;
  Res cin;  // contentInstances go to the store only
  std::string e;
  if (is_cin) {
    e = persist_cin(r);
    cin = std::move(r);
  } else {
    e = persist(r);
    insert(std::move(r));
    arm_expiry();
  }
  const Res& created = is_cin ? cin : res_.at(ri);
  if (is_cin && e.empty()) {
    // The container's cni, cbs, st and lt change in memory only: its stored row is not rewritten
    // for every instance (one scattered page less per camera event). open() derives them again
    // from the instances themselves (reconcile_containers).
    parent.a["cni"] = parent.a.value("cni", 0) + 1;
    parent.a["cbs"] = parent.a.value("cbs", int64_t{0}) + created.a.value("cs", int64_t{0});
    parent.a["st"] = parent.a.value("st", 0) + 1;
    parent.a["lt"] = created.a.value("ct", "");
    enforce_container(parent);
    if (created.a.contains("et") && created.a["et"].is_string()) {
      next_cin_et_ = std::min(next_cin_et_, parse_ts(created.a["et"].get<std::string>()));
      arm_expiry();
    }
  }
  if (e.empty()) e = store_.commit();
  else store_.commit();
  if (!e.empty()) {
    h_.log(GW_LOG_ERROR, "store: " + e);
    return reply(err(req, rsc::kInternalServerError, "storage error"));
  }
  notify(pi, net::kCreateOfDirectChildResource, created, Tree::object());
  auto resp = ok(req, rsc::kCreated);
  int rc = req.rcn.value_or(rcn::kAttributes);
  if (rc == rcn::kAttributes) resp.pc = render(created);
  else if (rc == rcn::kHierarchicalAddress) resp.pc = Tree{{"m2m:uri", structured(pi) + "/" + created.rn}};
  else if (rc == rcn::kHierarchicalAddressAttributes) {
    Tree rce = render(created);
    rce["uri"] = structured(pi) + "/" + created.rn;
    resp.pc = Tree{{"m2m:rce", rce}};
  } else if (rc != rcn::kNothing) {
    resp.pc.reset();
  }
  reply_committed(req, std::move(resp), reply);
}

void Cse::enforce_container(Res& cnt) {
  auto over = [&]() {
    int64_t cni = cnt.a.value("cni", int64_t{0}), cbs = cnt.a.value("cbs", int64_t{0});
    if (cnt.a.contains("mni") && cnt.a["mni"].is_number_integer() && cni > cnt.a["mni"].get<int64_t>()) return true;
    if (cnt.a.contains("mbs") && cnt.a["mbs"].is_number_integer() && cbs > cnt.a["mbs"].get<int64_t>()) return true;
    return false;
  };
  int64_t mia_ms = cnt.a.contains("mia") && cnt.a["mia"].is_number_integer() ? cnt.a["mia"].get<int64_t>() * 1000 : -1;
  // Children are in creation order, so without a maximum age only the oldest instances can go:
  // stop at the first one that may stay (this runs for every camera event into a full container).
  if (mia_ms < 0 && !over()) return;
  int64_t now_ms = now();
  std::vector<std::string> gone;
  // Oldest first; creation order is age order, so the scan ends at the first instance that stays.
  store_.cin_each(cnt.ri, false, [&](const CinRow& c) {
    bool aged = mia_ms >= 0 && c.ct_ms + mia_ms < now_ms;
    if (!over() && !aged) return false;
    cnt.a["cni"] = cnt.a.value("cni", int64_t{0}) - 1;
    cnt.a["cbs"] = cnt.a.value("cbs", int64_t{0}) - c.cs;
    gone.push_back(c.ri);
    return true;
  });
  for (auto& ri : gone) store_.cin_erase(ri);
}

void Cse::do_retrieve(const RequestPrimitive& req, const Res& r, const Reply& reply) {
  auto resp = ok(req, rsc::kOk);
  int rc = req.rcn.value_or(rcn::kAttributes);
  if (rc == rcn::kAttributes) {
    resp.pc = render(r);
  } else if (rc == rcn::kAttributesChildResources || rc == rcn::kChildResources) {
    Tree body = rc == rcn::kAttributesChildResources ? attrs(r) : Tree::object();
    for (auto& k : r.kids) {
      const Res& c = res_.at(k);
      body[c.tag].push_back(attrs(c));
    }
    if (r.ty == ty::kContainer) {
      Res c;
      store_.cin_each(r.ri, true, [&](const CinRow& row) {
        if (cin_res(row, c)) body[c.tag].push_back(attrs(c));
        return true;
      });
    }
    resp.pc = Tree{{r.tag, body}};
  } else if (rc == rcn::kChildResourceReferences || rc == rcn::kAttributesChildResourceReferences) {
    Tree rrf = Tree::array();
    for (auto& k : r.kids) {
      const Res& c = res_.at(k);
      rrf.push_back(Tree{{"nm", c.rn}, {"typ", c.ty}, {"val", structured(k)}});
    }
    if (r.ty == ty::kContainer) {
      std::string base = structured(r.ri) + "/";
      store_.cin_each(r.ri, false, [&](const CinRow& row) {
        rrf.push_back(Tree{{"nm", row.rn}, {"typ", ty::kContentInstance}, {"val", base + row.rn}});
        return true;
      });
    }
    if (rc == rcn::kChildResourceReferences) {
      resp.pc = Tree{{"m2m:rrl", Tree{{"rrf", rrf}}}};
    } else {
      Tree body = attrs(r);
      body["ch"] = rrf;
      resp.pc = Tree{{r.tag, body}};
    }
  } else {
    return reply(err(req, rsc::kBadRequest, "rcn " + std::to_string(rc) + " not supported for RETRIEVE"));
  }
  reply(resp);
}

void Cse::apply_update(Res& r, const Tree& pc, Tree& modified) {
  bool et = pc.contains("et");
  if (et) index_expiry(r, false);
  for (auto& [k, v] : pc.items()) {
    if (v.is_null())
      r.a.erase(k);
    else
      r.a[k] = v;
    modified[k] = v;
  }
  r.a["lt"] = ts();
  if (r.a.contains("st")) r.a["st"] = r.a["st"].get<int64_t>() + 1;
  if (et) {
    index_expiry(r, true);
    arm_expiry();
  }
}

void Cse::do_update(const RequestPrimitive& req, const std::string& fr, Res& r, const Reply& reply) {
  if (r.ty == ty::kContentInstance) return reply(err(req, rsc::kOperationNotAllowed, "contentInstance is immutable"));
  if (!req.pc || !req.pc->is_object() || req.pc->size() != 1 || req.pc->begin().key() != r.tag ||
      !req.pc->begin().value().is_object())
    return reply(err(req, rsc::kBadRequest, "pc must hold " + r.tag));
  const Tree& in = req.pc->begin().value();
  for (auto& [k, v] : in.items()) {
    static const std::set<std::string> ro = {"ri", "pi", "ct", "lt", "ty", "st", "cni", "cbs", "cs", "aei", "cr",
                                             "rn", "csi", "cst", "cnd"};
    if (ro.count(k) || is_internal(k)) return reply(err(req, rsc::kBadRequest, "attribute " + k + " is read-only"));
    if (k == "online" && r.a.contains("__dev"))  // the camera's connection state, set by the gateway
      return reply(err(req, rsc::kBadRequest, "attribute online is read-only"));
    if (k == "et")
      if (std::string bad = check_et(v, true); !bad.empty()) return reply(err(req, rsc::kBadRequest, bad));
  }
  // Whoever may UPDATE a resource may not thereby change who else may: acpi changes need UPDATE in
  // the selfPrivileges of the policies it names now (TS-0001 9.6.2.3), or, without any, ownership.
  if (in.contains("acpi") && !may_change_acpi(fr, r))
    return reply(err(req, rsc::kOriginatorHasNoPrivilege, "changing acpi of " + req.to + " needs UPDATE in the "
                                                              "selfPrivileges of its access control policies"));
  std::string ri = r.ri;
  auto commit = [this, req, reply, ri](const Tree& in2) {
    auto it = res_.find(ri);
    if (it == res_.end()) return reply(err(req, rsc::kNotFound, "resource deleted meanwhile"));
    Res& rr = it->second;
    Tree modified = Tree::object();
    apply_update(rr, in2, modified);
    store_.begin();
    std::string e = persist(rr);
    if (rr.ty == ty::kContainer) {
      enforce_container(rr);
      if (e.empty()) e = persist(rr);
    }
    if (e.empty()) e = store_.commit();
    else store_.commit();
    if (!e.empty()) return reply(err(req, rsc::kInternalServerError, "storage error"));
    notify(ri, net::kUpdateOfResource, rr, modified);
    auto resp = ok(req, rsc::kUpdated);
    int rc = req.rcn.value_or(rcn::kAttributes);
    if (rc == rcn::kAttributes) resp.pc = render(rr);
    else if (rc == rcn::kModifiedAttributes) resp.pc = Tree{{rr.tag, modified}};
    reply_committed(req, std::move(resp), reply);
  };
  // Bridged attributes: the device is written first; the tree changes once it confirmed.
  if (r.a.contains("__pts")) {
    // A service (action) attribute: the UPDATE's value is the operation's input; the device's output
    // becomes the attribute's value (so the UPDATE response, rcn 1 or 9, carries it).
    for (auto& [k, v] : in.items()) {
      if (!r.a["__pts"].contains(k) || !r.a["__pts"][k].value("svc", false)) continue;
      if (in.size() != 1)
        return reply(err(req, rsc::kBadRequest, "an operation (" + k + ") must be invoked alone in its UPDATE"));
      std::string dev = r.a.value("__dev", "");
      if (dev.empty()) {
        auto p = res_.find(r.pi);
        if (p != res_.end()) dev = p->second.a.value("__dev", "");
      }
      std::string path = r.a["__pts"][k].value("path", "");
      std::string attr = k;
      h_.device_invoke(dev, path, v, [this, req, reply, commit, attr](int rsc, const std::string& dbg, const Tree& out) {
        if (!rsc::is_success(rsc)) return reply(err(req, rsc, "device: " + dbg));
        commit(Tree{{attr, out}});
      });
      return;
    }
    auto writes = std::make_shared<std::vector<std::pair<std::string, Tree>>>();
    for (auto& [k, v] : in.items()) {
      if (!r.a["__pts"].contains(k)) continue;
      const Tree& pt = r.a["__pts"][k];
      if (!pt.value("w", false)) return reply(err(req, rsc::kOperationNotAllowed, "attribute " + k + " is read-only"));
      // A "*" localIndex is written to the channel that last reported it (else channel 0).
      writes->emplace_back(pt.value("last", pt.value("path", "")), v);
    }
    if (!writes->empty()) {
      std::string dev = r.a.value("__dev", "");
      if (dev.empty()) {
        auto p = res_.find(r.pi);
        if (p != res_.end()) dev = p->second.a.value("__dev", "");
      }
      auto pending = std::make_shared<size_t>(writes->size());
      auto failure = std::make_shared<std::pair<int, std::string>>(0, "");
      Tree in_copy = in;
      for (auto& [path, value] : *writes)
        h_.device_write(dev, path, value, [this, req, reply, pending, failure, commit, in_copy](int rsc, const std::string& dbg) {
          if (!rsc::is_success(rsc) && failure->first == 0) *failure = {rsc, dbg};
          if (--*pending > 0) return;
          if (failure->first) return reply(err(req, failure->first, "device: " + failure->second));
          commit(in_copy);
        });
      return;
    }
  }
  commit(in);
}

void Cse::unlink_from_parent(const Res& removed) {
  auto p = res_.find(removed.pi);
  if (p == res_.end()) return;
  if (removed.ty == ty::kContentInstance) {  // not a kid in memory: the container's counters
    p->second.a["cni"] = p->second.a.value("cni", 0) - 1;
    p->second.a["cbs"] = p->second.a.value("cbs", int64_t{0}) - removed.a.value("cs", int64_t{0});
    persist(p->second);
    return;
  }
  auto& kids = p->second.kids;
  kids.erase(std::remove(kids.begin(), kids.end(), removed.ri), kids.end());
}

void Cse::remove_tree(const std::string& ri, bool notify_subs) {
  auto it = res_.find(ri);
  if (it == res_.end()) {
    store_.cin_erase(ri);  // a contentInstance (nothing can subscribe to one)
    return;
  }
  // Subscriptions on the resource hear of its deletion before they go themselves.
  if (notify_subs && it->second.ty != ty::kSubscription) notify(ri, net::kDeleteOfResource, it->second, Tree::object());
  std::vector<std::string> kids = it->second.kids;
  for (auto& k : kids) remove_tree(k, notify_subs);
  it = res_.find(ri);
  Res& r = it->second;
  r.kids.clear();
  if (r.ty == ty::kContainer) store_.cin_erase_all(ri);
  if (notify_subs && r.ty == ty::kSubscription) {
    // Deletion notification (sud) to the subscriber.
    send_notification(r, Tree{{"m2m:sgn", Tree{{"sud", true}, {"sur", structured(ri)}}}});
  }
  if (r.ty == ty::kAE) aeis_.erase(r.a.value("aei", ""));
  if (r.ty == ty::kRemoteCSE) csis_.erase(r.a.value("csi", ""));
  index_expiry(r, false);
  if (r.a.contains("__dev")) devices_.erase(r.a["__dev"].get<std::string>());
  store_.erase(ri);
  res_.erase(it);
}

void Cse::do_delete(const RequestPrimitive& req, Res& r, const Reply& reply) {
  if (r.ty == ty::kCSEBase) return reply(err(req, rsc::kOperationNotAllowed, "the CSEBase cannot be deleted"));
  auto resp = ok(req, rsc::kDeleted);
  int rc = req.rcn.value_or(rcn::kNothing);
  if (rc == rcn::kAttributes) resp.pc = render(r);
  std::string ri = r.ri, pi = r.pi;
  Res copy = r;
  store_.begin();
  remove_tree(ri, true);
  unlink_from_parent(copy);
  std::string e = store_.commit();
  if (!e.empty()) return reply(err(req, rsc::kInternalServerError, "storage error"));
  if (res_.count(pi)) notify(pi, net::kDeleteOfDirectChildResource, copy, Tree::object());
  reply_committed(req, std::move(resp), reply);
}

bool Cse::matches(const FilterCriteria& fc, const Res& r) const {
  std::vector<bool> conds;
  if (!fc.ty.empty()) conds.push_back(std::find(fc.ty.begin(), fc.ty.end(), r.ty) != fc.ty.end());
  if (!fc.lbl.empty()) {
    bool any = false;
    for (auto& l : r.a.value("lbl", Tree::array()))
      if (l.is_string() && std::find(fc.lbl.begin(), fc.lbl.end(), l.get<std::string>()) != fc.lbl.end()) any = true;
    conds.push_back(any);
  }
  int64_t ct = parse_ts(r.a.value("ct", ""));
  if (fc.cra) conds.push_back(ct > parse_ts(*fc.cra));
  if (fc.crb) conds.push_back(ct < parse_ts(*fc.crb));
  int64_t lt = parse_ts(r.a.value("lt", ""));
  if (fc.ms) conds.push_back(lt > parse_ts(*fc.ms));
  if (fc.us) conds.push_back(lt < parse_ts(*fc.us));
  if (fc.sza) conds.push_back(r.a.contains("cs") && r.a["cs"].get<int64_t>() >= *fc.sza);
  if (fc.szb) conds.push_back(r.a.contains("cs") && r.a["cs"].get<int64_t>() < *fc.szb);
  if (conds.empty()) return true;
  int fo = fc.fo.value_or(1);
  size_t n = static_cast<size_t>(std::count(conds.begin(), conds.end(), true));
  if (fo == 2) return n > 0;
  if (fo == 3) return n == 1;
  return n == conds.size();
}

void Cse::do_discovery(const RequestPrimitive& req, const std::string& fr, const Res& root, const Reply& reply) {
  const FilterCriteria& fc = *req.fc;
  int lim = fc.lim.value_or(1 << 30), lvl = fc.lvl.value_or(1 << 30), ofst = fc.ofst.value_or(0);
  Tree uril = Tree::array();
  int skipped = 0;
  std::function<void(const Res&, int)> walk = [&](const Res& r, int depth) {
    for (auto& k : r.kids) {
      if (static_cast<int>(uril.size()) >= lim) return;
      const Res& c = res_.at(k);
      if (matches(fc, c) && (allowed(fr, c, acop::kDiscover) || allowed(fr, c, acop::kRetrieve))) {
        if (skipped++ >= ofst) uril.push_back(req.drt.value_or(drt::kStructured) == drt::kUnstructured ? c.ri : structured(k));
      }
      if (depth < lvl) walk(c, depth + 1);
    }
    // A container's contentInstances (from the store), unless the filter rules them out.
    bool cins_may_match = fc.ty.empty() || fc.fo.value_or(1) != 1 ||
                          std::find(fc.ty.begin(), fc.ty.end(), ty::kContentInstance) != fc.ty.end();
    if (r.ty != ty::kContainer || !cins_may_match || static_cast<int>(uril.size()) >= lim) return;
    std::string base = structured(r.ri) + "/";
    Res c;
    store_.cin_each(r.ri, true, [&](const CinRow& row) {
      if (static_cast<int>(uril.size()) >= lim) return false;
      if (cin_res(row, c) && matches(fc, c) && (allowed(fr, c, acop::kDiscover) || allowed(fr, c, acop::kRetrieve)))
        if (skipped++ >= ofst)
          uril.push_back(req.drt.value_or(drt::kStructured) == drt::kUnstructured ? c.ri : base + c.rn);
      return true;
    });
  };
  walk(root, 1);
  auto resp = ok(req, rsc::kOk);
  resp.pc = Tree{{"m2m:uril", uril}};
  reply(resp);
}

std::string Cse::nu_target(const std::string& nu) const {
  // An AE-ID / CSE-ID, or the address of a registered AE resource. (mqtt:// URIs of other brokers
  // are not supported: a notification goes to the entity's topic on our broker.)
  std::string n = norm_originator(nu);
  if (aeis_.count(n) || csis_.count(n) || csis_.count("/" + n)) return n;
  if (!n.empty() && (n[0] == 'C' || n[0] == 'S') && n.find('/') == std::string::npos) return n;
  Target t = resolve(nu);
  auto it = t.ri.empty() || t.virt ? res_.end() : res_.find(t.ri);
  if (it != res_.end() && it->second.ty == ty::kAE) return it->second.a.value("aei", "");
  return "";
}

Format Cse::entity_format(const std::string& id) const {
  auto it = res_.find(id);
  if (it != res_.end() && it->second.ty == ty::kAE && it->second.a.contains("csz") && it->second.a["csz"].is_array() &&
      !it->second.a["csz"].empty() && it->second.a["csz"][0].is_string()) {
    std::string c = it->second.a["csz"][0].get<std::string>();
    if (c.find("cbor") != std::string::npos) return Format::kCbor;
    if (c.find("xml") != std::string::npos) return Format::kXml;
  }
  return Format::kJson;
}

void Cse::send_notification(const Res& sub, const Tree& sgn) {
  for (auto& n : sub.a.value("nu", Tree::array())) {
    if (!n.is_string()) continue;
    std::string to = nu_target(n.get<std::string>());
    if (to.empty()) continue;
    RequestPrimitive q;
    q.op = Operation::kNotify;
    q.to = to;
    q.fr = s_.cse_id;
    q.rqi = "ntf-" + std::to_string(now()) + "-" + std::to_string(++seq_);
    q.pc = sgn;
    ++notifications_;
    deliver_notification(to, std::move(q), entity_format(to), structured(sub.ri), 0);
  }
}

void Cse::deliver_notification(const std::string& to, RequestPrimitive q, Format f, const std::string& sur, int attempt) {
  // Kept (shared, not copied again) for a retry with the same rqi.
  auto keep = std::make_shared<const RequestPrimitive>(std::move(q));
  h_.send(to, *keep, f, [this, to, keep, f, sur, attempt](int rsc, const std::string& dbg) {
    const RequestPrimitive& copy = *keep;
    if (rsc::is_success(rsc)) return;
    // No answer (4008 timeout) or no broker (5103): the target may come back. Anything else is its answer.
    bool unanswered = rsc == rsc::kRequestTimeout || rsc == rsc::kTargetNotReachable;
    if (unanswered && attempt < s_.notify_retries && h_.after) {
      uint64_t delay = s_.notify_retry_ms << attempt;
      ++notify_retried_;
      h_.log(GW_LOG_INFO, "notification " + copy.rqi + " of " + sur + " to " + to + ": rsc " + std::to_string(rsc) +
                              "; retry " + std::to_string(attempt + 1) + "/" + std::to_string(s_.notify_retries) + " in " +
                              std::to_string(delay) + " ms");
      h_.after(delay, [this, to, copy, f, sur, attempt] { deliver_notification(to, copy, f, sur, attempt + 1); });
      return;
    }
    ++notify_failed_;
    h_.log(GW_LOG_WARN, "notification " + copy.rqi + " of " + sur + " to " + to + ": rsc " + std::to_string(rsc) +
                            (dbg.empty() ? "" : " (" + dbg + ")") + (attempt ? ", given up after " + std::to_string(attempt + 1) + " attempts" : ""));
  });
}

void Cse::notify(const std::string& holder_ri, int ev, const Res& subject, const Tree& modified) {
  auto it = res_.find(holder_ri);
  if (it == res_.end()) return;
  std::vector<std::string> subs;
  for (auto& k : it->second.kids)
    if (res_.at(k).ty == ty::kSubscription && k != subject.ri) subs.push_back(k);
  for (auto& k : subs) {
    const Res& sub = res_.at(k);
    bool wanted = false;
    auto enc = sub.a.find("enc");
    const Tree* nets = nullptr;
    if (enc != sub.a.end() && enc->is_object()) {
      auto n = enc->find("net");
      if (n != enc->end()) nets = &*n;
    }
    if (!nets) wanted = ev == net::kUpdateOfResource;  // default eventNotificationCriteria
    else
      for (auto& n : *nets)
        if (n.is_number_integer() && n.get<int>() == ev) wanted = true;
    if (!wanted) continue;
    int nct = sub.a.value("nct", 1);
    Tree rep;
    if (nct == 2 && ev == net::kUpdateOfResource) rep = Tree{{subject.tag, modified}};
    else if (nct == 3) rep = Tree{{"m2m:uri", structured(subject.ri)}};
    else rep = render(subject);
    Tree sgn = Tree{{"m2m:sgn", Tree{{"nev", Tree{{"rep", std::move(rep)}, {"net", ev}}}, {"sur", structured(k)}}}};
    send_notification(sub, sgn);
  }
}

Tree Cse::registration_content() const {
  return Tree{{"m2m:csr", Tree{{"rn", bare_cse()}, {"csi", s_.cse_id}, {"cb", s_.cse_id + "/" + s_.cse_name},
                               {"rr", true}, {"cst", s_.cst}, {"poa", Tree::array({s_.poa})},
                               {"srv", Tree::array({"3", "4"})}}}};
}

std::string Cse::add_registrar(const std::string& csi, const std::string& cse_name, const std::string& poa) {
  if (csis_.count(csi)) return "";
  Res r;
  r.ty = ty::kRemoteCSE;
  r.tag = "m2m:csr";
  r.ri = new_ri(ri_prefix(ty::kRemoteCSE));
  r.rn = csi.size() > 1 && csi[0] == '/' ? csi.substr(1) : csi;
  if (!child_by_name(base_ri_, r.rn).empty()) return "a resource named " + r.rn + " exists under the CSEBase";
  r.pi = base_ri_;
  std::string t = ts();
  r.a = Tree{{"ty", ty::kRemoteCSE}, {"ri", r.ri}, {"rn", r.rn}, {"pi", base_ri_}, {"ct", t}, {"lt", t},
             {"csi", csi}, {"cb", csi + "/" + cse_name}, {"cst", cst::kIN}, {"rr", true},
             {"poa", Tree::array({poa})}, {"__cr", s_.cse_id}};
  std::string e = persist(r);
  if (!e.empty()) return e;
  insert(std::move(r));
  return "";
}

// ---- bridged devices ----

std::string Cse::ensure_device(const std::string& uuid, const std::string& name, const v1::DeviceModel* model) {
  std::string ae = child_by_name(base_ri_, s_.bridge_ae);
  store_.begin();
  if (ae.empty()) {
    Res a;
    a.ty = ty::kAE;
    a.tag = "m2m:ae";
    a.ri = "C" + s_.bridge_ae;
    a.rn = s_.bridge_ae;
    a.pi = base_ri_;
    std::string t = ts();
    a.a = Tree{{"ty", ty::kAE}, {"ri", a.ri}, {"rn", a.rn}, {"pi", base_ri_}, {"ct", t}, {"lt", t},
               {"aei", a.ri}, {"api", "Ncamgw-bridge"}, {"rr", false}, {"__cr", s_.cse_id}};
    if (Tree acpi = bridged_acpi(ty::kAE); !acpi.is_null()) a.a["acpi"] = std::move(acpi);
    persist(a);
    ae = a.ri;
    insert(std::move(a));
  }
  std::string dev_ri = child_by_name(ae, uuid);
  std::string cnd = model && !model->onem2m_container_definition().empty() ? model->onem2m_container_definition()
                                                                            : "org.onem2m.home.device.deviceCamera";
  auto tag_of = [](const std::string& c) {
    auto p = c.rfind('.');
    return "cod:" + (p == std::string::npos ? c : c.substr(p + 1));
  };
  auto make = [&](int t, const std::string& pi, const std::string& rn, const std::string& tag) {
    Res r;
    r.ty = t;
    r.tag = tag;
    r.ri = new_ri(ri_prefix(t));
    r.rn = rn;
    r.pi = pi;
    std::string now_ts = ts();
    r.a = Tree{{"ty", t}, {"ri", r.ri}, {"rn", rn}, {"pi", pi}, {"ct", now_ts}, {"lt", now_ts}, {"st", 0},
               {"__cr", s_.cse_id}};
    if (Tree acpi = bridged_acpi(t); !acpi.is_null()) r.a["acpi"] = std::move(acpi);
    return r;
  };
  if (dev_ri.empty()) {
    Res d = make(ty::kFlexContainer, ae, uuid, tag_of(cnd));
    d.a["cnd"] = cnd;
    d.a["lbl"] = Tree::array({"camgw:device:" + uuid, "camgw:model:" + (model ? model->name() : std::string())});
    d.a["dvnm"] = name;
    d.a["online"] = false;
    d.a["__dev"] = uuid;
    d.a["__pts"] = Tree::object();
    persist(d);
    dev_ri = d.ri;
    insert(std::move(d));
  }
  if (model) {
    for (auto& p : model->point()) {
      const auto& b = p.onem2m();
      if (!b.container().empty() && child_by_name(dev_ri, b.container()).empty()) {
        Res c = make(ty::kContainer, dev_ri, b.container(), "m2m:cnt");
        c.a["cni"] = 0;
        c.a["cbs"] = 0;
        c.a["mni"] = 100;
        persist(c);
        insert(std::move(c));
      }
      if (!b.container().empty()) {
        Res& dv = res_.at(dev_ri);
        if (!dv.a.contains("__evc")) dv.a["__evc"] = Tree::object();
        if (dv.a["__evc"].value(p.path(), "") != b.container()) {
          dv.a["__evc"][p.path()] = b.container();
          persist(dv);
        }
        continue;
      }
      if (b.attribute().empty() && b.module().empty()) continue;
      std::string holder = dev_ri;
      if (!b.module().empty()) {
        holder = child_by_name(dev_ri, b.module());
        if (holder.empty()) {
          std::string mcnd = b.container_definition().empty() ? "org.onem2m.home.moduleclass." + b.module()
                                                              : b.container_definition();
          Res m = make(ty::kFlexContainer, dev_ri, b.module(), tag_of(mcnd));
          m.a["cnd"] = mcnd;
          m.a["__pts"] = Tree::object();
          persist(m);
          holder = m.ri;
          insert(std::move(m));
        }
      }
      std::string attr = b.attribute();
      if (attr.empty()) {
        auto q = p.path().rfind('/');
        attr = q == std::string::npos ? p.path() : p.path().substr(q + 1);
      }
      Res& h = res_.at(holder);
      Tree pt = Tree{{"path", p.path()}, {"w", p.writable()}};
      if (p.kind() == gw::v1::POINT_SERVICE) pt["svc"] = true;  // UPDATE invokes; the attribute holds the output
      if (!h.a.contains("__pts")) h.a["__pts"] = Tree::object();
      if (h.a["__pts"].value(attr, Tree()) != pt) {
        h.a["__pts"][attr] = pt;
        persist(h);
      }
    }
  }
  return store_.commit();
}

namespace {
bool path_matches(const std::string& pattern, const std::string& path) {
  if (pattern == path) return true;
  if (pattern.rfind("*/", 0) == 0) {
    auto q = path.find('/');
    return q != std::string::npos && path.substr(q) == pattern.substr(1);
  }
  return false;
}
}  // namespace

bool Cse::device_report(const std::string& uuid, const std::string& path, const Tree& value, bool is_event) {
  struct Defer {  // this report's store changes join the group commit
    Store& s;
    explicit Defer(Store& st) : s(st) { s.defer_commits(true); }
    ~Defer() { s.defer_commits(false); }
  } defer(store_);
  auto d = devices_.find(uuid);
  if (d == devices_.end()) return false;
  if (path == "$state/online") {
    bool on = value.is_boolean() ? value.get<bool>()
                                 : (value.is_object() && value.value("online", value.value("value", false)));
    set_online(uuid, on);
    return true;
  }
  const Res& dev = res_.at(d->second);
  std::vector<std::string> holders = {dev.ri};
  for (auto& k : dev.kids) holders.push_back(k);
  bool hit = false;
  for (auto& hri : holders) {
    if (is_event) break;  // events become contentInstances below, never attribute updates
    Res& h = res_.at(hri);
    auto pts = h.a.find("__pts");
    if (pts == h.a.end()) continue;
    // The matching attributes first (no copy of the point table: the updates below change h.a).
    std::vector<std::pair<std::string, bool>> hits;  // attribute, matched by a pattern
    for (auto& [attr, pt] : pts->items()) {
      std::string pattern = pt.value("path", "");
      if (path_matches(pattern, path)) hits.emplace_back(attr, pattern != path);
    }
    for (auto& [attr, by_pattern] : hits) {
      Tree modified = Tree::object();
      store_.begin();
      Tree upd = Tree{{attr, value}};
      if (by_pattern) h.a["__pts"][attr]["last"] = path;
      apply_update(h, upd, modified);
      persist(h);
      store_.commit();
      notify(hri, net::kUpdateOfResource, h, modified);
      hit = true;
    }
  }
  if (!is_event) return hit;
  // EVENT: a contentInstance in the container the mapping names for that point.
  const Tree& dev_attrs = res_.at(d->second).a;
  auto evc_it = dev_attrs.find("__evc");
  if (evc_it == dev_attrs.end()) return hit;
  const Tree evc = *evc_it;  // a copy: creating the contentInstance below changes the tree
  for (auto& [pattern, cnt] : evc.items()) {
    if (!path_matches(pattern, path) || !cnt.is_string()) continue;
    std::string cri = child_by_name(d->second, cnt.get<std::string>());
    if (cri.empty()) continue;
    RequestPrimitive q;
    q.op = Operation::kCreate;
    q.to = cri;
    q.fr = s_.cse_id;
    q.rqi = "evt-" + std::to_string(++seq_);
    q.ty = ty::kContentInstance;
    q.rcn = rcn::kNothing;  // nobody reads the answer of this internal CREATE: do not render it
    q.pc = Tree{{"m2m:cin", Tree{{"cnf", "application/json:0"}, {"con", value}, {"lbl", Tree::array({path})}}}};
    bool created = false;
    handle(q, [&](const ResponsePrimitive& r) { created = r.rsc == rsc::kCreated; });
    if (!created) h_.log(GW_LOG_WARN, "event " + path + " of " + uuid + ": contentInstance not created");
    hit = hit || created;
  }
  return hit;
}

void Cse::set_online(const std::string& uuid, bool online) {
  auto d = devices_.find(uuid);
  if (d == devices_.end()) return;
  Res& dev = res_.at(d->second);
  if (dev.a.value("online", !online) == online) return;
  Tree modified = Tree::object();
  store_.begin();
  apply_update(dev, Tree{{"online", online}}, modified);
  persist(dev);
  store_.commit();
  notify(dev.ri, net::kUpdateOfResource, dev, modified);
}

}  // namespace gw::onem2m::cse
