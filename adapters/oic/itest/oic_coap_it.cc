// Integration: local OIC over CoAP (PROTOCOL.md §8). An in-process Gateway with the real gw_oic
// module (CoAP enabled, ephemeral port on 127.0.0.1) and the in-process camera adapter.
//  1. The local OIC server driven by libcoap's own command-line client, coap-client-openssl, as a
//     subprocess: /oic/res, /oic/d, GET/POST in JSON and CBOR, Observe, 4.04/4.00/4.15/4.06/4.03.
//  2. XC-Proxy forwarding: a real prosody, an independent OIC Client (gloox + the codec) sending
//     <rest> requests to an RA-constrained device's JID; the gateway forwards them over CoAP to a
//     small libcoap server in this test (registering the OCF options) and answers over XMPP.
#include <coap3/coap.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <map>

#include "coap_format.h"
#include "gateway.h"
#include "gw/value.h"
#include "oic_rig.h"
#include "prosody_server.h"
#include "test_util.h"

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libgnutls.so\nleak:libtasn1.so\nleak:libgloox.so\n";
}

using namespace gw::oic;
using namespace gw::oic::itest;
using J = nlohmann::ordered_json;

namespace {

const char* kClient = "/usr/bin/coap-client-openssl";
const char* kLightDi = "5A1C0000-0000-4000-8000-00000000117E";
const char* kDeadDi = "DEAD0000-0000-4000-8000-0000000000DE";

std::string gateway_config(int xmpp_port, const std::string& ca, const std::string& extra_coap) {
  return R"(gateway_id: "oic-coap-it"
mapping_file: "maps"
router { request_timeout_ms: 3000 }
adapter { name: "cam" module: "camprobe" }
adapter {
  name: "oic"
  module: "oic"
  config {
    [type.googleapis.com/gw.oic.v1.OicConfig] {
      server_host: "127.0.0.1" server_port: )" +
         std::to_string(xmpp_port) + R"( domain: "localhost" )" + (ca.empty() ? "" : "ca_file: \"" + ca + "\"") + R"(
      user: "me" password: "s3cret pw"
      reconnect_initial_ms: 200 reconnect_max_ms: 60000 login_timeout_ms: 3000 request_timeout_ms: 3000
      coap { enabled: true listen_address: "127.0.0.1" listen_port_ephemeral: true )" +
         extra_coap + R"( }
    }
  }
}
)";
}

nlohmann::json adapter_status(gw::Gateway& g, const std::string& name) {
  auto* inst = g.host().find(name);
  REQUIRE(inst);
  gw_buf out{};
  REQUIRE(inst->module()->desc->status(inst->self(), &out) == GW_OK);
  std::string s(reinterpret_cast<char*>(out.data), out.len);
  std::free(out.data);
  return nlohmann::json::parse(s);
}

struct Gw {
  gwtest::TempDir t;
  gw::EventLoop loop;
  std::unique_ptr<gw::Gateway> g;
  int port = 0;
  int runs = 0;

  void start(int xmpp_port, const std::string& ca, const std::string& extra_coap = "") {
    // The rig's mappings minus the loopback module's route (not loaded here).
    std::string maps = kMappings;
    auto b = maps.find("route { name: \"loop-up\"");
    maps.erase(b, maps.find('\n', b) - b);
    t.write("maps/oic.textproto", maps);
    auto cfgp = t.write("gw.textproto", gateway_config(xmpp_port, ca, extra_coap));
    gw::Gateway::Options o;
    o.config_path = cfgp;
    o.module_dir = gwtest::module_dir();
    o.state_dir = t.file("state");
    o.builtins = {&kCamProbe};
    g_cam_devices = 2;
    auto gg = gw::Gateway::create(loop, o);
    REQUIRE_MESSAGE(gg.ok(), (gg.ok() ? "" : gg.error().message));
    g = std::move(gg.value());
    REQUIRE(g->start().ok());
    // EventLoop::run_once(1)'s guard timer can fire before the poll, which then blocks until the
    // next timer (seconds away here: XMPP back-off); a short repeating timer bounds every turn.
    loop.start_timer(5, 5, [] {});
    for (int i = 0; i < 20; ++i) loop.run_once(1);  // the start timer: bridging
    port = adapter_status(*g, "oic")["coap"]["port"].get<int>();
    REQUIRE(port > 0);
  }
  std::string uri(const std::string& path) { return "coap://127.0.0.1:" + std::to_string(port) + path; }

