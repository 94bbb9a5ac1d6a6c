#include "onem2m/codec/xml_types.h"

#include <algorithm>
#include <array>
#include <utility>

namespace gw::onem2m {

namespace {

struct Entry {
  std::string_view name;
  XmlType type;
};

// Context-dependent names: "parent/name".
constexpr std::array kContextual = {
    Entry{"fc/ty", XmlType::kIntList},       // filterCriteria resourceType list
    Entry{"fc/chty", XmlType::kIntList},     // childResourceType
    Entry{"fc/pty", XmlType::kIntList},      // parentResourceType
    Entry{"fc/cty", XmlType::kStringList},   // contentType list
    Entry{"nev/net", XmlType::kInt},         // notificationEvent: one event type
    Entry{"enc/net", XmlType::kIntList},     // eventNotificationCriteria: list of event types
    Entry{"enc/om", XmlType::kComplexList},  // operationMonitor
    Entry{"m2m:cb/srt", XmlType::kIntList},  // supportedResourceType
};

// Context-free names, sorted by name (checked by a unit test).
constexpr std::array kNames = {
    Entry{"aa", XmlType::kStringList},        // announcedAttribute
    Entry{"acco", XmlType::kComplexList},     // accessControlContexts
    Entry{"acip", XmlType::kComplex},         // accessControlIpAddresses
    Entry{"acop", XmlType::kInt},             // accessControlOperations
    Entry{"acor", XmlType::kStringList},      // accessControlOriginators
    Entry{"acpi", XmlType::kStringList},      // accessControlPolicyIDs
    Entry{"acr", XmlType::kComplexList},      // accessControlRule
    Entry{"actw", XmlType::kComplexList},     // accessControlWindow (schedule strings contain spaces)
    Entry{"at", XmlType::kStringList},        // announceTo
    Entry{"atr", XmlType::kComplexList},      // attribute (filterCriteria)
    Entry{"bn", XmlType::kComplex},           // batchNotify
    Entry{"catr", XmlType::kComplexList},     // childAttribute
    Entry{"cbs", XmlType::kInt},              // currentByteSize
    Entry{"ch", XmlType::kComplexList},       // childResource
    Entry{"chty", XmlType::kIntList},         // childResourceType
    Entry{"clbl", XmlType::kStringList},      // childLabels
    Entry{"cni", XmlType::kInt},              // currentNrOfInstances
    Entry{"cnm", XmlType::kInt},              // currentNrOfMembers
    Entry{"cs", XmlType::kInt},               // contentSize
    Entry{"cst", XmlType::kInt},              // cseType
    Entry{"csy", XmlType::kInt},              // consistencyStrategy
    Entry{"csz", XmlType::kStringList},       // contentSerialization
    Entry{"cto", XmlType::kInt},              // contentOffset
    Entry{"cts", XmlType::kInt},              // contentStatus
    Entry{"da", XmlType::kBool},              // deliveryAggregation
    Entry{"disr", XmlType::kBool},            // disableRetrieval
    Entry{"drt", XmlType::kInt},              // discoveryResultType
    Entry{"ec", XmlType::kInt},               // eventCategory
    Entry{"enc", XmlType::kComplex},          // eventNotificationCriteria
    Entry{"exc", XmlType::kInt},              // expirationCounter
    Entry{"fc", XmlType::kComplex},           // filterCriteria
    Entry{"fo", XmlType::kInt},               // filterOperation
    Entry{"fu", XmlType::kInt},               // filterUsage
    Entry{"lbl", XmlType::kStringList},       // labels
    Entry{"lim", XmlType::kInt},              // limit
    Entry{"ln", XmlType::kBool},              // latestNotify
    Entry{"lvl", XmlType::kInt},              // level
    Entry{"m2m:dbg", XmlType::kString},       // debugInfo
    Entry{"m2m:uril", XmlType::kStringList},  // URIList (discovery result)
    Entry{"macp", XmlType::kStringList},      // membersAccessControlPolicyIDs
    Entry{"mbs", XmlType::kInt},              // maxByteSize
    Entry{"mdc", XmlType::kInt},              // missingDataCurrentNr
    Entry{"mdn", XmlType::kInt},              // missingDataMaxNr
    Entry{"mia", XmlType::kInt},              // maxInstanceAge
    Entry{"mid", XmlType::kStringList},       // memberIDs
    Entry{"mni", XmlType::kInt},              // maxNrOfInstances
    Entry{"mnm", XmlType::kInt},              // maxNrOfMembers
    Entry{"mt", XmlType::kInt},               // memberType
    Entry{"mtv", XmlType::kBool},             // memberTypeValidated
    Entry{"nct", XmlType::kInt},              // notificationContentType
    Entry{"net", XmlType::kIntList},          // notificationEventType (list unless under nev)
    Entry{"nev", XmlType::kComplex},          // notificationEvent
    Entry{"nsp", XmlType::kInt},              // pendingNotification
    Entry{"nu", XmlType::kStringList},        // notificationURI
    Entry{"oet", XmlType::kInt},              // absRelTimestamp: digits = relative ms
    Entry{"ofst", XmlType::kInt},             // offset
    Entry{"op", XmlType::kInt},               // operation
    Entry{"patr", XmlType::kComplexList},     // parentAttribute
    Entry{"pc", XmlType::kComplex},           // primitiveContent
    Entry{"pei", XmlType::kInt},              // periodicInterval
    Entry{"plbl", XmlType::kStringList},      // parentLabels
    Entry{"poa", XmlType::kStringList},       // pointOfAccess
    Entry{"pty", XmlType::kIntList},          // parentResourceType
    Entry{"pv", XmlType::kComplex},           // privileges
    Entry{"pvs", XmlType::kComplex},          // selfPrivileges
    Entry{"rcn", XmlType::kInt},              // resultContent
    Entry{"rep", XmlType::kComplex},          // representation
    Entry{"rl", XmlType::kComplex},           // rateLimit
    Entry{"rp", XmlType::kInt},               // absRelTimestamp: digits = relative ms
    Entry{"rqet", XmlType::kInt},             // absRelTimestamp: digits = relative ms
    Entry{"rr", XmlType::kBool},              // requestReachability
    Entry{"rsc", XmlType::kInt},              // responseStatusCode
    Entry{"rset", XmlType::kInt},             // absRelTimestamp: digits = relative ms
    Entry{"rt", XmlType::kComplex},           // responseType
    Entry{"rtv", XmlType::kInt},              // responseTypeValue
    Entry{"sce", XmlType::kComplexList},      // scheduleEntry (contains spaces)
    Entry{"se", XmlType::kComplex},           // scheduleElement
    Entry{"sqi", XmlType::kBool},             // semanticQueryIndicator
    Entry{"srt", XmlType::kIntList},          // supportedResourceType
    Entry{"srv", XmlType::kStringList},       // supportedReleaseVersions
    Entry{"st", XmlType::kInt},               // stateTag
    Entry{"stb", XmlType::kInt},              // stateTagBigger
    Entry{"sts", XmlType::kInt},              // stateTagSmaller
    Entry{"sud", XmlType::kBool},             // subscriptionDeletion
    Entry{"sza", XmlType::kInt},              // sizeAbove
    Entry{"szb", XmlType::kInt},              // sizeBelow
    Entry{"tqi", XmlType::kBool},             // tokenRequestIndicator
    Entry{"ty", XmlType::kInt},               // resourceType
    Entry{"uril", XmlType::kStringList},      // URIList
    Entry{"vrq", XmlType::kBool},             // verificationRequest
};

constexpr bool sorted() {
  for (size_t i = 1; i < kNames.size(); ++i)
    if (!(kNames[i - 1].name < kNames[i].name)) return false;
  return true;
}
static_assert(sorted(), "kNames must be sorted by name");

bool has_prefix(std::string_view s) {
  return s.find(':') != std::string_view::npos;
}

}  // namespace

XmlType xml_type(std::string_view parent, std::string_view name) {
  for (const auto& e : kContextual) {
    std::string_view full = e.name;
    size_t slash = full.find('/');
    if (full.substr(0, slash) == parent && full.substr(slash + 1) == name) return e.type;
  }
  auto it = std::lower_bound(kNames.begin(), kNames.end(), name,
                             [](const Entry& e, std::string_view n) { return e.name < n; });
  if (it != kNames.end() && it->name == name) return it->type;
  if (has_prefix(name)) {
    // Resources (m2m:ae, m2m:cin, flexContainers such as cod:binSw): child resources inside a
    // resource are lists (rcn 4/8 answers); a resource directly in pc or rep is one object.
    bool parent_is_resource = has_prefix(parent) && parent != "m2m:rqp" && parent != "m2m:rsp";
    return parent_is_resource ? XmlType::kComplexList : XmlType::kComplex;
  }
  return XmlType::kString;
}

}  // namespace gw::onem2m
