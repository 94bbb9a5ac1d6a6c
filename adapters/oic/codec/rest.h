// The OIC RA v1.0 CRUDN payload (section 7.3.1): a <rest xmlns="rest.oic.org"> document with a url
// (method as attribute), optional headers and an optional JSON body in <json xmlns="urn:xmpp:json:0">,
// base64-encoded for transport. The byte-exact encoding is in adapters/oic/PROTOCOL.md.
//
// Decoders take untrusted bytes, return gw::Result and never throw. Every decode error message
// starts with a stable class prefix ("rest.bad-xml: ...") that rest_errc() maps back to RestErrc;
// the adapter answers any of them with a "400 Bad Request" RESPONSE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gw/result.h"

namespace gw::oic {

inline constexpr std::string_view kRestNs = "rest.oic.org";
inline constexpr std::string_view kJsonNs = "urn:xmpp:json:0";

enum class Method { Get, Post, Put, Delete, Response };

// Wire spelling used by the encoder: "GET", "POST", "PUT", "DELETE", "RESPONSE".
std::string_view method_name(Method m);
// Case-insensitive ("Get" and "Response" as in the spec's example are accepted).
std::optional<Method> parse_method(std::string_view s);

// A request target. Absolute ("coap://mydevice/a/b?if=oic.if.baseline": scheme, authority, path,
// query) or origin-form ("/a/b?x=1": scheme and authority empty). Query is stored without '?'.
struct Url {
  std::string scheme;
  std::string authority;
  std::string path;
  std::string query;

  bool absolute() const { return !scheme.empty(); }
  std::string path_and_query() const;
  std::string to_string() const;
  bool operator==(const Url&) const = default;
};

// Errors are prefixed "rest.bad-url: ".
gw::Result<Url> parse_url(std::string_view text);

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};

inline constexpr std::string_view kHeaderObserve = "Observe";

struct RestMessage {
  Method method = Method::Get;
  Url url;                  // requests (GET/POST/PUT/DELETE)
  int status = 0;           // RESPONSE: 100..599
  std::string reason;       // RESPONSE: as received; the encoder writes reason_phrase(status) if empty
  std::vector<Header> headers;               // in wire order; names compared case-insensitively
  std::optional<nlohmann::ordered_json> body;  // absent = no <body> element

  bool is_response() const { return method == Method::Response; }
  // First header with this name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  // Replaces the first header with this name, or appends one.
  void set_header(std::string_view name, std::string_view value);
  // The Observe header as a number (0 = register, 1 = deregister on requests; the notification
  // sequence number on responses), if present and a decimal number below 2^24.
  std::optional<std::uint32_t> observe() const;

  static RestMessage request(Method m, Url url);
  // RESPONSE with reason = reason_phrase(status) (empty for codes outside the table).
  static RestMessage response(int status);
  bool operator==(const RestMessage&) const = default;
};

enum class RestErrc {
  None,        // not a rest.* error
  BadBase64,   // "rest.bad-base64"
  BadXml,      // "rest.bad-xml": not well-formed XML, not UTF-8, or too large
  BadMessage,  // "rest.bad-message": well-formed but not a valid <rest> document
  BadUrl,      // "rest.bad-url"
  BadStatus,   // "rest.bad-status": RESPONSE with an unparsable status line
  BadJson,     // "rest.bad-json"
  Encode,      // "rest.encode": the message cannot be encoded (invalid header name, bad UTF-8, ...)
};
RestErrc rest_errc(const gw::Error& e);
std::string_view rest_errc_name(RestErrc c);

struct RestLimits {
  std::size_t max_xml_bytes = 1 << 20;  // decoded <rest> document
  std::size_t max_headers = 64;
  std::size_t max_json_depth = 64;      // nesting of JSON arrays/objects
};

// Compact, byte-exact form documented in PROTOCOL.md; no XML declaration.
gw::Result<std::string> encode_rest_xml(const RestMessage& m);
// base64(encode_rest_xml(m)).
gw::Result<std::string> encode_rest_base64(const RestMessage& m);

gw::Result<RestMessage> decode_rest_xml(std::string_view xml, const RestLimits& limits = {});
gw::Result<RestMessage> decode_rest_base64(std::string_view b64, const RestLimits& limits = {});

// A "400 Bad Request" RESPONSE whose JSON body carries the error text ({"error": "..."}), the answer
// to any undecodable request.
RestMessage bad_request_response(const gw::Error& e);

}  // namespace gw::oic
