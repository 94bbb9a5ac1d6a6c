// DAS topics (wire profile §2, PROTOCOL.md §6): legacy topics, thing-model (v3) topics, will topics,
// and the authorization helpers ("may serial sn publish / subscribe here?").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <gw/result.h>

namespace gw::osap::topics {

// A serial usable in topics: 1..64 bytes of printable ASCII without '/', '+', '#' or space, and not
// the reserved first levels "iot" or "Basic".
bool IsValidSerial(std::string_view sn);

// ---- legacy ---------------------------------------------------------------------------------------
// Device -> platform: /{domain}/{cmd}; platform -> device: /{sn}/{domain}/{cmd}; decimal numbers in
// canonical form (no sign, no leading zero), each at most 4294967295.
inline constexpr uint32_t kDomainAccess = 1000;  // cmd 1 config, 2 risk, 3 forced offline, 0x3479/0x491F redirect
inline constexpr uint32_t kDomainBase = 1100;    // 0x3445 user list, 0x2807 offline notice, 0x3870 profile URL

struct LegacyUplink {
  uint32_t domain = 0;
  uint32_t cmd = 0;
};
struct LegacyDownlink {
  std::string serial;
  uint32_t domain = 0;
  uint32_t cmd = 0;
};
std::string BuildLegacyUplink(const LegacyUplink& t);
Result<LegacyUplink> ParseLegacyUplink(std::string_view topic);
Result<std::string> BuildLegacyDownlink(const LegacyDownlink& t);
Result<LegacyDownlink> ParseLegacyDownlink(std::string_view topic);

// ---- thing model (v3) -------------------------------------------------------------------------------
// /iot/{sn}/{sub|global}/{localIndex}-{resourceType}/ then one of
//   model/{attribute|event|service}/{businessType}/{domain}/{identifier}
//   basic/shadow/{report|query|set|set_reply|query_reply}
//   ota/{id}/{type}
enum class ThingKind { kModel, kShadow, kOta };
enum class ModelCategory { kAttribute, kEvent, kService };
const char* ModelCategoryName(ModelCategory c);

inline constexpr std::string_view kGlobalSub = "global";

struct ThingTopic {
  std::string serial;
  std::string sub{kGlobalSub};  // sub-device serial, or "global"
  std::string local_index;      // e.g. "0" (no '-')
  std::string resource_type;    // e.g. "video" (may contain '-')
  ThingKind kind = ThingKind::kModel;
  // kModel
  ModelCategory category = ModelCategory::kAttribute;
  std::string business_type;  // report, set, set_reply, query, query_reply, operate, operate_reply…
  std::string domain;
  std::string identifier;
  // kShadow: report | query | set | set_reply | query_reply
  std::string shadow_action;
  // kOta
  std::string ota_id;
  std::string ota_type;
};
Result<std::string> BuildThingTopic(const ThingTopic& t);
Result<ThingTopic> ParseThingTopic(std::string_view topic);

// ---- will -------------------------------------------------------------------------------------------
enum class WillKind { kFirstConnect, kBreakConnect };
struct WillTopic {
  std::string serial;
  WillKind kind = WillKind::kFirstConnect;
};
Result<std::string> BuildWillTopic(const WillTopic& t);
Result<WillTopic> ParseWillTopic(std::string_view topic);

// ---- authorization ----------------------------------------------------------------------------------
// True if a topic name or filter lies under /{sn}/… or /iot/{sn}/… with sn spelled literally (a
// wildcard in the serial position never belongs to anyone).
bool TopicBelongsTo(std::string_view sn, std::string_view topic_or_filter);
// What a device authenticated as sn may publish: legacy uplinks /{domain}/{cmd}, and anything that
// belongs to sn.
bool MayPublish(std::string_view sn, std::string_view topic);
// What it may subscribe to: only filters that belong to sn.
bool MaySubscribe(std::string_view sn, std::string_view filter);

}  // namespace gw::osap::topics
