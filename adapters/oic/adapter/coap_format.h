// Content formats, OCF version options and status codes of the local OIC/CoAP side (PROTOCOL.md §8).
// Pure functions, no libcoap: payload bytes <-> JSON trees go through the fuzzed gw::Value decoders.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oic/codec/rest.h"

namespace gw::oic::adapter {

// CoAP Content-Format numbers (RFC 7252 §12.3, IANA; OCF Core 1.0 §12.2.4).
inline constexpr int kCfJson = 50;          // application/json
inline constexpr int kCfCbor = 60;          // application/cbor (OIC 1.x)
inline constexpr int kCfOcfCbor = 10000;    // application/vnd.ocf+cbor (OCF 1.0)
// OCF option numbers (OCF Core 1.0 §12.2.5): critical options libcoap must be told about.
inline constexpr uint16_t kOptOcfAcceptVersion = 2049;   // OCF-Accept-Content-Format-Version
inline constexpr uint16_t kOptOcfContentVersion = 2053;  // OCF-Content-Format-Version
// Version 1.0.0 as OCF encodes it: major (5 bits) | minor (5 bits) | sub (6 bits) -> 0x0800.
inline constexpr unsigned kOcfVersion100 = 0x0800;

// Maximum request payload the server decodes (after block-wise reassembly).
inline constexpr size_t kMaxCoapPayload = 64 * 1024;

struct PayloadError {
  int coap = 0;  // 400 (4.00) or 415 (4.15), class*100+detail
  std::string message;
};

// Request payload -> JSON. content_format: the Content-Format option (absent = CBOR, the OIC/OCF
// default encoding). Empty bytes -> null (no body). 10000 and 60 are CBOR, 50 JSON; anything else
// -> 4.15. Undecodable bytes, > kMaxCoapPayload, nesting > 64 -> 4.00.
struct DecodedPayload {
  std::optional<nlohmann::ordered_json> body;  // nullopt = no payload
  std::optional<PayloadError> error;
};
DecodedPayload decode_payload(std::optional<unsigned> content_format, std::span<const uint8_t> bytes);

// The response's Content-Format from the request's Accept, Content-Format and whether it carried
// OCF-Accept-Content-Format-Version: Accept 10000/60/50 is honoured, any other Accept -> nullopt
// (4.06). No Accept: the request's own Content-Format when it is one of the three, else 10000 if
// option 2049 was present, else 60.
std::optional<int> choose_response_format(std::optional<unsigned> accept, std::optional<unsigned> content_format,
                                          bool ocf_accept_version_present);

// JSON tree -> payload in format cf (50: compact JSON text; 60/10000: CBOR via gw::Value).
std::vector<uint8_t> encode_payload(const nlohmann::ordered_json& body, int cf);

// OIC status-line code -> CoAP response code (class*100+detail). 200 depends on the method: GET
// 2.05 Content, POST/PUT 2.04 Changed, DELETE 2.02 Deleted.
int http_to_coap(int http, Method m);
// libcoap's packed code (class<<5 | detail) <-> class*100+detail.
inline int coap_code_to_int(unsigned packed) { return static_cast<int>((packed >> 5) * 100 + (packed & 0x1F)); }
inline unsigned coap_code_from_int(int c) { return static_cast<unsigned>(((c / 100) << 5) | (c % 100)); }

// "coap://host[:port]" (numeric IPv4, or [IPv6]) -> host, port (default 5683). Path, query,
// userinfo and names are refused.
struct CoapTarget {
  std::string host;
  uint16_t port = 5683;
};
std::optional<CoapTarget> parse_coap_uri(const std::string& uri);

}  // namespace gw::oic::adapter