  // Runs coap-client-openssl while the gateway loop keeps running; returns {exit code, output}.
  std::pair<int, std::string> client(std::vector<std::string> args, int ms = 10000) {
    args.insert(args.begin(), {kClient, "-B", "5"});
    gwtest::Process p(args, t.file("coap-client-" + std::to_string(++runs) + ".log"));
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    int rc = -1;
    while (std::chrono::steady_clock::now() < end) {
      loop.run_once(1);
      rc = p.wait(std::chrono::milliseconds(1));
      if (rc >= 0) break;
    }
    std::string out = p.output();
    // GW_COAP_IT_TRANSCRIPT=file: append every command and its output (for documentation).
    if (const char* tr = std::getenv("GW_COAP_IT_TRANSCRIPT")) {
      std::ofstream f(tr, std::ios::app);
      f << "$";
      for (const auto& a : args) f << " " << (a.find_first_of(" {\"") != std::string::npos ? "'" + a + "'" : a);
      f << "\n" << out << (out.empty() || out.back() != '\n' ? "\n" : "") << "[exit " << rc << "]\n";
    }
    return {rc, out};
  }
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// A minimal OCF client (libcoap, same process): GET with Accept 10000 and option 2049.
struct OcfAnswer {
  int code = 0;
  unsigned cf = 0, version = 0;
  std::string payload;
  bool done = false;
};
OcfAnswer* g_ocf = nullptr;

coap_response_t ocf_response(coap_session_t*, const coap_pdu_t*, const coap_pdu_t* rcv, const coap_mid_t) {
  if (!g_ocf) return COAP_RESPONSE_OK;
  g_ocf->code = gw::oic::adapter::coap_code_to_int(coap_pdu_get_code(rcv));
  coap_opt_iterator_t it;
  if (coap_opt_t* o = coap_check_option(rcv, COAP_OPTION_CONTENT_FORMAT, &it))
    g_ocf->cf = coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
  if (coap_opt_t* o = coap_check_option(rcv, 2053, &it)) g_ocf->version = coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
  size_t len = 0;
  const uint8_t* data = nullptr;
  if (coap_get_data(rcv, &len, &data)) g_ocf->payload.assign(reinterpret_cast<const char*>(data), len);
  g_ocf->done = true;
  return COAP_RESPONSE_OK;
}

OcfAnswer ocf_get(Gw& w, const std::string& path) {
  OcfAnswer a;
  g_ocf = &a;
  coap_context_t* ctx = coap_new_context(nullptr);
  REQUIRE(ctx);
  coap_register_option(ctx, 2049);
  coap_register_option(ctx, 2053);
  coap_register_response_handler(ctx, ocf_response);
  coap_address_t dst;
  coap_address_init(&dst);
  dst.addr.sin.sin_family = AF_INET;
  dst.addr.sin.sin_port = htons(static_cast<uint16_t>(w.port));
  dst.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.size = sizeof(sockaddr_in);
  coap_session_t* s = coap_new_client_session(ctx, nullptr, &dst, COAP_PROTO_UDP);
  REQUIRE(s);
  coap_pdu_t* pdu = coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, s);
  uint8_t tok[8];
  size_t tl = sizeof tok;
  coap_session_new_token(s, &tl, tok);
  coap_add_token(pdu, tl, tok);
  std::string p = path.substr(1);
  for (size_t b = 0; b <= p.size();) {
    size_t e = p.find('/', b);
    if (e == std::string::npos) e = p.size();
    coap_add_option(pdu, COAP_OPTION_URI_PATH, e - b, reinterpret_cast<const uint8_t*>(p.data() + b));
    b = e + 1;
  }
  uint8_t buf[4];
  coap_add_option(pdu, COAP_OPTION_ACCEPT, coap_encode_var_safe(buf, sizeof buf, 10000), buf);
  coap_add_option(pdu, 2049, coap_encode_var_safe(buf, sizeof buf, 0x0800), buf);
  REQUIRE(coap_send(s, pdu) != COAP_INVALID_MID);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!a.done && std::chrono::steady_clock::now() < end) {
    w.loop.run_once(1);
    coap_io_process(ctx, COAP_IO_NO_WAIT);
  }
  coap_session_release(s);
  coap_free_context(ctx);
  g_ocf = nullptr;
  return a;
}

}  // namespace

