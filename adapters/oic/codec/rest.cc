#include "oic/codec/rest.h"

#include <tinyxml2.h>

#include <charconv>

#include "oic/codec/base64.h"
#include "oic/codec/status.h"
#include "oic/codec/text_util.h"

namespace gw::oic {

namespace {

gw::Error err(std::string_view cls, const std::string& detail) {
  std::string m(cls);
  m += ": ";
  m += detail;
  return make_error(std::move(m));
}

constexpr std::string_view kBadBase64 = "rest.bad-base64";
constexpr std::string_view kBadXml = "rest.bad-xml";
constexpr std::string_view kBadMessage = "rest.bad-message";
constexpr std::string_view kBadUrl = "rest.bad-url";
constexpr std::string_view kBadStatus = "rest.bad-status";
constexpr std::string_view kBadJson = "rest.bad-json";
constexpr std::string_view kEncode = "rest.encode";

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// RFC 9110 token characters, for header names.
bool is_tchar(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool valid_header_name(std::string_view n) {
  if (n.empty() || n.size() > 256) return false;
  for (char c : n)
    if (!is_tchar(c)) return false;
  return true;
}

// Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    if (c < 0x80) { ++i; continue; }
    std::size_t n;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (s.size() - i - 1 < n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      unsigned char cc = p[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// Characters XML 1.0 forbids even as character references (we never emit them).
bool has_xml_forbidden(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return true;
  return false;
}

void append_escaped_text(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\r': out += "&#13;"; break;
      default: out.push_back(c);
    }
  }
}

void append_escaped_attr(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out.push_back(c);
    }
  }
}

// Maximum nesting of [ and { outside strings; stops counting once `limit` is exceeded.
std::size_t json_depth(std::string_view s, std::size_t limit) {
  std::size_t depth = 0, max = 0;
  bool in_str = false, esc = false;
  for (char c : s) {
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '[' || c == '{') {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max;
}

// Concatenated text (and CDATA) children; fails if the element has child elements.
gw::Result<std::string> element_text(const tinyxml2::XMLElement* e) {
  std::string out;
  for (const tinyxml2::XMLNode* n = e->FirstChild(); n; n = n->NextSibling()) {
    if (const auto* t = n->ToText()) {
      if (t->Value()) out += t->Value();
    } else if (n->ToElement()) {
      return err(kBadMessage, std::string("unexpected element <") + n->Value() + "> inside <" +
                                  e->Name() + ">");
    }
  }
  return out;
}

bool is_named(const tinyxml2::XMLElement* e, const char* name) {
  return std::string_view(e->Name()) == name;
}

gw::Result<const tinyxml2::XMLElement*> single_child(const tinyxml2::XMLElement* parent,
                                                      const char* name, bool required) {
  const tinyxml2::XMLElement* found = nullptr;
  for (const auto* c = parent->FirstChildElement(); c; c = c->NextSiblingElement()) {
    if (!is_named(c, name)) continue;
    if (found) return err(kBadMessage, std::string("more than one <") + name + "> in <" + parent->Name() + ">");
    found = c;
  }
  if (!found && required) return err(kBadMessage, std::string("missing <") + name + "> in <" + parent->Name() + ">");
  return found;
}

}  // namespace

std::string_view method_name(Method m) {
  switch (m) {
    case Method::Get: return "GET";
    case Method::Post: return "POST";
    case Method::Put: return "PUT";
    case Method::Delete: return "DELETE";
    case Method::Response: return "RESPONSE";
  }
  return "GET";
}

std::optional<Method> parse_method(std::string_view s) {
  for (Method m : {Method::Get, Method::Post, Method::Put, Method::Delete, Method::Response})
    if (iequals(s, method_name(m))) return m;
  return std::nullopt;
}

std::string Url::path_and_query() const {
  std::string s = path.empty() ? std::string("/") : path;
  if (!query.empty()) {
    s.push_back('?');
    s += query;
  }
  return s;
}

std::string Url::to_string() const {
  std::string s;
  if (!scheme.empty()) {
    s = scheme + "://" + authority;
    s += path;
  } else {
    s = path;
  }
  if (!query.empty()) {
    s.push_back('?');
    s += query;
  }
  return s;
}

gw::Result<Url> parse_url(std::string_view text) {
  if (text.empty()) return err(kBadUrl, "empty url");
  if (text.size() > 4096) return err(kBadUrl, "url longer than 4096 characters");
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c >= 0x7F)
      return err(kBadUrl, "character 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
                              std::string(1, "0123456789abcdef"[c & 15]) + " at offset " +
                              std::to_string(i) + " (urls are ASCII without spaces; percent-encode)");
    if (c == '%' && (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])))
      return err(kBadUrl, "bad percent-escape at offset " + std::to_string(i));
    if (c == '#') return err(kBadUrl, "fragment ('#') not allowed: '" + printable(text) + "'");
  }
  Url u;
  std::string_view rest = text;
  if (rest.front() != '/') {
    auto colon = rest.find("://");
    if (colon == std::string_view::npos || colon == 0)
      return err(kBadUrl, "neither an absolute url (scheme://host/path) nor a path: '" + printable(text) + "'");
    std::string_view scheme = rest.substr(0, colon);
    if (!is_alpha(scheme.front())) return err(kBadUrl, "scheme must start with a letter: '" + printable(text) + "'");
    for (char c : scheme)
      if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'))
        return err(kBadUrl, "invalid scheme '" + printable(scheme) + "'");
    rest.remove_prefix(colon + 3);
    auto end = rest.find_first_of("/?");
    std::string_view auth = rest.substr(0, end);
    if (auth.empty()) return err(kBadUrl, "missing host in '" + printable(text) + "'");
    u.scheme.assign(scheme);
    for (char& c : u.scheme)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    u.authority.assign(auth);
    rest.remove_prefix(auth.size());
  } else if (rest.size() > 1 && rest[1] == '/') {
    return err(kBadUrl, "network-path reference ('//') without scheme: '" + printable(text) + "'");
  }
  auto q = rest.find('?');
  u.path.assign(rest.substr(0, q));
  if (q != std::string_view::npos) u.query.assign(rest.substr(q + 1));
  return u;
}

