// Shared body of the oneM2M codec fuzz targets: decode the input as a request and as a response
// in one serialization; whatever decodes must re-encode, decode again, and re-encode to the same
// bytes (decode . encode is the identity on everything decode produces). Violations abort.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "onem2m/codec/serialization.h"
#include "onem2m/codec/topic.h"

namespace gw::onem2m::fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  (void)std::fprintf(stderr, "onem2m fuzz invariant violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

inline void check_tree(std::string_view in, Format f, PrimitiveKind kind) {
  auto t1 = decode_tree(in, f, kind);
  if (!t1) return;
  auto e1 = encode_tree(*t1, f, kind);
  if (!e1) fail("re-encode of a decoded tree failed", e1.error().message);
  auto t2 = decode_tree(*e1, f, kind);
  if (!t2) fail("decode of our own encoding failed", t2.error().message + " in " + *e1);
  auto e2 = encode_tree(*t2, f, kind);
  if (!e2) fail("second re-encode failed", e2.error().message);
  if (*e1 != *e2) fail("encoding not stable", *e1 + " vs " + *e2);
  // Cross-serialization: an XML tree survives a trip through JSON; a JSON tree one through CBOR.
  if (f == Format::kXml) {
    auto j = encode_tree(*t1, Format::kJson, kind);
    if (!j) fail("JSON encode of an XML tree failed", j.error().message);
    auto tj = decode_tree(*j, Format::kJson, kind);
    if (!tj) fail("JSON decode of an XML tree failed", tj.error().message + " in " + *j);
    auto x = encode_tree(*tj, Format::kXml, kind);
    if (!x || *x != *e1) fail("XML -> JSON -> XML changed the document", *e1);
  } else if (f == Format::kJson) {
    auto c = encode_tree(*t1, Format::kCbor, kind);
    if (!c) fail("CBOR encode of a JSON tree failed", c.error().message);
    auto tc = decode_tree(*c, Format::kCbor, kind);
    if (!tc || *tc != *t1) fail("JSON -> CBOR -> JSON changed the tree", *e1);
  }
}

// The MQTT-side parsers: whatever parses must format and parse back to the same value.
inline void check_addressing(std::string_view in) {
  if (auto t = parse_topic(in)) {
    std::string s = format_topic(*t);
    auto again = parse_topic(s);
    if (!again || format_topic(*again) != s) fail("topic not stable", s);
  }
  if (auto p = parse_poa(in)) {
    std::string s = format_poa(*p);
    auto again = parse_poa(s);
    if (!again || !(*again == *p)) fail("pointOfAccess not stable", s);
  }
  if (auto c = parse_client_id(in)) {
    auto again = parse_client_id(make_client_id(c->kind, c->id));
    if (!again || again->id != c->id || again->kind != c->kind) fail("client id not stable", c->id);
  }
}

template <class Decode>
inline void check_typed(std::string_view in, Format f, Decode decode) {
  auto p1 = decode(in, f, Limits{});
  if (!p1) return;
  auto e1 = encode(*p1, f);
  if (!e1) fail("typed re-encode failed", e1.error().message);
  auto p2 = decode(*e1, f, Limits{});
  if (!p2) fail("typed decode of our own encoding failed", p2.error().message + " in " + *e1);
  auto e2 = encode(*p2, f);
  if (!e2 || *e1 != *e2) fail("typed encoding not stable", *e1);
  // The other serializations must not crash on it (they may refuse it).
  for (Format other : {Format::kJson, Format::kCbor, Format::kXml}) {
    auto x = encode(*p1, other);
    (void)x;
  }
}

inline int run(const uint8_t* data, size_t size, Format f) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_tree(in, f, PrimitiveKind::kRequest);
  check_tree(in, f, PrimitiveKind::kResponse);
  check_typed(in, f, [](std::string_view b, Format fm, const Limits& l) { return decode_request(b, fm, l); });
  check_typed(in, f, [](std::string_view b, Format fm, const Limits& l) { return decode_response(b, fm, l); });
  check_addressing(in);
  auto partial = partial_decode_request(in, f);
  if (partial && partial->rqi.empty()) fail("partial decode returned an empty rqi", partial->error);
  return 0;
}

}  // namespace gw::onem2m::fuzz
