#include <doctest/doctest.h>

#include "oic/codec/base64.h"

using gw::oic::base64_decode;
using gw::oic::base64_encode;

TEST_CASE("base64: RFC 4648 section 10 test vectors") {
  const char* vec[][2] = {{"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},       {"foo", "Zm9v"},
                          {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto& v : vec) {
    CHECK(base64_encode(std::string_view(v[0])) == v[1]);
    auto d = base64_decode(v[1]);
    REQUIRE(d.ok());
    CHECK(d.value() == v[0]);
  }
}

TEST_CASE("base64: all byte values round trip") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  auto d = base64_decode(base64_encode(all));
  REQUIRE(d.ok());
  CHECK(d.value() == all);
}

TEST_CASE("base64: strict decoder rejects non-canonical input") {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v\n", " Zm9v", "Zm9v Zm9v", "Zg==Zg==", "Zm=v", "Zh==",
                          "Zm9=", "Zm-v", "Zm_v", "====", "Zm9vYg=a"}) {
    auto d = base64_decode(bad);
    CHECK_MESSAGE(!d.ok(), bad);
    if (!d.ok()) CHECK(d.error().message.rfind("base64: ", 0) == 0);
  }
}
