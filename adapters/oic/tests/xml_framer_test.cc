#include <doctest/doctest.h>

#include "oic/codec/xml_framer.h"

using gw::oic::XmlFramer;

namespace {
std::vector<std::string> feed_ok(XmlFramer& f, std::string_view s) {
  auto r = f.feed(s);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return r.value();
}
}  // namespace

TEST_CASE("framer: one document per feed and several per feed") {
  XmlFramer f;
  auto d = feed_ok(f, "<rest xmlns=\"rest.oic.org\"><url method=\"GET\">/a</url></rest>");
  REQUIRE(d.size() == 1);
  CHECK(d[0] == "<rest xmlns=\"rest.oic.org\"><url method=\"GET\">/a</url></rest>");
  d = feed_ok(f, "\n<a/> <b x='>' y=\"/\"></b>\r\n<c><d/></c>");
  REQUIRE(d.size() == 3);
  CHECK(d[0] == "<a/>");
  CHECK(d[1] == "<b x='>' y=\"/\"></b>");
  CHECK(d[2] == "<c><d/></c>");
  CHECK(f.pending() == 0);
}

TEST_CASE("framer: split at every byte position gives the same documents") {
  const std::string stream =
      "<?xml version='1.0'?><!-- a -- b --><r a=\"1>2\"><x><![CDATA[</r> ]] ]]]></x><?pi >?>t&amp;</r>"
      "  <r/><s><!-- </s> --></s>";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    XmlFramer f;
    auto a = feed_ok(f, stream.substr(0, cut));
    auto b = feed_ok(f, stream.substr(cut));
    a.insert(a.end(), b.begin(), b.end());
    REQUIRE(a.size() == 3);
    CHECK(a[0] == "<?xml version='1.0'?><!-- a -- b --><r a=\"1>2\"><x><![CDATA[</r> ]] ]]]></x><?pi >?>t&amp;</r>");
    CHECK(a[1] == "<r/>");
    CHECK(a[2] == "<s><!-- </s> --></s>");
  }
  XmlFramer bytewise;
  std::vector<std::string> all;
  for (char c : stream) {
    auto d = feed_ok(bytewise, std::string_view(&c, 1));
    all.insert(all.end(), d.begin(), d.end());
  }
  CHECK(all.size() == 3);
}

TEST_CASE("framer: incomplete document stays pending") {
  XmlFramer f;
  CHECK(feed_ok(f, "<rest><url>").empty());
  CHECK(f.pending() == 11);
  CHECK(feed_ok(f, "</url>").empty());
  auto d = feed_ok(f, "</rest>");
  REQUIRE(d.size() == 1);
  CHECK(d[0] == "<rest><url></url></rest>");
}

TEST_CASE("framer: errors") {
  for (const char* bad : {"text", "</a>", "<a></a>x<b/>", "<!DOCTYPE a><a/>", "<![CDATA[x]]>", "< a/>", "<a <b/>",
                          "<a></a></a>"}) {
    XmlFramer f;
    auto r = f.feed(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    CHECK(f.failed());
    CHECK_FALSE(f.feed("<a/>").ok());  // unusable afterwards
  }
  XmlFramer small(16);
  CHECK(small.feed("<a>0123456789").ok());
  auto r = small.feed("0123456789");
  REQUIRE_FALSE(r.ok());
  CHECK(small.overflowed());
  XmlFramer shallow(1 << 20, 3);
  CHECK(shallow.feed("<a><b><c></c></b></a>").ok());
  CHECK_FALSE(shallow.feed("<a><b><c><d>").ok());
  CHECK_FALSE(shallow.overflowed());
}
