#include "onem2m/codec/serialization.h"

#include <doctest/doctest.h>

#include <string>

#include "fixtures.h"

using namespace gw::onem2m;
using test::same_tree;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

constexpr Format kAll[] = {Format::kJson, Format::kCbor, Format::kXml};

}  // namespace

// TS-0010 §6.5.1 / Y.4500.10 §7.5.1 example, with the timestamp quoted (the spec's "ot" is not JSON).
constexpr const char* kSpecRequest =
    R"({"op":1,"to":"//xxxxx/2345","fr":"//xxxxx/99","rqi":"A1234","ty":18,)"
    R"("pc":{"m2m:sch":{"rn":"schedule1","se":{"sce":["* 0-5 2,6,10 * * * *"]}}},"ot":"20150910T062032"})";
// TS-0010 §6.5.2 / Y.4500.10 §7.5.2 example.
constexpr const char* kSpecResponse =
    R"({"rsc":2000,"rqi":"A1234","pc":{"m2m:sch":{"se":{"sce":["* 0-5 2,6,10 * * * *"]}}},)"
    R"("to":"//xxxxx/2345","fr":"//xxxxx/99"})";

TEST_CASE("JSON golden: the binding's request and response examples") {
  auto req = decode_request(kSpecRequest, Format::kJson);
  REQUIRE(req.ok());
  CHECK(req->op == Operation::kCreate);
  CHECK(req->to == "//xxxxx/2345");
  CHECK(req->fr == "//xxxxx/99");
  CHECK(req->rqi == "A1234");
  CHECK(req->ty == ty::kSchedule);
  CHECK(req->ot == "20150910T062032");
  CHECK((*req->pc)["m2m:sch"]["se"]["sce"][0] == "* 0-5 2,6,10 * * * *");
  auto out = encode(*req, Format::kJson);
  REQUIRE(out.ok());
  CHECK(*out == kSpecRequest);

  auto rsp = decode_response(kSpecResponse, Format::kJson);
  REQUIRE(rsp.ok());
  CHECK(rsp->rsc == rsc::kOk);
  CHECK(rsp->to == "//xxxxx/2345");
  auto rout = encode(*rsp, Format::kJson);
  REQUIRE(rout.ok());
  CHECK(*rout == kSpecResponse);
}

TEST_CASE("JSON: whitespace and the m2m:rqp wrapper are accepted") {
  auto r = decode_request("  {\n \"m2m:rqp\" : {\"op\": 2, \"to\": \"cse-mn\", \"rqi\": \"w\"} }\n", Format::kJson);
  REQUIRE(r.ok());
  CHECK(r->rqi == "w");
  auto s = decode_response(R"({"m2m:rsp":{"rsc":2000,"rqi":"w"}})", Format::kJson);
  REQUIRE(s.ok());
  CHECK(s->rsc == 2000);
}

TEST_CASE("CBOR golden, written by hand from RFC 8949") {
  // {"op":2,"to":"cse-in","fr":"Cae1","rqi":"r1","rcn":1}
  const std::string req_cbor = bytes({0xA5,                                                 // map(5)
                                      0x62, 'o', 'p', 0x02,                                 // "op": 2
                                      0x62, 't', 'o', 0x66, 'c',  's', 'e', '-', 'i', 'n',  // "to": "cse-in"
                                      0x62, 'f', 'r', 0x64, 'C',  'a', 'e', '1',            // "fr": "Cae1"
                                      0x63, 'r', 'q', 'i',  0x62, 'r', '1',                 // "rqi": "r1"
                                      0x63, 'r', 'c', 'n',  0x01});                         // "rcn": 1
  RequestPrimitive r;
  r.op = Operation::kRetrieve;
  r.to = "cse-in";
  r.fr = "Cae1";
  r.rqi = "r1";
  r.rcn = rcn::kAttributes;
  auto enc = encode(r, Format::kCbor);
  REQUIRE(enc.ok());
  CHECK(*enc == req_cbor);
  auto dec = decode_request(req_cbor, Format::kCbor);
  REQUIRE(dec.ok());
  CHECK(*dec == r);

  // {"rsc":2001,"rqi":"r1","pc":{"m2m:cin":{"con":h'00FF'}}}: rsc as uint16, con as a byte string.
  const std::string rsp_cbor =
      bytes({0xA3, 0x63, 'r', 's', 'c', 0x19, 0x07, 0xD1, 0x63, 'r',  'q',  'i', 0x62, 'r', '1',  0x62, 'p', 'c',
             0xA1, 0x67, 'm', '2', 'm', ':',  'c',  'i',  'n',  0xA1, 0x63, 'c', 'o',  'n', 0x42, 0x00, 0xFF});
  auto rsp = decode_response(rsp_cbor, Format::kCbor);
  REQUIRE(rsp.ok());
  CHECK(rsp->rsc == rsc::kCreated);
  const Tree& con = (*rsp->pc)["m2m:cin"]["con"];
  REQUIRE(con.is_binary());
  CHECK(std::vector<uint8_t>(con.get_binary().begin(), con.get_binary().end()) == std::vector<uint8_t>{0x00, 0xFF});
  auto again = encode(*rsp, Format::kCbor);
  REQUIRE(again.ok());
  CHECK(*again == rsp_cbor);
  // JSON has no byte strings: unpadded base64url.
  auto json = encode(*rsp, Format::kJson);
  REQUIRE(json.ok());
  CHECK(*json == R"({"rsc":2001,"rqi":"r1","pc":{"m2m:cin":{"con":"AP8"}}})");
}

