#include "gw/value.h"

#include <cmath>
#include <limits>
#include <unordered_map>

namespace gw {
namespace {

using ojson = nlohmann::ordered_json;

// Builds a Value tree directly from nlohmann's SAX events (JSON and CBOR share it). Depth is
// bounded here: returning false from start_* stops nlohmann's (recursive) CBOR reader before it
// descends, so hostile nesting cannot exhaust the stack.
class ValueSax {
 public:
  explicit ValueSax(size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return put([](v1::Value& v) { v.set_null_value(true); }); }
  bool boolean(bool b) { return put([b](v1::Value& v) { v.set_bool_value(b); }); }
  bool number_integer(int64_t i) { return put([i](v1::Value& v) { v.set_int_value(i); }); }
  bool number_unsigned(uint64_t u) {
    return put([u](v1::Value& v) {
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        v.set_int_value(static_cast<int64_t>(u));
      else
        v.set_uint_value(u);
    });
  }
  bool number_float(double d, const std::string&) { return put([d](v1::Value& v) { v.set_double_value(d); }); }
  bool string(std::string& s) { return put([&s](v1::Value& v) { v.set_string_value(std::move(s)); }); }
  bool binary(std::vector<uint8_t>& b) {
    return put([&b](v1::Value& v) { v.set_bytes_value(std::string(b.begin(), b.end())); });
  }
  bool start_object(size_t) {
    if (stack_.size() >= max_depth_) return fail("nesting deeper than " + std::to_string(max_depth_));
    return open([](v1::Value& v) { v.mutable_map_value(); }, true);
  }
  bool key(std::string& k) {
    auto& f = stack_.back();
    auto it = f.index.find(k);
    if (it != f.index.end()) {
      f.pending = it->second;  // duplicate key: last one wins, position of the first kept
    } else {
      auto* e = f.node->mutable_map_value()->add_entries();
      e->set_key(k);
      f.pending = f.node->map_value().entries_size() - 1;
      f.index.emplace(std::move(k), f.pending);
    }
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(size_t) {
    if (stack_.size() >= max_depth_) return fail("nesting deeper than " + std::to_string(max_depth_));
    return open([](v1::Value& v) { v.mutable_list_value(); }, false);
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(size_t pos, const std::string&, const nlohmann::detail::exception& ex) {
    if (error_.empty()) error_ = "at byte " + std::to_string(pos) + ": " + strip(ex.what());
    return false;
  }

  v1::Value& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    v1::Value* node = nullptr;
    bool is_map = false;
    int pending = -1;
    std::unordered_map<std::string, int> index;
  };

  static std::string strip(const char* what) {
    std::string s(what);
    auto p = s.find("] ");
    return p == std::string::npos ? s : s.substr(p + 2);
  }
  bool fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return false;
  }
  v1::Value* slot() {
    if (stack_.empty()) {
      if (have_root_) return nullptr;
      have_root_ = true;
      return &root_;
    }
    auto& f = stack_.back();
    if (f.is_map) return f.node->mutable_map_value()->mutable_entries(f.pending)->mutable_value();
    return f.node->mutable_list_value()->add_items();
  }
  template <class F>
  bool put(F&& fill) {
    v1::Value* v = slot();
    if (!v) return fail("more than one top-level value");
    v->Clear();
    fill(*v);
    return true;
  }
  template <class F>
  bool open(F&& fill, bool is_map) {
    v1::Value* v = slot();
    if (!v) return fail("more than one top-level value");
    v->Clear();
    fill(*v);
    Frame f;
    f.node = v;
    f.is_map = is_map;
    stack_.push_back(std::move(f));
    return true;
  }

