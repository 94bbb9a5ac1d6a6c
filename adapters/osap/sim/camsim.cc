#include "camsim.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "osap/codec/crypto.h"
#include "wire.h"

namespace camsim {

using gw::make_error;
using gw::osap::AesKeyFromAscii;
using gw::osap::Bytes;
using gw::osap::EcKey;
using nlohmann::json;

struct Camera;

namespace {

const char kBuiltinProfile[] = R"({
  "version": "3.0",
  "capacities": {},
  "resources": [
    {"identifier": "video", "title": "video channel", "resourceCategory": "video",
     "localIndex": ["0","1","2","3","4","5","6","7","8","9","10","11","12","13","14","15"],
     "domains": [
       {"identifier": "image",
        "props": [
          {"identifier": "brightness", "version": "v3.0", "access": "rw",
           "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
          {"identifier": "contrast", "version": "v3.0", "access": "rw",
           "schema": {"type": "integer", "minimum": 0, "maximum": 100}}
        ]},
       {"identifier": "motion",
        "props": [
          {"identifier": "enabled", "version": "v3.0", "access": "rw", "schema": {"type": "boolean"}},
          {"identifier": "sensitivity", "version": "v3.0", "access": "rw",
           "schema": {"type": "integer", "minimum": 1, "maximum": 5}}
        ],
        "events": [
          {"identifier": "vmd", "eventType": ["notification", "general"],
           "input": {"schema": {"type": "object",
                                "properties": {"region": {"type": "integer"}, "count": {"type": "integer"}}}}}
        ]},
       {"identifier": "ptz",
        "actions": [
          {"identifier": "move", "direction": "Plt2Dev",
           "input": {"schema": {"type": "object", "required": ["dir"],
                                "properties": {"dir": {"type": "string", "enum": ["up", "down", "left", "right"]},
                                               "steps": {"type": "integer", "minimum": 1, "maximum": 100}}}},
           "output": {"schema": {"type": "object",
                                 "properties": {"pan": {"type": "integer"}, "tilt": {"type": "integer"}}}}}
        ]}
     ]},
    {"identifier": "device", "title": "device", "resourceCategory": "device", "localIndex": ["0"],
     "domains": [
       {"identifier": "status",
        "props": [
          {"identifier": "uptime", "version": "v3.0", "access": "r", "schema": {"type": "integer", "minimum": 0}},
          {"identifier": "temperature", "version": "v3.0", "access": "r", "schema": {"type": "number"}}
        ]},
       {"identifier": "system",
        "actions": [
          {"identifier": "reboot", "direction": "Plt2Dev", "input": null, "output": {"schema": {"type": "object"}}}
        ]}
     ]}
  ]
})";

// ---- the thing model the cameras implement (shared by all cameras) ------------------------------

struct ResDef {
  std::string rt;
  std::vector<std::string> li;
  bool dynamic = false;
};
struct PropDef {
  size_t res;
  std::string domain, id;
  bool rw;
  json schema;
};
struct ActDef {
  size_t res;
  std::string domain, id;
};
struct Profile {
  std::vector<ResDef> res;
  std::vector<PropDef> props;
  std::vector<ActDef> acts;
  std::vector<ActDef> events;
};

gw::Result<Profile> LoadProfile(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("profile: not a JSON object");
  Profile p;
  auto rs = j.find("resources");
  if (rs == j.end() || !rs->is_array()) return make_error("profile.resources: missing or not an array");
  for (size_t ri = 0; ri < rs->size(); ++ri) {
    const auto& r = (*rs)[ri];
    std::string at = "profile.resources[" + std::to_string(ri) + "]";
    if (!r.is_object() || !r.contains("resourceCategory") || !r["resourceCategory"].is_string())
      return make_error(at + ".resourceCategory: missing");
    ResDef d;
    d.rt = r["resourceCategory"].get<std::string>();
    if (r.contains("localIndex") && r["localIndex"].is_array())
      for (auto& l : r["localIndex"])
        if (l.is_string()) d.li.push_back(l.get<std::string>());
    d.dynamic = r.value("dynamic", false);
    if (d.li.empty()) d.li.push_back("0");
    p.res.push_back(d);
    if (!r.contains("domains") || !r["domains"].is_array()) continue;
    for (auto& dom : r["domains"]) {
      if (!dom.is_object() || !dom.contains("identifier") || !dom["identifier"].is_string()) continue;
      std::string dn = dom["identifier"].get<std::string>();
      if (dom.contains("props") && dom["props"].is_array())
        for (auto& pr : dom["props"]) {
          if (!pr.is_object() || !pr.contains("identifier")) continue;
          p.props.push_back(PropDef{ri, dn, pr["identifier"].get<std::string>(), pr.value("access", "r") == "rw",
                                    pr.value("schema", json::object())});
        }
      if (dom.contains("actions") && dom["actions"].is_array())
        for (auto& a : dom["actions"])
          if (a.is_object() && a.contains("identifier")) p.acts.push_back(ActDef{ri, dn, a["identifier"].get<std::string>()});
      if (dom.contains("events") && dom["events"].is_array())
        for (auto& e : dom["events"])
          if (e.is_object() && e.contains("identifier")) p.events.push_back(ActDef{ri, dn, e["identifier"].get<std::string>()});
    }
  }
  return p;
}

json InitialValue(const json& schema) {
  std::string t = schema.value("type", "string");
  if (schema.contains("enum") && schema["enum"].is_array() && !schema["enum"].empty()) return schema["enum"][0];
  if (t == "integer") {
    int64_t lo = schema.contains("minimum") && schema["minimum"].is_number() ? schema["minimum"].get<int64_t>() : 0;
    int64_t hi = schema.contains("maximum") && schema["maximum"].is_number() ? schema["maximum"].get<int64_t>() : lo + 100;
    return lo + (hi - lo) / 2;
  }
  if (t == "number") return 0.0;
  if (t == "boolean") return true;
  if (t == "object") return json::object();
  if (t == "array") return json::array();
  return "";
}

// Device-side check of a set value: type, bounds, enum (a small subset of §8's validation).
bool ValueFits(const json& schema, const json& v) {
  std::string t = schema.value("type", "");
  if (t == "integer" && !v.is_number_integer()) return false;
  if (t == "number" && !v.is_number()) return false;
  if (t == "boolean" && !v.is_boolean()) return false;
  if (t == "string" && !v.is_string()) return false;
  if (t == "object" && !v.is_object()) return false;
  if (t == "array" && !v.is_array()) return false;
  if (v.is_number()) {
    if (schema.contains("minimum") && schema["minimum"].is_number() && v.get<double>() < schema["minimum"].get<double>()) return false;
    if (schema.contains("maximum") && schema["maximum"].is_number() && v.get<double>() > schema["maximum"].get<double>()) return false;
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    bool found = false;
    for (auto& e : schema["enum"]) found = found || e == v;
    if (!found) return false;
  }
  return true;
}

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

enum class St : uint8_t { kIdle, kQueued, kBackoff, kLbs, kDasConnecting, kDasConnack, kDasSuback, kOnline, kHeld, kStopped };
const char* StName(St s) {
  switch (s) {
    case St::kIdle: return "idle";
    case St::kQueued: return "queued";
    case St::kBackoff: return "backoff";
    case St::kLbs: return "lbs";
    case St::kDasConnecting: return "das-connecting";
    case St::kDasConnack: return "das-connack";
    case St::kDasSuback: return "das-subscribing";
    case St::kOnline: return "online";
    case St::kHeld: return "offline";
    case St::kStopped: return "stopped";
  }
  return "?";
}
enum class Step : uint8_t { kNone, kConnecting, kWaitAuth, kWaitGrant, kWaitF3, kWaitDas };
enum class Kind : uint8_t { kReport, kEvent, kReply };

struct OutMsg {
  std::string topic, common, body;
  uint16_t id = 0;
  Kind kind = Kind::kReport;
  bool sent = false;      // sent at least once (a resend carries DUP = 1)
  bool replay = false;    // queued while the camera was offline
  uint32_t seq = 0;       // events: Seq of the common header
  uint64_t count = 0;     // events: the event's "count"
};

struct Conn {
  uv_tcp_t tcp{};
  uv_connect_t creq{};
  Camera* cam = nullptr;
  bool das = false;
};
struct WriteReq {
  uv_write_t req{};
  std::string data;
};
struct Handshake {
  std::optional<EcKey> own_key;  // gen 2: fresh per handshake; gen 1 uses the process key
  std::string master;            // from this run's ECDH
  uint8_t r1 = 0;
};

}  // namespace

