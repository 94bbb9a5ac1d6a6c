// Test rig for the OSAP session adapter: an in-process Gateway with the real gw_osap module loaded
// through the real loader, a probe adapter on the other side of the router, and a device simulator
// built only from the wire codec, talking over real loopback TCP. The gateway's loop runs on the
// test thread; the simulator pumps it while it waits for bytes.
#pragma once

#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway.h"
#include "gw/adapter_sdk.h"
#include "gw/value.h"
#include "log.h"
#include "osap/codec/lbs.h"
#include "osap/codec/mqtt.h"
#include "osap/codec/payload.h"
#include "osap/codec/topics.h"
#include "test_util.h"

namespace osapit {

using namespace gw::osap;
using gw::v1::Envelope;

struct Probe;
inline Probe* g_probe = nullptr;

struct Probe : gw::sdk::Adapter {
  explicit Probe(const gw_host_api* api) : Adapter(api) { g_probe = this; }
  ~Probe() override { g_probe = nullptr; }
  std::string configure(const std::string&) override { return ""; }
  std::string start() override { return ""; }
  int deliver(const Envelope& env) override {
    received.push_back(env);
    return GW_OK;
  }
  std::vector<Envelope> received;
};

inline const gw_adapter_descriptor kProbe = gw::sdk::make_descriptor<Probe>("probe", "1", "test probe", nullptr);

// Every log line of the process, for "was it logged" and "was a secret logged" checks.
inline std::mutex g_log_mu;
inline std::vector<std::string> g_log;
inline void LogSink(std::string_view line) {
  std::lock_guard<std::mutex> l(g_log_mu);
  g_log.emplace_back(line);
}
inline bool Logged(const std::string& needle) {
  std::lock_guard<std::mutex> l(g_log_mu);
  for (auto& s : g_log)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

struct Rig {
  gwtest::TempDir t;
  gw::EventLoop loop;
  std::unique_ptr<gw::Gateway> g;
  uint16_t lbs_port = 0;
  std::vector<uint16_t> das_ports;

  // osap_body: the inside of the OsapConfig block (ports are forced to 0 = ephemeral).
  // top: extra top-level gateway config (e.g. a journal block).
  explicit Rig(const std::string& osap_body, int router_timeout_ms = 3000, const std::string& top = "") {
    gw::log::set_sink(&LogSink);
    gw::log::set_level(gw::log::Level::Debug);
    t.write("maps/routes.textproto",
            "route { name: \"up\" from_adapter: \"osap\" to_adapter: \"probe\" }\n");
    t.write("profiles/cam1.json", R"({
  "version": "3.0", "capacities": {},
  "resources": [
    {"identifier": "video", "title": "channel", "resourceCategory": "video", "localIndex": ["0", "1"],
     "domains": [
       {"identifier": "image",
        "props": [
          {"identifier": "brightness", "access": "rw", "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
          {"identifier": "enabled", "access": "r", "schema": {"type": "boolean"}}
        ],
        "actions": [
          {"identifier": "ptz_move", "direction": "Plt2Dev",
           "input": {"schema": {"type": "object", "required": ["dir"],
                                "properties": {"dir": {"type": "string", "enum": ["up", "down"]}}}},
           "output": {"schema": {"type": "object"}}}
        ],
        "events": [{"identifier": "vmd", "eventType": ["notification"]}]}
     ]}
  ]})");
    std::string cfg = "gateway_id: \"osap-it\"\nmapping_file: \"maps\"\nrouter { request_timeout_ms: " +
                      std::to_string(router_timeout_ms) +
                      " }\n" + top +
                      "\nadapter { name: \"probe\" module: \"probe\" }\n"
                      "adapter {\n  name: \"osap\"\n  module: \"osap\"\n  config { [type.googleapis.com/gw.osap.v1.OsapConfig] {\n"
                      "    lbs_port: 0\n    profile_dir: \"" +
                      t.file("profiles") + "\"\n" + osap_body + "\n  } }\n}\n";
    auto cfgp = t.write("gw.textproto", cfg);
    gw::Gateway::Options o;
    o.config_path = cfgp;
    o.module_dir = gwtest::module_dir();
    o.state_dir = t.file("state");
    o.builtins = {&kProbe};
    auto r = gw::Gateway::create(loop, o);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    g = std::move(r.value());
    auto s = g->start();
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
    auto st = status();
    lbs_port = st["lbs_port"].get<uint16_t>();
    for (auto& d : st["das"]) das_ports.push_back(d["port"].get<uint16_t>());
    REQUIRE(lbs_port != 0);
    REQUIRE(Logged("LBS listening on 127.0.0.1:" + std::to_string(lbs_port)));
  }
  ~Rig() {
    bool done = false;
    g->begin_shutdown([&] { done = true; });
    for (int i = 0; i < 500 && !done; ++i) loop.run_once(10);
    g.reset();
    gw::log::set_sink(nullptr);
    if (std::getenv("OSAP_IT_LOG")) {
      std::lock_guard<std::mutex> l(g_log_mu);
      for (auto& line : g_log) std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::lock_guard<std::mutex> l(g_log_mu);
    g_log.clear();
  }

  nlohmann::json status() {
    auto* inst = g->host().find("osap");
    REQUIRE(inst);
    gw_buf b{};
    REQUIRE(inst->module()->desc->status(inst->self(), &b) == GW_OK);
    std::string s(reinterpret_cast<char*>(b.data), b.len);
    std::free(b.data);
    return nlohmann::json::parse(s);
  }
  void pump(int ms) {
    uint64_t end = loop.now_ms() + ms;
    while (loop.now_ms() < end) loop.run_once(5);
  }
  bool pump_until(const std::function<bool()>& pred, int ms = 3000) {
    uint64_t end = loop.now_ms() + ms;
    while (loop.now_ms() < end) {
      if (pred()) return true;
      loop.run_once(5);
    }
    return pred();
  }
  const gw::v1::Device* device(const std::string& sn) { return g->registry().find("osap", sn); }

  // Envelopes the probe received, filtered.
  std::vector<Envelope> got(gw::v1::Kind kind, const std::string& path = "") {
    std::vector<Envelope> out;
    if (!g_probe) return out;
    for (auto& e : g_probe->received)
      if (e.kind() == kind && (path.empty() || e.origin().path() == path)) out.push_back(e);
    return out;
  }
  std::optional<Envelope> response(const std::string& corr, int ms = 3000) {
    std::optional<Envelope> r;
    pump_until([&] {
      for (auto& e : g_probe->received)
        if (e.kind() == gw::v1::RESPONSE && e.correlation_id() == corr) r = e;
      return r.has_value();
    }, ms);
    return r;
  }
  void request(const std::string& corr, gw::v1::Operation op, const std::string& device, const std::string& path,
               const gw::v1::Value& content, const std::string& adapter = "") {
    Envelope e;
    e.set_kind(gw::v1::REQUEST);
    e.set_op(op);
    e.set_correlation_id(corr);
    e.mutable_target()->set_device(device);
    e.mutable_target()->set_path(path);
    e.mutable_target()->set_adapter(adapter);
    *e.mutable_content() = content;
    REQUIRE(g_probe->host().emit(e) == GW_OK);
  }
};

// A TCP client that pumps the gateway's loop while it waits.
struct Sock {
  Rig& rig;
  int fd = -1;
  Bytes in;
  bool eof = false;
  Sock(Rig& r, uint16_t port) : rig(r) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
  }
  ~Sock() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  void Send(const Bytes& b) {
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n > 0) off += static_cast<size_t>(n);
      else rig.loop.run_once(1);
    }
  }
  void Send(const gw::Result<Bytes>& b) {
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().message));
    Send(b.value());
  }
  // Reads what is there; returns false once the peer closed.
  bool Poll() {
    uint8_t buf[8192];
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        in.insert(in.end(), buf, buf + n);
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      eof = true;
      return false;
    }
  }
  // Waits until pred(in) or the peer closes / timeout.
  bool WaitFor(const std::function<bool()>& pred, int ms = 3000) {
    bool met = false;
    rig.pump_until([&] {
      Poll();
      met = pred();
      return met || eof;
    }, ms);
    return met;
  }
  bool WaitClosed(int ms = 3000) {
    return rig.pump_until([&] {
      Poll();
      return eof;
    }, ms);
  }
};