const std::string* RestMessage::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

void RestMessage::set_header(std::string_view name, std::string_view value) {
  for (auto& h : headers)
    if (iequals(h.name, name)) {
      h.value.assign(value);
      return;
    }
  headers.push_back(Header{std::string(name), std::string(value)});
}

std::optional<std::uint32_t> RestMessage::observe() const {
  const std::string* v = header(kHeaderObserve);
  if (!v) return std::nullopt;
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || v->empty() || n >= (1u << 24)) return std::nullopt;
  return n;
}

RestMessage RestMessage::request(Method m, Url url) {
  RestMessage r;
  r.method = m;
  r.url = std::move(url);
  return r;
}

RestMessage RestMessage::response(int status) {
  RestMessage r;
  r.method = Method::Response;
  r.status = status;
  r.reason.assign(reason_phrase(status));
  return r;
}

RestErrc rest_errc(const gw::Error& e) {
  std::string_view m = e.message;
  auto starts = [&](std::string_view p) { return m.size() > p.size() && m.substr(0, p.size()) == p && m[p.size()] == ':'; };
  if (starts(kBadBase64)) return RestErrc::BadBase64;
  if (starts(kBadXml)) return RestErrc::BadXml;
  if (starts(kBadMessage)) return RestErrc::BadMessage;
  if (starts(kBadUrl)) return RestErrc::BadUrl;
  if (starts(kBadStatus)) return RestErrc::BadStatus;
  if (starts(kBadJson)) return RestErrc::BadJson;
  if (starts(kEncode)) return RestErrc::Encode;
  return RestErrc::None;
}

