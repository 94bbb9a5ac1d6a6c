// MQTT addressing of the oneM2M binding (TS-0010 §6.3-6.6, ITU-T Y.4500.10 §7.3-7.6):
// topics, wildcard subscriptions, the "/" -> ":" rule for IDs inside topics, client ids and
// pointOfAccess URIs. Pure string work; PROTOCOL.md §2-3 gives the byte-exact forms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gw/result.h"
#include "onem2m/codec/serialization.h"

namespace gw::onem2m {

enum class TopicKind {
  kRequest,      // /oneM2M/req/<originator>/<receiver>/<fmt>
  kResponse,     // /oneM2M/resp/<originator>/<receiver>/<fmt>
  kRegRequest,   // /oneM2M/reg_req/<credential-id>/<receiver>/<fmt>
  kRegResponse,  // /oneM2M/reg_resp/<credential-id>/<receiver>/<fmt>
};

std::string_view topic_kind_name(TopicKind k);  // "req", "resp", "reg_req", "reg_resp"

// An ID as it appears inside a topic level: leading "/" removed, every other "/" replaced by ":".
//   "/id-in" -> "id-in", "/id-in/Cae1" -> "id-in:Cae1", "Sae2" -> "Sae2", "//sp/id-in" -> "sp:id-in"
std::string id_to_topic(std::string_view id);
// The inverse for SP-relative IDs: ":" -> "/", and a leading "/" restored when the level held a
// structured ID. "id-in:Cae1" -> "/id-in/Cae1". A level without ":" is returned unchanged ("id-in",
// "Sae2"): the binding drops the leading "/" of a CSE-ID, so only the caller knows whether a bare
// level is a CSE-ID (see sp_relative_cse_id) or an AE-ID stem. Tolerated on input: a level with a
// leading ":" (":id-in", written by peers that replace "/" without dropping it) -> "/id-in".
std::string topic_to_id(std::string_view level);
// "id-in", "/id-in", ":id-in" -> "/id-in".
std::string sp_relative_cse_id(std::string_view id);
// True when a and b name the same entity in a topic (compares id_to_topic forms).
bool same_topic_id(std::string_view a, std::string_view b);

struct Topic {
  TopicKind kind = TopicKind::kRequest;
  std::string originator;  // the topic level as received (":"-form), e.g. "id-in:Cae1"
  std::string receiver;    // the topic level as received, e.g. "id-mn"
  Format format = Format::kJson;
  bool format_given = true;  // false when the peer omitted the suffix (json assumed)
};

// Builds a topic from IDs in their oneM2M form (applies id_to_topic). Always writes the suffix.
// Fails on empty IDs or IDs containing MQTT wildcards ('+', '#') or NUL.
gw::Result<std::string> make_topic(TopicKind kind, std::string_view originator_id, std::string_view receiver_id,
                                   Format f);
// Writes a parsed topic back (levels verbatim; the suffix only when format_given).
std::string format_topic(const Topic& t);
// Parses "/oneM2M/<kind>/<originator>/<receiver>[/<fmt>]". Tolerated: a missing leading "/"
// ("oneM2M/req/..."), a missing suffix (json), a suffix in any letter case.
gw::Result<Topic> parse_topic(std::string_view topic);
// The topic of the response to a request received on `request` (req -> resp, reg_req -> reg_resp;
// same levels, same suffix, no suffix if the request had none).
gw::Result<Topic> response_topic_for(const Topic& request);

// Wildcard subscriptions. A CSE:
//   /oneM2M/req/+/<id>/#   /oneM2M/resp/<id>/+/#   /oneM2M/reg_req/+/<id>/#
std::vector<std::string> cse_subscriptions(std::string_view cse_id);
// An AE: /oneM2M/req/+/<id>/#   /oneM2M/resp/<id>/+/#
std::vector<std::string> ae_subscriptions(std::string_view ae_id);

// MQTT client ids (TS-0010 §6.3): "C::<CSE-ID>" / "A::<AE-ID>" (leading "/" of the ID dropped).
enum class EntityKind { kCse, kAe };
std::string make_client_id(EntityKind kind, std::string_view id);
struct ClientId {
  EntityKind kind = EntityKind::kCse;
  std::string id;  // without prefix and without leading "/", e.g. "id-in", "Cae1", "id-in/Cae1"
};
// Accepts "C::x", "A::x" and the single-colon form of Y.4500.10 ("C:x", "A:x").
gw::Result<ClientId> parse_client_id(std::string_view client_id);

// pointOfAccess (TS-0010 §6.6): mqtt://<authority> or mqtts://<authority>.
struct PointOfAccess {
  bool tls = false;   // mqtts
  std::string host;   // IPv6 literals without brackets
  uint16_t port = 0;  // 1883 / 8883 when the URI has none
  bool operator==(const PointOfAccess&) const = default;
};
gw::Result<PointOfAccess> parse_poa(std::string_view uri);
// "mqtt://host:port" / "mqtts://[v6]:port" (the port always written).
std::string format_poa(const PointOfAccess& poa);

}  // namespace gw::onem2m