// ---- LBS device side ----------------------------------------------------------------------------

inline std::optional<lbs::Frame> RecvLbs(Sock& s, int ms = 3000) {
  std::optional<lbs::Frame> out;
  s.WaitFor([&] {
    if (s.in.empty()) return false;
    lbs::FrameDecoder d;
    d.feed(s.in);
    auto f = d.next();
    if (!f.ok() || !f.value()) return false;
    out = std::move(*f.value());
    s.in.erase(s.in.begin(), s.in.end() - static_cast<std::ptrdiff_t>(d.buffered()));
    return true;
  }, ms);
  return out;
}

struct Device {
  Device(Generation g, std::string sn, std::string vc, bool lower_first_md5 = false)
      : gen(g), serial(std::move(sn)), vcode(std::move(vc)), lower(lower_first_md5) {}
  Generation gen;
  std::string serial, vcode;  // vcode: the verification code, or the license code with auth_mode 1
  bool lower = false;
  uint8_t auth_mode = 0;
  std::optional<std::string> devid, master;
  SessionKey sk{};
  std::optional<EcKey> key;
  lbs::DasInfo das;

  Bytes AuthRequest() {
    auto k = EcKey::Generate();
    REQUIRE(k.ok());
    key = std::move(k.value());
    lbs::AuthRequest m;
    m.gen = gen;
    m.serial = serial;
    m.auth_mode = auth_mode;
    m.sealed_public_key = lbs::SealPublicKey(gen, AesKeyFromAscii(ShareKey(gen, vcode, serial, lower)), key->PublicRaw());
    auto b = lbs::EncodeAuthRequest(m);
    REQUIRE(b.ok());
    return b.value();
  }
  // 0x1 -> 0x2; returns the result code.
  lbs::ResultCode Auth(Sock& s) {
    s.Send(AuthRequest());
    auto f = RecvLbs(s);
    REQUIRE(f);
    auto a = lbs::ParseAuthReply(*f, gen);
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.error().message));
    auto* r = std::get_if<lbs::AuthReply>(&a.value());
    REQUIRE(r);
    if (r->result != lbs::ResultCode::kOk) return r->result;
    auto pt = lbs::OpenPublicKey(gen, AesKeyFromAscii(ShareKey(gen, vcode, serial, lower)), r->sealed_public_key);
    REQUIRE(pt.ok());
    auto peer = EcKey::FromPublic(*pt);
    REQUIRE(peer.ok());
    auto x = key->Derive(*peer);
    REQUIRE(x.ok());
    master = MasterKeyFromShared(*x);
    return r->result;
  }
  lbs::ResultCode KeyGrant(Sock& s, lbs::MsgType expected) {
    auto f = RecvLbs(s);
    REQUIRE(f);
    auto g = lbs::ParseKeyGrant(*f, gen, expected);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
    if (g->result != lbs::ResultCode::kOk) return g->result;
    CHECK(SignEquals(g->sign, ComputeSign(*master, serial)));
    auto k = lbs::OpenKeyGrant(g.value(), *master);
    REQUIRE(k.ok());
    if (expected == lbs::MsgType::kRefreshReply) CHECK(k->devid == *devid);
    devid = k->devid;
    sk = k->session_key;
    return g->result;
  }
  lbs::ResultCode GetDas(Sock& s) {
    lbs::DasRequest q;
    q.sealed_query = lbs::SealDasQuery(sk, lbs::DasQuery{serial, "DAS", 0});
    s.Send(lbs::EncodeDasRequest(q));
    auto f = RecvLbs(s);
    REQUIRE(f);
    auto r = lbs::ParseDasReply(*f);
    REQUIRE(r.ok());
    if (r->result != lbs::ResultCode::kOk) return r->result;
    auto info = lbs::OpenDasInfo(sk, r->sealed_info);
    REQUIRE(info.ok());
    das = info.value();
    return r->result;
  }
  void F1(Rig& rig) {
    Sock s(rig, rig.lbs_port);
    REQUIRE(Auth(s) == lbs::ResultCode::kOk);
    s.Send(lbs::EncodeApplyDevid(lbs::ApplyDevid{lbs::kVersionOther, ComputeSign(*master, serial)}));
    REQUIRE(KeyGrant(s, lbs::MsgType::kDevidReply) == lbs::ResultCode::kOk);
    REQUIRE(GetDas(s) == lbs::ResultCode::kOk);
    CHECK(s.WaitClosed());
  }
  void F2(Rig& rig) {
    Sock s(rig, rig.lbs_port);
    REQUIRE(Auth(s) == lbs::ResultCode::kOk);
    s.Send(lbs::EncodeRefreshRequest(lbs::RefreshRequest{lbs::kVersionOther, *devid, ComputeSign(*master, serial)}));
    REQUIRE(KeyGrant(s, lbs::MsgType::kRefreshReply) == lbs::ResultCode::kOk);
    REQUIRE(GetDas(s) == lbs::ResultCode::kOk);
    CHECK(s.WaitClosed());
  }
  // F3; returns the 0x8 result.
  lbs::ResultCode F3(Rig& rig) {
    Sock s(rig, rig.lbs_port);
    uint8_t r1 = 0xA5;
    s.Send(lbs::EncodeRefreshI(lbs::RefreshI{lbs::kVersionOther, serial, *devid, lbs::SealByte(*master, r1)}));
    auto f = RecvLbs(s);
    REQUIRE(f);
    auto g = lbs::ParseRefreshGrant(*f);
    REQUIRE(g.ok());
    if (g->result != lbs::ResultCode::kOk) return g->result;
    auto k = lbs::OpenRefreshKeys(*master, g->sealed);
    REQUIRE(k.ok());
    CHECK(k->r1 == r1);
    sk = k->session_key;
    s.Send(lbs::EncodeConfirm(lbs::Confirm{lbs::kVersionOther, lbs::SealByte(*master, k->r2)}));
    REQUIRE(GetDas(s) == lbs::ResultCode::kOk);
    CHECK(s.WaitClosed());
    return lbs::ResultCode::kOk;
  }
};

