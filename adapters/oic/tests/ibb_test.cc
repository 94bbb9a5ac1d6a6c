#include <doctest/doctest.h>

#include "oic/codec/base64.h"
#include "oic/codec/ibb.h"
#include "oic/codec/rest.h"

using namespace gw::oic;
using namespace gw::oic::ibb;

namespace {

const std::string kClient = "me@example.org/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC";
const std::string kServer = "me@example.org/OIC/1.0/oic.d.camera/0685B960-736F-46F7-BEC0-9E6CBD671ADC";

Errc errc_of(const gw::Error& e) { return ibb_errc(e); }

std::string rest_get(const std::string& path, std::size_t header_bytes = 0) {
  auto m = RestMessage::request(Method::Get, Url{"coap", "cam", path, ""});
  if (header_bytes) m.headers.push_back({"X-Pad", std::string(header_bytes, 'p')});
  return encode_rest_xml(m).value();
}

// Sends `payload` from `tx` to `rx` on (sid) and returns the documents rx completed.
std::vector<std::string> transfer(Engine& tx, const std::string& tx_peer, Engine& rx, const std::string& rx_peer,
                                  const std::string& sid, const std::string& payload) {
  auto blocks = tx.send(tx_peer, sid, payload);
  REQUIRE(blocks.ok());
  std::vector<std::string> docs;
  for (auto& b : blocks.value()) {
    auto d = rx.on_data(rx_peer, b.sid, b.seq, b.data);
    REQUIRE_MESSAGE(d.ok(), (d.ok() ? "" : d.error().message));
    docs.insert(docs.end(), d->begin(), d->end());
  }
  return docs;
}

}  // namespace

TEST_CASE("ibb: split_blocks sizes, base64 and seq wrap at 65535") {
  std::string payload(10, 'x');
  auto b = split_blocks("s1", payload, 4, 65534);
  REQUIRE(b.size() == 3);
  CHECK(b[0].seq == 65534);
  CHECK(b[1].seq == 65535);
  CHECK(b[2].seq == 0);
  CHECK(b[0].data == base64_encode(std::string_view("xxxx")));
  CHECK(b[2].data == base64_encode(std::string_view("xx")));
  CHECK(b[0].sid == "s1");
  CHECK(split_blocks("s", "", 4, 0).empty());
  CHECK(split_blocks("s", std::string(65535 * 2 + 1, 'a'), 70000, 0).size() == 3);  // clamped to 65535
}

TEST_CASE("ibb: open negotiation, accept and refuse") {
  Engine e;
  CHECK(e.on_open(kClient, "sid-1", 4096, StanzaType::Message).ok());
  auto i = e.info(kClient, "sid-1");
  REQUIRE(i);
  CHECK(i->state == SessionState::Open);
  CHECK(i->block_size == 4096);
  CHECK_FALSE(i->initiator);

  CHECK(errc_of(e.on_open(kClient, "sid-1", 4096, StanzaType::Message).error()) == Errc::NotAcceptable);
  CHECK(errc_of(e.on_open(kClient, "sid-2", 0, StanzaType::Message).error()) == Errc::BadRequest);
  CHECK(errc_of(e.on_open(kClient, "sid-2", 65536, StanzaType::Message).error()) == Errc::BadRequest);
  CHECK(e.on_open(kClient, "sid-2", 65535, StanzaType::Message).ok());
  CHECK(errc_of(e.on_open(kClient, "sid-3", 512, StanzaType::Iq).error()) == Errc::NotAcceptable);
  CHECK(errc_of(e.on_open(kClient, "", 512, StanzaType::Message).error()) == Errc::BadRequest);
  CHECK(errc_of(e.on_open(kClient, "a b", 512, StanzaType::Message).error()) == Errc::BadRequest);
  CHECK(errc_of(e.on_open(kClient, std::string(129, 's'), 512, StanzaType::Message).error()) == Errc::BadRequest);

  Config small;
  small.max_block_size = 1024;
  small.accept_iq_stanza = true;
  Engine s(small);
  CHECK(errc_of(s.on_open(kClient, "x", 4096, StanzaType::Message).error()) == Errc::ResourceConstraint);
  CHECK(s.on_open(kClient, "x", 1024, StanzaType::Iq).ok());  // retry smaller, iq allowed here
}

