// Test rig shared by the gw_oic integration test and benchmark: an independent OIC Client (a gloox
// client of the same account using the codec and IbbLink, never the adapter's code), and an
// in-process "camera" adapter (CamProbe) that owns devices with state, answers requests, emits
// REPORT/EVENT and "$state/online" EVENTs on demand.
#pragma once

#include <gloox/client.h>
#include <gloox/connectiontcpbase.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <gloox/connectionlistener.h>
#include <gloox/loghandler.h>
#include <gloox/message.h>
#include <gloox/presencehandler.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gw/adapter_sdk.h"
#include "gw/event_loop.h"
#include "gw/value.h"
#include "oic/codec/jid.h"
#include "oic/codec/rest.h"
#include "oic/xmpp/client_setup.h"
#include "oic/xmpp/ibb_link.h"

namespace gw::oic::itest {

// ---------------------------------------------------------------------------------------------
// The camera side: an in-process adapter with stateful devices.
struct CamProbe;
inline CamProbe* g_cam = nullptr;
inline unsigned g_cam_devices = 2;

struct CamProbe : gw::sdk::Adapter {
  explicit CamProbe(const gw_host_api* api) : Adapter(api) { g_cam = this; }
  ~CamProbe() override {
    if (g_cam == this) g_cam = nullptr;
  }
  std::string configure(const std::string&) override { return ""; }
  std::string start() override {
    for (unsigned i = 0; i < g_cam_devices; ++i) {
      gw::v1::Device d;
      d.set_native_id("cam-" + std::to_string(i));
      d.set_model("testcam");
      d.set_name("test camera " + std::to_string(i));
      auto stored = host_.put_device(d);
      if (!stored) return "camprobe: cannot register";
      host_.set_online(stored->uuid(), true);
      uuids.push_back(stored->uuid());
      online[stored->uuid()] = true;
      auto& st = state[stored->uuid()];
      st["0/video/enabled"] = gw::make_bool(true);
      st["0/video/brightness"] = gw::make_int(5);
    }
    return "";
  }
  int deliver(const gw::v1::Envelope& env) override {
    if (env.kind() != gw::v1::REQUEST) return GW_OK;
    ++requests;
    requests_seen.push_back(env);
    gw::v1::Envelope r;
    r.set_kind(gw::v1::RESPONSE);
    r.set_op(env.op());
    r.set_correlation_id(env.correlation_id());
    *r.mutable_origin() = env.target();
    *r.mutable_target() = env.origin();
    const std::string& dev = env.target().device();
    if (!online[dev]) {
      r.set_status(gw::v1::TARGET_NOT_REACHABLE);
      r.set_status_detail("camera offline");
    } else if (env.op() == gw::v1::RETRIEVE) {
      auto& st = state[dev];
      auto it = st.find(env.target().path());
      if (it == st.end()) {
        r.set_status(gw::v1::NOT_FOUND);
      } else {
        r.set_status(gw::v1::OK);
        *r.mutable_content() = it->second;
      }
    } else if (env.op() == gw::v1::UPDATE) {
      state[dev][env.target().path()] = env.content();
      r.set_status(gw::v1::CHANGED);
    } else if (env.op() == gw::v1::INVOKE) {
      r.set_status(gw::v1::OK);
      gw::v1::Value out;
      gw::map_set(out, "result", gw::make_string("moved"));
      gw::map_set(out, "input", env.content());
      *r.mutable_content() = out;
    } else {
      r.set_status(gw::v1::OPERATION_NOT_ALLOWED);
    }
    return host_.emit(r);
  }
  void set_online(const std::string& uuid, bool on) {
    online[uuid] = on;
    host_.set_online(uuid, on);
    gw::v1::Envelope e;
    e.set_kind(gw::v1::EVENT);
    e.set_op(gw::v1::EVENT_OP);
    e.mutable_origin()->set_device(uuid);
    e.mutable_origin()->set_path("$state/online");
    *e.mutable_content() = gw::make_bool(on);
    host_.emit(e);
  }
  void emit_value(const std::string& uuid, const std::string& path, gw::v1::Value v, bool event) {
    gw::v1::Envelope e;
    e.set_kind(event ? gw::v1::EVENT : gw::v1::REPORT);
    e.set_op(event ? gw::v1::EVENT_OP : gw::v1::REPORT_OP);
    e.mutable_origin()->set_device(uuid);
    e.mutable_origin()->set_path(path);
    *e.mutable_content() = std::move(v);
    host_.emit(e);
  }
  std::vector<std::string> uuids;
  std::map<std::string, bool> online;
  std::map<std::string, std::map<std::string, gw::v1::Value>> state;
  std::vector<gw::v1::Envelope> requests_seen;
  uint64_t requests = 0;
};

inline const gw_adapter_descriptor kCamProbe =
    gw::sdk::make_descriptor<CamProbe>("camprobe", "1", "oic test camera", nullptr);

// The mapping file the tests use: model "testcam" (CamProbe) and "loopcam" (the loopback module).
inline const char* kMappings = R"(
route { name: "cams-up" from_adapter: "cam" kind: REPORT kind: EVENT to_adapter: "oic" }
route { name: "loop-up" from_adapter: "loop" kind: REPORT kind: EVENT to_adapter: "oic" }
model {
  name: "testcam"
  oic_device_type: "oic.d.camera"
  point { path: "0/video/enabled" kind: POINT_PROPERTY type: TYPE_BOOLEAN writable: true
          oic { href: "/video/0" rt: "oic.r.camera" property: "enabled" } }
  point { path: "0/video/brightness" kind: POINT_PROPERTY type: TYPE_INTEGER writable: true
          oic { href: "/video/0" rt: "oic.r.camera" property: "brightness" scale: 10 } }
  point { path: "0/motion/vmd" kind: POINT_EVENT type: TYPE_INTEGER
          oic { href: "/motion/0" rt: "oic.r.sensor.motion" property: "state"
                enum_map { key: "1" value: "active" } enum_map { key: "0" value: "idle" } } }
  point { path: "0/ptz/goto" kind: POINT_SERVICE type: TYPE_OBJECT
          oic { href: "/ptz/0" rt: "oic.r.ptz" property: "preset" } }
}
model {
  name: "loopcam"
  point { path: "0/demo/counter" kind: POINT_PROPERTY type: TYPE_INTEGER
          oic { href: "/counter" rt: "oic.r.counter" property: "count" } }
}
)";