struct Camera {
  Simulator::Impl* sim = nullptr;
  uint32_t number = 0;
  Generation gen = Generation::kGen1;
  std::string serial, devid, master;
  SessionKey sk{};
  bool have_sk = false;
  St st = St::kIdle;
  Step step = Step::kNone;
  uint8_t flow = 0;
  bool lower_retry = false;
  bool holds_slot = false;
  bool connected_once = false, fast_rereg = false, forced_offline = false, want_lbs = false;
  uint8_t quick_retries = 0;
  uint16_t backoff_n = 0;
  uint8_t das_failures = 0;
  uint16_t keep_alive = 30;
  std::unique_ptr<Handshake> hs;
  Conn* conn = nullptr;
  std::string rx;
  uv_timer_t timer{};
  uint64_t t_action = 0, t_ping = 0, t_report = 0, t_event = 0, last_rx = 0;
  uint32_t seq = 0;
  uint16_t pid = 0;
  std::deque<OutMsg> queue, inflight;
  size_t queued_events = 0;
  std::vector<json> values;
  uint32_t report_cursor = 0, event_count = 0, version = 0;
  int pan = 0, tilt = 0;
  uint64_t born_ms = 0;
  std::string das_host, das_server_id;
  uint16_t das_port = 0;
  std::string last_flow;
  uint64_t events_raised = 0, events_acked = 0, reports_acked = 0;
  std::deque<std::string> log;
};

struct Simulator::Impl {
  Options o;
  uv_loop_t loop{};
  uv_async_t async{};
  std::mutex mu;
  std::deque<std::function<void()>> posted;
  std::vector<std::unique_ptr<Camera>> cams;
  std::unordered_map<std::string, Camera*> by_serial;
  Profile profile;
  Stats st;
  int ack_fd = -1;  // --ack-log
  int active_lbs = 0;
  std::deque<Camera*> lbs_queue;
  bool state_dirty = false;
  uv_timer_t state_timer{};
  std::optional<EcKey> gen1_key;
  std::mt19937 rng{std::random_device{}()};
  bool started = false, quitting = false, keep_logs = true;
  std::atomic<bool> running{false};
  std::thread::id loop_thread;
  uv_pipe_t control{};
  bool control_open = false;
  std::vector<uv_pipe_t*> control_clients;
  char rbuf[65536];

  explicit Impl(Options opts) : o(std::move(opts)) {
    uv_loop_init(&loop);
    loop.data = this;
    async.data = this;
    uv_async_init(&loop, &async, [](uv_async_t* a) { static_cast<Impl*>(a->data)->Drain(); });
    uv_timer_init(&loop, &state_timer);
    state_timer.data = this;
    if (!o.out) o.out = [](std::string_view l) { std::fprintf(stdout, "%.*s\n", static_cast<int>(l.size()), l.data()); std::fflush(stdout); };
    keep_logs = o.count <= 2000;
  }

  void Drain() {
    std::deque<std::function<void()>> work;
    {
      std::lock_guard<std::mutex> l(mu);
      work.swap(posted);
    }
    for (auto& f : work) f();
  }
  void Post(std::function<void()> f) {
    {
      std::lock_guard<std::mutex> l(mu);
      posted.push_back(std::move(f));
    }
    uv_async_send(&async);
  }
  template <class F>
  auto Call(F f) -> decltype(f()) {
    if (!running.load() || std::this_thread::get_id() == loop_thread) return f();
    using R = decltype(f());
    auto p = std::make_shared<std::promise<R>>();
    auto fut = p->get_future();
    Post([p, f]() mutable {
      if constexpr (std::is_void_v<R>) {
        f();
        p->set_value();
      } else {
        p->set_value(f());
      }
    });
    return fut.get();
  }

  uint64_t Now() { return uv_now(&loop); }

  // ---- output ------------------------------------------------------------------------------------
  void Say(Camera* c, const std::string& msg, bool important = false) {
    std::string line = "camsim: " + (c ? c->serial + " " : std::string()) + msg;
    if (c && keep_logs) {
      c->log.push_back(msg);
      if (c->log.size() > 32) c->log.pop_front();
    }
    if (!o.quiet || important) o.out(line);
  }