TEST_CASE("ibb: session limits") {
  Config c;
  c.max_sessions_per_peer = 2;
  c.max_sessions = 3;
  Engine e(c);
  CHECK(e.on_open(kClient, "a", 100, StanzaType::Message).ok());
  CHECK(e.on_open(kClient, "b", 100, StanzaType::Message).ok());
  CHECK(errc_of(e.on_open(kClient, "c", 100, StanzaType::Message).error()) == Errc::NotAcceptable);
  CHECK(e.on_open(kServer, "c", 100, StanzaType::Message).ok());
  CHECK(errc_of(e.on_open("other@x/y", "d", 100, StanzaType::Message).error()) == Errc::NotAcceptable);
  CHECK(e.session_count() == 3);
  CHECK(e.session_count(kClient) == 2);
}

TEST_CASE("ibb: initiator flow, bidirectional request and response") {
  Engine client, server;
  REQUIRE(client.initiate(kServer, "req-1", 64).ok());
  CHECK(client.info(kServer, "req-1")->state == SessionState::Opening);
  CHECK(errc_of(client.send(kServer, "req-1", "x").error()) == Errc::UnexpectedRequest);  // not open yet
  REQUIRE(server.on_open(kClient, "req-1", 64, StanzaType::Message).ok());
  REQUIRE(client.on_open_accepted(kServer, "req-1").ok());
  CHECK(errc_of(client.on_open_accepted(kServer, "req-1").error()) == Errc::UnexpectedRequest);

  std::string req = rest_get("/oic/r/camera/1", 300);  // > 64 bytes: several blocks
  auto docs = transfer(client, kServer, server, kClient, "req-1", req);
  REQUIRE(docs.size() == 1);
  CHECK(docs[0] == req);
  auto decoded = decode_rest_xml(docs[0]);
  REQUIRE(decoded.ok());
  CHECK(decoded->url.path == "/oic/r/camera/1");

  // Response on the same session in the other direction; its seq counter is independent.
  auto resp = RestMessage::response(200);
  resp.body = nlohmann::ordered_json{{"rt", "oic.r.camera"}, {"pad", std::string(500, 'z')}};
  std::string resp_xml = encode_rest_xml(resp).value();
  auto back = transfer(server, kClient, client, kServer, "req-1", resp_xml);
  REQUIRE(back.size() == 1);
  CHECK(back[0] == resp_xml);
  CHECK(server.info(kClient, "req-1")->next_out_seq == client.info(kServer, "req-1")->next_in_seq);
  CHECK(server.info(kClient, "req-1")->next_in_seq == client.info(kServer, "req-1")->next_out_seq);

  CHECK(client.close(kServer, "req-1").ok());
  auto closed = server.on_close(kClient, "req-1");
  REQUIRE(closed.ok());
  CHECK(closed.value() == 0);
  CHECK(server.session_count() == 0);
  CHECK(client.session_count() == 0);
}

TEST_CASE("ibb: open refused forgets the session") {
  Engine e;
  REQUIRE(e.initiate(kServer, "x", 100).ok());
  e.on_open_refused(kServer, "x");
  CHECK_FALSE(e.info(kServer, "x"));
  CHECK(errc_of(e.initiate(kServer, "y", 0).error()) == Errc::BadRequest);
}

TEST_CASE("ibb: seq wraps from 65535 to 0 on both sides") {
  Engine tx, rx;
  REQUIRE(tx.initiate(kServer, "w", 1).ok());
  REQUIRE(tx.on_open_accepted(kServer, "w").ok());
  REQUIRE(rx.on_open(kClient, "w", 1, StanzaType::Message).ok());
  // Push 65534 bytes of inter-document white space (block size 1), then a document across the wrap.
  std::vector<std::string> got;
  auto ws = tx.send(kServer, "w", std::string(65534, ' '));
  REQUIRE(ws.ok());
  REQUIRE(ws->size() == 65534);
  for (auto& b : ws.value()) {
    auto d = rx.on_data(kClient, "w", b.seq, b.data);
    REQUIRE(d.ok());
  }
  CHECK(rx.info(kClient, "w")->next_in_seq == 65534);
  auto docs = transfer(tx, kServer, rx, kClient, "w", "<rest/>");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0] == "<rest/>");
  CHECK(rx.info(kClient, "w")->next_in_seq == 5);  // 65534, 65535, 0, 1, 2, 3, 4 used
  CHECK(tx.info(kServer, "w")->next_out_seq == 5);
}

