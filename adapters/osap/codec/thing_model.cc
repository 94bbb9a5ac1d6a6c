#include "osap/codec/thing_model.h"

#include <cmath>
#include <set>

namespace gw::osap::tsl {
namespace {

using nlohmann::json;
constexpr int kMaxSchemaDepth = 32;

Error Err(const std::string& path, const std::string& what) { return make_error(path + ": " + what); }

std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

uint64_t CodePoints(const std::string& s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::optional<ValueType> TypeFromName(const std::string& s) {
  if (s == "boolean") return ValueType::kBoolean;
  if (s == "integer") return ValueType::kInteger;
  if (s == "number") return ValueType::kNumber;
  if (s == "string") return ValueType::kString;
  if (s == "object") return ValueType::kObject;
  if (s == "array") return ValueType::kArray;
  return std::nullopt;
}

Result<std::optional<double>> OptNumber(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<double>{};
  if (!it->is_number()) return Err(path + "." + key, "must be a number");
  return std::optional<double>{it->get<double>()};
}

Result<std::optional<uint64_t>> OptCount(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<uint64_t>{};
  if (!it->is_number_unsigned()) return Err(path + "." + key, "must be a non-negative integer");
  return std::optional<uint64_t>{it->get<uint64_t>()};
}

Result<Schema> ParseSchemaAt(const json& j, const std::string& path, int depth) {
  if (depth > kMaxSchemaDepth) return Err(path, "schema nested deeper than 32 levels");
  if (!j.is_object()) return Err(path, "schema must be an object");
  Schema s;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return Err(path + ".type", "missing or not a string");
  auto t = TypeFromName(type->get<std::string>());
  if (!t) return Err(path + ".type", "unknown type \"" + type->get<std::string>() + "\"");
  s.type = *t;

  auto mn = OptNumber(j, "minimum", path);
  if (!mn) return mn.error();
  auto mx = OptNumber(j, "maximum", path);
  if (!mx) return mx.error();
  auto mo = OptNumber(j, "multipleOf", path);
  if (!mo) return mo.error();
  s.minimum = mn.value();
  s.maximum = mx.value();
  s.multiple_of = mo.value();
  if (s.minimum && s.maximum && *s.minimum > *s.maximum) return Err(path, "minimum above maximum");
  if (s.multiple_of && !(*s.multiple_of > 0)) return Err(path + ".multipleOf", "must be positive");

  auto nl = OptCount(j, "minLength", path);
  if (!nl) return nl.error();
  auto xl = OptCount(j, "maxLength", path);
  if (!xl) return xl.error();
  s.min_length = nl.value();
  s.max_length = xl.value();
  if (s.min_length && s.max_length && *s.min_length > *s.max_length) {
    return Err(path, "minLength above maxLength");
  }
  auto ni = OptCount(j, "minItems", path);
  if (!ni) return ni.error();
  auto xi = OptCount(j, "maxItems", path);
  if (!xi) return xi.error();
  s.min_items = ni.value();
  s.max_items = xi.value();

  if (auto e = j.find("enum"); e != j.end() && !e->is_null()) {
    if (!e->is_array() || e->empty()) return Err(path + ".enum", "must be a non-empty array");
    s.enum_values.assign(e->begin(), e->end());
  }
  if (auto p = j.find("properties"); p != j.end() && !p->is_null()) {
    if (!p->is_object()) return Err(path + ".properties", "must be an object");
    for (auto it = p->begin(); it != p->end(); ++it) {
      auto sub = ParseSchemaAt(it.value(), path + ".properties." + it.key(), depth + 1);
      if (!sub) return sub.error();
      s.properties.push_back({it.key(), std::move(sub.value())});
    }
  }
  if (auto r = j.find("required"); r != j.end() && !r->is_null()) {
    if (!r->is_array()) return Err(path + ".required", "must be an array of strings");
    for (size_t i = 0; i < r->size(); ++i) {
      if (!(*r)[i].is_string()) return Err(Index(path + ".required", i), "must be a string");
      s.required.push_back((*r)[i].get<std::string>());
    }
  }
  if (auto it = j.find("items"); it != j.end() && !it->is_null()) {
    auto sub = ParseSchemaAt(*it, path + ".items", depth + 1);
    if (!sub) return sub.error();
    s.items.push_back(std::move(sub.value()));
  }
  return s;
}

Result<std::string> ReqString(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return Err(path + "." + key, "missing or not a string");
  if (it->get_ref<const std::string&>().empty()) return Err(path + "." + key, "must not be empty");
  return it->get<std::string>();
}

Result<std::string> OptString(const json& j, const char* key, const std::string& path,
                              std::string dflt = {}) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_string()) return Err(path + "." + key, "must be a string");
  return it->get<std::string>();
}

Result<bool> OptBool(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) return Err(path + "." + key, "must be a boolean");
  return it->get<bool>();
}