TEST_CASE("XML golden: create AE") {
  const std::string xml =
      R"(<m2m:rqp xmlns:m2m="http://www.onem2m.org/xml/protocols"><op>1</op><to>/id-mn/cse-mn</to><fr>Ccam1</fr>)"
      R"(<rqi>req-0001</rqi><ty>2</ty><pc><m2m:ae rn="cam1"><api>Ncamgw</api><rr>true</rr><srv>3 4</srv>)"
      R"(<poa>mqtt://10.0.0.1:1883</poa><lbl>camera hall</lbl></m2m:ae></pc><rvi>3</rvi></m2m:rqp>)";
  auto enc = encode(test::create_ae(), Format::kXml);
  REQUIRE(enc.ok());
  CHECK(*enc == xml);
  auto dec = decode_request(xml, Format::kXml);
  REQUIRE(dec.ok());
  CHECK(*dec == test::create_ae());
}

TEST_CASE("XML golden: response with rsc and debug info") {
  const std::string xml = R"(<m2m:rsp xmlns:m2m="http://www.onem2m.org/xml/protocols"><rsc>4004</rsc><rqi>42</rqi>)"
                          R"(<pc><m2m:dbg>resource does not exist: cse-mn/cam9</m2m:dbg></pc></m2m:rsp>)";
  auto enc = encode(test::error_response(), Format::kXml);
  REQUIRE(enc.ok());
  CHECK(*enc == xml);
  auto dec = decode_response(xml, Format::kXml);
  REQUIRE(dec.ok());
  CHECK(*dec == test::error_response());
}

TEST_CASE("round trip of every fixture in every serialization") {
  for (Format f : kAll) {
    CAPTURE(format_name(f));
    for (const auto& r : test::all_requests()) {
      CAPTURE(r.rqi);
      auto enc = encode(r, f);
      REQUIRE(enc.ok());
      auto dec = decode_request(*enc, f);
      REQUIRE(dec.ok());
      if (f == Format::kXml) {
        // XML reorders rn (an attribute) first; compare order-insensitively, then exactly the rest.
        CHECK(same_tree(to_tree(*dec), to_tree(r)));
      } else {
        CHECK(*dec == r);
      }
      auto re = encode(*dec, f);
      REQUIRE(re.ok());
      CHECK(*re == *enc);
    }
    for (const auto& r : test::all_responses()) {
      CAPTURE(r.rqi);
      auto enc = encode(r, f);
      REQUIRE(enc.ok());
      auto dec = decode_response(*enc, f);
      REQUIRE(dec.ok());
      if (f == Format::kXml)
        CHECK(same_tree(to_tree(*dec), to_tree(r)));
      else
        CHECK(*dec == r);
    }
  }
}

TEST_CASE("cross-serialization: XML -> tree == JSON -> tree == CBOR -> tree") {
  for (const auto& r : test::all_requests()) {
    CAPTURE(r.rqi);
    auto json = encode(r, Format::kJson), cbor = encode(r, Format::kCbor), xml = encode(r, Format::kXml);
    REQUIRE((json.ok() && cbor.ok() && xml.ok()));
    auto tj = decode_tree(*json, Format::kJson, PrimitiveKind::kRequest);
    auto tc = decode_tree(*cbor, Format::kCbor, PrimitiveKind::kRequest);
    auto tx = decode_tree(*xml, Format::kXml, PrimitiveKind::kRequest);
    REQUIRE((tj.ok() && tc.ok() && tx.ok()));
    CHECK(*tj == *tc);
    CHECK(same_tree(*tx, *tj));
  }
  for (const auto& r : test::all_responses()) {
    CAPTURE(r.rqi);
    auto json = encode(r, Format::kJson), xml = encode(r, Format::kXml);
    REQUIRE((json.ok() && xml.ok()));
    auto tj = decode_tree(*json, Format::kJson, PrimitiveKind::kResponse);
    auto tx = decode_tree(*xml, Format::kXml, PrimitiveKind::kResponse);
    REQUIRE((tj.ok() && tx.ok()));
    CHECK(same_tree(*tx, *tj));
  }
}