TEST_CASE("ibb: wrap also works when seq 65535 is followed by 0 directly") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "w", 100, StanzaType::Message).ok());
  // Drive the counter to 65535 with empty blocks (legal: zero bytes of data).
  for (std::uint32_t s = 0; s < 65535; ++s) REQUIRE(rx.on_data(kClient, "w", s, "").ok());
  auto a = rx.on_data(kClient, "w", 65535, base64_encode(std::string_view("<a>")));
  REQUIRE(a.ok());
  auto b = rx.on_data(kClient, "w", 0, base64_encode(std::string_view("</a>")));
  REQUIRE(b.ok());
  REQUIRE(b->size() == 1);
  CHECK((*b)[0] == "<a></a>");
  // 65536 is never a valid seq.
  auto c = rx.on_data(kClient, "w", 65536, "");
  REQUIRE_FALSE(c.ok());
  CHECK(errc_of(c.error()) == Errc::BadRequest);
  CHECK_FALSE(rx.info(kClient, "w"));
}

TEST_CASE("ibb: reassembly across blocks, several documents, split inside a document") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "r", 7, StanzaType::Message).ok());
  std::string stream = rest_get("/a") + "\n" + rest_get("/b") + rest_get("/c");
  auto blocks = split_blocks("r", stream, 7, 0);
  std::vector<std::string> docs;
  for (auto& b : blocks) {
    auto d = rx.on_data(kClient, "r", b.seq, b.data);
    REQUIRE(d.ok());
    for (auto& x : d.value()) docs.push_back(x);
  }
  REQUIRE(docs.size() == 3);
  CHECK(decode_rest_xml(docs[0])->url.path == "/a");
  CHECK(decode_rest_xml(docs[1])->url.path == "/b");
  CHECK(decode_rest_xml(docs[2])->url.path == "/c");
  // Partial document discarded on close is reported.
  REQUIRE(rx.on_data(kClient, "r", blocks.size(), base64_encode(std::string_view("<rest"))).ok());
  auto c = rx.on_close(kClient, "r");
  REQUIRE(c.ok());
  CHECK(c.value() == 5);
}

TEST_CASE("ibb: sequence gap closes the session") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "g", 100, StanzaType::Message).ok());
  REQUIRE(rx.on_data(kClient, "g", 0, base64_encode(std::string_view("<a>"))).ok());
  auto r = rx.on_data(kClient, "g", 2, base64_encode(std::string_view("</a>")));
  REQUIRE_FALSE(r.ok());
  CHECK(errc_of(r.error()) == Errc::UnexpectedRequest);
  CHECK(r.error().message.find("closed") != std::string::npos);
  CHECK_FALSE(rx.info(kClient, "g"));
  // Data on the now-unknown sid.
  auto again = rx.on_data(kClient, "g", 1, "");
  REQUIRE_FALSE(again.ok());
  CHECK(errc_of(again.error()) == Errc::ItemNotFound);
}

TEST_CASE("ibb: replayed seq closes the session") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "g", 100, StanzaType::Message).ok());
  REQUIRE(rx.on_data(kClient, "g", 0, "").ok());
  CHECK(errc_of(rx.on_data(kClient, "g", 0, "").error()) == Errc::UnexpectedRequest);
  CHECK(rx.session_count() == 0);
}

