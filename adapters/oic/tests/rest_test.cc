#include <doctest/doctest.h>

#include "oic/codec/base64.h"
#include "oic/codec/rest.h"

using namespace gw::oic;

namespace {

// OIC RA v1.0 section 7.3.1, "Example of a Get and response message (before base64-encoding)",
// copied with the spec's indentation.
const char* kSpecRequest =
    "<rest xmlns=\"rest.oic.org\">\n"
    "  <url method=\"Get\">coap://mydevice/mybinaryswitch</url>\n"
    "  <headers>\n"
    "        <header name=\"Accept\">application/json</header>\n"
    "        <header name=\"Accept-Charset\">UTF-8</header>\n"
    "        <header name=\"Date\">Fri, 14 Aug 2015 08:49:37 GMT</header>\n"
    " </headers>\n"
    "\n"
    "</rest>\n";

const char* kSpecResponse =
    "<rest xmlns=\"rest.oic.org\">\n"
    "  <url method=\"Response\">200 OK</url>\n"
    "  <headers>\n"
    "        <header name=\"Content-Encoding\">Application/JSON</header>\n"
    "        <header name=\"Accept-Charset\">UTF-8</header>\n"
    "        <header name=\"Date\"> Fri, 14 Aug 2015 08:49:38 GMT</header>\n"
    "  </headers>\n"
    "   <body>\n"
    "      <json xmlns=\"urn:xmpp:json:0\">\n"
    "               {\n"
    "                   \"rt\":       \"oic.r.switch.binary\",\n"
    "                   \"id\":      \"unique_example_id\",\n"
    "                   \"value\":      false\n"
    "                 }\n"
    "      </json>\n"
    "   </body>\n"
    " </rest>\n";

// What this codec emits for the same two messages (PROTOCOL.md "Encoding").
const char* kGoldenRequest =
    "<rest xmlns=\"rest.oic.org\"><url method=\"GET\">coap://mydevice/mybinaryswitch</url><headers>"
    "<header name=\"Accept\">application/json</header><header name=\"Accept-Charset\">UTF-8</header>"
    "<header name=\"Date\">Fri, 14 Aug 2015 08:49:37 GMT</header></headers></rest>";
const char* kGoldenResponse =
    "<rest xmlns=\"rest.oic.org\"><url method=\"RESPONSE\">200 OK</url><headers>"
    "<header name=\"Content-Encoding\">Application/JSON</header><header name=\"Accept-Charset\">UTF-8</header>"
    "<header name=\"Date\">Fri, 14 Aug 2015 08:49:38 GMT</header></headers><body><json xmlns=\"urn:xmpp:json:0\">"
    "{\"rt\":\"oic.r.switch.binary\",\"id\":\"unique_example_id\",\"value\":false}</json></body></rest>";

RestErrc errc_of(const gw::Result<RestMessage>& r) { return r.ok() ? RestErrc::None : rest_errc(r.error()); }

std::string wrap(const std::string& inner) { return "<rest xmlns=\"rest.oic.org\">" + inner + "</rest>"; }

}  // namespace

TEST_CASE("rest: decode the spec's GET example") {
  auto r = decode_rest_xml(kSpecRequest);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(r->method == Method::Get);
  CHECK(r->url.scheme == "coap");
  CHECK(r->url.authority == "mydevice");
  CHECK(r->url.path == "/mybinaryswitch");
  CHECK(r->url.query.empty());
  REQUIRE(r->headers.size() == 3);
  CHECK(r->headers[0] == Header{"Accept", "application/json"});
  CHECK(r->headers[1] == Header{"Accept-Charset", "UTF-8"});
  CHECK(r->headers[2] == Header{"Date", "Fri, 14 Aug 2015 08:49:37 GMT"});
  CHECK(*r->header("accept-charset") == "UTF-8");
  CHECK_FALSE(r->body.has_value());
  auto enc = encode_rest_xml(r.value());
  REQUIRE(enc.ok());
  CHECK(enc.value() == kGoldenRequest);
}

TEST_CASE("rest: decode the spec's RESPONSE example") {
  auto r = decode_rest_xml(kSpecResponse);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(r->is_response());
  CHECK(r->status == 200);
  CHECK(r->reason == "OK");
  REQUIRE(r->headers.size() == 3);
  CHECK(r->headers[2].value == "Fri, 14 Aug 2015 08:49:38 GMT");  // leading space trimmed
  REQUIRE(r->body.has_value());
  CHECK((*r->body)["rt"] == "oic.r.switch.binary");
  CHECK((*r->body)["value"] == false);
  CHECK(r->body->begin().key() == "rt");  // order preserved
  auto enc = encode_rest_xml(r.value());
  REQUIRE(enc.ok());
  CHECK(enc.value() == kGoldenResponse);
}

