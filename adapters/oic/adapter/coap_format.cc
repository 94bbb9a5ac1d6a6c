#include "coap_format.h"

#include <arpa/inet.h>

#include <cctype>

#include "gw/value.h"

namespace gw::oic::adapter {

DecodedPayload decode_payload(std::optional<unsigned> cf, std::span<const uint8_t> bytes) {
  DecodedPayload out;
  unsigned f = cf.value_or(kCfOcfCbor);
  if (f != kCfJson && f != kCfCbor && f != kCfOcfCbor) {
    out.error = PayloadError{415, "content-format " + std::to_string(f) + " is not supported (10000, 60 or 50)"};
    return out;
  }
  if (bytes.empty()) return out;
  if (bytes.size() > kMaxCoapPayload) {
    out.error = PayloadError{400, "payload larger than " + std::to_string(kMaxCoapPayload) + " bytes"};
    return out;
  }
  gw::DecodeLimits lim;
  lim.max_bytes = kMaxCoapPayload;
  auto v = f == kCfJson ? gw::value_from_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), lim)
                        : gw::value_from_cbor(bytes, lim);
  if (!v) {
    out.error = PayloadError{400, std::string(f == kCfJson ? "bad JSON payload: " : "bad CBOR payload: ") +
                                      v.error().message};
    return out;
  }
  out.body = gw::value_to_ojson(v.value());
  return out;
}

std::optional<int> choose_response_format(std::optional<unsigned> accept, std::optional<unsigned> cf,
                                          bool ocf_accept_version_present) {
  auto ours = [](unsigned f) { return f == kCfJson || f == kCfCbor || f == kCfOcfCbor; };
  if (accept) {
    if (ours(*accept)) return static_cast<int>(*accept);
    return std::nullopt;
  }
  if (cf && ours(*cf)) return static_cast<int>(*cf);
  return ocf_accept_version_present ? kCfOcfCbor : kCfCbor;
}

std::vector<uint8_t> encode_payload(const nlohmann::ordered_json& body, int cf) {
  if (cf == kCfJson) {
    std::string s = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    return {s.begin(), s.end()};
  }
  return gw::value_to_cbor(gw::value_from_ojson(body));
}

int http_to_coap(int http, Method m) {
  switch (http) {
    case 200:
      switch (m) {
        case Method::Get: return 205;
        case Method::Delete: return 202;
        default: return 204;
      }
    case 201: return 201;
    case 202: return 205;
    case 204: return m == Method::Delete ? 202 : 204;
    case 400: return 400;
    case 401: return 401;
    case 403: return 403;
    case 404: return 404;
    case 405: return 405;
    case 406: return 406;
    case 408: return 504;
    case 409: return 409;
    case 412: return 412;
    case 413: return 413;
    case 415: return 415;
    case 500: return 500;
    case 501: return 501;
    case 502: return 502;
    case 503: return 503;
    case 504: return 504;
    default:
      if (http >= 200 && http < 300) return m == Method::Get ? 205 : 204;
      if (http >= 400 && http < 500) return 400;
      return 500;
  }
}

std::optional<CoapTarget> parse_coap_uri(const std::string& uri) {
  static const std::string kScheme = "coap://";
  if (uri.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(uri[i])) != kScheme[i]) return std::nullopt;
  std::string rest = uri.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find_first_of("/?#@") != std::string::npos) return std::nullopt;
  CoapTarget t;
  std::string port;
  if (rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return std::nullopt;
    t.host = rest.substr(1, close - 1);
    std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
    in6_addr a6{};
    if (::inet_pton(AF_INET6, t.host.c_str(), &a6) != 1) return std::nullopt;
  } else {
    auto colon = rest.find(':');
    t.host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
    in_addr a4{};
    if (::inet_pton(AF_INET, t.host.c_str(), &a4) != 1) return std::nullopt;
  }
  if (!port.empty() || (rest.find(':') != std::string::npos && rest.front() != '[')) {
    if (port.empty() || port.size() > 5) return std::nullopt;
    unsigned long p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      p = p * 10 + static_cast<unsigned long>(c - '0');
    }
    if (p == 0 || p > 65535) return std::nullopt;
    t.port = static_cast<uint16_t>(p);
  }
  return t;
}

}  // namespace gw::oic::adapter