TEST_CASE("ibb: oversize block closes the session") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "o", 4, StanzaType::Message).ok());
  REQUIRE(rx.on_data(kClient, "o", 0, base64_encode(std::string_view("<ab>"))).ok());  // exactly 4
  auto r = rx.on_data(kClient, "o", 1, base64_encode(std::string_view("</ab>")));       // 5 > 4
  REQUIRE_FALSE(r.ok());
  CHECK(errc_of(r.error()) == Errc::BadRequest);
  CHECK(r.error().message.find("exceeds block-size") != std::string::npos);
  CHECK(rx.session_count() == 0);
  // Same with a huge block (rejected before decoding).
  REQUIRE(rx.on_open(kClient, "o", 4, StanzaType::Message).ok());
  CHECK(errc_of(rx.on_data(kClient, "o", 0, std::string(1 << 20, 'A')).error()) == Errc::BadRequest);
  CHECK(rx.session_count() == 0);
}

TEST_CASE("ibb: bad base64 and broken framing close the session") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "b", 100, StanzaType::Message).ok());
  CHECK(errc_of(rx.on_data(kClient, "b", 0, "!!!!").error()) == Errc::BadRequest);
  CHECK(rx.session_count() == 0);
  REQUIRE(rx.on_open(kClient, "b", 100, StanzaType::Message).ok());
  CHECK(errc_of(rx.on_data(kClient, "b", 0, base64_encode(std::string_view("hello"))).error()) == Errc::BadRequest);
  CHECK(rx.session_count() == 0);
}

TEST_CASE("ibb: reassembly buffer over the limit closes the session") {
  Config c;
  c.max_message_bytes = 100;
  Engine rx(c);
  REQUIRE(rx.on_open(kClient, "l", 60, StanzaType::Message).ok());
  REQUIRE(rx.on_data(kClient, "l", 0, base64_encode(std::string("<rest>") + std::string(54, ' '))).ok());
  CHECK(rx.info(kClient, "l")->pending_bytes == 60);
  auto r = rx.on_data(kClient, "l", 1, base64_encode(std::string(60, ' ')));
  REQUIRE_FALSE(r.ok());
  CHECK(errc_of(r.error()) == Errc::PolicyViolation);
  CHECK(rx.session_count() == 0);
  // Complete documents below the limit keep flowing indefinitely.
  REQUIRE(rx.on_open(kClient, "l", 60, StanzaType::Message).ok());
  for (std::uint32_t s = 0; s < 50; ++s) {
    auto d = rx.on_data(kClient, "l", s, base64_encode(std::string("<rest>") + std::string(40, ' ') + "</rest>"));
    REQUIRE(d.ok());
    CHECK(d->size() == 1);
  }
}

TEST_CASE("ibb: concurrent sessions per peer are independent") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "s1", 5, StanzaType::Message).ok());
  REQUIRE(rx.on_open(kClient, "s2", 5, StanzaType::Message).ok());
  REQUIRE(rx.on_open(kServer, "s1", 5, StanzaType::Message).ok());  // same sid, other peer
  std::string a = rest_get("/one"), b = rest_get("/two"), c = rest_get("/three");
  auto ba = split_blocks("s1", a, 5, 0), bb = split_blocks("s2", b, 5, 0), bc = split_blocks("s1", c, 5, 0);
  std::vector<std::string> got_a, got_b, got_c;
  std::size_t n = std::max({ba.size(), bb.size(), bc.size()});
  for (std::size_t i = 0; i < n; ++i) {  // interleaved
    auto feed = [&](const std::string& peer, const Block& b, std::vector<std::string>& got) {
      auto r = rx.on_data(peer, b.sid, b.seq, b.data);
      REQUIRE(r.ok());
      got.insert(got.end(), r->begin(), r->end());
    };
    if (i < ba.size()) feed(kClient, ba[i], got_a);
    if (i < bb.size()) feed(kClient, bb[i], got_b);
    if (i < bc.size()) feed(kServer, bc[i], got_c);
  }
  REQUIRE(got_a.size() == 1);
  REQUIRE(got_b.size() == 1);
  REQUIRE(got_c.size() == 1);
  CHECK(got_a[0] == a);
  CHECK(got_b[0] == b);
  CHECK(got_c[0] == c);
  // A gap on one session does not disturb the others.
  CHECK_FALSE(rx.on_data(kClient, "s2", 9999, "").ok());
  CHECK(rx.info(kClient, "s1"));
  CHECK(rx.info(kServer, "s1"));
  CHECK_FALSE(rx.info(kClient, "s2"));
  auto sids = rx.close_peer(kClient);
  CHECK(sids == std::vector<std::string>{"s1"});
  CHECK(rx.session_count() == 1);
}

