#include <doctest/doctest.h>

#include <string>

#include "oic/codec/presence_filter.h"

using gw::oic::PresenceFilter;

namespace {

// What prosody 0.12 sends a bridged device after SASL: stream restart, features, bind result, then
// presence of the account's other resources mixed with other stanzas.
const std::string kHeader =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xml:lang='en' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='a1' from='localhost' version='1.0'>";
const std::string kAvail1 =
    "<presence from='me@localhost/OIC/1.0/oic.d.camera/B' to='me@localhost/OIC/1.0/oic.d.camera/A'>"
    "<priority>-50</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v/x='/>"
    "</presence>";
const std::string kAvail2 = "<presence from=\"me@localhost/OIC/1.0/Client/C\" xtype='x'/>";
const std::string kAvail3 = "<presence from='x'><status type='away'>a > b</status></presence>";
const std::string kUnavail = "<presence type='unavailable' from='me@localhost/OIC/1.0/Client/C'/>";
const std::string kUnavail2 = "<presence from='me@localhost/x' type=\"unavailable\"><status>bye</status></presence>";
const std::string kMessage =
    "<message from='me@localhost/OIC/1.0/Client/C' to='me@localhost/OIC/1.0/oic.d.camera/A'>"
    "<data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='s'>PHJlc3Q+</data>"
    "<body><![CDATA[</presence><presence>]]> x > y</body></message>";
const std::string kIq = "<iq type='result' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>";

std::string stream() {
  return kHeader + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>" + kIq +
         kAvail1 + "\n" + kMessage + kAvail2 + kUnavail + kAvail3 + kUnavail2 + "</stream:stream>";
}
std::string expected() {
  return kHeader + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>" + kIq +
         "\n" + kMessage + kUnavail + kUnavail2 + "</stream:stream>";
}

}  // namespace

TEST_CASE("presence filter: available presence dropped, everything else byte-exact") {
  PresenceFilter f;
  CHECK(f.feed(stream()) == expected());
  CHECK(f.dropped() == 3);
  CHECK_FALSE(f.passthrough());
}

TEST_CASE("presence filter: the result does not depend on how the bytes are split") {
  const std::string s = stream();
  for (std::size_t k = 0; k <= s.size(); ++k) {
    PresenceFilter f;
    std::string out = f.feed(s.substr(0, k));
    out += f.feed(s.substr(k));
    REQUIRE_MESSAGE(out == expected(), "split at " << k);
    CHECK(f.dropped() == 3);
  }
  PresenceFilter f;
  std::string out;
  for (char c : s) out += f.feed(std::string(1, c));
  CHECK(out == expected());
}

TEST_CASE("presence filter: stream restart without closing the old stream (after SASL success)") {
  PresenceFilter f;
  std::string first = kHeader + "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
  std::string second = kHeader + kAvail1 + kUnavail;
  CHECK(f.feed(first) == first);
  CHECK(f.feed(second) == kHeader + kUnavail);
  CHECK(f.dropped() == 1);
}

TEST_CASE("presence filter: nested presence-like text and presence inside other stanzas stay") {
  PresenceFilter f;
  std::string in = kHeader + "<message><presence/><x a='<presence>'/></message>" + kAvail2;
  CHECK(f.feed(in) == kHeader + "<message><presence/><x a='<presence>'/></message>");
}

TEST_CASE("presence filter: anything unexpected turns it into a pass-through, nothing lost") {
  SUBCASE("a comment") {
    PresenceFilter f;
    std::string in = kHeader + kAvail1 + "<!-- c -->" + kAvail1;
    CHECK(f.feed(in) == kHeader + "<!-- c -->" + kAvail1);
    CHECK(f.passthrough());
  }
  SUBCASE("a comment in the middle of a held presence") {
    PresenceFilter f;
    std::string in = kHeader + "<presence from='x'><!-- c --></presence>" + kAvail1;
    CHECK(f.feed(in) == in);
    CHECK(f.passthrough());
  }
  SUBCASE("a processing instruction inside the stream") {
    PresenceFilter f;
    std::string in = kHeader + "<presence><?pi x?></presence>";
    CHECK(f.feed(in) == in);
  }
  SUBCASE("an oversize presence") {
    PresenceFilter f(64);
    std::string big = "<presence from='x'><status>" + std::string(200, 's') + "</status></presence>";
    CHECK(f.feed(kHeader + big + kAvail1) == kHeader + big + kAvail1);
  }
  SUBCASE("an unbalanced end tag") {
    PresenceFilter f;
    std::string in = kHeader + "</stream:stream></x>" + kAvail1;
    CHECK(f.feed(in) == in);
  }
}