// ---------------------------------------------------------------------------------------------
// The remote OIC Client.
struct Doc {
  std::string peer, sid, xml;
};

class OicClient : public gloox::ConnectionListener, public gloox::PresenceHandler {
 public:
  OicClient(const std::string& full_jid, const std::string& password, const std::string& domain, int port,
            const std::string& ca_file)
      : client_(gloox::JID(full_jid), password, port) {
    client_.setServer("127.0.0.1");
    xmpp::ClientSecurity sec;
    sec.ca_files = {ca_file};
    sec.server_name = domain;
    setup_ok = xmpp::apply_client_security(client_, sec);
    client_.disableRoster();
    client_.registerConnectionListener(this);
    client_.registerPresenceHandler(this);
    client_.setPresence(gloox::Presence::Available, -10);  // OIC Client range [-66, -1]
    xmpp::IbbLink::Callbacks cb;
    cb.on_open = [this](const gloox::JID&, const std::string& sid, bool) { opened.push_back(sid); };
    cb.on_open_failed = [this](const gloox::JID&, const std::string& sid, const gw::Error&) { failed.push_back(sid); };
    cb.on_document = [this](const gloox::JID& peer, const std::string& sid, std::string xml) {
      docs.push_back({peer.full(), sid, std::move(xml)});
    };
    cb.on_closed = [this](const gloox::JID&, const std::string& sid, std::size_t) { closed.push_back(sid); };
    link = std::make_unique<xmpp::IbbLink>(client_, ibb::Config{}, std::move(cb));
    if (std::getenv("OIC_RIG_XMPP_LOG")) client_.logInstance().registerLogHandler(gloox::LogLevelDebug, gloox::LogAreaAll, &log_);
  }
  struct StderrLog : gloox::LogHandler {
    void handleLog(gloox::LogLevel, gloox::LogArea area, const std::string& m) override {
      std::fprintf(stderr, "[gloox %d] %s\n", static_cast<int>(area), m.substr(0, 300).c_str());
    }
  };
  StderrLog log_;
  ~OicClient() override {
    link.reset();
    client_.disconnect();
  }
  bool start() {
    if (!setup_ok || !client_.connect(false)) return false;
    // gloox leaves Nagle on; request/response traffic needs it off (ENGINEERING-NOTES, MQTT).
    if (auto* c = dynamic_cast<gloox::ConnectionTCPBase*>(client_.connectionImpl())) {
      int one = 1;
      ::setsockopt(c->socket(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return true;
  }
  void pump(int us) { client_.recv(us); }
  gloox::Client& client() { return client_; }

  void onConnect() override { connected = true; }
  void onDisconnect(gloox::ConnectionError) override {
    connected = false;
    disconnected = true;
  }
  bool onTLSConnect(const gloox::CertInfo& info) override { return info.status == gloox::CertOk; }
  void handlePresence(const gloox::Presence& p) override {
    auto& e = presence[p.from().full()];
    e.available = p.subtype() != gloox::Presence::Unavailable;
    e.priority = p.priority();
    ++e.changes;
  }

  struct PresenceState {
    bool available = false;
    int priority = 0;
    int changes = 0;
  };
  bool setup_ok = false;
  bool connected = false;
  bool disconnected = false;
  std::map<std::string, PresenceState> presence;
  std::vector<std::string> opened, failed, closed;
  std::vector<Doc> docs;
  std::unique_ptr<xmpp::IbbLink> link;

 private:
  gloox::Client client_;
};

// Pumps the gateway loop and the client together until pred() or the deadline.
inline bool pump_until(gw::EventLoop& loop, std::vector<OicClient*> clients, const std::function<bool()>& pred,
                       int ms = 15000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    loop.run_once(1);
    for (auto* c : clients) c->pump(1000);
  }
  return true;
}

inline void pump_for(gw::EventLoop& loop, std::vector<OicClient*> clients, int ms) {
  (void)pump_until(loop, clients, [] { return false; }, ms);
}

}  // namespace gw::oic::itest