TEST_CASE("gw_oic CoAP: local OIC server driven by coap-client-openssl") {
  REQUIRE_MESSAGE(::access(kClient, X_OK) == 0, "coap-client-openssl missing (Debian package libcoap3-bin)");
  Gw w;
  w.start(1, "");  // XMPP unreachable on purpose: the CoAP side works without it
  REQUIRE(g_cam);
  const std::string cam0 = g_cam->uuids[0];
  auto st = adapter_status(*w.g, "oic")["coap"];
  const std::string gwdi = st["di"].get<std::string>();
  CHECK(gwdi.size() == 36);

  // --- /oic/res (JSON): the gateway, then one entry per bridged device with prefixed hrefs -------
  auto [rc, out_] = w.client({"-A", "50", w.uri("/oic/res")});
  const std::string out = out_;
  REQUIRE_MESSAGE(rc == 0, out);
  J res = J::parse(out, nullptr, false);
  REQUIRE_MESSAGE(res.is_array(), out);
  REQUIRE(res.size() == 3);
  CHECK(res[0]["di"] == gwdi);
  std::map<std::string, J> links;
  for (auto& e : res)
    for (auto& l : e["links"]) links[l["href"].get<std::string>()] = l;
  CHECK(links.count("/oic/d"));
  CHECK(links.count("/XMPPResURI"));
  CHECK(links.count("/XMPPUserResURI"));
  REQUIRE(links.count("/" + cam0 + "/video/0"));
  CHECK(links["/" + cam0 + "/video/0"]["rt"][0] == "oic.r.camera");
  CHECK(links["/" + cam0 + "/video/0"]["p"]["bm"] == 3);
  CHECK(links.count("/" + cam0 + "/oic/d"));
  CHECK(links.count("/" + cam0 + "/ptz/0"));
  CHECK_FALSE(links.count("/" + cam0 + "/XMPPResURI"));
  // rt filter
  auto [rcf, outf_] = w.client({"-A", "50", w.uri("/oic/res?rt=oic.r.sensor.motion")});
  const std::string outf = outf_;
  J filtered = J::parse(outf, nullptr, false);
  REQUIRE_MESSAGE(filtered.is_array(), outf);
  CHECK(filtered.size() == 2);
  CHECK(filtered[0]["links"].size() == 1);

  // --- /oic/d of the gateway and of a bridged device ----------------------------------------------
  auto [rcd, outd_] = w.client({"-A", "50", w.uri("/oic/d")});
  const std::string outd = outd_;
  J d = J::parse(outd, nullptr, false);
  CHECK(d["di"] == gwdi);
  CHECK(d["rt"][0] == "oic.wk.d");
  auto [rcd2, outd2_] = w.client({"-A", "application/json", w.uri("/" + cam0 + "/oic/d")});
  const std::string outd2 = outd2_;
  J d2 = J::parse(outd2, nullptr, false);
  CHECK(d2["di"] == cam0);
  CHECK(d2["rt"][1] == "oic.d.camera");

  // --- GET a bridged resource: JSON, then CBOR (application/cbor and vnd.ocf+cbor) --------------
  auto [rcg, outg_] = w.client({"-A", "50", w.uri("/" + cam0 + "/video/0")});
  const std::string outg = outg_;
  CHECK(trim(outg) == R"({"rt":"oic.r.camera","enabled":true,"brightness":50})");
  std::string cbor_file = w.t.file("get.cbor");
  auto [rcc, outc_] = w.client({"-A", "60", "-o", cbor_file, w.uri("/" + cam0 + "/video/0")});
  const std::string outc = outc_;
  CHECK(rcc == 0);
  std::string cb = gwtest::read_file(cbor_file);
  auto cv = gw::value_from_cbor(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(cb.data()), cb.size()));
  REQUIRE_MESSAGE(cv.ok(), outc);
  CHECK(gw::value_to_json(cv.value()) == R"({"rt":"oic.r.camera","enabled":true,"brightness":50})");
  // OCF: Accept 10000 with OCF-Accept-Content-Format-Version 1.0.0. coap-client-openssl cannot
  // register option 2053, so it drops (RST) the answer that carries it (ENGINEERING-NOTES): a
  // libcoap client in this process that registers 2049/2053, as an OCF client must, checks it.
  {
    auto got = ocf_get(w, "/" + cam0 + "/video/0");
    CHECK(got.code == 205);
    CHECK(got.cf == 10000);
    CHECK(got.version == 0x0800);
    CHECK(got.payload == cb);
  }

  // --- POST: JSON and CBOR bodies become UPDATE envelopes ------------------------------------------
  auto [rcp, outp_] = w.client({"-m", "post", "-t", "50", "-A", "50", "-e", R"({"brightness":70})",
                              w.uri("/" + cam0 + "/video/0")});
  const std::string outp = outp_;
  CHECK_MESSAGE(rcp == 0, outp);
  CHECK(g_cam->state[cam0]["0/video/brightness"].int_value() == 7);
  CHECK(outp.find(R"("brightness":70)") != std::string::npos);
  // {"enabled": false} in CBOR
  w.t.write("post.cbor", std::string("\xa1\x67" "enabled" "\xf4", 10));
  auto [rcp2, outp2_] = w.client({"-m", "post", "-t", "60", "-f", w.t.file("post.cbor"), "-A", "50",
                                w.uri("/" + cam0 + "/video/0")});
  const std::string outp2 = outp2_;
  CHECK_MESSAGE(rcp2 == 0, outp2);
  CHECK(g_cam->state[cam0]["0/video/enabled"].bool_value() == false);
  int updates = 0;
  for (auto& e : g_cam->requests_seen)
    if (e.op() == gw::v1::UPDATE) {
      ++updates;
      CHECK(e.origin().adapter() == "oic");
      CHECK(e.origin().peer().rfind("coap://127.0.0.1:", 0) == 0);
    }
  CHECK(updates == 2);
  // Service point: POST = INVOKE
  auto [rci, outi_] = w.client({"-m", "post", "-t", "50", "-A", "50", "-e", R"({"preset":3})",
                              w.uri("/" + cam0 + "/ptz/0")});
  const std::string outi = outi_;
  CHECK(outi.find(R"("result":"moved")") != std::string::npos);

  // --- Errors: 4.04, 4.00, 4.15, 4.06, 4.05, 4.03 --------------------------------------------------
  size_t before = g_cam->requests;
  auto [r404, o404_] = w.client({"-A", "50", w.uri("/no/such")});
  const std::string o404 = o404_;
  CHECK_MESSAGE(o404.find("4.04") != std::string::npos, o404);
  auto [r404b, o404b_] = w.client({"-A", "50", w.uri("/" + cam0 + "/nope")});
  const std::string o404b = o404b_;
  CHECK_MESSAGE(o404b.find("4.04") != std::string::npos, o404b);
  auto [r400, o400_] = w.client({"-m", "post", "-t", "50", "-e", "{bad", w.uri("/" + cam0 + "/video/0")});
  const std::string o400 = o400_;
  CHECK_MESSAGE(o400.find("4.00") != std::string::npos, o400);
  auto [r400c, o400c_] = w.client({"-m", "post", "-t", "60", "-e", "%a1%65va", w.uri("/" + cam0 + "/video/0")});
  const std::string o400c = o400c_;
  CHECK_MESSAGE(o400c.find("4.00") != std::string::npos, o400c);
  auto [r400t, o400t_] = w.client({"-m", "post", "-t", "50", "-e", R"({"brightness":"bright"})",
                                 w.uri("/" + cam0 + "/video/0")});
  const std::string o400t = o400t_;
  CHECK_MESSAGE(o400t.find("4.00") != std::string::npos, o400t);
  auto [r415, o415_] = w.client({"-m", "post", "-t", "text/plain", "-e", "hello", w.uri("/" + cam0 + "/video/0")});
  const std::string o415 = o415_;
  CHECK_MESSAGE(o415.find("4.15") != std::string::npos, o415);
  auto [r406, o406_] = w.client({"-A", "text/plain", w.uri("/" + cam0 + "/video/0")});
  const std::string o406 = o406_;
  CHECK_MESSAGE(o406.find("4.06") != std::string::npos, o406);
  auto [r405, o405_] = w.client({"-m", "delete", w.uri("/" + cam0 + "/video/0")});
  const std::string o405 = o405_;
  CHECK_MESSAGE(o405.find("4.05") != std::string::npos, o405);
  auto [r405b, o405b_] = w.client({"-m", "post", "-t", "50", "-e", "{}", w.uri("/oic/d")});
  const std::string o405b = o405b_;
  CHECK_MESSAGE(o405b.find("4.05") != std::string::npos, o405b);
  CHECK(g_cam->requests == before);  // none of these reached the camera adapter

  // --- Remote-access resources: readable, credential write-only, writes forbidden by default ----------
  auto [rra, ora_] = w.client({"-A", "50", w.uri("/XMPPResURI")});
  const std::string ora = ora_;
  J ra = J::parse(ora, nullptr, false);
  CHECK(ra["rt"] == "oic.ra.xmpp");
  CHECK(ra["address"] == "127.0.0.1");
  CHECK(ra["port"] == 1);
  CHECK(ra["status"] != "Connected");
  auto [rru, oru_] = w.client({"-A", "50", w.uri("/XMPPUserResURI")});
  const std::string oru = oru_;
  J ru = J::parse(oru, nullptr, false);
  CHECK(ru["jid"] == "me@localhost");
  CHECK(ru["credential"] == "");
  auto [r403, o403_] = w.client({"-m", "post", "-t", "50", "-e", R"({"address":"10.0.0.1","port":5222})",
                               w.uri("/XMPPResURI")});
  const std::string o403 = o403_;
  CHECK_MESSAGE(o403.find("4.03") != std::string::npos, o403);

  // --- Device offline: 5.03 at once -------------------------------------------------------------------
  const std::string cam1 = g_cam->uuids[1];
  g_cam->set_online(cam1, false);
  for (int i = 0; i < 20; ++i) w.loop.run_once(1);
  auto [r503, o503_] = w.client({"-A", "50", w.uri("/" + cam1 + "/video/0")});
  const std::string o503 = o503_;
  CHECK_MESSAGE(o503.find("5.03") != std::string::npos, o503);
  g_cam->set_online(cam1, true);

  // --- Observe (RFC 7641): registration, then a notification per REPORT of the device ---------------
  {
    gwtest::Process obs({kClient, "-s", "20", "-w", "-A", "50", w.uri("/" + cam0 + "/video/0")}, w.t.file("observe.log"));
    auto until = [&](const std::string& needle) {
      auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < end) {
        w.loop.run_once(1);
        if (obs.output().find(needle) != std::string::npos) return true;
      }
      return false;
    };
    REQUIRE_MESSAGE(until(R"("brightness":70})"), obs.output());
    g_cam->emit_value(cam0, "0/video/brightness", gw::make_int(9), false);
    REQUIRE_MESSAGE(until(R"("brightness":90})"), obs.output());
    g_cam->emit_value(cam0, "0/video/enabled", gw::make_bool(true), false);
    REQUIRE_MESSAGE(until(R"({"rt":"oic.r.camera","enabled":true,"brightness":90})"), obs.output());
    obs.signal(SIGTERM);
    obs.wait(std::chrono::seconds(5));
    // An event resource: the observation's first answer is the last event (null before any).
    gwtest::Process ev({kClient, "-s", "20", "-w", "-A", "50", w.uri("/" + cam0 + "/motion/0")}, w.t.file("observe2.log"));
    auto until2 = [&](const std::string& needle) {
      auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < end) {
        w.loop.run_once(1);
        if (ev.output().find(needle) != std::string::npos) return true;
      }
      return false;
    };
    REQUIRE_MESSAGE(until2(R"({"rt":"oic.r.sensor.motion","state":null})"), ev.output());
    g_cam->emit_value(cam0, "0/motion/vmd", gw::make_int(1), true);
    REQUIRE_MESSAGE(until2(R"({"rt":"oic.r.sensor.motion","state":"active"})"), ev.output());
    ev.signal(SIGTERM);
    ev.wait(std::chrono::seconds(5));
  }
  auto after = adapter_status(*w.g, "oic")["coap"];
  CHECK(after["notifications"].get<int>() >= 3);
  CHECK(after["pending_answers"] == 0);
  w.g->begin_shutdown([] {});
  for (int i = 0; i < 50; ++i) w.loop.run_once(1);
}