  size_t max_depth_;
  v1::Value root_;
  bool have_root_ = false;
  std::vector<Frame> stack_;
  std::string error_;
};

template <class Input>
Result<v1::Value> decode(Input&& in, size_t size, nlohmann::json::input_format_t fmt, const DecodeLimits& limits,
                         const char* what) {
  if (size > limits.max_bytes)
    return make_error(std::string(what) + ": " + std::to_string(size) + " bytes exceeds limit of " +
                      std::to_string(limits.max_bytes));
  ValueSax sax(limits.max_depth);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(std::forward<Input>(in), &sax, fmt, true);
  } catch (const std::exception& e) {
    return make_error(std::string(what) + ": " + e.what());
  }
  if (!ok) return make_error(std::string(what) + ": " + (sax.error().empty() ? "malformed input" : sax.error()));
  return std::move(sax.root());
}

}  // namespace

Result<v1::Value> value_from_json(std::string_view text, const DecodeLimits& limits) {
  return decode(text, text.size(), nlohmann::json::input_format_t::json, limits, "invalid JSON");
}

Result<v1::Value> value_from_cbor(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  return decode(bytes, bytes.size(), nlohmann::json::input_format_t::cbor, limits, "invalid CBOR");
}

ojson value_to_ojson(const v1::Value& v) {
  switch (v.kind_case()) {
    case v1::Value::kNullValue:
    case v1::Value::KIND_NOT_SET: return nullptr;
    case v1::Value::kBoolValue: return v.bool_value();
    case v1::Value::kIntValue: return v.int_value();
    case v1::Value::kUintValue: return v.uint_value();
    case v1::Value::kDoubleValue: return v.double_value();
    case v1::Value::kStringValue: return v.string_value();
    case v1::Value::kBytesValue: {
      const auto& s = v.bytes_value();
      return ojson::binary(std::vector<uint8_t>(s.begin(), s.end()));
    }
    case v1::Value::kListValue: {
      ojson a = ojson::array();
      for (const auto& item : v.list_value().items()) a.push_back(value_to_ojson(item));
      return a;
    }
    case v1::Value::kMapValue: {
      ojson o = ojson::object();
      for (const auto& e : v.map_value().entries()) o[e.key()] = value_to_ojson(e.value());
      return o;
    }
  }
  return nullptr;
}

v1::Value value_from_ojson(const ojson& j) {
  v1::Value v;
  switch (j.type()) {
    case ojson::value_t::null:
    case ojson::value_t::discarded: v.set_null_value(true); break;
    case ojson::value_t::boolean: v.set_bool_value(j.get<bool>()); break;
    case ojson::value_t::number_integer: v.set_int_value(j.get<int64_t>()); break;
    case ojson::value_t::number_unsigned: {
      auto u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        v.set_int_value(static_cast<int64_t>(u));
      else
        v.set_uint_value(u);
      break;
    }
    case ojson::value_t::number_float: v.set_double_value(j.get<double>()); break;
    case ojson::value_t::string: v.set_string_value(j.get<std::string>()); break;
    case ojson::value_t::binary: {
      const auto& b = j.get_binary();
      v.set_bytes_value(std::string(b.begin(), b.end()));
      break;
    }
    case ojson::value_t::array: {
      auto* l = v.mutable_list_value();
      for (const auto& item : j) *l->add_items() = value_from_ojson(item);
      break;
    }
    case ojson::value_t::object: {
      auto* m = v.mutable_map_value();
      for (auto it = j.begin(); it != j.end(); ++it) {
        auto* e = m->add_entries();
        e->set_key(it.key());
        *e->mutable_value() = value_from_ojson(it.value());
      }
      break;
    }
  }
  return v;
}

namespace {
std::string base64url(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  while (i + 3 <= in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += tbl[n >> 18];
    out += tbl[(n >> 12) & 63];
    out += tbl[(n >> 6) & 63];
    out += tbl[n & 63];
    i += 3;
  }
  if (in.size() - i == 1) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += tbl[n >> 18];
    out += tbl[(n >> 12) & 63];
  } else if (in.size() - i == 2) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += tbl[n >> 18];
    out += tbl[(n >> 12) & 63];
    out += tbl[(n >> 6) & 63];
  }
  return out;
}

