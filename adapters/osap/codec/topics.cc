#include "osap/codec/topics.h"

#include "osap/codec/mqtt.h"

#include <charconv>
#include <optional>

namespace gw::osap::topics {
namespace {

// One topic level built from data: non-empty printable ASCII, no '/', '+', '#'.
bool IsValidLevel(std::string_view l) {
  if (l.empty()) return false;
  for (char c : l) {
    if (c < 0x21 || c > 0x7E || c == '/' || c == '+' || c == '#') return false;
  }
  return true;
}

std::optional<uint32_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Error Err(std::string_view topic, const std::string& what) {
  return make_error("topic \"" + std::string(topic) + "\": " + what);
}

constexpr std::string_view kShadowActions[] = {"report", "query", "set", "set_reply", "query_reply"};

}  // namespace

bool IsValidSerial(std::string_view sn) {
  return sn.size() <= 64 && IsValidLevel(sn) && sn != "iot" && sn != "Basic";
}

std::string BuildLegacyUplink(const LegacyUplink& t) {
  return "/" + std::to_string(t.domain) + "/" + std::to_string(t.cmd);
}

Result<LegacyUplink> ParseLegacyUplink(std::string_view topic) {
  auto l = mqtt::SplitTopicLevels(topic);
  if (l.size() != 3 || !l[0].empty()) return Err(topic, "not /{domain}/{cmd}");
  auto d = ParseDecimal(l[1]), c = ParseDecimal(l[2]);
  if (!d || !c) return Err(topic, "domain and cmd must be canonical decimal numbers");
  return LegacyUplink{*d, *c};
}

Result<std::string> BuildLegacyDownlink(const LegacyDownlink& t) {
  if (!IsValidSerial(t.serial)) return make_error("legacy topic: invalid serial \"" + t.serial + "\"");
  return "/" + t.serial + "/" + std::to_string(t.domain) + "/" + std::to_string(t.cmd);
}

Result<LegacyDownlink> ParseLegacyDownlink(std::string_view topic) {
  auto l = mqtt::SplitTopicLevels(topic);
  if (l.size() != 4 || !l[0].empty()) return Err(topic, "not /{sn}/{domain}/{cmd}");
  if (!IsValidSerial(l[1])) return Err(topic, "invalid serial");
  auto d = ParseDecimal(l[2]), c = ParseDecimal(l[3]);
  if (!d || !c) return Err(topic, "domain and cmd must be canonical decimal numbers");
  return LegacyDownlink{std::string(l[1]), *d, *c};
}

const char* ModelCategoryName(ModelCategory c) {
  switch (c) {
    case ModelCategory::kAttribute: return "attribute";
    case ModelCategory::kEvent: return "event";
    case ModelCategory::kService: return "service";
  }
  return "?";
}

Result<std::string> BuildThingTopic(const ThingTopic& t) {
  auto bad = [](const char* field, const std::string& v) {
    return make_error(std::string("thing topic: invalid ") + field + " \"" + v + "\"");
  };
  if (!IsValidSerial(t.serial)) return bad("serial", t.serial);
  if (!IsValidLevel(t.sub)) return bad("sub", t.sub);
  if (!IsValidLevel(t.local_index) || t.local_index.find('-') != std::string::npos) {
    return bad("localIndex", t.local_index);
  }
  if (!IsValidLevel(t.resource_type)) return bad("resourceType", t.resource_type);
  std::string s = "/iot/" + t.serial + "/" + t.sub + "/" + t.local_index + "-" + t.resource_type;
  switch (t.kind) {
    case ThingKind::kModel:
      if (!IsValidLevel(t.business_type)) return bad("businessType", t.business_type);
      if (!IsValidLevel(t.domain)) return bad("domain", t.domain);
      if (!IsValidLevel(t.identifier)) return bad("identifier", t.identifier);
      return s + "/model/" + ModelCategoryName(t.category) + "/" + t.business_type + "/" + t.domain +
             "/" + t.identifier;
    case ThingKind::kShadow:
      for (auto a : kShadowActions) {
        if (t.shadow_action == a) return s + "/basic/shadow/" + t.shadow_action;
      }
      return bad("shadow action", t.shadow_action);
    case ThingKind::kOta:
      if (!IsValidLevel(t.ota_id)) return bad("ota id", t.ota_id);
      if (!IsValidLevel(t.ota_type)) return bad("ota type", t.ota_type);
      return s + "/ota/" + t.ota_id + "/" + t.ota_type;
  }
  return bad("kind", "");
}

Result<ThingTopic> ParseThingTopic(std::string_view topic) {
  auto l = mqtt::SplitTopicLevels(topic);
  if (l.size() < 6 || !l[0].empty() || l[1] != "iot") {
    return Err(topic, "not /iot/{sn}/{sub}/{localIndex}-{resourceType}/…");
  }
  for (size_t i = 2; i < l.size(); ++i) {
    if (!IsValidLevel(l[i])) return Err(topic, "level " + std::to_string(i) + " is empty or invalid");
  }
  ThingTopic t;
  if (!IsValidSerial(l[2])) return Err(topic, "invalid serial");
  t.serial = l[2];
  t.sub = l[3];
  size_t dash = l[4].find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == l[4].size()) {
    return Err(topic, "resource level must be {localIndex}-{resourceType}");
  }
  t.local_index = l[4].substr(0, dash);
  t.resource_type = l[4].substr(dash + 1);
  if (l[5] == "model") {
    if (l.size() != 10) return Err(topic, "model topic needs 10 levels");
    if (l[6] == "attribute") {
      t.category = ModelCategory::kAttribute;
    } else if (l[6] == "event") {
      t.category = ModelCategory::kEvent;
    } else if (l[6] == "service") {
      t.category = ModelCategory::kService;
    } else {
      return Err(topic, "model category must be attribute, event or service");
    }
    t.kind = ThingKind::kModel;
    t.business_type = l[7];
    t.domain = l[8];
    t.identifier = l[9];
    return t;
  }
  if (l[5] == "basic") {
    if (l.size() != 8 || l[6] != "shadow") return Err(topic, "not …/basic/shadow/{action}");
    t.kind = ThingKind::kShadow;
    for (auto a : kShadowActions) {
      if (l[7] == a) {
        t.shadow_action = l[7];
        return t;
      }
    }
    return Err(topic, "unknown shadow action");
  }
  if (l[5] == "ota") {
    if (l.size() != 8) return Err(topic, "not …/ota/{id}/{type}");
    t.kind = ThingKind::kOta;
    t.ota_id = l[6];
    t.ota_type = l[7];
    return t;
  }
  return Err(topic, "expected model, basic or ota after the resource level");
}

