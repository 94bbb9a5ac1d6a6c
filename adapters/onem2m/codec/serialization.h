// JSON, CBOR and XML serializations of oneM2M primitives (TS-0004 clause 8, TS-0010 §6.5).
//
//   JSON  a plain object of short names: {"op":1,"to":"cse-in","fr":"Cae1","rqi":"r1",...}
//   CBOR  the same object as a CBOR map with text-string keys (RFC 8949)
//   XML   <m2m:rqp xmlns:m2m="http://www.onem2m.org/xml/protocols"><op>1</op>...</m2m:rqp>
//         (<m2m:rsp> for responses); typed back through the table of xml_types.h
//
// Decoders take untrusted bytes: they return gw::Result and never throw or crash; input size and
// nesting depth are bounded (Limits). Encoders return an error only for trees that the chosen
// serialization cannot carry (e.g. an XML element name that is not an XML Name).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "gw/result.h"
#include "onem2m/codec/primitive.h"

namespace gw::onem2m {

enum class Format { kJson, kXml, kCbor };

// "json", "xml", "cbor" (the topic suffixes of TS-0010 §6.5.4).
std::string_view format_name(Format f);
// Case-insensitive inverse of format_name; nullopt for anything else.
std::optional<Format> format_from_name(std::string_view s);
// Guesses the serialization of a payload from its first non-blank byte ('<' XML, '{' or '[' JSON,
// anything else CBOR). For peers whose topic suffix is missing or wrong.
Format sniff_format(std::string_view bytes);

enum class PrimitiveKind { kRequest, kResponse };

struct Limits {
  size_t max_bytes = size_t{256} * 1024;  // larger payloads are refused before parsing
  int max_depth = 64;                     // arrays/objects (JSON, CBOR) or elements (XML) nested deeper
  size_t max_members = 4096;              // members of one object / items of one array
};

// Bytes -> tree of one primitive (the parameters, without any m2m:rqp / m2m:rsp wrapper).
// JSON/CBOR: a top-level object; a single-member {"m2m:rqp": {...}} wrapper is tolerated.
// XML: the root element must be <*:rqp> for requests, <*:rsp> for responses.
gw::Result<Tree> decode_tree(std::string_view bytes, Format f, PrimitiveKind kind, const Limits& limits = {});
// Tree of one primitive -> bytes.
gw::Result<std::string> encode_tree(const Tree& t, Format f, PrimitiveKind kind);

gw::Result<RequestPrimitive> decode_request(std::string_view bytes, Format f, const Limits& limits = {});
gw::Result<ResponsePrimitive> decode_response(std::string_view bytes, Format f, const Limits& limits = {});
gw::Result<std::string> encode(const RequestPrimitive& r, Format f);
gw::Result<std::string> encode(const ResponsePrimitive& r, Format f);

// What can still be read from a request that does not decode, so that the CSE can answer
// 4000 BAD_REQUEST (with this rqi, to this fr) instead of dropping it.
struct PartialRequest {
  std::string rqi;
  std::string fr;     // "" when not recoverable
  std::string to;     // "" when not recoverable
  std::string error;  // why the full decode failed
};
// Succeeds when rqi could be recovered (from the parsed tree when the bytes are well-formed, else
// by a lenient scan of the bytes); an error when not even rqi is recoverable.
gw::Result<PartialRequest> partial_decode_request(std::string_view bytes, Format f, const Limits& limits = {});
// The 4000 BAD_REQUEST answer to such a request: rqi, to = its fr, fr = receiver_id, and
// pc = {"m2m:dbg": <the decode error>}.
ResponsePrimitive bad_request_answer(const PartialRequest& p, std::string_view receiver_id);

}  // namespace gw::onem2m
