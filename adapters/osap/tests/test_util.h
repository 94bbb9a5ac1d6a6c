// Small helpers shared by the OSAP codec tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "osap/codec/bytes.h"

namespace osap_test {

// Bytes from hex written by hand (spaces and newlines allowed). Fails the test on bad hex.
inline gw::osap::Bytes H(std::string_view hex) {
  auto b = gw::osap::FromHex(hex);
  REQUIRE_MESSAGE(b.has_value(), "bad hex in test: " << hex);
  return *b;
}

// Hex of ASCII text, for building golden frames readably.
inline std::string A(std::string_view ascii) { return gw::osap::HexUpper(gw::osap::AsBytes(ascii)); }

inline std::string Hex(gw::osap::ByteView b) { return gw::osap::HexUpper(b); }

// "C1" x n as hex text (filler for ciphertext fields in golden frames).
inline std::string Rep(const char* byte_hex, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += byte_hex;
  return s;
}

// Checks a Result is an error whose message contains `needle`.
#define CHECK_ERR(expr, needle)                                                  \
  do {                                                                           \
    auto _r = (expr);                                                            \
    REQUIRE_FALSE(_r.ok());                                                      \
    CHECK_MESSAGE(_r.error().message.find(needle) != std::string::npos,          \
                  "error \"" << _r.error().message << "\" lacks \"" << (needle) << "\""); \
  } while (0)

}  // namespace osap_test