std::string_view rest_errc_name(RestErrc c) {
  switch (c) {
    case RestErrc::None: return "none";
    case RestErrc::BadBase64: return kBadBase64;
    case RestErrc::BadXml: return kBadXml;
    case RestErrc::BadMessage: return kBadMessage;
    case RestErrc::BadUrl: return kBadUrl;
    case RestErrc::BadStatus: return kBadStatus;
    case RestErrc::BadJson: return kBadJson;
    case RestErrc::Encode: return kEncode;
  }
  return "none";
}

gw::Result<std::string> encode_rest_xml(const RestMessage& m) {
  std::string out;
  out.reserve(256);
  out += "<rest xmlns=\"rest.oic.org\"><url method=\"";
  out += method_name(m.method);
  out += "\">";
  if (m.is_response()) {
    if (m.status < 100 || m.status > 599)
      return err(kEncode, "status " + std::to_string(m.status) + " out of range 100..599");
    if (has_control_chars(m.reason) || !valid_utf8(m.reason))
      return err(kEncode, "reason phrase has control characters or is not UTF-8");
    std::string line = std::to_string(m.status);
    std::string_view reason = m.reason.empty() ? reason_phrase(m.status) : std::string_view(m.reason);
    if (!reason.empty()) {
      line.push_back(' ');
      line += reason;
    }
    append_escaped_text(out, line);
  } else {
    std::string u = m.url.to_string();
    auto parsed = parse_url(u);
    if (!parsed) return err(kEncode, "invalid url: " + parsed.error().message);
    append_escaped_text(out, u);
  }
  out += "</url>";
  if (m.headers.empty()) {
    out += "<headers/>";
  } else {
    out += "<headers>";
    for (const auto& h : m.headers) {
      if (!valid_header_name(h.name)) return err(kEncode, "invalid header name '" + printable(h.name) + "'");
      if (has_xml_forbidden(h.value) || h.value.find_first_of("\r\n") != std::string::npos ||
          !valid_utf8(h.value))
        return err(kEncode, "header '" + h.name + "' value has control characters or is not UTF-8");
      out += "<header name=\"";
      append_escaped_attr(out, h.name);
      out += "\">";
      append_escaped_text(out, h.value);
      out += "</header>";
    }
    out += "</headers>";
  }
  if (m.body) {
    std::string json;
    try {
      json = m.body->dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::strict);
    } catch (const std::exception& e) {
      return err(kEncode, std::string("json body: ") + e.what());
    }
    out += "<body><json xmlns=\"urn:xmpp:json:0\">";
    append_escaped_text(out, json);
    out += "</json></body>";
  }
  out += "</rest>";
  return out;
}

gw::Result<std::string> encode_rest_base64(const RestMessage& m) {
  auto xml = encode_rest_xml(m);
  if (!xml) return xml.error();
  return base64_encode(xml.value());
}