  // ---- state file: "serial devid master_key" per line (0600; master key "-" when none) ----------
  void LoadState() {
    if (o.state_file.empty()) return;
    std::ifstream in(o.state_file);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string sn, devid, master;
      if (!(ls >> sn >> devid >> master)) continue;
      auto it = by_serial.find(sn);
      if (it == by_serial.end()) continue;
      if (devid != "-" && gw::osap::IsValidDevid(devid)) it->second->devid = devid;
      if (master != "-" && gw::osap::IsValidMasterKey(master)) it->second->master = master;
    }
  }
  void SaveState() {
    state_dirty = false;
    if (o.state_file.empty()) return;
    std::string tmp = o.state_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) {
      Say(nullptr, "cannot write state file " + tmp + ": " + std::strerror(errno), true);
      return;
    }
    ::fchmod(::fileno(f), 0600);
    for (auto& c : cams)
      std::fprintf(f, "%s %s %s\n", c->serial.c_str(), c->devid.empty() ? "-" : c->devid.c_str(),
                   c->master.empty() ? "-" : c->master.c_str());
    std::fclose(f);
    std::rename(tmp.c_str(), o.state_file.c_str());
  }
  void StateChanged() {
    if (o.state_file.empty() || state_dirty) return;
    state_dirty = true;
    uv_timer_start(&state_timer, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->SaveState(); }, 500, 0);
  }

  // ---- camera timer --------------------------------------------------------------------------------
  void Arm(Camera* c) {
    uint64_t next = 0;
    for (uint64_t t : {c->t_action, c->t_ping, c->t_report, c->t_event})
      if (t && (!next || t < next)) next = t;
    if (c->st == St::kOnline) {
      uint64_t dead = c->last_rx + 2000ull * c->keep_alive;
      if (!next || dead < next) next = dead;
    }
    if (!next) {
      uv_timer_stop(&c->timer);
      return;
    }
    uint64_t now = Now();
    uv_timer_start(&c->timer, [](uv_timer_t* t) {
      auto* cam = static_cast<Camera*>(t->data);
      cam->sim->OnTimer(cam);
    }, next > now ? next - now : 0, 0);
  }

  void OnTimer(Camera* c) {
    uint64_t now = Now();
    if (c->t_action && now >= c->t_action) {
      c->t_action = 0;
      switch (c->st) {
        case St::kBackoff: Begin(c); break;
        case St::kLbs: LbsFail(c, "no reply from the LBS within " + std::to_string(o.reply_timeout_ms) + " ms", true); break;
        case St::kDasConnecting:
        case St::kDasConnack:
        case St::kDasSuback: DasFail(c, "no answer from the DAS within " + std::to_string(o.reply_timeout_ms) + " ms"); break;
        default: break;
      }
    }
    if (c->st == St::kOnline) {
      if (now >= c->last_rx + 2000ull * c->keep_alive) {
        DasLost(c, "no packet from the DAS for 2 x keep-alive");
      } else if (c->t_ping && now >= c->t_ping) {
        Send(c, mqtt::Pingreq());
        st.pings++;
        c->t_ping = now + 1000ull * c->keep_alive;
      }
    }
    if (c->t_report && now >= c->t_report) {
      c->t_report = now + o.report_interval_ms;
      if (c->st == St::kOnline) Report(c, -1);
      else st.reports_skipped++;
    }
    if (c->t_event && now >= c->t_event) {
      c->t_event = now + o.event_interval_ms;
      RaiseEvent(c, nullptr, json());
    }
    Arm(c);
  }

  // ---- connections ---------------------------------------------------------------------------------
  bool Open(Camera* c, const std::string& host, uint16_t port, bool das) {
    sockaddr_storage sa{};
    if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&sa)) != 0 &&
        uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&sa)) != 0) {
      Say(c, "cannot use address \"" + host + "\" (an IP literal is needed)", true);
      return false;
    }
    auto* k = new Conn;
    k->cam = c;
    k->das = das;
    uv_tcp_init(&loop, &k->tcp);
    k->tcp.data = k;
    k->creq.data = k;
    c->conn = k;
    c->rx.clear();
    int rc = uv_tcp_connect(&k->creq, &k->tcp, reinterpret_cast<sockaddr*>(&sa), [](uv_connect_t* req, int status) {
      auto* k = static_cast<Conn*>(req->data);
      if (!k->cam) return;
      Camera* cam = k->cam;
      Impl* self = cam->sim;
      if (status < 0) {
        self->OnClosed(cam, std::string("connect failed: ") + uv_strerror(status));
        return;
      }
      uv_tcp_nodelay(&k->tcp, 1);
      uv_read_start(reinterpret_cast<uv_stream_t*>(&k->tcp),
                    [](uv_handle_t* h, size_t, uv_buf_t* buf) {
                      auto* k = static_cast<Conn*>(h->data);
                      Impl* self = static_cast<Impl*>(h->loop->data);
                      (void)k;
                      *buf = uv_buf_init(self->rbuf, sizeof self->rbuf);
                    },
                    [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                      auto* k = static_cast<Conn*>(s->data);
                      if (!k->cam) return;
                      Camera* cam = k->cam;
                      if (n < 0) {
                        cam->sim->OnClosed(cam, n == UV_EOF ? "closed by the server" : std::string(uv_strerror(static_cast<int>(n))));
                        return;
                      }
                      if (n > 0) cam->sim->OnBytes(cam, buf->base, static_cast<size_t>(n));
                    });
      if (k->das) self->OnDasConnected(cam);
      else self->OnLbsConnected(cam);
    });
    if (rc != 0) {
      Close(c);
      Say(c, std::string("connect: ") + uv_strerror(rc), true);
      return false;
    }
    return true;
  }

  void Close(Camera* c) {
    if (!c->conn) return;
    Conn* k = c->conn;
    c->conn = nullptr;
    k->cam = nullptr;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&k->tcp));
    uv_close(reinterpret_cast<uv_handle_t*>(&k->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    c->rx.clear();
    c->rx.shrink_to_fit();
  }

  void Send(Camera* c, std::string data) {
    if (!c->conn) return;
    auto* s = reinterpret_cast<uv_stream_t*>(&c->conn->tcp);
    uv_buf_t b = uv_buf_init(data.data(), static_cast<unsigned>(data.size()));
    int n = uv_try_write(s, &b, 1);
    if (n == static_cast<int>(data.size())) return;
    if (n < 0 && n != UV_EAGAIN) return;  // the read side reports the error
    auto* w = new WriteReq;
    w->data = data.substr(n > 0 ? static_cast<size_t>(n) : 0);
    uv_buf_t wb = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    w->req.data = w;
    if (uv_write(&w->req, s, &wb, 1, [](uv_write_t* r, int) { delete static_cast<WriteReq*>(r->data); }) != 0) delete w;
  }

  void OnBytes(Camera* c, const char* p, size_t n) {
    c->rx.append(p, n);
    size_t pos = 0;
    Conn* k = c->conn;
    bool das = k->das;
    while (c->conn == k) {
      RawFrame f;
      std::string err;
      int r = NextFrame(c->rx, pos, das ? 2048 : 2048 + 5, &f, &err);
      if (r == 0) break;
      if (r < 0) {
        std::string why = "framing error from the " + std::string(das ? "DAS" : "LBS") + ": " + err;
        if (das) DasLost(c, why);
        else LbsFail(c, why, false);
        return;
      }
      if (das) OnDasPacket(c, f);
      else OnLbsFrame(c, f);
    }
    if (c->conn == k) c->rx.erase(0, pos);
  }

  void OnClosed(Camera* c, const std::string& why) {
    switch (c->st) {
      case St::kLbs: LbsFail(c, "LBS connection: " + why, false); break;
      case St::kDasConnecting:
      case St::kDasConnack: DasFail(c, "DAS connection: " + why); break;
      case St::kDasSuback:
      case St::kOnline: DasLost(c, why); break;
      default: Close(c); break;
    }
  }

  // ---- onboarding (LBS) ----------------------------------------------------------------------------
  void Begin(Camera* c) {
    if (c->st == St::kStopped || quitting) return;
    if (c->forced_offline) {
      SetHeld(c);
      return;
    }
    if (o.das_direct_port) {
      if (!c->have_sk) {
        gw::osap::RandomFill(c->sk.data(), c->sk.size());
        c->have_sk = true;
        if (c->devid.empty()) c->devid = gw::osap::RandomDevid();
        c->das_host = o.das_direct_host;
        c->das_port = o.das_direct_port;
      }
      ConnectDas(c);
      return;
    }
    if (c->want_lbs || !c->have_sk) {
      c->st = St::kQueued;
      c->t_action = 0;
      if (active_lbs < o.max_concurrent_onboarding) StartLbs(c);
      else lbs_queue.push_back(c);
      return;
    }
    ConnectDas(c);
  }

  void StartLbs(Camera* c) {
    active_lbs++;
    c->holds_slot = true;
    c->st = St::kLbs;
    c->step = Step::kConnecting;
    c->flow = !c->devid.empty() && !c->master.empty() ? 3 : !c->devid.empty() ? 2 : 1;
    c->hs = std::make_unique<Handshake>();
    c->t_action = Now() + o.reply_timeout_ms;
    Arm(c);
    if (!Open(c, o.lbs_host, o.lbs_port, false)) LbsFail(c, "cannot connect to the LBS", false);
  }

  void ReleaseSlot(Camera* c) {
    if (!c->holds_slot) return;
    c->holds_slot = false;
    active_lbs--;
    while (active_lbs < o.max_concurrent_onboarding && !lbs_queue.empty()) {
      Camera* n = lbs_queue.front();
      lbs_queue.pop_front();
      if (n->st == St::kQueued) StartLbs(n);
    }
  }

  gw::osap::AesKey ShareAes(Camera* c) {
    return AesKeyFromAscii(gw::osap::ShareKey(c->gen, o.vcode, c->serial, c->lower_retry));
  }

  void OnLbsConnected(Camera* c) {
    if (c->flow == 3) {
      Bytes r1(1);
      gw::osap::RandomFill(r1.data(), 1);
      c->hs->r1 = r1[0];
      Send(c, lbs::RefreshI(c->serial, c->devid, gw::osap::CbcEncrypt(AesKeyFromAscii(c->master), r1)));
      c->step = Step::kWaitF3;
    } else {
      const EcKey* key;
      if (c->gen == Generation::kGen1) {  // gen-1 devices reuse one key pair across runs
        if (!gen1_key) gen1_key = std::move(EcKey::Generate().value());
        key = &*gen1_key;
      } else {
        auto k = EcKey::Generate();
        if (!k.ok()) return LbsFail(c, "EC key generation failed", false);
        c->hs->own_key = std::move(k.value());
        key = &*c->hs->own_key;
      }
      auto pub = key->PublicRaw();
      Bytes sealed = gw::osap::Seal(c->gen, ShareAes(c), gw::osap::ByteView(pub.data(), pub.size()));
      Send(c, lbs::AuthI(c->gen, c->serial, sealed));
      c->step = Step::kWaitAuth;
    }
    c->t_action = Now() + o.reply_timeout_ms;
    Arm(c);
  }

  void OnLbsFrame(Camera* c, const RawFrame& f) {
    c->t_action = Now() + o.reply_timeout_ms;
    auto expect = [&](uint8_t type, const char* name) {
      if (f.type() == type) return true;
      LbsFail(c, "expected " + std::string(name) + ", got message type " + std::to_string(f.type()), false);
      return false;
    };
    switch (c->step) {
      case Step::kWaitAuth: {
        if (!expect(0x2, "0x2 AUTH_II")) return;
        auto r = lbs::ParseReply(f, c->gen == Generation::kGen2);
        if (!r.ok()) return LbsFail(c, r.error().message, false);
        if (r->negotiated == 0) return LbsFail(c, "0x2: no common auth group (server offers " + std::to_string(r->groups.size()) + ")", false);
        if (r->result) return LbsResult(c, "0x2", r->result);
        auto pt = gw::osap::Open(c->gen, ShareAes(c), gw::osap::AsBytes(r->body));
        if (!pt.ok() || pt->size() != 97) return LbsFail(c, "0x2: the server key does not open under the share key", false);
        auto peer = EcKey::FromPublic(pt.value());
        if (!peer.ok()) return LbsFail(c, "0x2: " + peer.error().message, false);
        const EcKey& own = c->gen == Generation::kGen1 ? *gen1_key : *c->hs->own_key;
        auto x = own.Derive(peer.value());
        if (!x.ok()) return LbsFail(c, "0x2: ECDH failed: " + x.error().message, false);
        c->hs->master = gw::osap::MasterKeyFromShared(x.value());
        c->hs->own_key.reset();
        auto sign = gw::osap::ComputeSign(c->hs->master, c->serial);
        if (c->flow == 1) Send(c, lbs::ApplyDevid(sign));
        else Send(c, lbs::Refresh(c->devid, sign));
        c->step = Step::kWaitGrant;
        break;
      }
      case Step::kWaitGrant: {
        if (!expect(c->flow == 1 ? 0x8 : 0x6, c->flow == 1 ? "0x8" : "0x6")) return;
        auto r = lbs::ParseReply(f, false);
        if (!r.ok()) return LbsFail(c, r.error().message, false);
        if (r->result) return LbsResult(c, c->flow == 1 ? "0x8" : "0x6", r->result);
        auto g = lbs::OpenKeyGrant(c->gen, c->hs->master, r->body);
        if (!g.ok()) return LbsFail(c, g.error().message, false);
        if (!gw::osap::SignEquals(g->sign, gw::osap::ComputeSign(c->hs->master, c->serial)))
          Say(c, "warning: the sign in the key grant is not ours", true);
        if (c->flow == 2 && g->devid != c->devid) Say(c, "warning: F2 returned another devid", true);
        c->devid = g->devid;
        c->master = c->hs->master;
        c->sk = g->session_key;
        c->have_sk = true;
        StateChanged();
        SendDasQuery(c);
        break;
      }
      case Step::kWaitF3: {
        if (!expect(0x8, "0x8")) return;
        auto r = lbs::ParseReply(f, false);
        if (!r.ok()) return LbsFail(c, r.error().message, false);
        if (r->result) return LbsResult(c, "0x8", r->result);
        auto k = lbs::OpenRefreshKeys(c->master, r->body);
        if (!k.ok()) return LbsFail(c, k.error().message, false);
        if (k->r1 != c->hs->r1) return LbsFail(c, "0x8 (F3): r1 not echoed", false);
        c->sk = k->session_key;
        c->have_sk = true;
        Send(c, lbs::Confirm(gw::osap::CbcEncrypt(AesKeyFromAscii(c->master), Bytes{k->r2})));
        SendDasQuery(c);
        break;
      }
      case Step::kWaitDas: {
        if (!expect(0xB, "0xB")) return;
        auto r = lbs::ParseReply(f, false);
        if (!r.ok()) return LbsFail(c, r.error().message, false);
        if (r->result) return LbsResult(c, "0xB", r->result);
        auto info = lbs::OpenDasInfo(c->sk, r->body);
        if (!info.ok()) return LbsFail(c, info.error().message, false);
        c->das_host = info->address;
        c->das_port = info->port;
        c->das_server_id = info->server_id;
        Close(c);
        c->hs.reset();
        c->step = Step::kNone;
        ReleaseSlot(c);
        c->last_flow = "F" + std::to_string(c->flow);
        (c->flow == 1 ? st.onboard_f1 : c->flow == 2 ? st.onboard_f2 : st.onboard_f3)++;
        Say(c, "onboarded by " + c->last_flow + (c->lower_retry ? " (retry share key)" : "") + ": devid " +
                   c->devid.substr(0, 8) + "..., DAS " + c->das_host + ":" + std::to_string(c->das_port) + " (" +
                   c->das_server_id + ")");
        c->lower_retry = false;
        c->quick_retries = 0;
        c->want_lbs = false;
        c->fast_rereg = false;
        c->das_failures = 0;
        ConnectDas(c);
        return;
      }
      default: return;
    }
    Arm(c);
  }

  void SendDasQuery(Camera* c) {
    Send(c, lbs::GetDas(gw::osap::CbcEncrypt(c->sk, gw::osap::AsBytes(lbs::DasQueryJson(c->serial)))));
    c->step = Step::kWaitDas;
  }

  // A non-zero LBS result (§9): the device's reaction from the profile.
  void LbsResult(Camera* c, const char* msg, uint8_t code) {
    st.lbs_errors++;
    std::string what = std::string(msg) + " result " + std::to_string(code);
    bool quick = false;
    if (code == 1 && !c->lower_retry) {
      c->lower_retry = true;
      what += " (sign check failed): re-running the flow with the retry share key";
      quick = true;
    } else if (code == 4) {
      c->devid.clear();
      c->master.clear();
      StateChanged();
      what += " (devid mismatch): devid wiped, next attempt F1";
      quick = true;
    } else if (code == 10) {
      c->master.clear();
      StateChanged();
      what += " (master key invalid): master key wiped, next attempt F2";
      quick = true;
    } else {
      c->lower_retry = false;
    }
    Close(c);
    c->hs.reset();
    ReleaseSlot(c);
    if (quick && c->quick_retries < 3) {
      c->quick_retries++;
      Say(c, what, true);
      c->st = St::kIdle;
      c->want_lbs = true;
      Begin(c);
      return;
    }
    Backoff(c, what);
  }

  void LbsFail(Camera* c, const std::string& why, bool timeout) {
    if (timeout) st.lbs_timeouts++;
    else st.lbs_errors++;
    Close(c);
    c->hs.reset();
    ReleaseSlot(c);
    c->want_lbs = true;
    Backoff(c, "LBS " + std::string(c->flow ? "F" + std::to_string(c->flow) : "") + " failed: " + why);
  }

  void Backoff(Camera* c, const std::string& why) {
    c->backoff_n = static_cast<uint16_t>(std::min<int>(c->backoff_n + 1, 60));
    uint64_t wait = static_cast<uint64_t>(o.backoff_ms) * c->backoff_n;
    c->st = St::kBackoff;
    c->step = Step::kNone;
    c->t_action = Now() + wait;
    Say(c, why + "; retrying in " + std::to_string(wait) + " ms", true);
    Arm(c);
  }

  // ---- DAS -----------------------------------------------------------------------------------------
  void ConnectDas(Camera* c) {
    c->st = St::kDasConnecting;
    c->t_action = Now() + o.reply_timeout_ms;
    Arm(c);
    if (!Open(c, c->das_host, c->das_port, true)) DasFail(c, "cannot connect");
  }

  std::string WillJson(Camera* c, bool full) {
    if (!full) return R"({"SubSerial":")" + c->serial + R"(","DeviceID":")" + c->devid + R"("})";
    // As the devices write it, duplicate key included (§5.3: the last occurrence wins).
    return R"({"DevSerial":"","SubSerial":")" + c->serial + R"(","FirmwareVersion":"V5.7.3 build 240101","DevType":")" +
           (c->gen == Generation::kGen1 ? "CS-C6N" : "CS-H8") + R"(","DevTypeDisplay":"camsim","MAC":"","Status":1,)" +
           R"("NickName":"","FirmwareIdentificationCode":"","dev_oeminfo":0,"LbsDomain":")" + o.lbs_host +
           R"(","RegMode":1,"SDKMainVersion":"","DeviceID":")" + c->devid + R"(","SDKVersion":{"gen":)" +
           std::to_string(static_cast<int>(c->gen)) + R"(},"Status":1})";
  }

  void OnDasConnected(Camera* c) {
    mqtt::ConnectOptions co;
    co.clean_session = !c->fast_rereg;
    co.keep_alive = c->keep_alive;
    co.will_topic = topics::WillTopic(c->serial, !c->connected_once);
    co.will_payload = payload::SealWill(c->sk, WillJson(c, !c->fast_rereg));
    co.username = c->serial;
    Send(c, mqtt::Connect(co));
    c->st = St::kDasConnack;
    c->t_action = Now() + o.reply_timeout_ms;
    Arm(c);
  }

  void OnDasPacket(Camera* c, const RawFrame& f) {
    c->last_rx = Now();
    if (c->st == St::kDasConnack) {
      auto a = mqtt::ParseConnack(f);
      if (!a.ok()) return DasFail(c, "expected CONNACK: " + a.error().message);
      if (a->code == 0) {
        st.connack_ok++;
        bool resumed = a->session_present;
        if (resumed) st.resumed++;
        c->connected_once = true;
        c->fast_rereg = false;
        c->das_failures = 0;
        c->backoff_n = 0;
        Send(c, mqtt::Subscribe(NextPid(c), {"/" + c->serial + "/#", "/iot/" + c->serial + "/#"}));
        c->st = St::kDasSuback;
        c->t_action = Now() + o.reply_timeout_ms;
        Arm(c);
        if (resumed) Say(c, "DAS session resumed (CONNACK 0, session present)");
        return;
      }
      Close(c);
      if (a->code == 12) {
        st.connack_12++;
        Say(c, "CONNACK 12 (session exists): fast re-registration with clean session 0");
        c->fast_rereg = true;
        return ConnectDas(c);
      }
      st.connack_refused++;
      if (a->code == 10) {
        c->st = St::kStopped;
        c->t_action = 0;
        Say(c, "CONNACK 10 (blacklisted): the camera stops", true);
        Arm(c);
        return;
      }
      if (a->code == 11) {
        c->want_lbs = true;
        c->fast_rereg = false;
        Say(c, "CONNACK 11 (redirect): back to the LBS", true);
        c->st = St::kIdle;
        return Begin(c);
      }
      return DasFail(c, "CONNACK " + std::to_string(a->code));
    }
    switch (f.type()) {
      case mqtt::kSuback: {
        auto s = mqtt::ParseSuback(f);
        if (c->st != St::kDasSuback || !s.ok()) return;
        for (uint8_t code : s->codes)
          if (code == 0x80) Say(c, "warning: a subscription was refused", true);
        GoOnline(c);
        return;
      }
      case mqtt::kPublish: return OnDownlink(c, f);
      case mqtt::kPuback: {
        auto id = mqtt::ParsePuback(f);
        if (id.ok()) OnPuback(c, id.value());
        return;
      }
      case mqtt::kPingresp:
      case mqtt::kUnsuback: return;
      default: return DasLost(c, "unexpected MQTT packet type " + std::to_string(f.type()));
    }
  }

  void GoOnline(Camera* c) {
    c->st = St::kOnline;
    c->t_action = 0;
    uint64_t now = Now();
    c->last_rx = now;
    c->t_ping = now + 1000ull * c->keep_alive;
    if (o.report_interval_ms && !c->t_report) c->t_report = now + 1 + rng() % o.report_interval_ms;
    size_t replay = 0;
    for (auto& m : c->queue) replay += m.replay;
    for (auto& m : c->inflight) replay += m.replay;
    Say(c, std::string("online (gen ") + std::to_string(static_cast<int>(c->gen)) + ", DAS " + c->das_server_id + ")" +
               (replay ? ": replaying " + std::to_string(replay) + " cached event(s) in order" : ""));
    // Unacknowledged publishes go first, again, with DUP = 1, then the queue, in order.
    while (!c->inflight.empty()) {
      c->queue.push_front(std::move(c->inflight.back()));
      c->inflight.pop_back();
    }
    if (o.flood)
      for (size_t i = 0; i < o.max_inflight; ++i) Report(c, -1);
    Pump(c);
    Arm(c);
  }

  void DasFail(Camera* c, const std::string& why) {
    Close(c);
    c->das_failures++;
    if (c->das_failures >= 5) {  // profile: after 5 failures the device goes back to the LBS
      c->das_failures = 0;
      c->want_lbs = true;
    }
    Backoff(c, "DAS connect failed: " + why);
  }

  void DasLost(Camera* c, const std::string& why) {
    bool was_online = c->st == St::kOnline;
    Close(c);
    st.das_losses++;
    MarkReplay(c);
    if (c->forced_offline) return SetHeld(c);
    c->t_ping = 0;
    (void)was_online;
    c->backoff_n = 0;
    Backoff(c, "DAS connection lost (" + why + "); caching events until reconnected");
  }

  // Events sent but not acknowledged when the connection went down are replayed too.
  void MarkReplay(Camera* c) {
    for (auto& m : c->inflight)
      if (m.kind == Kind::kEvent && !m.replay) {
        m.replay = true;
        st.events_cached_now++;
      }
  }

  void SetHeld(Camera* c) {
    c->st = St::kHeld;
    c->step = Step::kNone;
    c->t_action = 0;
    c->t_ping = 0;
    Arm(c);
  }

  uint16_t NextPid(Camera* c) {
    while (true) {
      c->pid = static_cast<uint16_t>(c->pid == 65535 ? 1 : c->pid + 1);
      bool used = false;
      for (auto& m : c->inflight) used = used || m.id == c->pid;
      if (!used) return c->pid;
    }
  }

  void Enqueue(Camera* c, OutMsg m) {
    if (m.kind == Kind::kEvent) {
      bool online = c->st == St::kOnline;
      m.replay = !online;
      if (!online) st.events_cached_now++;
      size_t evs = 0;
      for (auto& q : c->queue) evs += q.kind == Kind::kEvent;
      if (evs >= o.event_cache) {
        for (auto it = c->queue.begin(); it != c->queue.end(); ++it)
          if (it->kind == Kind::kEvent) {
            if (it->replay && st.events_cached_now) st.events_cached_now--;
            c->queue.erase(it);
            st.events_dropped++;
            break;
          }
      }
    }
    c->queue.push_back(std::move(m));
    Pump(c);
  }

  void Pump(Camera* c) {
    if (c->st != St::kOnline) return;
    while (!c->queue.empty() && c->inflight.size() < o.max_inflight) {
      OutMsg m = std::move(c->queue.front());
      c->queue.pop_front();
      bool dup = m.sent;
      if (!m.sent) m.id = NextPid(c);
      else st.retransmits++;
      if (!m.sent) {
        if (m.kind == Kind::kReport) st.reports_sent++;
        if (m.kind == Kind::kEvent) st.events_sent++;
      }
      if (m.replay && !m.sent) st.events_replayed++;
      m.sent = true;
      Send(c, mqtt::Publish(m.topic, payload::Seal(c->sk, m.common, m.body), 1, true, dup, m.id));
      c->inflight.push_back(std::move(m));
    }
  }

  void OnPuback(Camera* c, uint16_t id) {
    for (auto it = c->inflight.begin(); it != c->inflight.end(); ++it) {
      if (it->id != id) continue;
      if (ack_fd >= 0 && it->kind == Kind::kEvent) {
        std::string line = c->serial + " " + std::to_string(it->seq) + " " + std::to_string(it->count) + "\n";
        if (::write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
          Say(c, "error: --ack-log write failed", true);
      }
      Kind k = it->kind;
      bool replay = it->replay;
      c->inflight.erase(it);
      if (k == Kind::kReport) {
        st.reports_acked++;
        c->reports_acked++;
        if (o.flood && c->queue.empty()) Report(c, -1);
      } else if (k == Kind::kEvent) {
        st.events_acked++;
        c->events_acked++;
        if (replay && st.events_cached_now) st.events_cached_now--;
      }
      break;
    }
    Pump(c);
  }

  // ---- thing model -----------------------------------------------------------------------------
  int Channels(const ResDef& r) const {
    return r.dynamic ? o.channels : std::max(1, std::min<int>(o.channels, static_cast<int>(r.li.size())));
  }
  std::string Li(const ResDef& r, int ch) const { return r.dynamic ? std::to_string(ch) : r.li[static_cast<size_t>(ch)]; }
  json& Value(Camera* c, size_t prop, int ch) { return c->values[prop * static_cast<size_t>(o.channels) + static_cast<size_t>(ch)]; }
  std::string Common(Camera* c, uint32_t seq, int msg_type, bool event = false) {
    if (event) return payload::Common("3.0", seq, c->gen == Generation::kGen1 ? msg_type : 0);
    if (c->gen == Generation::kGen1) return payload::Common("v1.0.0", seq, msg_type);
    return payload::Common("", seq, msg_type == 2 ? 2 : 0);
  }

  // A property report: prop < 0 = the next one in rotation.
  void Report(Camera* c, int prop, int ch = -1) {
    if (profile.props.empty()) return;
    if (prop < 0) {
      size_t total = profile.props.size() * static_cast<size_t>(o.channels);
      for (size_t tries = 0; tries < total; ++tries) {
        uint32_t k = c->report_cursor++ % static_cast<uint32_t>(total);
        int p = static_cast<int>(k / static_cast<uint32_t>(o.channels));
        int chan = static_cast<int>(k % static_cast<uint32_t>(o.channels));
        if (chan < Channels(profile.res[profile.props[static_cast<size_t>(p)].res])) {
          prop = p;
          ch = chan;
          break;
        }
      }
      if (prop < 0) return;
    }
    const PropDef& pd = profile.props[static_cast<size_t>(prop)];
    const ResDef& rd = profile.res[pd.res];
    json& v = Value(c, static_cast<size_t>(prop), ch);
    if (pd.id == "uptime") v = (Now() - c->born_ms) / 1000;
    else if (pd.id == "temperature") v = 35.0 + static_cast<double>(rng() % 100) / 10.0;
    json body = {{"method", "report"}, {"spv", 3},
                 {"state", {{"reported", {{"domain", pd.domain}, {"identifier", pd.id}, {"value", v}}}, {"version", ++c->version}}}};
    OutMsg m;
    m.kind = Kind::kReport;
    m.topic = topics::ThingPrefix(c->serial, "global", Li(rd, ch), rd.rt) + "/basic/shadow/report";
    m.common = Common(c, ++c->seq, 1);
    m.body = body.dump();
    Enqueue(c, std::move(m));
  }

  // An event (motion by default); body: the given JSON object plus "basic".
  void RaiseEvent(Camera* c, const ActDef* ev, json body) {
    if (profile.events.empty()) return;
    if (!ev) {
      ev = &profile.events[0];
      for (auto& e : profile.events)
        if (e.id == "vmd") ev = &e;
    }
    const ResDef& rd = profile.res[ev->res];
    int ch = static_cast<int>(c->event_count % static_cast<uint32_t>(Channels(rd)));
    c->event_count++;
    c->events_raised++;
    st.events_raised++;
    if (!body.is_object()) body = json::object();
    if (!body.contains("region")) body["region"] = 1;
    body["count"] = c->event_count;
    body["basic"] = {{"dateTime", NowIso()}, {"UUID", c->serial + "-" + std::to_string(c->event_count)}};
    OutMsg m;
    m.kind = Kind::kEvent;
    m.topic = topics::ThingPrefix(c->serial, "global", Li(rd, ch), rd.rt) + "/model/event/report/" + ev->domain + "/" + ev->id;
    m.common = Common(c, ++c->seq, 1, true);
    m.seq = c->seq;
    m.count = c->event_count;
    m.body = body.dump();
    if (c->st != St::kOnline)
      Say(c, ev->domain + "/" + ev->id + " event #" + std::to_string(c->event_count) + " cached (offline)");
    else
      Say(c, ev->domain + "/" + ev->id + " event #" + std::to_string(c->event_count));
    Enqueue(c, std::move(m));
  }

  void Reply(Camera* c, const std::string& topic, uint32_t seq, const json& body) {
    OutMsg m;
    m.kind = Kind::kReply;
    m.topic = topic;
    m.common = Common(c, seq, 2);
    m.body = body.dump();
    Enqueue(c, std::move(m));
  }

  // Finds the channel of a localIndex in a resource (-1 = not served).
  int ChannelOf(const ResDef& r, const std::string& li) const {
    for (int ch = 0; ch < Channels(r); ++ch)
      if (Li(r, ch) == li) return ch;
    return -1;
  }
  int ResOf(const std::string& rt) const {
    for (size_t i = 0; i < profile.res.size(); ++i)
      if (profile.res[i].rt == rt) return static_cast<int>(i);
    return -1;
  }

  void OnDownlink(Camera* c, const RawFrame& f) {
    auto p = mqtt::ParsePublish(f);
    if (!p.ok()) return DasLost(c, p.error().message);
    st.downlinks++;
    if (p->qos == 1) Send(c, mqtt::Puback(p->packet_id));
    auto d = topics::ParseDown(p->topic, c->serial);
    if (!d) {
      Say(c, "warning: downlink on a foreign topic " + p->topic, true);
      return;
    }
    bool thing = p->topic.rfind("/iot/", 0) == 0;
    auto m = payload::Open(c->sk, p->payload, thing);
    if (!m.ok()) {
      Say(c, "warning: downlink on " + p->topic + " does not open: " + m.error().message, true);
      return;
    }
    json body = json::parse(m->body, nullptr, false);
    std::string dup = p->dup ? " (DUP)" : "";
    std::string prefix = thing ? topics::ThingPrefix(c->serial, d->sub, d->li, d->rt) : "";
    int res = thing ? ResOf(d->rt) : -1;
    int ch = res >= 0 ? ChannelOf(profile.res[static_cast<size_t>(res)], d->li) : -1;
    switch (d->kind) {
      case topics::Down::kShadowSet: {
        st.sets++;
        json des = body.is_object() && body.contains("state") && body["state"].is_object() ? body["state"].value("desired", json()) : json();
        std::string dom = des.is_object() ? des.value("domain", "") : "";
        std::string id = des.is_object() ? des.value("identifier", "") : "";
        int code = 1004;  // no such attribute
        int prop = -1;
        for (size_t i = 0; i < profile.props.size() && ch >= 0; ++i)
          if (profile.props[i].res == static_cast<size_t>(res) && profile.props[i].domain == dom && profile.props[i].id == id)
            prop = static_cast<int>(i);
        if (prop >= 0) {
          const PropDef& pd = profile.props[static_cast<size_t>(prop)];
          if (!pd.rw) code = 1005;                               // read-only
          else if (!des.contains("value") || !ValueFits(pd.schema, des["value"])) code = 1006;  // bad value
          else {
            Value(c, static_cast<size_t>(prop), ch) = des["value"];
            code = 0;
          }
        }
        Say(c, "set " + d->li + "/" + dom + "/" + id + " = " + (des.is_object() && des.contains("value") ? des["value"].dump() : "?") +
                   dup + " -> code " + std::to_string(code));
        Reply(c, prefix + "/basic/shadow/set_reply", m->seq, json{{"method", "set_reply"}, {"payload", {{"code", code}}}});
        if (code == 0) Report(c, prop, ch);
        return;
      }
      case topics::Down::kShadowQuery: {
        st.queries++;
        json list = json::array();
        for (size_t i = 0; i < profile.props.size() && ch >= 0; ++i)
          if (profile.props[i].res == static_cast<size_t>(res))
            list.push_back({{"domain", profile.props[i].domain}, {"identifier", profile.props[i].id}, {"value", Value(c, i, ch)}});
        Say(c, "query " + d->li + "-" + d->rt + dup + " -> " + std::to_string(list.size()) + " attribute(s)");
        Reply(c, prefix + "/basic/shadow/query_reply", m->seq,
              ch >= 0 ? json{{"code", 0}, {"state", {{"desired", list}}}} : json{{"code", 1004}});
        return;
      }
      case topics::Down::kServiceOperate: {
        st.services++;
        json input = body.is_object() ? body.value("data", json()) : json();
        bool known = false;
        for (auto& a : profile.acts)
          known = known || (a.res == static_cast<size_t>(res) && a.domain == d->domain && a.id == d->identifier);
        int code = known && ch >= 0 ? 0 : 1004;
        json out = json::object();
        if (code == 0 && (d->identifier == "move" || d->identifier == "ptz_move")) {
          std::string dir = input.is_object() ? input.value("dir", "") : "";
          int steps = input.is_object() && input.contains("steps") && input["steps"].is_number_integer() ? input["steps"].get<int>() : 1;
          if (dir == "up") c->tilt += steps;
          else if (dir == "down") c->tilt -= steps;
          else if (dir == "left") c->pan -= steps;
          else if (dir == "right") c->pan += steps;
          else code = 1006;
          out = {{"pan", c->pan}, {"tilt", c->tilt}};
        }
        Say(c, "service " + d->li + "/" + d->domain + "/" + d->identifier + " " + input.dump() + dup + " -> code " + std::to_string(code));
        json rb = {{"code", code}};
        if (code == 0) rb["data"] = out;
        Reply(c, prefix + "/model/service/operate_reply/" + d->domain + "/" + d->identifier, m->seq, rb);
        return;
      }
      case topics::Down::kLegacy: {
        if (d->legacy_domain == 1000 && d->legacy_cmd == 1 && body.is_object() && body.contains("KeepAlive") &&
            body["KeepAlive"].is_object() && body["KeepAlive"].contains("Interval") && body["KeepAlive"]["Interval"].is_number_unsigned()) {
          auto n = body["KeepAlive"]["Interval"].get<uint64_t>();
          if (n > 0 && n < 65536) {
            c->keep_alive = static_cast<uint16_t>(n);
            c->t_ping = Now() + 1000ull * c->keep_alive;
            Arm(c);
            Say(c, "keep-alive interval now " + std::to_string(n) + " s (platform request)");
          }
          return;
        }
        if (d->legacy_domain == 1000 && d->legacy_cmd == 3) {
          Say(c, "forced offline by the platform: back to the LBS", true);
          Send(c, mqtt::Disconnect());
          Close(c);
          c->want_lbs = true;
          return Backoff(c, "forced offline");
        }
        Say(c, "legacy command " + std::to_string(d->legacy_domain) + "/" + std::to_string(d->legacy_cmd) + " ignored");
        return;
      }
      default: Say(c, "downlink on " + p->topic + " ignored"); return;
    }
  }

  // ---- control -----------------------------------------------------------------------------------
  std::vector<Camera*> Select(const std::string& who, std::string& err) {
    std::vector<Camera*> out;
    if (who == "all") {
      for (auto& c : cams) out.push_back(c.get());
    } else if (auto it = by_serial.find(who); it != by_serial.end()) {
      out.push_back(it->second);
    } else {
      err = "error: no camera \"" + who + "\"";
    }
    return out;
  }

  void GoOffline(Camera* c, bool graceful) {
    c->forced_offline = true;
    if (c->st == St::kHeld || c->st == St::kStopped) return;
    if (c->conn && c->conn->das && graceful) Send(c, mqtt::Disconnect());
    bool was_das = c->conn && c->conn->das;
    if (c->st == St::kQueued) {
      for (auto it = lbs_queue.begin(); it != lbs_queue.end(); ++it)
        if (*it == c) {
          lbs_queue.erase(it);
          break;
        }
    }
    Close(c);
    c->hs.reset();
    ReleaseSlot(c);
    if (was_das) st.das_losses++;
    MarkReplay(c);
    SetHeld(c);
    Say(c, std::string("offline (control") + (graceful ? ", DISCONNECT" : ", connection cut") + "): caching events");
  }

  std::string Exec(const std::string& line) {
    std::istringstream in(line);
    std::string cmd, who;
    in >> cmd;
    if (cmd.empty()) return "";
    if (cmd == "stats") return Snapshot().line();
    if (cmd == "quit") {
      DoQuit();
      return "bye";
    }
    if (cmd == "list") {
      std::string out;
      for (auto& c : cams)
        out += c->serial + " gen" + std::to_string(static_cast<int>(c->gen)) + " " + StName(c->st) + " " +
               (c->last_flow.empty() ? "-" : c->last_flow) + " queued=" + std::to_string(c->queue.size()) + "\n";
      if (!out.empty()) out.pop_back();
      return out;
    }
    in >> who;
    std::string err;
    if (cmd != "offline" && cmd != "online" && cmd != "event" && cmd != "report")
      return "error: unknown command \"" + cmd + "\" (offline, online, event, report, stats, list, quit)";
    if (who.empty()) return "error: " + cmd + " needs a serial or \"all\"";
    auto sel = Select(who, err);
    if (!err.empty()) return err;
    if (cmd == "offline") {
      std::string mode;
      in >> mode;
      for (auto* c : sel) GoOffline(c, mode == "graceful");
      return "ok: " + std::to_string(sel.size()) + " camera(s) offline";
    }
    if (cmd == "online") {
      for (auto* c : sel) {
        if (!c->forced_offline) continue;
        c->forced_offline = false;
        if (c->st == St::kHeld) {
          Say(c, "back online (control): reconnecting");
          c->backoff_n = 0;
          Begin(c);
        }
      }
      return "ok: " + std::to_string(sel.size()) + " camera(s) online";
    }
    if (cmd == "report") {
      for (auto* c : sel)
        if (c->st == St::kOnline) Report(c, -1);
      return "ok";
    }
    // event <sn> [domain/identifier [json]]
    std::string name, rest;
    in >> name;
    std::getline(in, rest);
    const ActDef* ev = nullptr;
    if (!name.empty()) {
      for (auto& e : profile.events)
        if (e.domain + "/" + e.id == name) ev = &e;
      if (!ev) return "error: the profile has no event \"" + name + "\"";
    }
    json body = json::object();
    if (rest.find_first_not_of(" \t") != std::string::npos) {
      body = json::parse(rest, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return "error: the event body must be a JSON object";
    }
    for (auto* c : sel) RaiseEvent(c, ev, body);
    return "ok: " + std::to_string(sel.size()) + " event(s) raised";
  }

  Stats Snapshot() {
    Stats s = st;
    s.cameras = cams.size();
    s.online = s.onboarding = s.stopped = 0;
    for (auto& c : cams) {
      if (c->st == St::kOnline) s.online++;
      if (c->st == St::kLbs || c->st == St::kQueued) s.onboarding++;
      if (c->st == St::kStopped) s.stopped++;
    }
    return s;
  }

  void DoQuit() {
    if (quitting) return;
    quitting = true;
    for (auto& c : cams) {
      if (c->conn && c->conn->das && c->st == St::kOnline) Send(c.get(), mqtt::Disconnect());
      Close(c.get());
      uv_timer_stop(&c->timer);
    }
    if (!o.state_file.empty()) SaveState();
    uv_timer_stop(&state_timer);
    uv_stop(&loop);
  }

  // Control socket: one command per line, one reply per command.
  void OpenControl() {
    uv_pipe_init(&loop, &control, 0);
    control.data = this;
    ::unlink(o.control_socket.c_str());
    if (uv_pipe_bind(&control, o.control_socket.c_str()) != 0 ||
        uv_listen(reinterpret_cast<uv_stream_t*>(&control), 16, [](uv_stream_t* srv, int status) {
          if (status < 0) return;
          Impl* self = static_cast<Impl*>(srv->data);
          auto* cl = new uv_pipe_t;
          uv_pipe_init(&self->loop, cl, 0);
          cl->data = new std::string;
          if (uv_accept(srv, reinterpret_cast<uv_stream_t*>(cl)) != 0) {
            self->CloseClient(cl);
            return;
          }
          self->control_clients.push_back(cl);
          uv_read_start(reinterpret_cast<uv_stream_t*>(cl),
                        [](uv_handle_t* h, size_t, uv_buf_t* b) {
                          Impl* s = static_cast<Impl*>(h->loop->data);
                          *b = uv_buf_init(s->rbuf, sizeof s->rbuf);
                        },
                        [](uv_stream_t* st, ssize_t n, const uv_buf_t* b) {
                          auto* cl = reinterpret_cast<uv_pipe_t*>(st);
                          Impl* s = static_cast<Impl*>(st->loop->data);
                          if (n < 0) return s->CloseClient(cl);
                          auto* buf = static_cast<std::string*>(cl->data);
                          buf->append(b->base, static_cast<size_t>(n));
                          size_t nl;
                          while ((nl = buf->find('\n')) != std::string::npos) {
                            std::string line = buf->substr(0, nl);
                            buf->erase(0, nl + 1);
                            std::string reply = s->Exec(line) + "\n";
                            auto* w = new WriteReq;
                            w->data = reply;
                            w->req.data = w;
                            uv_buf_t wb = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
                            if (uv_write(&w->req, st, &wb, 1, [](uv_write_t* r, int) { delete static_cast<WriteReq*>(r->data); }) != 0)
                              delete w;
                            if (s->quitting) return;
                          }
                        });
        }) != 0) {
      Say(nullptr, "cannot listen on control socket " + o.control_socket, true);
      uv_close(reinterpret_cast<uv_handle_t*>(&control), nullptr);
      return;
    }
    control_open = true;
  }
  void CloseClient(uv_pipe_t* cl) {
    for (auto it = control_clients.begin(); it != control_clients.end(); ++it)
      if (*it == cl) {
        control_clients.erase(it);
        break;
      }
    uv_close(reinterpret_cast<uv_handle_t*>(cl), [](uv_handle_t* h) {
      delete static_cast<std::string*>(h->data);
      delete reinterpret_cast<uv_pipe_t*>(h);
    });
  }
};

// ---- Stats ---------------------------------------------------------------------------------------

std::string Stats::line() const {
  std::ostringstream s;
  s << "stats: cameras=" << cameras << " online=" << online << " onboarding=" << onboarding << " stopped=" << stopped
    << " onboarded F1=" << onboard_f1 << " F2=" << onboard_f2 << " F3=" << onboard_f3 << " lbs_errors=" << lbs_errors
    << " lbs_timeouts=" << lbs_timeouts << " connack_ok=" << connack_ok << " connack_12=" << connack_12
    << " refused=" << connack_refused << " resumed=" << resumed << " losses=" << das_losses
    << " reports=" << reports_sent << "/" << reports_acked << " skipped=" << reports_skipped
    << " events=" << events_raised << "/" << events_sent << "/" << events_acked << " cached=" << events_cached_now
    << " dropped=" << events_dropped << " replayed=" << events_replayed << " retransmits=" << retransmits
    << " sets=" << sets << " queries=" << queries << " services=" << services << " pings=" << pings;
  return s.str();
}

// ---- Simulator -----------------------------------------------------------------------------------

Simulator::Simulator(Options o) : impl_(std::make_unique<Impl>(std::move(o))) {}

Simulator::~Simulator() {
  StopThread();
  auto& im = *impl_;
  if (im.ack_fd >= 0) ::close(im.ack_fd);
  for (auto& c : im.cams) {
    im.Close(c.get());
    uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), nullptr);
  }
  for (auto* cl : std::vector<uv_pipe_t*>(im.control_clients)) im.CloseClient(cl);
  if (im.control_open) {
    uv_close(reinterpret_cast<uv_handle_t*>(&im.control), nullptr);
    ::unlink(im.o.control_socket.c_str());
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&im.state_timer), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&im.async), nullptr);
  uv_run(&im.loop, UV_RUN_DEFAULT);
  uv_loop_close(&im.loop);
}