TEST_CASE("ibb: close of unknown session and error condition names") {
  Engine e;
  CHECK(errc_of(e.on_close(kClient, "nope").error()) == Errc::ItemNotFound);
  CHECK(errc_of(e.close(kClient, "nope").error()) == Errc::ItemNotFound);
  CHECK(errc_condition(Errc::ResourceConstraint) == "resource-constraint");
  CHECK(ibb_errc(gw::make_error("ibb.item-not-found: x")) == Errc::ItemNotFound);
  CHECK(ibb_errc(gw::make_error("ibb.nonsense: x")) == Errc::None);
  CHECK(parse_stanza_type("") == StanzaType::Iq);
  CHECK(parse_stanza_type("message") == StanzaType::Message);
  CHECK_FALSE(parse_stanza_type("presence"));
}

TEST_CASE("ibb: tolerated base64-wrapped stream (<rest> base64-encoded before IBB), answers mirrored") {
  Engine rx;
  REQUIRE(rx.on_open(kClient, "w2", 10, StanzaType::Message).ok());
  std::string a = rest_get("/first"), b = rest_get("/second");
  // Each document base64-encoded on its own (padding inside the stream), then carried by IBB.
  // (Appended piecewise: gcc 12 -O3 reports a false -Wrestrict on "literal" + std::string.)
  std::string stream = "\n";
  stream += base64_encode(a);
  stream += "\r\n";
  stream += base64_encode(b + " ");
  std::vector<std::string> docs;
  for (auto& blk : split_blocks("w2", stream, 10, 0)) {
    auto d = rx.on_data(kClient, "w2", blk.seq, blk.data);
    REQUIRE_MESSAGE(d.ok(), (d.ok() ? "" : d.error().message));
    docs.insert(docs.end(), d->begin(), d->end());
  }
  REQUIRE(docs.size() == 2);
  CHECK(docs[0] == a);
  CHECK(docs[1] == b);
  CHECK(rx.info(kClient, "w2")->incoming == Wrapping::Base64);
  // Our answer on that session is wrapped the same way.
  auto out = rx.send(kClient, "w2", a);
  REQUIRE(out.ok());
  std::string joined;
  for (auto& blk : out.value()) joined += base64_decode(blk.data).value();
  CHECK(joined == base64_encode(a));

  // Plain peers are answered plainly; mirroring can be switched off.
  Engine plain;
  REQUIRE(plain.on_open(kClient, "p", 100, StanzaType::Message).ok());
  REQUIRE(plain.on_data(kClient, "p", 0, base64_encode(std::string_view("  <a/>"))).ok());
  CHECK(plain.info(kClient, "p")->incoming == Wrapping::Plain);
  auto pb = plain.send(kClient, "p", "<b/>");
  REQUIRE(pb.ok());
  CHECK(base64_decode(pb->at(0).data).value() == "<b/>");
  Config no_mirror;
  no_mirror.mirror_base64_wrapping = false;
  Engine nm(no_mirror);
  REQUIRE(nm.on_open(kClient, "n", 100, StanzaType::Message).ok());
  REQUIRE(nm.on_data(kClient, "n", 0, base64_encode(base64_encode(std::string_view("<a/>")))).ok());
  CHECK(base64_decode(nm.send(kClient, "n", "<b/>")->at(0).data).value() == "<b/>");

  // Broken base64 inside a wrapped stream closes the session; so does a stream starting with junk.
  Engine bad;
  REQUIRE(bad.on_open(kClient, "x", 100, StanzaType::Message).ok());
  CHECK(errc_of(bad.on_data(kClient, "x", 0, base64_encode(std::string_view("PHJl=3Q+"))).error()) == Errc::BadRequest);
  REQUIRE(bad.on_open(kClient, "y", 100, StanzaType::Message).ok());
  CHECK(errc_of(bad.on_data(kClient, "y", 0, base64_encode(std::string_view("!<a/>"))).error()) == Errc::BadRequest);
  CHECK(bad.session_count() == 0);
}
