// Integration: two gloox clients of one account (the spec's OIC Client and OIC Server full JIDs)
// exchange <rest> GET / RESPONSE over message-based XEP-0047 through a real prosody on loopback,
// driven from ONE thread with connect(false) + recv(timeout).
#include <doctest/doctest.h>

#include <gloox/client.h>
#include <gloox/connectionlistener.h>
#include <gloox/message.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "oic/codec/base64.h"
#include "oic/codec/jid.h"
#include "oic/codec/rest.h"
#include "oic/xmpp/client_setup.h"
#include "oic/xmpp/ibb_extension.h"
#include "oic/xmpp/ibb_link.h"
#include "prosody_fixture.h"
#include "test_util.h"

using namespace gw::oic;
using gw::oic::test::ProsodyFixture;
using gw::oic::xmpp::IbbLink;

// gloox 1.0.24 leaks GnuTLS credentials: GnuTLSClient::cleanup() (run by every disconnect)
// re-initialises them and nothing frees them, and GnuTLSBase::channelBinding() leaks its buffer
// (confirmed with fast_unwind_on_malloc=0). LSan's default fast unwinder cannot walk through
// GnuTLS frames, so the suppressions name the libraries: only gloox creates GnuTLS/libtasn1
// objects in this binary. Keeps GW_SANITIZE builds usable; our own leaks are still reported.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libgnutls.so\nleak:libtasn1.so\nleak:libgloox.so\n";
}

namespace {

struct Event {
  std::string kind;  // open, open-failed, document, closed, error
  std::string sid;
  std::string text;
  std::string peer;
};

class Peer : public gloox::ConnectionListener {
 public:
  // ca_file / server_name: override what the certificate is verified against (negative tests).
  Peer(const std::string& full_jid, const std::string& password, const ProsodyFixture& p, ibb::Config cfg = {},
       const std::string& ca_file = "", const std::string& server_name = "")
      : requested_resource_(gloox::JID(full_jid).resource()), client_(gloox::JID(full_jid), password, p.port()) {
    client_.setServer(p.domain());
    xmpp::ClientSecurity sec;
    sec.ca_files = {ca_file.empty() ? p.ca_file() : ca_file};
    sec.server_name = server_name.empty() ? p.domain() : server_name;
    setup_ok = xmpp::apply_client_security(client_, sec, &setup_error);
    client_.registerConnectionListener(this);
    IbbLink::Callbacks cb;
    cb.on_open = [this](const gloox::JID& peer, const std::string& sid, bool mine) {
      events.push_back({mine ? "open-mine" : "open-theirs", sid, "", peer.full()});
    };
    cb.on_open_failed = [this](const gloox::JID& peer, const std::string& sid, const gw::Error& e) {
      events.push_back({"open-failed", sid, e.message, peer.full()});
    };
    cb.on_document = [this](const gloox::JID& peer, const std::string& sid, std::string xml) {
      events.push_back({"document", sid, std::move(xml), peer.full()});
    };
    cb.on_closed = [this](const gloox::JID& peer, const std::string& sid, std::size_t) {
      events.push_back({"closed", sid, "", peer.full()});
    };
    cb.on_session_error = [this](const gloox::JID& peer, const std::string& sid, const gw::Error& e) {
      events.push_back({"error", sid, e.message, peer.full()});
    };
    link = std::make_unique<IbbLink>(client_, cfg, std::move(cb));
  }
  ~Peer() override {
    link.reset();
    client_.disconnect();
  }

  bool start() { return setup_ok && client_.connect(false); }
  void pump(int us) { client_.recv(us); }

  gloox::Client& client() { return client_; }
  gloox::JID jid() { return client_.jid(); }

  // Events of `kind` (removed from the queue), in order.
  std::vector<Event> take(const std::string& kind) {
    std::vector<Event> out, keep;
    for (auto& e : events) (e.kind == kind ? out : keep).push_back(e);
    events.swap(keep);
    return out;
  }

  bool setup_ok = false;
  std::string setup_error;
  std::string tls_protocol;
  bool connected = false;
  bool disconnected = false;
  gloox::ConnectionError disconnect_reason = gloox::ConnNoError;
  int tls_status = -1;
  std::string bound_resource;
  std::string requested_resource_;
  std::vector<Event> events;
  std::unique_ptr<IbbLink> link;

