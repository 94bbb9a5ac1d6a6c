#include "onem2m/codec/serialization.h"

#include <cctype>
#include <vector>

#include "onem2m/codec/tree_io.h"
#include "onem2m/codec/value_access.h"

namespace gw::onem2m {

namespace detail {

namespace {

// A SAX handler that builds the DOM through nlohmann's own builder but refuses to go deeper than
// max_depth or wider than max_members. nlohmann's CBOR reader recurses once per nesting level, so
// refusing at start_object/start_array is what bounds its stack.
class LimitedSax {
 public:
  using number_integer_t = Tree::number_integer_t;
  using number_unsigned_t = Tree::number_unsigned_t;
  using number_float_t = Tree::number_float_t;
  using string_t = Tree::string_t;
  using binary_t = Tree::binary_t;

  LimitedSax(Tree& root, const Limits& limits) : dom_(root, false), limits_(limits) {}

  bool null() { return count() && dom_.null(); }
  bool boolean(bool v) { return count() && dom_.boolean(v); }
  bool number_integer(number_integer_t v) { return count() && dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return count() && dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return count() && dom_.number_float(v, s); }
  bool string(string_t& v) { return count() && dom_.string(v); }
  bool binary(binary_t& v) { return count() && dom_.binary(v); }
  bool start_object(std::size_t n) { return open(n) && dom_.start_object(std::size_t(-1)); }
  bool key(string_t& k) { return dom_.key(k); }
  bool end_object() {
    close();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return open(n) && dom_.start_array(std::size_t(-1)); }
  bool end_array() {
    close();
    return dom_.end_array();
  }
  bool parse_error(std::size_t /*pos*/, const std::string& /*token*/, const nlohmann::detail::exception& ex) {
    if (error_.empty()) {
      std::string what = ex.what();
      // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
      size_t cut = what.find("] ");
      error_ = cut == std::string::npos ? what : what.substr(cut + 2);
    }
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  bool count() {
    if (!counts_.empty() && ++counts_.back() > limits_.max_members) {
      error_ = "more than " + std::to_string(limits_.max_members) + " members in one object or array";
      return false;
    }
    return true;
  }
  bool open(std::size_t declared) {
    if (!count()) return false;
    if (static_cast<int>(counts_.size()) >= limits_.max_depth) {
      error_ = "nesting deeper than " + std::to_string(limits_.max_depth) + " levels";
      return false;
    }
    if (declared != std::size_t(-1) && declared > limits_.max_members) {
      error_ = "more than " + std::to_string(limits_.max_members) + " members in one object or array";
      return false;
    }
    counts_.push_back(0);
    return true;
  }
  void close() {
    if (!counts_.empty()) counts_.pop_back();
  }

  nlohmann::detail::json_sax_dom_parser<Tree> dom_;
  const Limits& limits_;
  std::vector<size_t> counts_;
  std::string error_;
};

gw::Result<Tree> parse_with_limits(std::string_view bytes, const Limits& limits, bool cbor) {
  const char* what = cbor ? "CBOR" : "JSON";
  if (bytes.size() > limits.max_bytes)
    return gw::make_error(std::string(what) + " payload of " + std::to_string(bytes.size()) + " bytes exceeds " +
                          std::to_string(limits.max_bytes));
  if (bytes.empty()) return gw::make_error(std::string("empty ") + what + " payload");
  Tree root;
  LimitedSax sax(root, limits);
  bool ok = false;
  try {
    ok = Tree::sax_parse(bytes.begin(), bytes.end(), &sax,
                         cbor ? Tree::input_format_t::cbor : Tree::input_format_t::json, true);
  } catch (const std::exception& e) {
    return gw::make_error(std::string("invalid ") + what + ": " + e.what());
  }
  if (!ok) {
    std::string msg = sax.error().empty() ? "malformed input" : sax.error();
    return gw::make_error(std::string("invalid ") + what + ": " + msg);
  }
  return root;
}

// JSON cannot carry byte strings: they are written as unpadded base64url text (RFC 8949 §6.1.1,
// like the gateway's Value model). Also checks the depth bound for trees built in code.
gw::Result<Tree> text_only(const Tree& t, int depth) {
  if (depth > kMaxEncodeDepth) return gw::make_error("tree nested deeper than " + std::to_string(kMaxEncodeDepth));
  if (t.is_binary()) {
    const auto& b = t.get_binary();
    return Tree(base64(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), true));
  }
  if (t.is_object()) {
    Tree out = Tree::object();
    for (auto it = t.begin(); it != t.end(); ++it) {
      auto v = text_only(it.value(), depth + 1);
      if (!v) return v.error();
      out[it.key()] = std::move(v).value();
    }
    return out;
  }
  if (t.is_array()) {
    Tree out = Tree::array();
    for (const auto& item : t) {
      auto v = text_only(item, depth + 1);
      if (!v) return v.error();
      out.push_back(std::move(v).value());
    }
    return out;
  }
  return t;
}

gw::Result<void> check_depth(const Tree& t, int depth) {
  if (depth > kMaxEncodeDepth) return gw::make_error("tree nested deeper than " + std::to_string(kMaxEncodeDepth));
  if (t.is_structured())
    for (const auto& item : t) {
      auto r = check_depth(item, depth + 1);
      if (!r) return r;
    }
  return {};
}

}  // namespace

std::string base64(std::string_view bytes, bool url_unpadded) {
  static constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* a = url_unpadded ? kUrl : kStd;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    out += a[(n >> 6) & 63];
    out += a[n & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    if (rest == 2) out += a[(n >> 6) & 63];
    if (!url_unpadded) out += rest == 2 ? "=" : "==";
  }
  return out;
}

gw::Result<Tree> json_to_tree(std::string_view bytes, const Limits& limits) {
  return parse_with_limits(bytes, limits, false);
}

gw::Result<Tree> cbor_to_tree(std::string_view bytes, const Limits& limits) {
  return parse_with_limits(bytes, limits, true);
}

gw::Result<std::string> tree_to_json(const Tree& t) {
  auto text = text_only(t, 0);
  if (!text) return text.error();
  try {
    // Compact; invalid UTF-8 (possible in CBOR-sourced text) is replaced by U+FFFD.
    return text->dump(-1, ' ', false, Tree::error_handler_t::replace);
  } catch (const std::exception& e) {
    return gw::make_error(std::string("cannot write JSON: ") + e.what());
  }
}

gw::Result<std::string> tree_to_cbor(const Tree& t) {
  auto depth = check_depth(t, 0);
  if (!depth) return depth.error();
  try {
    std::vector<uint8_t> out = Tree::to_cbor(t);
    return std::string(out.begin(), out.end());
  } catch (const std::exception& e) {
    return gw::make_error(std::string("cannot write CBOR: ") + e.what());
  }
}

}  // namespace detail

std::string_view format_name(Format f) {
  switch (f) {
    case Format::kJson:
      return "json";
    case Format::kXml:
      return "xml";
    case Format::kCbor:
      return "cbor";
  }
  return "json";
}

std::optional<Format> format_from_name(std::string_view s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "json") return Format::kJson;
  if (lower == "xml") return Format::kXml;
  if (lower == "cbor") return Format::kCbor;
  return std::nullopt;
}