TEST_CASE("bad input: truncated CBOR at every length") {
  auto full = encode(test::notify_sgn(), Format::kCbor);
  REQUIRE(full.ok());
  for (size_t n = 0; n < full->size(); ++n) {
    auto r = decode_request(std::string_view(*full).substr(0, n), Format::kCbor);
    REQUIRE_FALSE(r.ok());
    if (n > 0) CHECK(r.error().message.rfind("invalid CBOR: ", 0) == 0);
  }
  auto r = decode_request(std::string_view(*full).substr(0, 5), Format::kCbor);
  CHECK(r.error().message.find("unexpected end of input") != std::string::npos);
}

TEST_CASE("bad input: deep nesting is refused, not recursed into") {
  std::string deep_json =
      R"({"op":1,"to":"x","rqi":"r","pc":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto j = decode_request(deep_json, Format::kJson);
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().message == "invalid JSON: nesting deeper than 64 levels");

  std::string deep_cbor(200000, static_cast<char>(0x81));  // [[[[...
  auto c = decode_request(deep_cbor, Format::kCbor);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message == "invalid CBOR: nesting deeper than 64 levels");

  std::string deep_xml = "<m2m:rqp>";
  for (int i = 0; i < 80; ++i) deep_xml += "<a>";
  for (int i = 0; i < 80; ++i) deep_xml += "</a>";
  deep_xml += "</m2m:rqp>";
  auto x = decode_request(deep_xml, Format::kXml);
  REQUIRE_FALSE(x.ok());
  CHECK(x.error().message == "invalid XML: nesting deeper than 64 levels");

  // 64 levels are fine (the primitive object is the first level), 65 are not.
  auto nested = [](int n) {
    return R"({"op":1,"to":"x","rqi":"r","pc":)" + std::string(size_t(n), '[') + std::string(size_t(n), ']') + "}";
  };
  CHECK(decode_request(nested(63), Format::kJson).ok());
  CHECK_FALSE(decode_request(nested(64), Format::kJson).ok());
  std::string cbor63 =
      bytes({0xA4, 0x62, 'o', 'p', 0x01, 0x62, 't', 'o', 0x61, 'x', 0x63, 'r', 'q', 'i', 0x61, 'r', 0x62, 'p', 'c'}) +
      std::string(62, static_cast<char>(0x81)) + bytes({0x80});
  CHECK(decode_request(cbor63, Format::kCbor).ok());
  CHECK_FALSE(decode_request(bytes({0x81}) + cbor63, Format::kCbor).ok());
}

TEST_CASE("bad input: limits on size and width") {
  Limits small;
  small.max_bytes = 16;
  auto big = decode_request(kSpecRequest, Format::kJson, small);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message.find("exceeds 16") != std::string::npos);
  Limits narrow;
  narrow.max_members = 3;
  auto wide = decode_request(R"({"op":1,"to":"x","rqi":"r","fr":"C"})", Format::kJson, narrow);
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.error().message == "invalid JSON: more than 3 members in one object or array");
  // CBOR declaring a huge map is refused before anything is allocated.
  auto huge = decode_request(bytes({0xBB, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), Format::kCbor);
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().message == "invalid CBOR: more than 4096 members in one object or array");
}