// An array member (absent = empty); errors name the path.
Result<const json*> OptArray(const json& j, const char* key, const std::string& path) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return &kEmpty;
  if (!it->is_array()) return Err(path + "." + key, "must be an array");
  return &*it;
}

// Action/event input or output: null/absent = none; {"schema":{…}} or a schema object directly.
Result<std::optional<Schema>> OptIoSchema(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<Schema>{};
  std::string p = path + "." + key;
  if (!it->is_object()) return Err(p, "must be an object or null");
  const json* target = &*it;
  if (auto s = it->find("schema"); s != it->end()) {
    target = &*s;
    p += ".schema";
  }
  auto schema = ParseSchemaAt(*target, p, 0);
  if (!schema) return schema.error();
  return std::optional<Schema>{std::move(schema.value())};
}

template <class T>
Result<void> CheckUnique(const std::vector<T>& items, const std::string& path, const char* what) {
  std::set<std::string> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!seen.insert(items[i].identifier).second) {
      return Err(Index(path, i) + ".identifier",
                 std::string("duplicate ") + what + " \"" + items[i].identifier + "\"");
    }
  }
  return {};
}

Result<Domain> ParseDomain(const json& j, const std::string& path) {
  if (!j.is_object()) return Err(path, "must be an object");
  Domain d;
  auto id = ReqString(j, "identifier", path);
  if (!id) return id.error();
  d.identifier = id.value();

  auto props = OptArray(j, "props", path);
  if (!props) return props.error();
  for (size_t i = 0; i < props.value()->size(); ++i) {
    const json& pj = (*props.value())[i];
    std::string pp = Index(path + ".props", i);
    if (!pj.is_object()) return Err(pp, "must be an object");
    Prop p;
    auto pid = ReqString(pj, "identifier", pp);
    if (!pid) return pid.error();
    p.identifier = pid.value();
    auto ver = OptString(pj, "version", pp);
    if (!ver) return ver.error();
    p.version = ver.value();
    auto acc = ReqString(pj, "access", pp);
    if (!acc) return acc.error();
    if (acc.value() == "r") {
      p.access = Access::kRead;
    } else if (acc.value() == "rw") {
      p.access = Access::kReadWrite;
    } else {
      return Err(pp + ".access", "must be \"r\" or \"rw\", got \"" + acc.value() + "\"");
    }
    auto sj = pj.find("schema");
    if (sj == pj.end()) return Err(pp + ".schema", "missing");
    auto schema = ParseSchemaAt(*sj, pp + ".schema", 0);
    if (!schema) return schema.error();
    p.schema = std::move(schema.value());
    d.props.push_back(std::move(p));
  }
  if (auto u = CheckUnique(d.props, path + ".props", "prop"); !u) return u.error();

  auto actions = OptArray(j, "actions", path);
  if (!actions) return actions.error();
  for (size_t i = 0; i < actions.value()->size(); ++i) {
    const json& aj = (*actions.value())[i];
    std::string ap = Index(path + ".actions", i);
    if (!aj.is_object()) return Err(ap, "must be an object");
    Action a;
    auto aid = ReqString(aj, "identifier", ap);
    if (!aid) return aid.error();
    a.identifier = aid.value();
    auto dir = OptString(aj, "direction", ap, "Plt2Dev");
    if (!dir) return dir.error();
    a.direction = dir.value();
    auto in = OptIoSchema(aj, "input", ap);
    if (!in) return in.error();
    a.input = std::move(in.value());
    auto out = OptIoSchema(aj, "output", ap);
    if (!out) return out.error();
    a.output = std::move(out.value());
    d.actions.push_back(std::move(a));
  }
  if (auto u = CheckUnique(d.actions, path + ".actions", "action"); !u) return u.error();

  auto events = OptArray(j, "events", path);
  if (!events) return events.error();
  for (size_t i = 0; i < events.value()->size(); ++i) {
    const json& ej = (*events.value())[i];
    std::string ep = Index(path + ".events", i);
    if (!ej.is_object()) return Err(ep, "must be an object");
    Event e;
    auto eid = ReqString(ej, "identifier", ep);
    if (!eid) return eid.error();
    e.identifier = eid.value();
    auto types = OptArray(ej, "eventType", ep);
    if (!types) return types.error();
    for (size_t k = 0; k < types.value()->size(); ++k) {
      const json& t = (*types.value())[k];
      if (!t.is_string()) return Err(Index(ep + ".eventType", k), "must be a string");
      e.event_types.push_back(t.get<std::string>());
    }
    auto in = OptIoSchema(ej, "input", ep);
    if (!in) return in.error();
    e.input = std::move(in.value());
    d.events.push_back(std::move(e));
  }
  if (auto u = CheckUnique(d.events, path + ".events", "event"); !u) return u.error();
  return d;
}

