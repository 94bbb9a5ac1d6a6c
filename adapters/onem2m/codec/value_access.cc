#include "onem2m/codec/value_access.h"

#include <cmath>
#include <limits>

namespace gw::onem2m::detail {

namespace {
std::string quote(std::string_view name) {
  return "'" + std::string(name) + "'";
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
}  // namespace

std::string describe(const Tree& v) {
  switch (v.type()) {
    case Tree::value_t::null:
      return "null";
    case Tree::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Tree::value_t::number_integer:
    case Tree::value_t::number_unsigned:
    case Tree::value_t::number_float:
      return "number " + v.dump();
    case Tree::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      std::string cut = s.size() > 32 ? s.substr(0, 32) + "..." : s;
      Tree tmp(cut);
      return "string " + tmp.dump(-1, ' ', false, Tree::error_handler_t::replace);
    }
    case Tree::value_t::array:
      return "array";
    case Tree::value_t::object:
      return "object";
    case Tree::value_t::binary:
      return "byte string";
    default:
      return "invalid value";
  }
}

bool parse_int64(std::string_view s, int64_t& out) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  if (b == e) return false;
  bool neg = false;
  if (s[b] == '+' || s[b] == '-') {
    neg = s[b] == '-';
    ++b;
  }
  if (b == e) return false;
  uint64_t acc = 0;
  const uint64_t limit =
      neg ? uint64_t(std::numeric_limits<int64_t>::max()) + 1 : uint64_t(std::numeric_limits<int64_t>::max());
  for (size_t i = b; i < e; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    uint64_t d = uint64_t(c - '0');
    if (acc > (limit - d) / 10) return false;
    acc = acc * 10 + d;
  }
  if (neg) {
    out = acc == uint64_t(std::numeric_limits<int64_t>::max()) + 1 ? std::numeric_limits<int64_t>::min()
                                                                   : -static_cast<int64_t>(acc);
  } else {
    out = static_cast<int64_t>(acc);
  }
  return true;
}

gw::Result<int64_t> as_int64(const Tree& v, std::string_view name) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= uint64_t(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    return v.get<int64_t>();
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18) return static_cast<int64_t>(d);
  } else if (v.is_string()) {
    int64_t n = 0;
    if (parse_int64(v.get_ref<const std::string&>(), n)) return n;
  }
  return gw::make_error(quote(name) + " must be an integer (got " + describe(v) + ")");
}

gw::Result<int> as_int(const Tree& v, std::string_view name) {
  auto r = as_int64(v, name);
  if (!r) return r.error();
  if (*r < std::numeric_limits<int>::min() || *r > std::numeric_limits<int>::max())
    return gw::make_error(quote(name) + " is out of range (got " + describe(v) + ")");
  return static_cast<int>(*r);
}

gw::Result<bool> as_bool(const Tree& v, std::string_view name) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return gw::make_error(quote(name) + " must be a boolean (got " + describe(v) + ")");
}

gw::Result<std::string> as_string(const Tree& v, std::string_view name, bool allow_number) {
  if (v.is_string()) return v.get<std::string>();
  if (allow_number && v.is_number_integer()) return v.dump();
  return gw::make_error(quote(name) + " must be a string (got " + describe(v) + ")");
}

gw::Result<std::vector<std::string>> as_string_list(const Tree& v, std::string_view name) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
    return out;
  }
  if (!v.is_array()) return gw::make_error(quote(name) + " must be a list of strings (got " + describe(v) + ")");
  for (const auto& item : v) {
    if (!item.is_string())
      return gw::make_error(quote(name) + " must be a list of strings (got an item " + describe(item) + ")");
    out.push_back(item.get<std::string>());
  }
  return out;
}

gw::Result<std::vector<int>> as_int_list(const Tree& v, std::string_view name) {
  std::vector<int> out;
  if (!v.is_array()) {
    auto one = as_int(v, name);
    if (!one) return gw::make_error(quote(name) + " must be a list of integers (got " + describe(v) + ")");
    out.push_back(*one);
    return out;
  }
  for (const auto& item : v) {
    auto n = as_int(item, name);
    if (!n) return gw::make_error(quote(name) + " must be a list of integers (got an item " + describe(item) + ")");
    out.push_back(*n);
  }
  return out;
}

}  // namespace gw::onem2m::detail