// ---------------------------------------------------------------------------------------------------
// XC-Proxy: a constrained OIC device served by a libcoap server in this process.
namespace {

struct Light {
  coap_context_t* ctx = nullptr;
  int port = 0;
  bool value = false;
  std::vector<std::string> seen;  // "<method> <path> cf=<n> accept=<n> 2049=<n> 2053=<n>"
};
Light* g_light = nullptr;

unsigned opt(const coap_pdu_t* pdu, uint16_t n, unsigned dflt = 0xFFFF) {
  coap_opt_iterator_t it;
  coap_opt_t* o = coap_check_option(pdu, n, &it);
  return o ? coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)) : dflt;
}

void light_handler(coap_resource_t*, coap_session_t*, const coap_pdu_t* req, const coap_string_t* query,
                   coap_pdu_t* resp) {
  std::string m = coap_pdu_get_code(req) == COAP_REQUEST_CODE_GET ? "GET" : "POST";
  g_light->seen.push_back(m + " /light" + (query ? "?" + std::string(reinterpret_cast<const char*>(query->s), query->length) : "") +
                          " cf=" + std::to_string(opt(req, COAP_OPTION_CONTENT_FORMAT)) +
                          " accept=" + std::to_string(opt(req, COAP_OPTION_ACCEPT)) +
                          " 2049=" + std::to_string(opt(req, 2049)) + " 2053=" + std::to_string(opt(req, 2053)));
  if (m == "POST") {
    size_t len = 0;
    const uint8_t* data = nullptr;
    coap_get_data(req, &len, &data);
    auto v = gw::value_from_cbor(std::span<const uint8_t>(data, len));
    if (!v.ok() || !gw::map_find(v.value(), "value")) {
      coap_pdu_set_code(resp, COAP_RESPONSE_CODE_BAD_REQUEST);
      coap_add_data(resp, 9, reinterpret_cast<const uint8_t*>("bad value"));
      return;
    }
    g_light->value = gw::map_find(v.value(), "value")->bool_value();
  }
  gw::v1::Value body;
  gw::map_set(body, "rt", gw::make_string("oic.r.switch.binary"));
  gw::map_set(body, "value", gw::make_bool(g_light->value));
  auto bytes = gw::value_to_cbor(body);
  coap_pdu_set_code(resp, m == "GET" ? COAP_RESPONSE_CODE_CONTENT : COAP_RESPONSE_CODE_CHANGED);
  uint8_t buf[4];
  coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf, sizeof buf, 10000), buf);
  coap_add_option(resp, 2053, coap_encode_var_safe(buf, sizeof buf, 0x0800), buf);
  coap_add_data(resp, bytes.size(), bytes.data());
}

