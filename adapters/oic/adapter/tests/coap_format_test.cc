// Unit tests of the CoAP content-format / status helpers (PROTOCOL.md §8.3, §8.4).
#include <doctest/doctest.h>

#include "coap_format.h"

using namespace gw::oic::adapter;
using J = nlohmann::ordered_json;

TEST_CASE("coap_format: payload decoding by Content-Format") {
  // {"value": true} in CBOR: a1 65 76 61 6c 75 65 f5
  const std::vector<uint8_t> cbor = {0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0xf5};
  for (unsigned cf : {10000u, 60u}) {
    auto d = decode_payload(cf, cbor);
    REQUIRE_FALSE(d.error);
    REQUIRE(d.body);
    CHECK(d.body->dump() == R"({"value":true})");
  }
  auto absent = decode_payload(std::nullopt, cbor);  // absent = CBOR
  REQUIRE(absent.body);
  CHECK(absent.body->dump() == R"({"value":true})");
  std::string js = R"({"brightness":70})";
  auto j = decode_payload(50u, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(js.data()), js.size()));
  REQUIRE(j.body);
  CHECK((*j.body)["brightness"] == 70);
  CHECK_FALSE(decode_payload(50u, {}).body);  // empty payload = no body
  CHECK_FALSE(decode_payload(50u, {}).error);

  auto bad_cf = decode_payload(0u, cbor);
  REQUIRE(bad_cf.error);
  CHECK(bad_cf.error->coap == 415);
  auto bad_json = decode_payload(50u, cbor);
  REQUIRE(bad_json.error);
  CHECK(bad_json.error->coap == 400);
  const std::vector<uint8_t> truncated = {0xa1, 0x65, 'v', 'a'};
  auto bad_cbor = decode_payload(10000u, truncated);
  REQUIRE(bad_cbor.error);
  CHECK(bad_cbor.error->coap == 400);
  std::vector<uint8_t> deep(100, 0x81);  // 100 nested arrays
  deep.push_back(0xf6);
  auto too_deep = decode_payload(60u, deep);
  REQUIRE(too_deep.error);
  CHECK(too_deep.error->coap == 400);
}

TEST_CASE("coap_format: response format choice") {
  CHECK(choose_response_format(50u, std::nullopt, false) == 50);
  CHECK(choose_response_format(10000u, 50u, false) == 10000);
  CHECK(choose_response_format(60u, std::nullopt, true) == 60);
  CHECK_FALSE(choose_response_format(0u, std::nullopt, false));    // text/plain: 4.06
  CHECK_FALSE(choose_response_format(41u, std::nullopt, false));   // xml: 4.06
  CHECK(choose_response_format(std::nullopt, 50u, false) == 50);   // same as the request
  CHECK(choose_response_format(std::nullopt, 0u, true) == 10000);
  CHECK(choose_response_format(std::nullopt, std::nullopt, true) == 10000);
  CHECK(choose_response_format(std::nullopt, std::nullopt, false) == 60);
}

TEST_CASE("coap_format: encoding and codes") {
  J b{{"rt", "oic.r.camera"}, {"enabled", true}, {"brightness", 50}};
  auto js = encode_payload(b, 50);
  CHECK(std::string(js.begin(), js.end()) == R"({"rt":"oic.r.camera","enabled":true,"brightness":50})");
  auto cb = encode_payload(b, 10000);
  auto back = decode_payload(10000u, cb);
  REQUIRE(back.body);
  CHECK(*back.body == b);
  CHECK(cb[0] == 0xa3);  // map of 3, in order

  CHECK(http_to_coap(200, gw::oic::Method::Get) == 205);
  CHECK(http_to_coap(200, gw::oic::Method::Post) == 204);
  CHECK(http_to_coap(200, gw::oic::Method::Delete) == 202);
  CHECK(http_to_coap(404, gw::oic::Method::Get) == 404);
  CHECK(http_to_coap(503, gw::oic::Method::Get) == 503);
  CHECK(http_to_coap(504, gw::oic::Method::Get) == 504);
  CHECK(http_to_coap(408, gw::oic::Method::Get) == 504);
  CHECK(coap_code_to_int(coap_code_from_int(205)) == 205);
  CHECK(coap_code_from_int(404) == ((4u << 5) | 4u));
  CHECK(kOcfVersion100 == 2048);
}

TEST_CASE("coap_format: coap:// URIs of constrained devices") {
  auto a = parse_coap_uri("coap://127.0.0.1:5684");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 5684);
  auto b = parse_coap_uri("coap://10.0.0.7");
  REQUIRE(b);
  CHECK(b->port == 5683);
  auto c = parse_coap_uri("COAP://[::1]:7000/");
  REQUIRE(c);
  CHECK(c->host == "::1");
  CHECK(c->port == 7000);
  CHECK_FALSE(parse_coap_uri("coaps://127.0.0.1"));
  CHECK_FALSE(parse_coap_uri("coap://light.local"));
  CHECK_FALSE(parse_coap_uri("coap://127.0.0.1:0"));
  CHECK_FALSE(parse_coap_uri("coap://127.0.0.1:99999"));
  CHECK_FALSE(parse_coap_uri("coap://127.0.0.1/a"));
  CHECK_FALSE(parse_coap_uri("coap://127.0.0.1:"));
  CHECK_FALSE(parse_coap_uri("coap://u@127.0.0.1"));
}