Result<std::string> BuildWillTopic(const WillTopic& t) {
  if (!IsValidSerial(t.serial)) return make_error("will topic: invalid serial \"" + t.serial + "\"");
  return "/Basic/pu2cenplt/" + t.serial +
         (t.kind == WillKind::kFirstConnect ? "/firstconnect" : "/breakconnect");
}

Result<WillTopic> ParseWillTopic(std::string_view topic) {
  auto l = mqtt::SplitTopicLevels(topic);
  if (l.size() != 5 || !l[0].empty() || l[1] != "Basic" || l[2] != "pu2cenplt") {
    return Err(topic, "not /Basic/pu2cenplt/{sn}/firstconnect|breakconnect");
  }
  if (!IsValidSerial(l[3])) return Err(topic, "invalid serial");
  WillTopic w;
  w.serial = l[3];
  if (l[4] == "firstconnect") {
    w.kind = WillKind::kFirstConnect;
  } else if (l[4] == "breakconnect") {
    w.kind = WillKind::kBreakConnect;
  } else {
    return Err(topic, "last level must be firstconnect or breakconnect");
  }
  return w;
}

bool TopicBelongsTo(std::string_view sn, std::string_view t) {
  if (!IsValidSerial(sn)) return false;
  auto l = mqtt::SplitTopicLevels(t);
  if (l.size() < 3 || !l[0].empty()) return false;  // need "/{x}/{more}"
  if (l[1] == "iot") return l.size() >= 4 && l[2] == sn;
  return l[1] == sn;
}

bool MayPublish(std::string_view sn, std::string_view topic) {
  return ParseLegacyUplink(topic).ok() || TopicBelongsTo(sn, topic);
}

bool MaySubscribe(std::string_view sn, std::string_view filter) { return TopicBelongsTo(sn, filter); }

}  // namespace gw::osap::topics