// JSON view: like value_to_ojson but bytes become base64url strings (RFC 8949 §6.1.1), and
// non-finite doubles (which JSON cannot carry) become null.
ojson to_json_tree(const v1::Value& v) {
  switch (v.kind_case()) {
    case v1::Value::kBytesValue: return base64url(v.bytes_value());
    case v1::Value::kDoubleValue:
      if (!std::isfinite(v.double_value())) return nullptr;
      return v.double_value();
    case v1::Value::kListValue: {
      ojson a = ojson::array();
      for (const auto& item : v.list_value().items()) a.push_back(to_json_tree(item));
      return a;
    }
    case v1::Value::kMapValue: {
      ojson o = ojson::object();
      for (const auto& e : v.map_value().entries()) o[e.key()] = to_json_tree(e.value());
      return o;
    }
    default: return value_to_ojson(v);
  }
}
}  // namespace

std::string value_to_json(const v1::Value& v) { return to_json_tree(v).dump(-1, ' ', false, ojson::error_handler_t::replace); }

std::vector<uint8_t> value_to_cbor(const v1::Value& v) { return ojson::to_cbor(value_to_ojson(v)); }

v1::Value make_null() {
  v1::Value v;
  v.set_null_value(true);
  return v;
}
v1::Value make_bool(bool b) {
  v1::Value v;
  v.set_bool_value(b);
  return v;
}
v1::Value make_int(int64_t i) {
  v1::Value v;
  v.set_int_value(i);
  return v;
}
v1::Value make_double(double d) {
  v1::Value v;
  v.set_double_value(d);
  return v;
}
v1::Value make_string(std::string s) {
  v1::Value v;
  v.set_string_value(std::move(s));
  return v;
}
v1::Value make_bytes(std::string b) {
  v1::Value v;
  v.set_bytes_value(std::move(b));
  return v;
}

void map_set(v1::Value& map, std::string key, v1::Value value) {
  auto* m = map.mutable_map_value();
  for (auto& e : *m->mutable_entries()) {
    if (e.key() == key) {
      *e.mutable_value() = std::move(value);
      return;
    }
  }
  auto* e = m->add_entries();
  e->set_key(std::move(key));
  *e->mutable_value() = std::move(value);
}

const v1::Value* map_find(const v1::Value& map, std::string_view key) {
  if (!map.has_map_value()) return nullptr;
  for (const auto& e : map.map_value().entries())
    if (e.key() == key) return &e.value();
  return nullptr;
}

bool value_equal(const v1::Value& a, const v1::Value& b) {
  if (a.kind_case() != b.kind_case()) return false;
  switch (a.kind_case()) {
    case v1::Value::KIND_NOT_SET:
    case v1::Value::kNullValue: return true;
    case v1::Value::kBoolValue: return a.bool_value() == b.bool_value();
    case v1::Value::kIntValue: return a.int_value() == b.int_value();
    case v1::Value::kUintValue: return a.uint_value() == b.uint_value();
    case v1::Value::kDoubleValue:
      return a.double_value() == b.double_value() || (std::isnan(a.double_value()) && std::isnan(b.double_value()));
    case v1::Value::kStringValue: return a.string_value() == b.string_value();
    case v1::Value::kBytesValue: return a.bytes_value() == b.bytes_value();
    case v1::Value::kListValue: {
      const auto &x = a.list_value().items(), &y = b.list_value().items();
      if (x.size() != y.size()) return false;
      for (int i = 0; i < x.size(); ++i)
        if (!value_equal(x[i], y[i])) return false;
      return true;
    }
    case v1::Value::kMapValue: {
      const auto &x = a.map_value().entries(), &y = b.map_value().entries();
      if (x.size() != y.size()) return false;
      for (int i = 0; i < x.size(); ++i)
        if (x[i].key() != y[i].key() || !value_equal(x[i].value(), y[i].value())) return false;
      return true;
    }
  }
  return false;
}

}  // namespace gw