  void onConnect() override { connected = true; }
  void onDisconnect(gloox::ConnectionError e) override {
    disconnected = true;
    disconnect_reason = e;
  }
  void onResourceBind(const std::string& resource) override {
    bound_resource = resource;
    // OIC RA 7.2: a server that changes the offered resource gets disconnected.
    if (resource != requested_resource_) client_.disconnect();
  }
  bool onTLSConnect(const gloox::CertInfo& info) override {
    tls_status = info.status;
    tls_protocol = info.protocol;
    return info.status == gloox::CertOk;  // verified against the generated CA, for "localhost"
  }

 private:
  gloox::Client client_;
};

// Drives both clients on this thread until pred() or the deadline.
bool pump_until(std::vector<Peer*> peers, const std::function<bool()>& pred, int seconds = 15) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    for (Peer* p : peers) {
      if (p->disconnected) return false;
      p->pump(5000);
    }
  }
  return true;
}

const char* kClientUuid = "FFFFB960-FFFF-46F7-BABE-9E6234671ADC";
const char* kCameraUuid = "0685B960-736F-46F7-BEC0-9E6CBD671ADC";

}  // namespace

TEST_CASE("prosody: the server certificate must chain to the configured CA and carry the domain") {
  auto fx = ProsodyFixture::start();
  REQUIRE_MESSAGE(fx.ok(), (fx.ok() ? "" : fx.error().message));
  ProsodyFixture& p = *fx.value();
  REQUIRE(p.register_user("me", "s3cret-pass").ok());
  auto cj = make_client_jid("me", p.domain(), kClientUuid);
  REQUIRE(cj.ok());

  // A CA of our own that did not sign prosody's certificate.
  gwtest::TempDir t;
  std::string other_ca = t.file("other-ca.pem");
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other-ca"
                    " -keyout " + t.file("other-ca.key") + " -out " + other_ca + " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);

  SUBCASE("unknown signer") {
    Peer c(cj->full(), "s3cret-pass", p, {}, other_ca);
    REQUIRE(c.start());
    CHECK_FALSE(pump_until({&c}, [&] { return c.connected; }, 10));
    CHECK(c.disconnected);
    CHECK(c.disconnect_reason == gloox::ConnTlsFailed);
    CHECK((c.tls_status & gloox::CertSignerUnknown) != 0);
  }
  SUBCASE("right CA, wrong name") {
    Peer c(cj->full(), "s3cret-pass", p, {}, "", "camera-cloud.example");
    REQUIRE(c.start());
    CHECK_FALSE(pump_until({&c}, [&] { return c.connected; }, 10));
    CHECK(c.disconnect_reason == gloox::ConnTlsFailed);
    CHECK((c.tls_status & gloox::CertWrongPeer) != 0);
  }
  SUBCASE("CA file missing: a clear setup error, no connection attempt") {
    Peer c(cj->full(), "s3cret-pass", p, {}, t.file("absent.pem"));
    CHECK_FALSE(c.setup_ok);
    CHECK(c.setup_error.find("absent.pem") != std::string::npos);
  }
}

