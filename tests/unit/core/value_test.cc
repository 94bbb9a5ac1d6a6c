#include <doctest/doctest.h>

#include "gw/value.h"

using gw::v1::Value;

TEST_CASE("JSON round trip keeps integers as integers and floats as floats") {
  auto v = gw::value_from_json(R"({"a":1,"b":-2,"c":1.5,"d":"x","e":[true,null,1e3],"f":{"g":18446744073709551615}})");
  REQUIRE(v.ok());
  const Value* a = gw::map_find(v.value(), "a");
  REQUIRE(a);
  CHECK(a->has_int_value());
  CHECK(a->int_value() == 1);
  CHECK(gw::map_find(v.value(), "b")->int_value() == -2);
  CHECK(gw::map_find(v.value(), "c")->has_double_value());
  const Value* e = gw::map_find(v.value(), "e");
  CHECK(e->list_value().items(2).has_double_value());  // 1e3 is a float literal
  const Value* g = gw::map_find(*gw::map_find(v.value(), "f"), "g");
  CHECK(g->has_uint_value());
  CHECK(g->uint_value() == 18446744073709551615ULL);
  auto text = gw::value_to_json(v.value());
  CHECK(text == R"({"a":1,"b":-2,"c":1.5,"d":"x","e":[true,null,1000.0],"f":{"g":18446744073709551615}})");
  auto again = gw::value_from_json(text);
  REQUIRE(again.ok());
  CHECK(gw::value_equal(v.value(), again.value()));
}

TEST_CASE("CBOR round trip keeps byte strings, integers and map order") {
  Value m;
  gw::map_set(m, "zeta", gw::make_int(-7));
  gw::map_set(m, "alpha", gw::make_bytes(std::string("\x00\xff\x10", 3)));
  gw::map_set(m, "big", [] {
    Value v;
    v.set_uint_value(18446744073709551615ULL);
    return v;
  }());
  gw::map_set(m, "pi", gw::make_double(3.25));
  auto cbor = gw::value_to_cbor(m);
  auto back = gw::value_from_cbor(cbor);
  REQUIRE(back.ok());
  CHECK(gw::value_equal(m, back.value()));
  CHECK(back->map_value().entries(0).key() == "zeta");
  CHECK(gw::map_find(back.value(), "alpha")->bytes_value() == std::string("\x00\xff\x10", 3));
  // Byte strings become unpadded base64url in JSON (RFC 8949 §6.1.1).
  CHECK(gw::value_to_json(gw::make_bytes("\xfb\xff")) == "\"-_8\"");
}

TEST_CASE("golden CBOR bytes decode to the expected tree") {
  // {"a": 1, "b": h'0102', "c": [-1, 2.5]}
  const uint8_t bytes[] = {0xa3, 0x61, 0x61, 0x01, 0x61, 0x62, 0x42, 0x01, 0x02, 0x61, 0x63,
                           0x82, 0x20, 0xf9, 0x41, 0x00};
  auto v = gw::value_from_cbor(bytes);
  REQUIRE(v.ok());
  CHECK(gw::map_find(v.value(), "a")->int_value() == 1);
  CHECK(gw::map_find(v.value(), "b")->bytes_value() == "\x01\x02");
  CHECK(gw::map_find(v.value(), "c")->list_value().items(0).int_value() == -1);
  CHECK(gw::map_find(v.value(), "c")->list_value().items(1).double_value() == 2.5);
}

TEST_CASE("bad input gives clear errors, never a crash") {
  auto r = gw::value_from_json("{\"a\":");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("invalid JSON") == 0);
  CHECK_FALSE(gw::value_from_json("[1,2").ok());
  CHECK_FALSE(gw::value_from_json("").ok());
  CHECK_FALSE(gw::value_from_json("1 2").ok());
  const uint8_t truncated[] = {0xa2, 0x61, 0x61};
  auto c = gw::value_from_cbor(truncated);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("invalid CBOR") == 0);
  // Hostile nesting is refused at the depth limit instead of exhausting the stack.
  std::string deep(100000, '[');
  auto d = gw::value_from_json(deep);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message.find("nesting deeper than 64") != std::string::npos);
  std::vector<uint8_t> deep_cbor(100000, 0x81);
  auto dc = gw::value_from_cbor(deep_cbor);
  REQUIRE_FALSE(dc.ok());
  CHECK(dc.error().message.find("nesting deeper") != std::string::npos);
  gw::DecodeLimits small;
  small.max_bytes = 4;
  CHECK_FALSE(gw::value_from_json("[1,2,3]", small).ok());
}

TEST_CASE("duplicate JSON keys: last value wins, first position kept") {
  auto v = gw::value_from_json(R"({"k":1,"x":0,"k":2})");
  REQUIRE(v.ok());
  CHECK(v->map_value().entries_size() == 2);
  CHECK(v->map_value().entries(0).key() == "k");
  CHECK(gw::map_find(v.value(), "k")->int_value() == 2);
}