const char* Simulator::BuiltinProfile() { return kBuiltinProfile; }
uv_loop_s* Simulator::loop() { return &impl_->loop; }

std::vector<std::string> Simulator::Serials() const {
  std::vector<std::string> out;
  for (int i = 0; i < impl_->o.count; ++i) {
    std::string n = std::to_string(impl_->o.first_index + i);
    if (static_cast<int>(n.size()) < impl_->o.serial_digits) n.insert(0, static_cast<size_t>(impl_->o.serial_digits) - n.size(), '0');
    out.push_back(impl_->o.serial_prefix + n);
  }
  return out;
}

std::string Simulator::ProvisionConfig() const {
  std::string s;
  for (auto& sn : Serials())
    s += "device { serial: \"" + sn + "\" verification_code: \"" + impl_->o.vcode + "\" model: \"" + impl_->o.model + "\" }\n";
  return s;
}

gw::Result<void> Simulator::Start() {
  auto& im = *impl_;
  if (im.started) return {};
  if (im.o.count < 0 || im.o.channels < 1) return make_error("count must be >= 0 and channels >= 1");
  auto prof = LoadProfile(im.o.profile_json.empty() ? kBuiltinProfile : im.o.profile_json);
  if (!prof.ok()) return prof.error();
  if (!im.o.ack_log.empty() && im.ack_fd < 0) {
    im.ack_fd = ::open(im.o.ack_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (im.ack_fd < 0) return make_error("cannot open --ack-log " + im.o.ack_log + ": " + std::strerror(errno));
  }
  im.profile = std::move(prof.value());
  auto serials = Serials();
  uint64_t now = im.Now();
  im.cams.reserve(serials.size());
  for (size_t i = 0; i < serials.size(); ++i) {
    auto c = std::make_unique<Camera>();
    c->sim = &im;
    c->number = static_cast<uint32_t>(im.o.first_index) + static_cast<uint32_t>(i);
    c->gen = im.o.gen == GenChoice::kGen1   ? Generation::kGen1
             : im.o.gen == GenChoice::kGen2 ? Generation::kGen2
             : (c->number % 2 ? Generation::kGen1 : Generation::kGen2);
    c->serial = serials[i];
    c->keep_alive = im.o.keep_alive_s;
    c->born_ms = now;
    c->values.resize(im.profile.props.size() * static_cast<size_t>(im.o.channels));
    for (size_t p = 0; p < im.profile.props.size(); ++p)
      for (int ch = 0; ch < im.o.channels; ++ch) im.Value(c.get(), p, ch) = InitialValue(im.profile.props[p].schema);
    uv_timer_init(&im.loop, &c->timer);
    c->timer.data = c.get();
    im.by_serial[c->serial] = c.get();
    im.cams.push_back(std::move(c));
  }
  im.LoadState();
  for (auto& c : im.cams) {
    if (im.o.flow == FlowChoice::kF1) c->devid.clear(), c->master.clear();
    if (im.o.flow == FlowChoice::kF2) c->master.clear();
    if (im.o.event_interval_ms) c->t_event = now + 1 + im.rng() % im.o.event_interval_ms;
  }
  if (im.o.flow != FlowChoice::kAuto) im.StateChanged();
  if (!im.o.control_socket.empty()) im.OpenControl();
  im.started = true;
  for (auto& c : im.cams) im.Begin(c.get());
  for (auto& c : im.cams) im.Arm(c.get());
  return {};
}

void Simulator::Run() {
  impl_->loop_thread = std::this_thread::get_id();
  impl_->running = true;
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
  impl_->running = false;
}

void Simulator::StartThread() {
  if (thread_.joinable()) return;
  std::promise<void> ready;
  auto f = ready.get_future();
  thread_ = std::thread([this, &ready] {
    impl_->loop_thread = std::this_thread::get_id();
    impl_->running = true;
    ready.set_value();
    uv_run(&impl_->loop, UV_RUN_DEFAULT);
    impl_->running = false;
  });
  f.wait();
}

void Simulator::StopThread() {
  if (!thread_.joinable()) return;
  Quit();
  thread_.join();
}

void Simulator::Quit() {
  if (!impl_->running.load()) return impl_->DoQuit();
  if (std::this_thread::get_id() == impl_->loop_thread) return impl_->DoQuit();
  impl_->Post([this] { impl_->DoQuit(); });
}

std::string Simulator::Command(const std::string& line) {
  return impl_->Call([this, line] { return impl_->Exec(line); });
}

Stats Simulator::GetStats() {
  return impl_->Call([this] { return impl_->Snapshot(); });
}

std::optional<CameraInfo> Simulator::Info(const std::string& serial) {
  return impl_->Call([this, serial]() -> std::optional<CameraInfo> {
    auto it = impl_->by_serial.find(serial);
    if (it == impl_->by_serial.end()) return std::nullopt;
    Camera* c = it->second;
    CameraInfo i;
    i.serial = c->serial;
    i.devid = c->devid;
    i.state = StName(c->st);
    i.gen = static_cast<int>(c->gen);
    i.last_flow = c->last_flow;
    i.has_master = !c->master.empty();
    i.online = c->st == St::kOnline;
    i.forced_offline = c->forced_offline;
    i.stopped = c->st == St::kStopped;
    i.events_raised = c->events_raised;
    i.events_acked = c->events_acked;
    i.reports_acked = c->reports_acked;
    i.queued = c->queue.size();
    i.inflight = c->inflight.size();
    i.das_server_id = c->das_server_id;
    i.log.assign(c->log.begin(), c->log.end());
    return i;
  });
}

bool Simulator::WaitFor(const std::function<bool(const Stats&)>& pred, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (pred(GetStats())) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

uint64_t RaiseFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

}  // namespace camsim