Result<Resource> ParseResource(const json& j, const std::string& path) {
  if (!j.is_object()) return Err(path, "must be an object");
  Resource r;
  auto id = ReqString(j, "identifier", path);
  if (!id) return id.error();
  r.identifier = id.value();
  auto title = OptString(j, "title", path);
  if (!title) return title.error();
  r.title = title.value();
  auto cat = ReqString(j, "resourceCategory", path);
  if (!cat) return cat.error();
  r.category = cat.value();
  if (r.category.find_first_of("/+#") != std::string::npos) {
    return Err(path + ".resourceCategory", "must not contain '/', '+' or '#'");
  }
  auto li = OptArray(j, "localIndex", path);
  if (!li) return li.error();
  for (size_t i = 0; i < li.value()->size(); ++i) {
    const json& x = (*li.value())[i];
    if (!x.is_string() || x.get_ref<const std::string&>().empty() ||
        x.get_ref<const std::string&>().find_first_of("-/+#") != std::string::npos) {
      return Err(Index(path + ".localIndex", i), "must be a non-empty string without '-', '/', '+', '#'");
    }
    r.local_index.push_back(x.get<std::string>());
  }
  if (auto rule = j.find("localIndexRule"); rule != j.end()) r.local_index_rule = *rule;
  auto dyn = OptBool(j, "dynamic", path);
  if (!dyn) return dyn.error();
  r.dynamic = dyn.value();
  auto glob = OptBool(j, "global", path);
  if (!glob) return glob.error();
  r.global = glob.value();
  auto domains = j.find("domains");
  if (domains == j.end() || !domains->is_array()) return Err(path + ".domains", "missing or not an array");
  for (size_t i = 0; i < domains->size(); ++i) {
    auto d = ParseDomain((*domains)[i], Index(path + ".domains", i));
    if (!d) return d.error();
    r.domains.push_back(std::move(d.value()));
  }
  if (auto u = CheckUnique(r.domains, path + ".domains", "domain"); !u) return u.error();
  return r;
}

template <class T>
const T* FindById(const std::vector<T>& v, std::string_view id) {
  for (const auto& x : v) {
    if (x.identifier == id) return &x;
  }
  return nullptr;
}

}  // namespace

const char* ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kBoolean: return "boolean";
    case ValueType::kInteger: return "integer";
    case ValueType::kNumber: return "number";
    case ValueType::kString: return "string";
    case ValueType::kObject: return "object";
    case ValueType::kArray: return "array";
  }
  return "?";
}

Result<Schema> ParseSchema(const json& j, const std::string& path) { return ParseSchemaAt(j, path, 0); }