TEST_CASE("prosody: multi-block <rest> GET and RESPONSE over message-based IBB") {
  auto fx = ProsodyFixture::start();
  REQUIRE_MESSAGE(fx.ok(), (fx.ok() ? "" : fx.error().message));
  ProsodyFixture& p = *fx.value();
  auto reg = p.register_user("me", "s3cret-pass");
  REQUIRE_MESSAGE(reg.ok(), (reg.ok() ? "" : reg.error().message));

  auto cj = make_client_jid("me", p.domain(), kClientUuid);
  auto sj = make_server_jid("me", p.domain(), "oic.d.camera", kCameraUuid);
  REQUIRE(cj.ok());
  REQUIRE(sj.ok());

  Peer client(cj->full(), "s3cret-pass", p);
  Peer camera(sj->full(), "s3cret-pass", p);
  REQUIRE(client.start());
  REQUIRE(camera.start());
  REQUIRE_MESSAGE(pump_until({&client, &camera}, [&] { return client.connected && camera.connected; }),
                  "login failed: client disc=" << client.disconnect_reason << " tls=" << client.tls_status
                                               << " camera disc=" << camera.disconnect_reason << "\n" << p.log_tail());
  CHECK(client.tls_status == gloox::CertOk);
  CHECK(client.tls_protocol == "TLSv1.2");  // SCRAM-SHA-1-PLUS with tls-unique: prosody accepted it
  CHECK(client.bound_resource == cj->resource());
  CHECK(camera.bound_resource == sj->resource());
  CHECK(client.jid().full() == cj->full());

  const gloox::JID camera_jid(sj->full());
  const gloox::JID client_jid(cj->full());

  // --- Session with a small block size: many blocks per message --------------------------------
  std::string sid = client.link->new_sid();
  REQUIRE(client.link->open(camera_jid, sid, 128).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.events.empty() && !camera.events.empty(); }));
  REQUIRE(client.take("open-mine").size() == 1);
  auto theirs = camera.take("open-theirs");
  REQUIRE(theirs.size() == 1);
  CHECK(theirs[0].sid == sid);
  CHECK(theirs[0].peer == cj->full());

  auto get = RestMessage::request(Method::Get, Url{"coap", "camera-7", "/oic/r/camera/1", "if=oic.if.baseline"});
  get.headers = {{"Accept", "application/json"}, {"Accept-Charset", "UTF-8"},
                 {"Date", "Fri, 14 Aug 2015 08:49:37 GMT"}, {"X-Trace", std::string(900, 't')}};
  REQUIRE(client.link->send_rest(camera_jid, sid, get).ok());
  CHECK(client.link->engine().info(sj->full(), sid)->next_out_seq > 5);  // several blocks went out
  REQUIRE(pump_until({&client, &camera}, [&] { return !camera.events.empty(); }));
  auto docs = camera.take("document");
  REQUIRE_MESSAGE(docs.size() == 1, "camera events: " << camera.events.size());
  auto got = decode_rest_xml(docs[0].text);
  REQUIRE(got.ok());
  CHECK(got.value() == get);

  auto resp = RestMessage::response(200);
  resp.headers = {{"Content-Type", "application/json"}};
  resp.body = nlohmann::ordered_json{{"rt", "oic.r.camera"}, {"id", "camera-7"}, {"state", true},
                                     {"snapshot", std::string(2000, 'Q')}};
  REQUIRE(camera.link->send_rest(client_jid, sid, resp).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.events.empty(); }));
  auto back = client.take("document");
  REQUIRE(back.size() == 1);
  auto got_resp = decode_rest_xml(back[0].text);
  REQUIRE(got_resp.ok());
  CHECK(got_resp->status == 200);
  CHECK(got_resp.value() == resp);

  // An undecodable request is answered "400 Bad Request" on the same session (adapter behaviour).
  REQUIRE(client.link->send(camera_jid, sid, "<rest xmlns=\"rest.oic.org\"><url method=\"GET\">no url</url></rest>").ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !camera.events.empty(); }));
  auto bad = camera.take("document");
  REQUIRE(bad.size() == 1);
  auto bad_dec = decode_rest_xml(bad[0].text);
  REQUIRE_FALSE(bad_dec.ok());
  CHECK(rest_errc(bad_dec.error()) == RestErrc::BadUrl);
  REQUIRE(camera.link->send_rest(client_jid, sid, bad_request_response(bad_dec.error())).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.events.empty(); }));
  auto r400 = client.take("document");
  REQUIRE(r400.size() == 1);
  CHECK(decode_rest_xml(r400[0].text)->status == 400);

  // --- Second concurrent session with the maximum block size (65535) ------------------------------
  std::string sid2 = client.link->new_sid();
  REQUIRE(client.link->open(camera_jid, sid2, 65535).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.take("open-mine").empty(); }));
  camera.take("open-theirs");
  auto big = RestMessage::response(200);
  big.body = nlohmann::ordered_json{{"blob", std::string(150000, 'b')}};  // 3 blocks of <= 65535 bytes
  REQUIRE(camera.link->send_rest(client_jid, sid2, big).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.events.empty(); }));
  auto big_docs = client.take("document");
  REQUIRE(big_docs.size() == 1);
  CHECK(big_docs[0].sid == sid2);
  CHECK(decode_rest_xml(big_docs[0].text).value() == big);
  CHECK(client.link->engine().session_count() == 2);

  // --- A sequence gap closes the session on both ends -------------------------------------------
  {
    gloox::Message m(gloox::Message::Normal, camera_jid);
    m.addExtension(new xmpp::IbbExtension(xmpp::IbbExtension::make_data(sid, 4242, "PHJlc3Qv")));
    client.client().send(m);
  }
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.take("closed").empty(); }));
  auto errs = camera.take("error");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].sid == sid);
  CHECK(ibb::ibb_errc(gw::make_error(errs[0].text)) == ibb::Errc::UnexpectedRequest);
  CHECK_FALSE(camera.link->engine().info(cj->full(), sid));
  CHECK_FALSE(client.link->engine().info(sj->full(), sid));
  CHECK(camera.link->engine().info(cj->full(), sid2));  // the other session is unaffected

  // --- Data on an unknown sid: reported and answered with <close/> -------------------------------
  {
    gloox::Message m(gloox::Message::Normal, camera_jid);
    m.addExtension(new xmpp::IbbExtension(xmpp::IbbExtension::make_data("no-such-sid", 0, "PHJlc3Qv")));
    client.client().send(m);
  }
  REQUIRE(pump_until({&client, &camera}, [&] { return !camera.events.empty(); }));
  auto unknown = camera.take("error");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].sid == "no-such-sid");
  CHECK(ibb::ibb_errc(gw::make_error(unknown[0].text)) == ibb::Errc::ItemNotFound);

  // --- Refused open: block-size above the camera's limit ------------------------------------------
  // (covered for the camera's default config by opening with an invalid 0 block size via raw IQ)
  {
    gloox::IQ iq(gloox::IQ::Set, camera_jid, client.client().getID());
    iq.addExtension(new xmpp::IbbExtension(xmpp::IbbExtension::make_open("x-iq", 512, ibb::StanzaType::Iq)));
    client.client().send(iq);
  }
  for (int i = 0; i < 20; ++i) {
    client.pump(5000);
    camera.pump(5000);
  }
  CHECK_FALSE(camera.link->engine().info(cj->full(), "x-iq"));  // stanza='iq' refused (not-acceptable)

  // --- Normal close ------------------------------------------------------------------------------
  REQUIRE(client.link->close(camera_jid, sid2).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !camera.take("closed").empty(); }));
  CHECK(camera.link->engine().session_count() == 0);
  CHECK(client.link->engine().session_count() == 0);
}