// ---- DAS device side ----------------------------------------------------------------------------

struct Mqtt {
  Sock s;
  Device& dev;
  mqtt::PacketDecoder dec{1 << 20};
  std::vector<mqtt::Packet> backlog;
  Mqtt(Rig& rig, Device& d, uint16_t port = 0) : s(rig, port ? port : d.das.port), dev(d) {}

  std::optional<mqtt::Packet> Next(int ms = 3000) {
    if (!backlog.empty()) {
      auto p = backlog.front();
      backlog.erase(backlog.begin());
      return p;
    }
    std::optional<mqtt::Packet> out;
    s.WaitFor([&] {
      if (!s.in.empty()) {
        dec.feed(s.in);
        s.in.clear();
      }
      auto p = dec.next();
      REQUIRE(p.ok());
      if (!p.value()) return false;
      out = std::move(*p.value());
      return true;
    }, ms);
    return out;
  }
  // The next packet of a type (others are kept for later).
  std::optional<mqtt::Packet> Expect(mqtt::PacketType t, int ms = 3000) {
    for (size_t i = 0; i < backlog.size(); ++i)
      if (backlog[i].type == t) {
        auto p = backlog[i];
        backlog.erase(backlog.begin() + static_cast<std::ptrdiff_t>(i));
        return p;
      }
    uint64_t end = s.rig.loop.now_ms() + ms;
    while (s.rig.loop.now_ms() < end) {
      std::vector<mqtt::Packet> keep;
      std::swap(keep, backlog);
      auto p = Next(static_cast<int>(end - s.rig.loop.now_ms()));
      backlog = std::move(keep);
      if (!p) return std::nullopt;
      if (p->type == t) return p;
      backlog.push_back(*p);
    }
    return std::nullopt;
  }
  std::string WillJson(bool full = true) {
    if (!full) return R"({"SubSerial":")" + dev.serial + R"(","DeviceID":")" + *dev.devid + R"("})";
    return R"({"DevSerial":"","SubSerial":")" + dev.serial +
           R"(","FirmwareVersion":"V1.0.0 build 240101","DevType":"TESTTYPE","Status":1,"DeviceID":")" + *dev.devid +
           R"(","SDKVersion":{"v":"1"},"Status":1})";
  }
  // CONNECT (flags as the devices send them) -> CONNACK code.
  int Connect(bool clean = true, uint16_t keep_alive = 30, std::optional<std::string> will_json = {},
              std::optional<SessionKey> will_key = {}) {
    mqtt::Connect c;
    c.clean_session = clean;
    c.keep_alive = keep_alive;
    c.username = dev.serial;
    c.password = ToBytes("test");
    mqtt::Will w;
    w.topic = "/Basic/pu2cenplt/" + dev.serial + (clean ? "/firstconnect" : "/breakconnect");
    w.payload = SealWillPayload(will_key ? *will_key : dev.sk, will_json ? *will_json : WillJson(clean));
    w.qos = 1;
    w.retain = true;
    c.will = w;
    s.Send(mqtt::EncodeConnect(c, mqtt::kNulPaddedWillTopic));
    auto p = Expect(mqtt::PacketType::kConnack);
    REQUIRE(p);
    auto a = mqtt::DecodeConnack(*p);
    REQUIRE(a.ok());
    last_session_present = a->session_present;
    return static_cast<int>(a->code);
  }
  bool last_session_present = false;
  std::vector<uint8_t> Subscribe(std::vector<std::string> filters, uint16_t id = 1) {
    mqtt::Subscribe sub;
    sub.packet_id = id;
    for (auto& f : filters) sub.subscriptions.push_back({f, 1});
    s.Send(mqtt::EncodeSubscribe(sub));
    auto p = Expect(mqtt::PacketType::kSuback);
    REQUIRE(p);
    auto a = mqtt::DecodeSuback(*p);
    REQUIRE(a.ok());
    CHECK(a->packet_id == id);
    return a->return_codes;
  }
  uint16_t next_id = 100;
  // A device PUBLISH (QoS 1, retain 1 as the devices send it); waits for the PUBACK.
  void Publish(const std::string& topic, uint32_t seq, const std::string& body, bool thing = true) {
    CommonHeader c;
    c.seq = seq;
    if (!thing) {
      c.cmd_ver = std::string(kLegacyCmdVer);
      c.msg_type = kMsgTypeRequest;
    }
    auto payload = SealPayload(dev.sk, c, AsBytes(body));
    REQUIRE(payload.ok());
    mqtt::Publish p;
    p.topic = topic;
    p.payload = payload.value();
    p.qos = 1;
    p.retain = true;
    p.packet_id = ++next_id;
    s.Send(mqtt::EncodePublish(p, 1 << 20));
    auto ack = Expect(mqtt::PacketType::kPuback);
    REQUIRE(ack);
    CHECK(mqtt::DecodePuback(*ack).value() == p.packet_id);
  }
  struct Down {
    mqtt::Publish pub;
    PayloadMessage msg;
    nlohmann::json body;
  };
  std::optional<Down> Receive(int ms = 3000, bool ack = true) {
    auto p = Expect(mqtt::PacketType::kPublish, ms);
    if (!p) return std::nullopt;
    CHECK(p->body.size() + 2 <= mqtt::kDeviceMaxPacket);
    auto pub = mqtt::DecodePublish(*p);
    REQUIRE(pub.ok());
    auto m = OpenPayload(dev.sk, pub->payload, PolicyForTopic(pub->topic));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
    Down d{pub.value(), m.value(), nlohmann::json::parse(m->body.begin(), m->body.end(), nullptr, false)};
    if (ack && pub->qos == 1) s.Send(mqtt::EncodePuback(pub->packet_id));
    return d;
  }
};

inline gw::v1::Value Json(const std::string& text) {
  auto v = gw::value_from_json(text);
  REQUIRE(v.ok());
  return v.value();
}

}  // namespace osapit