Result<void> Validate(const Schema& s, const json& v, const std::string& path) {
  bool type_ok = false;
  switch (s.type) {
    case ValueType::kBoolean: type_ok = v.is_boolean(); break;
    case ValueType::kInteger: type_ok = v.is_number_integer(); break;
    case ValueType::kNumber: type_ok = v.is_number(); break;
    case ValueType::kString: type_ok = v.is_string(); break;
    case ValueType::kObject: type_ok = v.is_object(); break;
    case ValueType::kArray: type_ok = v.is_array(); break;
  }
  if (!type_ok) return Err(path, std::string("expected ") + ValueTypeName(s.type) + ", got " + v.type_name());
  if (!s.enum_values.empty()) {
    bool found = false;
    for (const auto& e : s.enum_values) found = found || e == v;
    if (!found) return Err(path, "value " + v.dump() + " is not in the enum");
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (s.minimum && d < *s.minimum) return Err(path, v.dump() + " is below the minimum " + json(*s.minimum).dump());
    if (s.maximum && d > *s.maximum) return Err(path, v.dump() + " is above the maximum " + json(*s.maximum).dump());
    if (s.multiple_of) {
      double q = d / *s.multiple_of;
      if (std::fabs(q - std::round(q)) > 1e-9) {
        return Err(path, v.dump() + " is not a multiple of " + json(*s.multiple_of).dump());
      }
    }
  }
  if (v.is_string()) {
    uint64_t n = CodePoints(v.get_ref<const std::string&>());
    if (s.min_length && n < *s.min_length) return Err(path, "string shorter than minLength " + std::to_string(*s.min_length));
    if (s.max_length && n > *s.max_length) return Err(path, "string longer than maxLength " + std::to_string(*s.max_length));
  }
  if (v.is_object()) {
    for (const auto& r : s.required) {
      if (!v.contains(r)) return Err(path, "missing required member \"" + r + "\"");
    }
    for (const auto& p : s.properties) {
      auto it = v.find(p.name);
      if (it == v.end()) continue;
      if (auto r = Validate(p.schema, *it, path + "." + p.name); !r) return r;
    }
  }
  if (v.is_array()) {
    if (s.min_items && v.size() < *s.min_items) return Err(path, "fewer than minItems " + std::to_string(*s.min_items));
    if (s.max_items && v.size() > *s.max_items) return Err(path, "more than maxItems " + std::to_string(*s.max_items));
    if (!s.items.empty()) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto r = Validate(s.items[0], v[i], Index(path, i)); !r) return r;
      }
    }
  }
  return {};
}

const Prop* Domain::FindProp(std::string_view id) const { return FindById(props, id); }
const Action* Domain::FindAction(std::string_view id) const { return FindById(actions, id); }
const Event* Domain::FindEvent(std::string_view id) const { return FindById(events, id); }
const Domain* Resource::FindDomain(std::string_view id) const { return FindById(domains, id); }

bool Resource::AcceptsLocalIndex(std::string_view index) const {
  if (dynamic) return true;
  for (const auto& i : local_index) {
    if (i == index) return true;
  }
  return false;
}

const Resource* Profile::FindResource(std::string_view category) const {
  for (const auto& r : resources) {
    if (r.category == category) return &r;
  }
  return nullptr;
}

Result<Profile> LoadProfile(std::string_view text) {
  auto doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return make_error("profile: not valid JSON");
  return LoadProfileJson(doc);
}

Result<Profile> LoadProfileJson(const json& doc) {
  try {
    if (!doc.is_object()) return make_error("profile: top level must be an object");
    Profile p;
    auto ver = OptString(doc, "version", "profile");
    if (!ver) return ver.error();
    p.version = ver.value();
    if (auto c = doc.find("capacities"); c != doc.end()) p.capacities = *c;
    auto res = doc.find("resources");
    if (res == doc.end() || !res->is_array()) return make_error("profile.resources: missing or not an array");
    std::set<std::string> categories;
    for (size_t i = 0; i < res->size(); ++i) {
      std::string path = Index("profile.resources", i);
      auto r = ParseResource((*res)[i], path);
      if (!r) return r.error();
      if (!categories.insert(r->category).second) {
        return Err(path + ".resourceCategory", "duplicate resourceCategory \"" + r->category + "\"");
      }
      p.resources.push_back(std::move(r.value()));
    }
    if (auto u = CheckUnique(p.resources, "profile.resources", "resource"); !u) return u.error();
    return p;
  } catch (const std::exception& e) {
    // Every access above is type-checked first; this only guards against library surprises.
    return make_error(std::string("profile: ") + e.what());
  }
}

}  // namespace gw::osap::tsl
