#include "resource_map.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "gw/value.h"

namespace gw::oic::adapter {

bool OicResource::observable() const {
  for (const auto& p : points)
    if (p.kind() == v1::POINT_PROPERTY || p.kind() == v1::POINT_EVENT || p.kind() == v1::POINT_KIND_UNSPECIFIED)
      return true;
  return false;
}

bool OicResource::service() const { return !points.empty() && points.front().kind() == v1::POINT_SERVICE; }

const OicResource* DeviceResources::find(const std::string& href) const {
  auto it = by_href.find(href);
  return it == by_href.end() ? nullptr : &it->second;
}

bool has_oic_bindings(const v1::DeviceModel& m) {
  for (const auto& p : m.point())
    if (!p.oic().href().empty()) return true;
  return false;
}

gw::Result<DeviceResources> build_resources(const v1::DeviceModel& m, const std::string& default_type) {
  DeviceResources r;
  r.device_type = m.oic_device_type().empty() ? default_type : m.oic_device_type();
  for (const auto& p : m.point()) {
    const auto& b = p.oic();
    if (b.href().empty()) continue;
    std::string where = "mapping: model \"" + m.name() + "\" point \"" + p.path() + "\": ";
    if (p.path().rfind("*/", 0) == 0) {
      r.skipped.push_back(p.path() + " (wildcard channel)");
      continue;
    }
    if (b.href().front() != '/' || b.href().find_first_of("?# ") != std::string::npos)
      return make_error(where + "href \"" + b.href() + "\" is not an absolute path");
    if (b.href().rfind("/oic/", 0) == 0 || b.href() == kXmppResHref || b.href() == kXmppUserResHref)
      return make_error(where + "href \"" + b.href() + "\" is reserved");
    auto& res = r.by_href[b.href()];
    if (res.href.empty()) {
      res.href = b.href();
      res.rt = b.rt();
    } else if (!b.rt().empty() && res.rt != b.rt()) {
      return make_error(where + "href \"" + b.href() + "\" has rt \"" + res.rt + "\" and \"" + b.rt() + "\"");
    }
    std::string prop = b.property().empty() ? "value" : b.property();
    for (const auto& q : res.points)
      if ((q.oic().property().empty() ? "value" : q.oic().property()) == prop)
        return make_error(where + "href \"" + b.href() + "\" binds property \"" + prop + "\" twice");
    if (!res.points.empty() && (p.kind() == v1::POINT_SERVICE) != res.service())
      return make_error(where + "href \"" + b.href() + "\" mixes service and non-service points");
    v1::Point copy = p;
    if (copy.oic().property().empty()) copy.mutable_oic()->set_property("value");
    res.points.push_back(std::move(copy));
    r.by_path.emplace(p.path(), b.href());
  }
  return r;
}

namespace {

std::string value_key(const v1::Value& v) {
  switch (v.kind_case()) {
    case v1::Value::kStringValue: return v.string_value();
    case v1::Value::kIntValue: return std::to_string(v.int_value());
    case v1::Value::kUintValue: return std::to_string(v.uint_value());
    case v1::Value::kBoolValue: return v.bool_value() ? "true" : "false";
    default: return value_to_json(v);
  }
}

bool is_number(const v1::Value& v) {
  return v.kind_case() == v1::Value::kIntValue || v.kind_case() == v1::Value::kUintValue ||
         v.kind_case() == v1::Value::kDoubleValue;
}

double as_double(const v1::Value& v) {
  switch (v.kind_case()) {
    case v1::Value::kIntValue: return static_cast<double>(v.int_value());
    case v1::Value::kUintValue: return static_cast<double>(v.uint_value());
    default: return v.double_value();
  }
}

double effective_scale(const v1::Point& p) { return p.oic().scale() == 0 ? 1.0 : p.oic().scale(); }

}  // namespace

const v1::Value& point_value(const v1::Point& p, const v1::Value& content) {
  if (p.type() != v1::TYPE_OBJECT && content.kind_case() == v1::Value::kMapValue)
    if (const v1::Value* v = map_find(content, "value")) return *v;
  return content;
}

nlohmann::ordered_json to_oic(const v1::Point& p, const v1::Value& native) {
  const auto& em = p.oic().enum_map();
  if (!em.empty()) {
    auto it = em.find(value_key(native));
    if (it != em.end()) return it->second;
  }
  double scale = effective_scale(p);
  if (scale != 1.0 && is_number(native)) {
    double d = as_double(native) * scale;
    if (native.kind_case() != v1::Value::kDoubleValue && std::floor(scale) == scale &&
        std::fabs(d) < 9.0e15)
      return static_cast<std::int64_t>(d);
    return d;
  }
  if (native.kind_case() == v1::Value::KIND_NOT_SET) return nullptr;
  return value_to_ojson(native);
}

gw::Result<v1::Value> from_oic(const v1::Point& p, const nlohmann::ordered_json& v) {
  const std::string& prop = p.oic().property();
  const auto& em = p.oic().enum_map();
  if (!em.empty()) {
    if (!v.is_string()) return make_error("property \"" + prop + "\" must be a string");
    for (const auto& [native, oic] : em) {
      if (oic != v.get<std::string>()) continue;
      switch (p.type()) {
        case v1::TYPE_BOOLEAN: return make_bool(native == "true");
        case v1::TYPE_INTEGER: {
          auto j = nlohmann::json::parse(native, nullptr, false);
          if (j.is_number_integer()) return make_int(j.get<std::int64_t>());
          return make_error("mapping enum key \"" + native + "\" is not an integer");
        }
        case v1::TYPE_NUMBER: {
          auto j = nlohmann::json::parse(native, nullptr, false);
          if (j.is_number()) return make_double(j.get<double>());
          return make_error("mapping enum key \"" + native + "\" is not a number");
        }
        default: return make_string(native);
      }
    }
    return make_error("property \"" + prop + "\": value \"" + v.get<std::string>() + "\" is not allowed");
  }
  double scale = effective_scale(p);
  switch (p.type()) {
    case v1::TYPE_BOOLEAN:
      if (!v.is_boolean()) return make_error("property \"" + prop + "\" must be a boolean");
      return make_bool(v.get<bool>());
    case v1::TYPE_INTEGER: {
      if (!v.is_number()) return make_error("property \"" + prop + "\" must be a number");
      double d = v.get<double>() / scale;
      if (scale == 1.0 && !v.is_number_integer()) return make_error("property \"" + prop + "\" must be an integer");
      if (!(std::fabs(d) < 9.2e18)) return make_error("property \"" + prop + "\" is out of range");
      return make_int(static_cast<std::int64_t>(std::llround(d)));
    }
    case v1::TYPE_NUMBER:
      if (!v.is_number()) return make_error("property \"" + prop + "\" must be a number");
      return make_double(v.get<double>() / scale);
    case v1::TYPE_STRING:
      if (!v.is_string()) return make_error("property \"" + prop + "\" must be a string");
      return make_string(v.get<std::string>());
    case v1::TYPE_OBJECT:
      if (!v.is_object()) return make_error("property \"" + prop + "\" must be an object");
      return value_from_ojson(v);
    case v1::TYPE_ARRAY:
      if (!v.is_array()) return make_error("property \"" + prop + "\" must be an array");
      return value_from_ojson(v);
    default:
      if (scale != 1.0 && v.is_number()) return make_double(v.get<double>() / scale);
      return value_from_ojson(v);
  }
}

nlohmann::ordered_json oic_res(const v1::Device& d, const DeviceResources& r) {
  using J = nlohmann::ordered_json;
  J links = J::array();
  auto link = [&](const std::string& href, J rt, const std::string& ifs, int bm) {
    links.push_back(J{{"href", href}, {"rt", std::move(rt)}, {"if", J::array({ifs})}, {"p", J{{"bm", bm}}}});
  };
  link("/oic/d", J::array({"oic.wk.d", r.device_type}), "oic.if.r", 1);
  link("/oic/p", J::array({"oic.wk.p"}), "oic.if.r", 1);
  link(kXmppResHref, J::array({"oic.ra.xmpp"}), "oic.if.s", 1);
  link(kXmppUserResHref, J::array({"oic.ra.user"}), "oic.if.s", 1);
  for (const auto& [href, res] : r.by_href)
    link(href, J::array({res.rt}), res.service() ? "oic.if.rw" : "oic.if.baseline", res.observable() ? 3 : 1);
  return J::array({J{{"di", d.uuid()}, {"links", std::move(links)}}});
}

nlohmann::ordered_json oic_d(const v1::Device& d, const DeviceResources& r) {
  return nlohmann::ordered_json{{"rt", nlohmann::ordered_json::array({"oic.wk.d", r.device_type})},
                                {"n", d.name().empty() ? d.native_id() : d.name()},
                                {"di", d.uuid()},
                                {"icv", "core.1.0.0"},
                                {"dmv", "res.1.0.0"}};
}

nlohmann::ordered_json oic_p(const v1::Device& d) {
  auto get = [&](const char* k, const char* dflt) {
    auto it = d.identity().find(k);
    return it == d.identity().end() ? std::string(dflt) : it->second;
  };
  return nlohmann::ordered_json{{"rt", nlohmann::ordered_json::array({"oic.wk.p"})},
                                {"pi", d.uuid()},
                                {"mnmn", get("manufacturer", "camgw")},
                                {"mnmo", d.model()},
                                {"mnfv", get("firmware", "")}};
}

}  // namespace gw::oic::adapter