TEST_CASE("rest: base64 wrapping round trip and golden base64") {
  auto r = decode_rest_xml(kSpecRequest);
  REQUIRE(r.ok());
  auto b64 = encode_rest_base64(r.value());
  REQUIRE(b64.ok());
  CHECK(b64.value() == base64_encode(std::string_view(kGoldenRequest)));
  CHECK(b64.value().rfind("PHJlc3QgeG1sbnM9InJlc3Qub2ljLm9yZyI+", 0) == 0);  // "<rest xmlns="rest.oic.org">"
  auto back = decode_rest_base64(b64.value());
  REQUIRE(back.ok());
  CHECK(back.value() == r.value());
}

TEST_CASE("rest: round trips of every method") {
  for (Method m : {Method::Get, Method::Post, Method::Put, Method::Delete}) {
    auto msg = RestMessage::request(m, Url{"coap", "cam-7:5683", "/oic/r/camera/1", "if=oic.if.baseline&x=%20y"});
    msg.headers = {{"Accept", "application/json"}, {"Observe", "0"}, {"X-Weird", "a<b>&\"c'"}};
    if (m == Method::Post || m == Method::Put)
      msg.body = nlohmann::ordered_json::parse(R"({"z":1,"a":[1,2,{"k":"<&>"}],"u":"\u00e9\u2603"})");
    auto x = encode_rest_xml(msg);
    REQUIRE(x.ok());
    auto d = decode_rest_xml(x.value());
    REQUIRE_MESSAGE(d.ok(), (d.ok() ? "" : d.error().message));
    CHECK(d.value() == msg);
    CHECK(d->observe() == 0u);
    CHECK(d->url.to_string() == "coap://cam-7:5683/oic/r/camera/1?if=oic.if.baseline&x=%20y");
  }
  auto resp = RestMessage::response(404);
  auto x = encode_rest_xml(resp);
  REQUIRE(x.ok());
  CHECK(x.value() == "<rest xmlns=\"rest.oic.org\"><url method=\"RESPONSE\">404 Not Found</url><headers/></rest>");
  auto d = decode_rest_xml(x.value());
  REQUIRE(d.ok());
  CHECK(d->status == 404);
  CHECK(d->reason == "Not Found");
}

TEST_CASE("rest: origin-form url and method spelling") {
  auto d = decode_rest_xml(wrap("<url method='delete'>/a/b?c=d</url>"));
  REQUIRE(d.ok());
  CHECK(d->method == Method::Delete);
  CHECK_FALSE(d->url.absolute());
  CHECK(d->url.path == "/a/b");
  CHECK(d->url.query == "c=d");
  CHECK(d->url.path_and_query() == "/a/b?c=d");
  CHECK(parse_method("PoSt") == Method::Post);
  CHECK_FALSE(parse_method("PATCH").has_value());
  CHECK_FALSE(parse_method("OBSERVE").has_value());
}

TEST_CASE("rest: observe header helper") {
  RestMessage m = RestMessage::response(200);
  CHECK_FALSE(m.observe().has_value());
  m.set_header("Observe", "17");
  CHECK(m.observe() == 17u);
  m.set_header("observe", "x");
  CHECK(m.headers.size() == 1);
  CHECK_FALSE(m.observe().has_value());
  m.set_header("Observe", "16777216");
  CHECK_FALSE(m.observe().has_value());
}

TEST_CASE("rest: CDATA json body, comments, unknown elements ignored") {
  auto d = decode_rest_xml(wrap("<!-- c --><url method='PUT'>coap://h/p</url><extra a='1'/>"
                                "<body><json xmlns='urn:xmpp:json:0'><![CDATA[{\"a\":\"<x>\"}]]></json></body>"));
  REQUIRE_MESSAGE(d.ok(), (d.ok() ? "" : d.error().message));
  CHECK((*d->body)["a"] == "<x>");
  CHECK(d->headers.empty());
}