gw::Result<RestMessage> decode_rest_xml(std::string_view xml, const RestLimits& limits) {
  if (xml.size() > limits.max_xml_bytes)
    return err(kBadXml, "document of " + std::to_string(xml.size()) + " bytes exceeds the limit of " +
                            std::to_string(limits.max_xml_bytes));
  if (xml.empty()) return err(kBadXml, "empty document");
  if (!valid_utf8(xml)) return err(kBadXml, "document is not valid UTF-8");
  if (has_xml_forbidden(xml)) return err(kBadXml, "document contains a control character XML 1.0 forbids");
  tinyxml2::XMLDocument doc(true, tinyxml2::PRESERVE_WHITESPACE);
  if (doc.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS) {
    const char* es = doc.ErrorStr();
    return err(kBadXml, es ? es : "parse error");
  }
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (!root) return err(kBadXml, "no root element");
  if (root->NextSiblingElement()) return err(kBadXml, "more than one root element");
  if (!is_named(root, "rest")) return err(kBadMessage, std::string("root element is <") + root->Name() + ">, not <rest>");
  const char* ns = root->Attribute("xmlns");
  if (!ns || std::string_view(ns) != kRestNs)
    return err(kBadMessage, "<rest> is not in namespace rest.oic.org");

  RestMessage m;
  auto url_el = single_child(root, "url", true);
  if (!url_el) return url_el.error();
  const char* method_attr = url_el.value()->Attribute("method");
  if (!method_attr) return err(kBadMessage, "<url> has no method attribute");
  auto method = parse_method(method_attr);
  if (!method) return err(kBadMessage, "unknown method '" + printable(method_attr) + "'");
  m.method = *method;
  auto url_text = element_text(url_el.value());
  if (!url_text) return url_text.error();
  std::string_view ut = trim_xml_space(url_text.value());
  if (m.is_response()) {
    auto sl = parse_status_line(ut);
    if (!sl) return err(kBadStatus, sl.error().message);
    m.status = sl->code;
    m.reason = sl->reason;
  } else {
    auto u = parse_url(ut);
    if (!u) return u.error();
    m.url = std::move(u.value());
  }

  auto headers_el = single_child(root, "headers", false);
  if (!headers_el) return headers_el.error();
  if (headers_el.value()) {
    for (const auto* h = headers_el.value()->FirstChildElement(); h; h = h->NextSiblingElement()) {
      if (!is_named(h, "header")) continue;  // unknown children are ignored (forward compatibility)
      if (m.headers.size() >= limits.max_headers)
        return err(kBadMessage, "more than " + std::to_string(limits.max_headers) + " headers");
      const char* name = h->Attribute("name");
      if (!name) return err(kBadMessage, "<header> without name attribute");
      if (!valid_header_name(name)) return err(kBadMessage, "invalid header name '" + printable(name) + "'");
      auto v = element_text(h);
      if (!v) return v.error();
      std::string_view value = trim_xml_space(v.value());
      if (has_xml_forbidden(value) || value.find_first_of("\r\n") != std::string_view::npos)
        return err(kBadMessage, "header '" + printable(name) + "' value contains a line break or control character");
      m.headers.push_back(Header{name, std::string(value)});
    }
  }

  auto body_el = single_child(root, "body", false);
  if (!body_el) return body_el.error();
  if (body_el.value()) {
    auto json_el = single_child(body_el.value(), "json", true);
    if (!json_el) return json_el.error();
    const char* jns = json_el.value()->Attribute("xmlns");
    if (jns && std::string_view(jns) != kJsonNs)
      return err(kBadMessage, "<json> in namespace '" + printable(jns) + "', expected urn:xmpp:json:0");
    auto jt = element_text(json_el.value());
    if (!jt) return jt.error();
    std::string_view text = trim_xml_space(jt.value());
    if (text.empty()) return err(kBadJson, "empty <json> element");
    if (json_depth(text, limits.max_json_depth) > limits.max_json_depth)
      return err(kBadJson, "nesting deeper than " + std::to_string(limits.max_json_depth));
    auto j = nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) {
      // Re-run with exceptions only to obtain the parser's position/diagnostic text.
      std::string why = "not valid JSON";
      try {
        auto again = nlohmann::ordered_json::parse(text.begin(), text.end());
        (void)again;
      } catch (const std::exception& e) {
        why = e.what();
      }
      return err(kBadJson, why);
    }
    m.body = std::move(j);
  }
  return m;
}

gw::Result<RestMessage> decode_rest_base64(std::string_view b64, const RestLimits& limits) {
  if (base64_decoded_max(b64.size()) > limits.max_xml_bytes + 2)
    return err(kBadXml, "encoded document exceeds the limit of " + std::to_string(limits.max_xml_bytes) + " bytes");
  auto raw = base64_decode(b64);
  if (!raw) return err(kBadBase64, raw.error().message);
  return decode_rest_xml(raw.value(), limits);
}

RestMessage bad_request_response(const gw::Error& e) {
  RestMessage r = RestMessage::response(400);
  r.headers.push_back(Header{"Content-Type", "application/json"});
  std::string msg = e.message;
  // Keep the body encodable whatever the error text holds.
  for (char& c : msg)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
  r.body = nlohmann::ordered_json{{"error", msg}};
  return r;
}

}  // namespace gw::oic