bool start_light(Light& l) {
  l.ctx = coap_new_context(nullptr);
  if (!l.ctx) return false;
  coap_register_option(l.ctx, 2049);
  coap_register_option(l.ctx, 2053);
  for (int attempt = 0; attempt < 20 && !l.port; ++attempt) {
    // A free UDP port: bind 0, read it, release it, then let libcoap bind it.
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &al);
    ::close(fd);
    coap_address_t ca;
    coap_address_init(&ca);
    ca.addr.sin = a;
    ca.size = sizeof a;
    if (coap_new_endpoint(l.ctx, &ca, COAP_PROTO_UDP)) l.port = ntohs(a.sin_port);
  }
  coap_resource_t* r = coap_resource_init(coap_make_str_const("light"), 0);
  coap_register_request_handler(r, COAP_REQUEST_GET, light_handler);
  coap_register_request_handler(r, COAP_REQUEST_POST, light_handler);
  coap_add_resource(l.ctx, r);
  return l.port != 0;
}

}  // namespace

TEST_CASE("gw_oic CoAP: XC-Proxy forwards <rest> requests for a constrained device over CoAP") {
  auto xs = ProsodyServer::create();
  REQUIRE_MESSAGE(xs.ok(), (xs.ok() ? "" : xs.error().message));
  REQUIRE((*xs)->register_user("me", "s3cret pw").ok());
  // A UDP port that swallows everything: the timeout case.
  int sink = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  REQUIRE(::bind(sink, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  ::getsockname(sink, reinterpret_cast<sockaddr*>(&sa), &sl);

  Gw w;
  // The gateway starts first (its module runs coap_startup() once for the process).
  Light light;
  g_light = &light;
  // Port of the light is needed in the config: pick it before the gateway, bind after startup.
  coap_startup();
  REQUIRE(start_light(light));
  std::string devices = std::string("forward_timeout_ms: 600 device { di: \"") + kLightDi +
                        "\" uri: \"coap://127.0.0.1:" + std::to_string(light.port) +
                        "\" device_type: \"oic.d.light\" name: \"lamp\" } device { di: \"" + kDeadDi +
                        "\" uri: \"coap://127.0.0.1:" + std::to_string(ntohs(sa.sin_port)) + "\" }";
  w.start((*xs)->port(), (*xs)->ca_file(), devices);

  auto client = std::make_unique<OicClient>("me@localhost/OIC/1.0/Client/C11E0000-0000-4000-8000-00000000C11E",
                                            "s3cret pw", "localhost", (*xs)->port(), (*xs)->ca_file());
  REQUIRE(client->start());
  auto pump = [&](const std::function<bool()>& pred, int ms = 15000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      w.loop.run_once(1);
      coap_io_process(light.ctx, COAP_IO_NO_WAIT);
      client->pump(1000);
    }
    return true;
  };
  const std::string light_jid = std::string("me@localhost/OIC/1.0/oic.d.light/") + kLightDi;
  const std::string dead_jid = std::string("me@localhost/OIC/1.0/oic.d.unknown/") + kDeadDi;
  REQUIRE_MESSAGE(pump([&] {
                    return client->connected && client->presence.count(light_jid) && client->presence[light_jid].available &&
                           client->presence.count(dead_jid);
                  }),
                  "constrained devices did not log in\n" << (*xs)->log_tail());

  auto open = [&](const std::string& jid) {
    std::string sid = client->link->new_sid();
    REQUIRE(client->link->open(gloox::JID(jid), sid).ok());
    REQUIRE(pump([&] { return std::find(client->opened.begin(), client->opened.end(), sid) != client->opened.end(); }));
    return sid;
  };
  auto call = [&](const std::string& jid, const std::string& sid, Method m, const std::string& path,
                  std::optional<J> body = std::nullopt) {
    auto req = RestMessage::request(m, Url{"coap", "lamp", path, ""});
    auto q = path.find('?');
    if (q != std::string::npos) req.url = Url{"coap", "lamp", path.substr(0, q), path.substr(q + 1)};
    req.headers.push_back({"Accept", "application/json"});
    if (body) req.body = *body;
    REQUIRE(client->link->send_rest(gloox::JID(jid), sid, req).ok());
    RestMessage out;
    bool got = pump([&] {
      for (auto it = client->docs.begin(); it != client->docs.end(); ++it)
        if (it->sid == sid) {
          auto m2 = decode_rest_xml(it->xml);
          REQUIRE_MESSAGE(m2.ok(), it->xml);
          out = m2.value();
          client->docs.erase(it);
          return true;
        }
      return false;
    });
    REQUIRE_MESSAGE(got, "no answer on " << sid);
    return out;
  };

  std::string sid = open(light_jid);
  auto g1 = call(light_jid, sid, Method::Get, "/light?if=oic.if.baseline");
  CHECK(g1.status == 200);
  CHECK(g1.reason == "OK");
  REQUIRE(g1.body);
  CHECK(g1.body->dump() == R"({"rt":"oic.r.switch.binary","value":false})");
  REQUIRE(light.seen.size() == 1);
  CHECK(light.seen[0] == "GET /light?if=oic.if.baseline cf=65535 accept=10000 2049=2048 2053=65535");

  auto p1 = call(light_jid, sid, Method::Post, "/light", J{{"value", true}});
  CHECK(p1.status == 200);
  REQUIRE(p1.body);
  CHECK((*p1.body)["value"] == true);
  CHECK(light.value);
  REQUIRE(light.seen.size() == 2);
  CHECK(light.seen[1] == "POST /light cf=10000 accept=10000 2049=2048 2053=2048");

  auto bad = call(light_jid, sid, Method::Post, "/light", J{{"level", 3}});
  CHECK(bad.status == 400);
  CHECK((*bad.body)["error"] == "bad value");
  auto nf = call(light_jid, sid, Method::Get, "/nope");
  CHECK(nf.status == 404);
  CHECK(nf.reason == "Not Found");

  // The RA resources of a constrained device are the XC-Proxy's own.
  auto ra = call(light_jid, sid, Method::Get, "/XMPPResURI");
  CHECK(ra.status == 200);
  CHECK((*ra.body)["status"] == "Connected");

  // Timeout: the device never answers.
  std::string dsid = open(dead_jid);
  auto t0 = std::chrono::steady_clock::now();
  auto to = call(dead_jid, dsid, Method::Get, "/oic/d");
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(to.status == 504);
  CHECK(to.reason == "Gateway Timeout");
  CHECK(took >= 500);
  CHECK(took < 2900);  // ours (forward_timeout_ms 600), not the router's 3000

  auto st = adapter_status(*w.g, "oic")["coap"];
  CHECK(st["forwarded"].get<int>() == 5);
  CHECK(st["forwards_pending"] == 0);

  client.reset();
  w.g->begin_shutdown([] {});
  for (int i = 0; i < 50; ++i) w.loop.run_once(1);
  w.g.reset();
  coap_free_context(light.ctx);
  g_light = nullptr;
  ::close(sink);
}