TEST_CASE("rest: error classes") {
  // bad base64
  CHECK(errc_of(decode_rest_base64("PHJlc3Q=!")) == RestErrc::BadBase64);
  CHECK(errc_of(decode_rest_base64("PHJlc3Q")) == RestErrc::BadBase64);
  // bad XML
  CHECK(errc_of(decode_rest_xml("")) == RestErrc::BadXml);
  CHECK(errc_of(decode_rest_xml("<rest xmlns=\"rest.oic.org\"><url method='GET'>coap://h/p</url>")) == RestErrc::BadXml);
  CHECK(errc_of(decode_rest_xml("not xml")) == RestErrc::BadXml);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/p</url>") + "<rest/>")) == RestErrc::BadXml);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/\xff</url>"))) == RestErrc::BadXml);
  CHECK(errc_of(decode_rest_xml(std::string(wrap("<url method='GET'>coap://h/p\x01</url>")))) == RestErrc::BadXml);
  CHECK(errc_of(decode_rest_base64(base64_encode(std::string_view("<rest")))) == RestErrc::BadXml);
  {
    RestLimits small;
    small.max_xml_bytes = 16;
    CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/p</url>"), small)) == RestErrc::BadXml);
  }
  // bad message (structure)
  CHECK(errc_of(decode_rest_xml("<rest><url method='GET'>coap://h/p</url></rest>")) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml("<rest xmlns='other'><url method='GET'>coap://h/p</url></rest>")) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml("<rst xmlns='rest.oic.org'/>")) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap(""))) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url>coap://h/p</url>"))) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='PATCH'>coap://h/p</url>"))) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/p</url><url method='GET'>coap://h/q</url>"))) ==
        RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/<b/>p</url>"))) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/p</url><headers><header>v</header></headers>"))) ==
        RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/p</url><headers><header name='a b'>v</header></headers>"))) ==
        RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/p</url><body/>"))) == RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>/p</url><headers><header name='a'>x&#1;y</header></headers>"))) ==
        RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>/p</url><headers><header name='a'>x\ny</header></headers>"))) ==
        RestErrc::BadMessage);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='GET'>coap://h/p</url><body><json xmlns='x'>{}</json></body>"))) ==
        RestErrc::BadMessage);
  {
    RestLimits few;
    few.max_headers = 1;
    CHECK(errc_of(decode_rest_xml(
              wrap("<url method='GET'>/p</url><headers><header name='a'>1</header><header name='b'>2</header></headers>"),
              few)) == RestErrc::BadMessage);
  }
  // bad URL
  for (const char* u : {"", "mydevice/x", "coap:/x", "coap:///x", "://h/x", "1coap://h/x", "coap://h/a b",
                        "coap://h/%zz", "coap://h/%4", "coap://h/x#frag", "//h/x", "coap://h/\xc3\xa9"}) {
    auto r = decode_rest_xml(wrap(std::string("<url method='GET'>") + u + "</url>"));
    CHECK_MESSAGE(errc_of(r) == RestErrc::BadUrl, u);
  }
  // bad status line
  CHECK(errc_of(decode_rest_xml(wrap("<url method='RESPONSE'>OK</url>"))) == RestErrc::BadStatus);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='RESPONSE'>700 Huh</url>"))) == RestErrc::BadStatus);
  // bad JSON
  CHECK(errc_of(decode_rest_xml(wrap("<url method='POST'>/p</url><body><json xmlns='urn:xmpp:json:0'>{\"a\":}</json></body>"))) ==
        RestErrc::BadJson);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='POST'>/p</url><body><json xmlns='urn:xmpp:json:0'>  </json></body>"))) ==
        RestErrc::BadJson);
  CHECK(errc_of(decode_rest_xml(wrap("<url method='POST'>/p</url><body><json>{\"a\":1} x</json></body>"))) ==
        RestErrc::BadJson);
  std::string deep(100, '[');
  deep += std::string(100, ']');
  CHECK(errc_of(decode_rest_xml(wrap("<url method='POST'>/p</url><body><json>" + deep + "</json></body>"))) ==
        RestErrc::BadJson);
}

TEST_CASE("rest: every error message names its class; the classes are distinct") {
  auto e = decode_rest_xml(wrap("<url method='GET'>bad url</url>"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message.rfind("rest.bad-url: ", 0) == 0);
  CHECK(rest_errc_name(RestErrc::BadJson) == "rest.bad-json");
  CHECK(rest_errc(gw::make_error("something else")) == RestErrc::None);
  CHECK(rest_errc(gw::make_error("rest.bad-xml")) == RestErrc::None);  // prefix needs the colon
}

TEST_CASE("rest: encoder refuses what it cannot represent") {
  auto m = RestMessage::request(Method::Get, Url{"coap", "h", "/p", ""});
  m.headers = {{"Bad Name", "v"}};
  CHECK(rest_errc(encode_rest_xml(m).error()) == RestErrc::Encode);
  m.headers = {{"X", "line\nbreak"}};
  CHECK_FALSE(encode_rest_xml(m).ok());
  m.headers = {{"X", "\xff"}};
  CHECK_FALSE(encode_rest_xml(m).ok());
  m.headers.clear();
  m.url = Url{"", "", "relative/no/slash", ""};
  CHECK_FALSE(encode_rest_xml(m).ok());
  m.url = Url{"coap", "h", "/p", ""};
  m.body = nlohmann::ordered_json("\xff\xfe");
  CHECK_FALSE(encode_rest_xml(m).ok());
  auto r = RestMessage::response(42);
  CHECK_FALSE(encode_rest_xml(r).ok());
}

TEST_CASE("rest: bad_request_response") {
  auto bad = decode_rest_base64("%%%%");
  REQUIRE_FALSE(bad.ok());
  RestMessage r = bad_request_response(bad.error());
  auto x = encode_rest_xml(r);
  REQUIRE(x.ok());
  auto d = decode_rest_xml(x.value());
  REQUIRE(d.ok());
  CHECK(d->status == 400);
  CHECK(d->reason == "Bad Request");
  CHECK((*d->body)["error"].get<std::string>().rfind("rest.bad-base64: ", 0) == 0);
}