TEST_CASE("prosody: open refused with resource-constraint when block-size is above the peer's limit") {
  auto fx = ProsodyFixture::start();
  REQUIRE_MESSAGE(fx.ok(), (fx.ok() ? "" : fx.error().message));
  ProsodyFixture& p = *fx.value();
  REQUIRE(p.register_user("me", "pw").ok());
  auto cj = make_client_jid("me", p.domain(), kClientUuid);
  auto sj = make_server_jid("me", p.domain(), "oic.d.camera", kCameraUuid);
  ibb::Config small;
  small.max_block_size = 4096;
  small.accept_iq_stanza = true;
  Peer client(cj->full(), "pw", p);
  Peer camera(sj->full(), "pw", p, small);
  REQUIRE(client.start());
  REQUIRE(camera.start());
  REQUIRE(pump_until({&client, &camera}, [&] { return client.connected && camera.connected; }));
  REQUIRE(client.link->open(gloox::JID(sj->full()), "big", 65535).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.events.empty(); }));
  auto failed = client.take("open-failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].text.find("resource-constraint") != std::string::npos);
  CHECK(client.link->engine().session_count() == 0);
  // Retry with the smaller size succeeds.
  REQUIRE(client.link->open(gloox::JID(sj->full()), "big", 4096).ok());
  REQUIRE(pump_until({&client, &camera}, [&] { return !client.take("open-mine").empty(); }));

  // A peer allowed to use stanza='iq' (Config::accept_iq_stanza) may send data in IQs; each block
  // is acknowledged and the document is reassembled the same way.
  const gloox::JID camera_jid(sj->full());
  auto raw_iq = [&](xmpp::IbbExtension ext) {
    gloox::IQ iq(gloox::IQ::Set, camera_jid, client.client().getID());
    iq.addExtension(new xmpp::IbbExtension(std::move(ext)));
    client.client().send(iq);
  };
  std::string doc = encode_rest_xml(RestMessage::request(Method::Delete, Url{"", "", "/oic/r/x", ""})).value();
  camera.events.clear();
  raw_iq(xmpp::IbbExtension::make_open("iq-s", 40, ibb::StanzaType::Iq));
  for (auto& b : ibb::split_blocks("iq-s", doc, 40, 0)) raw_iq(xmpp::IbbExtension::make_data(b.sid, b.seq, b.data));
  std::vector<Event> got;
  REQUIRE(pump_until({&client, &camera}, [&] {
    got = camera.take("document");
    return !got.empty() || !camera.take("error").empty();
  }));
  REQUIRE(got.size() == 1);
  CHECK(got[0].sid == "iq-s");
  CHECK(got[0].text == doc);
  CHECK(camera.link->engine().info(cj->full(), "iq-s")->stanza == ibb::StanzaType::Iq);
}

namespace {

// A child process whose stdout we read without blocking while pumping gloox.
struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string output;
  int status = -1;
  bool done = false;

