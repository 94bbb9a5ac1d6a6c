// The OIC view of one bridged device, derived from its mapping model (gw.v1.DeviceModel): OIC
// resources grouped by href, their properties bound to gateway point paths, value conversions
// (scale, enum_map) and the discovery documents /oic/res, /oic/d, /oic/p. Pure functions, no I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gw/result.h"
#include "gw/v1/device.pb.h"
#include "gw/v1/envelope.pb.h"
#include "gw/v1/mapping.pb.h"

namespace gw::oic::adapter {

// gw::oic::v1 (this adapter's config package) would hide the message model's gw::v1 here.
namespace v1 = ::gw::v1;

inline constexpr const char* kDefaultDeviceType = "oic.d.camera";
inline constexpr const char* kXmppResHref = "/XMPPResURI";
inline constexpr const char* kXmppUserResHref = "/XMPPUserResURI";

struct OicResource {
  std::string href;
  std::string rt;
  std::vector<v1::Point> points;  // in mapping order; each carries oic.property
  bool observable() const;        // has a property or event point
  bool service() const;           // its (first) point is a service (POST = INVOKE)
};

struct DeviceResources {
  std::string device_type;                           // /oic/d rt and the JID's device type
  std::map<std::string, OicResource> by_href;        // href -> resource
  std::multimap<std::string, std::string> by_path;   // point path -> href (REPORT/EVENT routing)
  std::vector<std::string> skipped;                  // points left out (reason), for the log

  const OicResource* find(const std::string& href) const;
};

// True if the model has at least one point with an OIC href (the device is bridged).
bool has_oic_bindings(const v1::DeviceModel& m);

// Groups the model's OIC-bound points by href. Errors (prefixed "mapping: ") name the model and the
// conflicting binding: two points with one href and different rt, a duplicate (href, property), a
// href that is not an absolute path or collides with /oic/... or the /XMPP... resources.
// Points whose path has the wildcard channel "*" are skipped (listed in `skipped`).
gw::Result<DeviceResources> build_resources(const v1::DeviceModel& m, const std::string& default_type);

// Native gateway value -> OIC property value: enum_map first (native value's text as key), then
// scale (oic = native * scale), else the value as JSON.
nlohmann::ordered_json to_oic(const v1::Point& p, const v1::Value& native);
// OIC property value -> native value (inverse enum_map, / scale, rounded for TYPE_INTEGER), with a
// type check against the point's ValueType. Errors are one line (the 400 body).
gw::Result<v1::Value> from_oic(const v1::Point& p, const nlohmann::ordered_json& v);
// The point's value inside an envelope's content: the content itself, or its "value" member when
// the content is a map with one and the point is not TYPE_OBJECT.
const v1::Value& point_value(const v1::Point& p, const v1::Value& content);

// Discovery and device documents (OIC Core 1.0 shapes).
nlohmann::ordered_json oic_res(const v1::Device& d, const DeviceResources& r);
nlohmann::ordered_json oic_d(const v1::Device& d, const DeviceResources& r);
nlohmann::ordered_json oic_p(const v1::Device& d);

}  // namespace gw::oic::adapter
