#include <doctest/doctest.h>

#include <gloox/message.h>
#include <gloox/iq.h>
#include <gloox/tag.h>

#include <memory>

#include "oic/xmpp/ibb_extension.h"

using namespace gw::oic;
using gw::oic::xmpp::IbbExtension;

namespace {
std::unique_ptr<gloox::Tag> ibb_tag(const std::string& name) {
  auto t = std::make_unique<gloox::Tag>(name);
  t->setXmlns(std::string(ibb::kNs));
  return t;
}
}  // namespace

TEST_CASE("ibb extension: serialization of open/data/close") {
  auto open = IbbExtension::make_open("s-1", 4096, ibb::StanzaType::Message);
  std::unique_ptr<gloox::Tag> t(open.tag());
  REQUIRE(t);
  CHECK(t->xml() == "<open xmlns='http://jabber.org/protocol/ibb' block-size='4096' sid='s-1' stanza='message'/>");

  auto data = IbbExtension::make_data("s-1", 65535, "PHJlc3Qv");
  t.reset(data.tag());
  CHECK(t->xml() == "<data xmlns='http://jabber.org/protocol/ibb' seq='65535' sid='s-1'>PHJlc3Qv</data>");

  auto close = IbbExtension::make_close("s-1");
  t.reset(close.tag());
  CHECK(t->xml() == "<close xmlns='http://jabber.org/protocol/ibb' sid='s-1'/>");

  CHECK(IbbExtension().tag() == nullptr);
}

TEST_CASE("ibb extension: data rides in a message stanza") {
  gloox::Message m(gloox::Message::Normal, gloox::JID("me@example.org/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC"));
  m.setID("m1");
  m.addExtension(new IbbExtension(IbbExtension::make_data("s", 0, "AAAA")));
  std::unique_ptr<gloox::Tag> t(m.tag());
  std::string xml = t->xml();
  CHECK(xml.find("<message ") == 0);
  CHECK(xml.find("to='me@example.org/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC'") != std::string::npos);
  CHECK(xml.find("<data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='s'>AAAA</data>") != std::string::npos);
}

TEST_CASE("ibb extension: parsing") {
  auto o = ibb_tag("open");
  o->addAttribute("sid", "abc");
  o->addAttribute("block-size", "65535");
  o->addAttribute("stanza", "message");
  IbbExtension e(o.get());
  CHECK(e.kind() == IbbExtension::Kind::Open);
  CHECK(e.sid() == "abc");
  CHECK(e.block_size() == 65535);
  CHECK(e.stanza() == ibb::StanzaType::Message);
  CHECK(e.parse_error().empty());

  auto o2 = ibb_tag("open");  // defaults: stanza absent = iq; block-size missing = error
  o2->addAttribute("sid", "abc");
  IbbExtension e2(o2.get());
  CHECK(e2.stanza() == ibb::StanzaType::Iq);
  CHECK_FALSE(e2.parse_error().empty());

  auto o3 = ibb_tag("open");
  o3->addAttribute("sid", "abc");
  o3->addAttribute("block-size", "99999999999999");
  IbbExtension e3(o3.get());
  CHECK(e3.parse_error().empty());
  CHECK(e3.block_size() == 0xFFFFFFFFu);  // saturates; the Engine refuses it as > 65535

  auto d = std::make_unique<gloox::Tag>("data", "Zm9v");
  d->setXmlns(std::string(ibb::kNs));
  d->addAttribute("sid", "abc");
  d->addAttribute("seq", "12");
  IbbExtension de(d.get());
  CHECK(de.kind() == IbbExtension::Kind::Data);
  CHECK(de.seq() == 12);
  CHECK(de.data() == "Zm9v");

  for (const char* bad : {"-1", "1x", "", " 1", "+1"}) {
    auto b = ibb_tag("data");
    b->addAttribute("sid", "abc");
    if (*bad) b->addAttribute("seq", bad);
    CHECK_FALSE(IbbExtension(b.get()).parse_error().empty());
  }
  auto ns = std::make_unique<gloox::Tag>("data");
  ns->setXmlns("urn:other");
  CHECK(IbbExtension(ns.get()).kind() == IbbExtension::Kind::Invalid);
  auto nosid = ibb_tag("close");
  CHECK_FALSE(IbbExtension(nosid.get()).parse_error().empty());
  auto st = ibb_tag("open");
  st->addAttribute("sid", "a");
  st->addAttribute("block-size", "10");
  st->addAttribute("stanza", "presence");
  CHECK_FALSE(IbbExtension(st.get()).parse_error().empty());
}

TEST_CASE("ibb extension: filter string covers iq open/close/data and message data") {
  IbbExtension f;
  const std::string& s = f.filterString();
  CHECK(s.find("/iq/open[@xmlns='http://jabber.org/protocol/ibb']") != std::string::npos);
  CHECK(s.find("/iq/close[@xmlns='http://jabber.org/protocol/ibb']") != std::string::npos);
  CHECK(s.find("/message/data[@xmlns='http://jabber.org/protocol/ibb']") != std::string::npos);
  CHECK(s.find("/iq/data[@xmlns='http://jabber.org/protocol/ibb']") != std::string::npos);
}