  bool spawn(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe(fds) != 0) return false;
    pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out = fds[0];
    ::fcntl(out, F_SETFL, ::fcntl(out, F_GETFL) | O_NONBLOCK);
    return true;
  }
  void poll() {
    char buf[4096];
    ssize_t n;
    while (out >= 0 && (n = ::read(out, buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
    if (!done && pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
      done = true;
      while (out >= 0 && (n = ::read(out, buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
    }
  }
  std::string line_value(const std::string& key) const {
    auto p = output.find(key + " ");
    if (p == std::string::npos) return {};
    auto e = output.find('\n', p);
    return output.substr(p + key.size() + 1, e == std::string::npos ? std::string::npos : e - p - key.size() - 1);
  }
  ~Child() {
    if (pid > 0 && !done) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    if (out >= 0) ::close(out);
  }
};

}  // namespace

TEST_CASE("prosody: interop with an independent slixmpp OIC Client (use_messages=True)") {
  const std::string python = "/usr/bin/python3";
  const std::string script = std::string(OIC_TEST_DIR) + "/slixmpp_peer.py";
  REQUIRE_MESSAGE(::access(python.c_str(), X_OK) == 0, "/usr/bin/python3 missing (install python3-slixmpp)");
  {
    auto probe = gw::oic::test::run_command({python, "-c", "import slixmpp"});
    REQUIRE_MESSAGE(probe.ok(), "python3-slixmpp is not installed: " << (probe.ok() ? "" : probe.error().message));
  }
  auto fx = ProsodyFixture::start();
  REQUIRE_MESSAGE(fx.ok(), (fx.ok() ? "" : fx.error().message));
  ProsodyFixture& p = *fx.value();
  REQUIRE(p.register_user("me", "pw-slix").ok());
  auto cj = make_client_jid("me", p.domain(), kClientUuid);
  auto sj = make_server_jid("me", p.domain(), "oic.d.camera", kCameraUuid);
  Peer camera(sj->full(), "pw-slix", p);
  REQUIRE(camera.start());
  REQUIRE(pump_until({&camera}, [&] { return camera.connected; }));

  Child py;
  REQUIRE(py.spawn({python, script, std::to_string(p.port()), p.ca_file(), cj->full(), "pw-slix", sj->full()}));
  const gloox::JID client_jid(cj->full());

  std::string response_xml, echo_payload;
  bool answered = false, opened2 = false, echoed = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(45);
  while (!py.done && std::chrono::steady_clock::now() < deadline) {
    camera.pump(5000);
    py.poll();
    for (auto& ev : camera.take("document")) {
      if (ev.sid == "py-1" && !answered) {
        auto req = decode_rest_xml(ev.text);
        REQUIRE_MESSAGE(req.ok(), (req.ok() ? "" : req.error().message));
        CHECK(req->method == Method::Get);
        CHECK(req->url.to_string() == "coap://camera/oic/r/camera/1?if=oic.if.baseline");
        CHECK(*req->header("Date") == "Fri, 14 Aug 2015 08:49:37 GMT");
        auto resp = RestMessage::response(200);
        resp.headers = {{"Content-Type", "application/json"}};
        resp.body = nlohmann::ordered_json{{"rt", "oic.r.camera"}, {"url", req->url.path}, {"pad", std::string(300, 'p')}};
        response_xml = encode_rest_xml(resp).value();
        REQUIRE(camera.link->send(client_jid, "py-1", response_xml).ok());  // 100-byte blocks negotiated by slixmpp
        answered = true;
        REQUIRE(camera.link->open(client_jid, "gw-2", 50).ok());
      } else if (ev.sid == "gw-2") {
        CHECK(ev.text == echo_payload);
        echoed = true;
      }
    }
    if (!camera.take("open-mine").empty()) {
      opened2 = true;
      auto ping = RestMessage::request(Method::Get, Url{"coap", "client", "/oic/d", ""});
      ping.headers = {{"X-Echo", std::string(120, 'e')}};
      echo_payload = encode_rest_xml(ping).value();
      REQUIRE(camera.link->send(client_jid, "gw-2", echo_payload).ok());
    }
  }
  py.poll();
  INFO("slixmpp output:\n" << py.output);
  REQUIRE(py.done);
  CHECK(WIFEXITED(py.status));
  CHECK(WEXITSTATUS(py.status) == 0);
  CHECK(answered);
  CHECK(opened2);
  // Let the echo arrive if the script exited first.
  pump_until({&camera}, [&] {
    for (auto& ev : camera.take("document"))
      if (ev.sid == "gw-2" && ev.text == echo_payload) echoed = true;
    return echoed;
  }, 5);
  CHECK(echoed);
  auto b64 = py.line_value("RESPONSE");
  auto raw = base64_decode(b64);
  REQUIRE(raw.ok());
  CHECK(raw.value() == response_xml);
  CHECK(camera.take("error").empty());
}
