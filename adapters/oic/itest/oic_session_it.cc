// Integration: a real prosody on 127.0.0.1, an in-process Gateway with the real gw_oic module and
// the real loopback module loaded through the loader plus an in-process camera adapter, and an
// independent OIC Client (gloox + the codec) on the same account. Covers login with the spec's
// JIDs and presence, discovery, GET/POST/INVOKE, errors, Observe, reachability, the RA resources,
// ping-timeout and server-restart reconnection.
#include <doctest/doctest.h>

#include <map>

#include "gateway.h"
#include "oic/codec/base64.h"
#include "oic_rig.h"
#include "prosody_server.h"
#include "test_util.h"

// gloox 1.0.24 leaks GnuTLS credentials on every disconnect (see tests/prosody_it.cc); only gloox
// creates GnuTLS/libtasn1 objects in this binary.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libgnutls.so\nleak:libtasn1.so\nleak:libgloox.so\n";
}

using namespace gw::oic;
using namespace gw::oic::itest;
using J = nlohmann::ordered_json;

namespace {

const char* kClientUuid = "C11E0000-0000-4000-8000-00000000C11E";

std::string gateway_config(const ProsodyServer& xs) {
  return R"(gateway_id: "oic-it"
mapping_file: "maps"
router { request_timeout_ms: 2000 }
adapter { name: "cam" module: "camprobe" }
adapter {
  name: "loop"
  module: "loopback"
  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] { devices: 1 model: "loopcam" report_interval_ms: 100 respond: true } }
}
adapter {
  name: "oic"
  module: "oic"
  config {
    [type.googleapis.com/gw.oic.v1.OicConfig] {
      server_host: "127.0.0.1" server_port: )" +
         std::to_string(xs.port()) + R"( domain: "localhost" ca_file: ")" + xs.ca_file() + R"("
      user: "me" password: "s3cret pw"
      ping_interval_ms: 300 ping_timeout_ms: 1000
      reconnect_initial_ms: 200 reconnect_max_ms: 800 login_timeout_ms: 3000
    }
  }
}
)";
}

struct Rig {
  std::unique_ptr<ProsodyServer> xs;
  gwtest::TempDir t;
  gw::EventLoop loop;
  std::unique_ptr<gw::Gateway> g;
  std::unique_ptr<OicClient> client;

  std::string jid_of(const std::string& uuid) { return "me@localhost/OIC/1.0/oic.d.camera/" + uuid; }

  bool available(const std::string& uuid) {
    auto it = client->presence.find(jid_of(uuid));
    return it != client->presence.end() && it->second.available;
  }

  void new_client() {
    client.reset();
    client = std::make_unique<OicClient>("me@localhost/OIC/1.0/Client/" + std::string(kClientUuid), "s3cret pw",
                                         "localhost", xs->port(), xs->ca_file());
    REQUIRE(client->start());
    REQUIRE_MESSAGE(pump_until(loop, {client.get()}, [&] { return client->connected; }), xs->log_tail());
  }

  bool pump(const std::function<bool()>& pred, int ms = 15000) { return pump_until(loop, {client.get()}, pred, ms); }

  std::string open(const std::string& uuid) {
    std::string sid = client->link->new_sid();
    REQUIRE(client->link->open(gloox::JID(jid_of(uuid)), sid).ok());
    REQUIRE(pump([&] {
      for (auto& s : client->opened)
        if (s == sid) return true;
      return false;
    }));
    return sid;
  }

  // Next document on sid (waits for it).
  RestMessage next(const std::string& sid, int ms = 10000) {
    RestMessage out;
    bool got = pump(
        [&] {
          for (auto it = client->docs.begin(); it != client->docs.end(); ++it)
            if (it->sid == sid) {
              auto m = decode_rest_xml(it->xml);
              REQUIRE_MESSAGE(m.ok(), it->xml);
              out = m.value();
              client->docs.erase(it);
              return true;
            }
          return false;
        },
        ms);
    REQUIRE_MESSAGE(got, "no document on session " << sid);
    return out;
  }

  bool nothing_on(const std::string& sid, int ms) {
    pump_for(loop, {client.get()}, ms);
    for (auto& d : client->docs)
      if (d.sid == sid) return false;
    return true;
  }