Format sniff_format(std::string_view bytes) {
  for (char c : bytes) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '<') return Format::kXml;
    if (c == '{' || c == '[') return Format::kJson;
    return Format::kCbor;
  }
  return Format::kJson;
}

gw::Result<Tree> decode_tree(std::string_view bytes, Format f, PrimitiveKind kind, const Limits& limits) {
  if (f == Format::kXml) return detail::xml_to_tree(bytes, kind, limits);
  auto t = f == Format::kCbor ? detail::cbor_to_tree(bytes, limits) : detail::json_to_tree(bytes, limits);
  if (!t) return t;
  const char* what = kind == PrimitiveKind::kRequest ? "request" : "response";
  if (!t->is_object())
    return gw::make_error(std::string(what) + " primitive must be an object (got " + detail::describe(*t) + ")");
  // Tolerated: {"m2m:rqp": {...}} / {"m2m:rsp": {...}} wrappers, as XML has them.
  const char* wrapper = kind == PrimitiveKind::kRequest ? "m2m:rqp" : "m2m:rsp";
  if (t->size() == 1 && t->begin().key() == wrapper && t->begin().value().is_object()) {
    Tree inner = std::move(t->begin().value());
    return inner;
  }
  return t;
}

gw::Result<std::string> encode_tree(const Tree& t, Format f, PrimitiveKind kind) {
  if (!t.is_object()) return gw::make_error("a primitive tree must be an object");
  switch (f) {
    case Format::kJson:
      return detail::tree_to_json(t);
    case Format::kCbor:
      return detail::tree_to_cbor(t);
    case Format::kXml:
      return detail::tree_to_xml(t, kind);
  }
  return gw::make_error("unknown serialization");
}

gw::Result<RequestPrimitive> decode_request(std::string_view bytes, Format f, const Limits& limits) {
  auto t = decode_tree(bytes, f, PrimitiveKind::kRequest, limits);
  if (!t) return t.error();
  return request_from_tree(*t);
}

gw::Result<ResponsePrimitive> decode_response(std::string_view bytes, Format f, const Limits& limits) {
  auto t = decode_tree(bytes, f, PrimitiveKind::kResponse, limits);
  if (!t) return t.error();
  return response_from_tree(*t);
}

gw::Result<std::string> encode(const RequestPrimitive& r, Format f) {
  return encode_tree(to_tree(r), f, PrimitiveKind::kRequest);
}

gw::Result<std::string> encode(const ResponsePrimitive& r, Format f) {
  return encode_tree(to_tree(r), f, PrimitiveKind::kResponse);
}

}  // namespace gw::onem2m