TEST_CASE("bad input: clear errors") {
  auto empty = decode_request("", Format::kJson);
  CHECK(empty.error().message == "empty JSON payload");
  auto not_obj = decode_request("[1,2]", Format::kJson);
  CHECK(not_obj.error().message == "request primitive must be an object (got array)");
  auto syntax = decode_request(R"({"op":1,)", Format::kJson);
  REQUIRE_FALSE(syntax.ok());
  CHECK(syntax.error().message.rfind("invalid JSON: parse error", 0) == 0);
  auto no_rqi = decode_request(R"({"op":1,"to":"cse-mn","fr":"C1"})", Format::kJson);
  CHECK(no_rqi.error().message == "request primitive has no 'rqi'");
  auto wrong_type = decode_request(R"({"op":"x","to":"cse-mn","rqi":"r"})", Format::kJson);
  CHECK(wrong_type.error().message == R"('op' must be an integer (got string "x"))");
  auto cbor_tail = decode_request(bytes({0xA0, 0x00}), Format::kCbor);
  REQUIRE_FALSE(cbor_tail.ok());
  CHECK(cbor_tail.error().message.find("expected end of input") != std::string::npos);
  auto wrong_root = decode_request(R"(<m2m:rsp xmlns:m2m="http://www.onem2m.org/xml/protocols"/>)", Format::kXml);
  CHECK(wrong_root.error().message == "XML root element is <m2m:rsp>, expected <m2m:rqp>");
  auto bad_xml = decode_request("<m2m:rqp><op>1</op>", Format::kXml);
  REQUIRE_FALSE(bad_xml.ok());
  CHECK(bad_xml.error().message.rfind("invalid XML: ", 0) == 0);
  auto invalid_utf8 = decode_request("{\"op\":1,\"to\":\"\xff\",\"rqi\":\"r\"}", Format::kJson);
  CHECK_FALSE(invalid_utf8.ok());
}

TEST_CASE("partial decode recovers rqi, fr and to for a 4000 answer") {
  SUBCASE("well-formed JSON with a wrong type") {
    auto p = partial_decode_request(R"({"op":"x","to":"cse-mn","fr":"Ccam1","rqi":"r9"})", Format::kJson);
    REQUIRE(p.ok());
    CHECK(p->rqi == "r9");
    CHECK(p->fr == "Ccam1");
    CHECK(p->to == "cse-mn");
    CHECK(p->error == R"('op' must be an integer (got string "x"))");
  }
  SUBCASE("truncated JSON") {
    auto p =
        partial_decode_request(R"({"op":1,"to":"cse-mn","fr":"Ccam1","rqi":"a\"b","pc":{"m2m:ae":)", Format::kJson);
    REQUIRE(p.ok());
    CHECK(p->rqi == "a\"b");
    CHECK(p->fr == "Ccam1");
    CHECK(p->to == "cse-mn");
    CHECK(p->error.rfind("invalid JSON", 0) == 0);
  }
  SUBCASE("truncated XML") {
    auto p = partial_decode_request(
        "<m2m:rqp xmlns:m2m=\"http://www.onem2m.org/xml/protocols\"><op>1</op><to>cse-mn</to><fr>C&amp;1</fr>"
        "<rqi>x-1</rqi><pc><m2m:ae",
        Format::kXml);
    REQUIRE(p.ok());
    CHECK(p->rqi == "x-1");
    CHECK(p->fr == "C&1");
    CHECK(p->to == "cse-mn");
  }
  SUBCASE("truncated CBOR") {
    auto full = encode(test::create_ae(), Format::kCbor);
    REQUIRE(full.ok());
    auto p = partial_decode_request(std::string_view(*full).substr(0, full->size() - 10), Format::kCbor);
    REQUIRE(p.ok());
    CHECK(p->rqi == "req-0001");
    CHECK(p->fr == "Ccam1");
    CHECK(p->to == "/id-mn/cse-mn");
  }
  SUBCASE("the 4000 answer") {
    auto p = partial_decode_request(R"({"op":1,"to":"cse-mn","fr":"Ccam1","rqi":"r2","ty":"ae"})", Format::kJson);
    REQUIRE(p.ok());
    auto answer = encode(bad_request_answer(*p, "/id-mn"), Format::kJson);
    REQUIRE(answer.ok());
    CHECK(*answer == R"x({"rsc":4000,"rqi":"r2","pc":{"m2m:dbg":"'ty' must be an integer (got string \"ae\")"},)x"
                     R"("to":"Ccam1","fr":"/id-mn"})");
  }
  SUBCASE("nothing recoverable") {
    auto p = partial_decode_request("garbage", Format::kJson);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.rfind("no rqi recoverable (invalid JSON", 0) == 0);
    CHECK_FALSE(partial_decode_request(R"({"op":1,"to":"x"})", Format::kJson).ok());
  }
}

TEST_CASE("format names and sniffing") {
  CHECK(format_name(Format::kCbor) == "cbor");
  CHECK(format_from_name("JSON") == Format::kJson);
  CHECK(format_from_name("Xml") == Format::kXml);
  CHECK_FALSE(format_from_name("yaml").has_value());
  CHECK(sniff_format("  {\"op\":1}") == Format::kJson);
  CHECK(sniff_format("\n<m2m:rqp/>") == Format::kXml);
  CHECK(sniff_format(bytes({0xA1, 0x62})) == Format::kCbor);
}