  RestMessage call(const std::string& uuid, const std::string& sid, Method m, const std::string& path,
                   std::optional<J> body = std::nullopt, std::vector<Header> headers = {}) {
    auto req = RestMessage::request(m, Url{"coap", "camera", path, ""});
    req.headers = std::move(headers);
    req.headers.push_back({"Accept", "application/json"});
    if (body) req.body = *body;
    REQUIRE(client->link->send_rest(gloox::JID(jid_of(uuid)), sid, req).ok());
    return next(sid);
  }
};

}  // namespace

TEST_CASE("gw_oic: bridged devices over a real prosody — presence, discovery, CRUDN, Observe, reachability, RA resources, reconnect") {
  Rig r;
  auto xs = ProsodyServer::create();
  REQUIRE_MESSAGE(xs.ok(), (xs.ok() ? "" : xs.error().message));
  r.xs = std::move(xs.value());
  REQUIRE(r.xs->register_user("me", "s3cret pw").ok());

  r.t.write("maps/oic.textproto", kMappings);
  auto cfgp = r.t.write("gw.textproto", gateway_config(*r.xs));
  gw::Gateway::Options o;
  o.config_path = cfgp;
  o.module_dir = gwtest::module_dir();
  o.state_dir = r.t.file("state");
  o.builtins = {&kCamProbe};
  g_cam_devices = 2;
  auto g = gw::Gateway::create(r.loop, o);
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
  r.g = std::move(g.value());
  REQUIRE(r.g->start().ok());
  REQUIRE(g_cam);
  REQUIRE(g_cam->uuids.size() == 2);
  const std::string cam0 = g_cam->uuids[0], cam1 = g_cam->uuids[1];
  auto loops = r.g->registry().list("loop");
  REQUIRE(loops.size() == 1);
  const std::string loop0 = loops[0]->uuid();

  r.new_client();

  // --- Login with the spec's full JIDs; presence available with an OIC Server priority ------------
  REQUIRE_MESSAGE(r.pump([&] { return r.available(cam0) && r.available(cam1) && r.available(loop0); }),
                  "devices did not announce presence\n" << r.xs->log_tail());
  CHECK(r.client->presence[r.jid_of(cam0)].priority == -50);
  CHECK(r.client->presence[r.jid_of(loop0)].priority == -50);
  for (auto& entry : r.client->presence) {
    const std::string& jid = entry.first;  // not a structured binding: clang 14 cannot capture one
    const auto& st = entry.second;
    auto parsed = parse_oic_jid(jid);
    if (jid.find("/Client/") != std::string::npos) continue;
    REQUIRE_MESSAGE(parsed.ok(), jid);
    CHECK(parsed->device_type == "oic.d.camera");
    CHECK(st.priority >= -100);
    CHECK(st.priority <= -33);
  }

  // --- Discovery ----------------------------------------------------------------------------------
  std::string sid = r.open(cam0);
  auto res = r.call(cam0, sid, Method::Get, "/oic/res");
  REQUIRE(res.status == 200);
  REQUIRE(res.body);
  REQUIRE(res.body->is_array());
  CHECK((*res.body)[0]["di"] == cam0);
  std::map<std::string, J> links;
  for (auto& l : (*res.body)[0]["links"]) links[l["href"].get<std::string>()] = l;
  CHECK(links.count("/oic/d"));
  CHECK(links.count("/XMPPResURI"));
  CHECK(links.count("/XMPPUserResURI"));
  REQUIRE(links.count("/video/0"));
  CHECK(links["/video/0"]["rt"][0] == "oic.r.camera");
  CHECK(links["/video/0"]["p"]["bm"] == 3);
  CHECK(links.count("/motion/0"));
  CHECK(links.count("/ptz/0"));
  auto d = r.call(cam0, sid, Method::Get, "/oic/d");
  REQUIRE(d.status == 200);
  CHECK((*d.body)["di"] == cam0);
  CHECK((*d.body)["rt"][1] == "oic.d.camera");

  // --- GET: two points of one resource, scale conversion ------------------------------------------
  auto v = r.call(cam0, sid, Method::Get, "/video/0");
  REQUIRE(v.status == 200);
  CHECK(v.reason == "OK");
  CHECK(v.body->dump() == R"({"rt":"oic.r.camera","enabled":true,"brightness":50})");

  // --- POST: UPDATE of a writable property, converted back ----------------------------------------
  auto p = r.call(cam0, sid, Method::Post, "/video/0", J{{"brightness", 70}, {"enabled", false}});
  REQUIRE(p.status == 200);
  CHECK(g_cam->state[cam0]["0/video/brightness"].int_value() == 7);
  CHECK(g_cam->state[cam0]["0/video/enabled"].bool_value() == false);
  int updates = 0;
  for (auto& e : g_cam->requests_seen)
    if (e.op() == gw::v1::UPDATE) {
      ++updates;
      CHECK(e.target().device() == cam0);
      CHECK(e.origin().adapter() == "oic");
      CHECK(e.origin().peer() == r.client->client().jid().full());
    }
  CHECK(updates == 2);
  v = r.call(cam0, sid, Method::Get, "/video/0");
  CHECK(v.body->dump() == R"({"rt":"oic.r.camera","enabled":false,"brightness":70})");

  // --- Service point: POST = INVOKE ---------------------------------------------------------------
  auto inv = r.call(cam0, sid, Method::Post, "/ptz/0", J{{"preset", 3}});
  REQUIRE(inv.status == 200);
  CHECK((*inv.body)["result"] == "moved");
  CHECK((*inv.body)["input"]["preset"] == 3);

  // --- Errors ---------------------------------------------------------------------------------------
  size_t before = g_cam->requests;
  CHECK(r.call(cam0, sid, Method::Get, "/no/such").status == 404);
  CHECK(r.call(cam0, sid, Method::Post, "/video/0", J{{"brightness", "bright"}}).status == 400);
  CHECK(r.call(cam0, sid, Method::Post, "/video/0", J{{"nope", 1}}).status == 400);
  CHECK(r.call(cam0, sid, Method::Delete, "/video/0").status == 405);
  CHECK(r.call(cam0, sid, Method::Post, "/oic/d", J{{"n", "x"}}).status == 405);
  CHECK(g_cam->requests == before);  // none of these reached the camera adapter
  REQUIRE(r.client->link->send(gloox::JID(r.jid_of(cam0)), sid, "<rest xmlns=\"rest.oic.org\"><url method=\"GET\">no url</url></rest>").ok());
  auto bad = r.next(sid);
  CHECK(bad.status == 400);
  CHECK((*bad.body)["error"].get<std::string>().rfind("rest.bad-url", 0) == 0);
  REQUIRE(r.client->link->send(gloox::JID(r.jid_of(cam0)), sid,
                               "<rest xmlns=\"rest.oic.org\"><url method=\"POST\">/video/0</url><body><json>{bad</json></body></rest>").ok());
  CHECK(r.next(sid).status == 400);

  // --- Pipelined requests are answered in order ----------------------------------------------------
  for (const char* path : {"/video/0", "/oic/p", "/no/such"})
    REQUIRE(r.client->link->send_rest(gloox::JID(r.jid_of(cam0)), sid,
                                      RestMessage::request(Method::Get, Url{"", "", path, ""})).ok());
  CHECK(r.next(sid).body->contains("brightness"));
  CHECK((*r.next(sid).body)["rt"][0] == "oic.wk.p");
  CHECK(r.next(sid).status == 404);

  // --- Observe on an event resource ------------------------------------------------------------------
  std::string osid = r.open(cam0);
  auto reg = r.call(cam0, osid, Method::Get, "/motion/0", std::nullopt, {{"Observe", "0"}});
  REQUIRE(reg.status == 200);
  REQUIRE(reg.observe());
  CHECK(*reg.observe() == 0);
  g_cam->emit_value(cam0, "0/motion/vmd", gw::make_int(1), true);
  auto n1 = r.next(osid);
  CHECK(n1.status == 200);
  REQUIRE(n1.observe());
  CHECK(*n1.observe() == 1);
  CHECK(n1.body->dump() == R"({"rt":"oic.r.sensor.motion","state":"active"})");
  g_cam->emit_value(cam0, "0/motion/vmd", gw::make_int(0), true);
  auto n2 = r.next(osid);
  CHECK(*n2.observe() == 2);
  CHECK((*n2.body)["state"] == "idle");
  // Another device's event is not delivered on this observation.
  g_cam->emit_value(cam1, "0/motion/vmd", gw::make_int(1), true);
  // Anything but the deregistration on an observing session: 409.
  CHECK(r.call(cam0, osid, Method::Get, "/video/0").status == 409);
  auto dereg = r.call(cam0, osid, Method::Get, "/motion/0", std::nullopt, {{"Observe", "1"}});
  CHECK(dereg.status == 200);
  CHECK_FALSE(dereg.observe());
  CHECK((*dereg.body)["state"] == "idle");  // GET on an event resource: its last event
  g_cam->emit_value(cam0, "0/motion/vmd", gw::make_int(1), true);
  CHECK(r.nothing_on(osid, 300));

  // --- Observe fed by the real loopback module's periodic REPORTs -----------------------------------
  std::string lsid = r.open(loop0);
  auto lreg = r.call(loop0, lsid, Method::Get, "/counter", std::nullopt, {{"Observe", "0"}});
  REQUIRE(lreg.status == 200);  // the loopback echoes an empty content: count null
  auto l1 = r.next(lsid);
  auto l2 = r.next(lsid);
  REQUIRE(l1.observe());
  REQUIRE(l2.observe());
  CHECK(*l2.observe() == *l1.observe() + 1);
  CHECK((*l2.body)["count"].get<int64_t>() == (*l1.body)["count"].get<int64_t>() + 1);
  // Closing the session cancels the observation.
  REQUIRE(r.client->link->close(gloox::JID(r.jid_of(loop0)), lsid).ok());
  r.client->docs.clear();
  CHECK(r.nothing_on(lsid, 400));

  // --- Remote access resources (Annex A) ------------------------------------------------------------
  auto ra = r.call(cam0, sid, Method::Get, "/XMPPResURI");
  REQUIRE(ra.status == 200);
  CHECK((*ra.body)["rt"] == "oic.ra.xmpp");
  CHECK((*ra.body)["address"] == "127.0.0.1");
  CHECK((*ra.body)["port"] == r.xs->port());
  CHECK((*ra.body)["status"] == "Connected");
  CHECK((*ra.body)["ErrorReason"] == "");
  auto ru = r.call(cam0, sid, Method::Get, "/XMPPUserResURI");
  REQUIRE(ru.status == 200);
  CHECK((*ru.body)["jid"] == "me@localhost");
  CHECK((*ru.body)["credential"] == "");  // write-only by default
  CHECK(r.call(cam0, sid, Method::Post, "/XMPPResURI", J{{"address", "127.0.0.1"}, {"port", 0}}).status == 400);
  CHECK(r.call(cam0, sid, Method::Post, "/XMPPUserResURI", J{{"jid", "me@localhost"}, {"credential", "%%%"}}).status == 400);

  // --- Reachability: the camera goes offline ---------------------------------------------------------
  std::string sid1 = r.open(cam1);
  CHECK(r.call(cam1, sid1, Method::Get, "/video/0").status == 200);
  g_cam->set_online(cam1, false);
  REQUIRE(r.pump([&] { return !r.available(cam1); }));
  CHECK(r.client->presence.count(r.jid_of(cam1)));
  before = g_cam->requests;
  auto off = r.call(cam1, sid1, Method::Get, "/video/0");
  CHECK(off.status == 503);
  CHECK(off.reason == "Service Unavailable");
  CHECK(g_cam->requests == before);  // failed fast, the camera adapter was not asked
  CHECK(r.call(cam1, sid1, Method::Get, "/oic/d").status == 200);  // the XMPP session itself is up
  g_cam->set_online(cam1, true);
  REQUIRE(r.pump([&] { return r.available(cam1); }));
  CHECK(r.call(cam1, sid1, Method::Get, "/video/0").status == 200);
  // The owner adapter's TARGET_NOT_REACHABLE (device offline but the event not yet seen) → 503.
  g_cam->online[cam1] = false;
  CHECK(r.call(cam1, sid1, Method::Get, "/video/0").status == 503);
  g_cam->online[cam1] = true;

  // --- A write to /XMPPResURI reconnects every device ------------------------------------------------
  int changes_before = r.client->presence[r.jid_of(cam0)].changes;
  auto w = r.call(cam0, sid, Method::Post, "/XMPPResURI", J{{"address", "127.0.0.1"}, {"port", r.xs->port()}});
  CHECK(w.status == 200);
  REQUIRE(r.pump([&] { return r.client->presence[r.jid_of(cam0)].changes >= changes_before + 2 && r.available(cam0); }));

  // --- Ping timeout: a frozen server is detected and the devices come back when it thaws -------------
  r.client->docs.clear();
  r.xs->freeze(true);
  pump_for(r.loop, {}, 2500);  // ping every 300 ms, timeout 1000 ms: every device has kicked itself
  auto* oic = r.g->host().find("oic");
  REQUIRE(oic);
  gw_buf st{};
  REQUIRE(oic->module()->desc->status(oic->self(), &st) == GW_OK);
  std::string status(reinterpret_cast<char*>(st.data), st.len);
  std::free(st.data);
  CHECK_MESSAGE(status.find("\"online\"") == std::string::npos, status);
  CHECK(status.find("s3cret") == std::string::npos);
  r.xs->freeze(false);
  r.new_client();  // the test client's own stream may have died with the freeze
  REQUIRE_MESSAGE(r.pump([&] { return r.available(cam0) && r.available(cam1) && r.available(loop0); }, 20000),
                  r.xs->log_tail());

  // --- Server restart: devices reconnect with back-off and serve requests again -----------------------
  r.client.reset();
  r.xs->stop();
  pump_for(r.loop, {}, 600);
  REQUIRE(r.xs->start().ok());
  r.new_client();
  REQUIRE_MESSAGE(r.pump([&] { return r.available(cam0) && r.available(cam1) && r.available(loop0); }, 20000),
                  r.xs->log_tail());
  sid = r.open(cam0);
  v = r.call(cam0, sid, Method::Get, "/video/0");
  CHECK(v.status == 200);
  CHECK(v.body->dump() == R"({"rt":"oic.r.camera","enabled":false,"brightness":70})");
  ra = r.call(cam0, sid, Method::Get, "/XMPPResURI");
  CHECK((*ra.body)["status"] == "Connected");

  // --- Graceful shutdown: unavailable presence for every device ---------------------------------------
  bool done = false;
  r.g->begin_shutdown([&] { done = true; });
  REQUIRE(r.pump([&] { return done; }));
  REQUIRE(r.pump([&] { return !r.available(cam0) && !r.available(cam1) && !r.available(loop0); }));
  r.g.reset();
}

TEST_CASE("gw_oic: a wrong password is reported in the status and retried with back-off") {
  auto xs = ProsodyServer::create();
  REQUIRE_MESSAGE(xs.ok(), (xs.ok() ? "" : xs.error().message));
  REQUIRE(xs.value()->register_user("me", "right").ok());
  gwtest::TempDir t;
  t.write("maps/oic.textproto", kMappings);
  std::string cfg = gateway_config(*xs.value());
  cfg.replace(cfg.find("s3cret pw"), 9, "wrong");
  auto cfgp = t.write("gw.textproto", cfg);
  gw::EventLoop loop;
  gw::Gateway::Options o;
  o.config_path = cfgp;
  o.module_dir = gwtest::module_dir();
  o.state_dir = t.file("state");
  o.builtins = {&kCamProbe};
  g_cam_devices = 1;
  auto g = gw::Gateway::create(loop, o);
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().message));
  REQUIRE(g.value()->start().ok());
  auto* oic = g.value()->host().find("oic");
  REQUIRE(oic);
  auto status = [&] {
    gw_buf st{};
    REQUIRE(oic->module()->desc->status(oic->self(), &st) == GW_OK);
    std::string s(reinterpret_cast<char*>(st.data), st.len);
    std::free(st.data);
    return s;
  };
  REQUIRE(pump_until(loop, {}, [&] { return status().find("authentication failed") != std::string::npos; }, 10000));
  CHECK(status().find("\"backoff\"") != std::string::npos);
  CHECK(status().find("wrong") == std::string::npos);  // never the password
  bool done = false;
  g.value()->begin_shutdown([&] { done = true; });
  REQUIRE(pump_until(loop, {}, [&] { return done; }));
}
