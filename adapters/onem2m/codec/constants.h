// oneM2M protocol constants (TS-0004 / ITU-T Y.4500.4): operations, resource types, response status
// codes and the enumerations a CSE needs when it reads or writes a primitive. Values are the wire
// integers; names follow TS-0004's enumeration labels.
#pragma once

#include <cstdint>
#include <string_view>

namespace gw::onem2m {

// m2m:operation
enum class Operation : int {
  kCreate = 1,
  kRetrieve = 2,
  kUpdate = 3,
  kDelete = 4,
  kNotify = 5,
};

// m2m:resourceType (the subset a camera MN-CSE deals with, plus the common announced types).
namespace ty {
inline constexpr int kAccessControlPolicy = 1;
inline constexpr int kAE = 2;
inline constexpr int kContainer = 3;
inline constexpr int kContentInstance = 4;
inline constexpr int kCSEBase = 5;
inline constexpr int kDelivery = 6;
inline constexpr int kEventConfig = 7;
inline constexpr int kExecInstance = 8;
inline constexpr int kGroup = 9;
inline constexpr int kLocationPolicy = 10;
inline constexpr int kM2mServiceSubscriptionProfile = 11;
inline constexpr int kMgmtCmd = 12;
inline constexpr int kMgmtObj = 13;
inline constexpr int kNode = 14;
inline constexpr int kPollingChannel = 15;
inline constexpr int kRemoteCSE = 16;
inline constexpr int kRequest = 17;
inline constexpr int kSchedule = 18;
inline constexpr int kServiceSubscribedAppRule = 19;
inline constexpr int kServiceSubscribedNode = 20;
inline constexpr int kStatsCollect = 21;
inline constexpr int kStatsConfig = 22;
inline constexpr int kSubscription = 23;
inline constexpr int kSemanticDescriptor = 24;
inline constexpr int kNotificationTargetMgmtPolicyRef = 25;
inline constexpr int kNotificationTargetPolicy = 26;
inline constexpr int kPolicyDeletionRules = 27;
inline constexpr int kFlexContainer = 28;
inline constexpr int kTimeSeries = 29;
inline constexpr int kTimeSeriesInstance = 30;
inline constexpr int kRole = 31;
inline constexpr int kToken = 32;
inline constexpr int kTrafficPattern = 33;
inline constexpr int kDynamicAuthorizationConsultation = 34;
inline constexpr int kAccessControlPolicyAnnc = 10001;
inline constexpr int kAEAnnc = 10002;
inline constexpr int kContainerAnnc = 10003;
inline constexpr int kContentInstanceAnnc = 10004;
inline constexpr int kRemoteCSEAnnc = 10016;
inline constexpr int kFlexContainerAnnc = 10028;
}  // namespace ty

// m2m:responseStatusCode (TS-0004 clause 6.6.3).
namespace rsc {
// 1xxx informational
inline constexpr int kAccepted = 1000;
inline constexpr int kAcceptedNonBlockingRequestSynch = 1001;
inline constexpr int kAcceptedNonBlockingRequestAsynch = 1002;
// 2xxx success
inline constexpr int kOk = 2000;
inline constexpr int kCreated = 2001;
inline constexpr int kDeleted = 2002;
inline constexpr int kUpdated = 2004;
// 4xxx originator error
inline constexpr int kBadRequest = 4000;
inline constexpr int kReleaseVersionNotSupported = 4001;
inline constexpr int kNotFound = 4004;
inline constexpr int kOperationNotAllowed = 4005;
inline constexpr int kRequestTimeout = 4008;
inline constexpr int kUnsupportedMediaType = 4015;
inline constexpr int kSubscriptionCreatorHasNoPrivilege = 4101;
inline constexpr int kContentsUnacceptable = 4102;
inline constexpr int kOriginatorHasNoPrivilege = 4103;
inline constexpr int kGroupRequestIdentifierExists = 4104;
inline constexpr int kConflict = 4105;
inline constexpr int kOriginatorHasNotRegistered = 4106;
inline constexpr int kSecurityAssociationRequired = 4107;
inline constexpr int kInvalidChildResourceType = 4108;
inline constexpr int kNoMembers = 4109;
inline constexpr int kGroupMemberTypeInconsistent = 4110;
inline constexpr int kEsprimUnsupportedOption = 4111;
inline constexpr int kEsprimUnknownKeyId = 4112;
inline constexpr int kEsprimUnknownOrigRandId = 4113;
inline constexpr int kEsprimUnknownRecvRandId = 4114;
inline constexpr int kEsprimBadMac = 4115;
inline constexpr int kEsprimImpersonationError = 4116;
inline constexpr int kOriginatorHasAlreadyRegistered = 4117;
inline constexpr int kAppRuleValidationFailed = 4126;
inline constexpr int kOperationDeniedByRemoteEntity = 4127;
inline constexpr int kServiceSubscriptionNotEstablished = 4128;
// 5xxx receiver error
inline constexpr int kInternalServerError = 5000;
inline constexpr int kNotImplemented = 5001;
inline constexpr int kTargetNotReachable = 5103;
inline constexpr int kReceiverHasNoPrivilege = 5105;
inline constexpr int kAlreadyExists = 5106;
inline constexpr int kRemoteEntityNotReachable = 5107;
inline constexpr int kTargetNotSubscribable = 5203;
inline constexpr int kSubscriptionVerificationInitiationFailed = 5204;
inline constexpr int kSubscriptionHostHasNoPrivilege = 5205;
inline constexpr int kNonBlockingRequestNotSupported = 5206;
inline constexpr int kNotAcceptable = 5207;
inline constexpr int kGroupMembersNotResponded = 5209;
// 6xxx network / management errors
inline constexpr int kMaxNumberOfMemberExceeded = 6010;
inline constexpr int kInvalidArguments = 6023;
inline constexpr int kInsufficientArguments = 6024;

inline constexpr bool is_success(int code) {
  return code >= 1000 && code < 3000;
}
inline constexpr bool is_error(int code) {
  return code >= 4000;
}
// A short English label ("BAD_REQUEST") for logs; "UNKNOWN" for codes not listed above.
std::string_view name(int code);
}  // namespace rsc

// m2m:resultContent
namespace rcn {
inline constexpr int kNothing = 0;
inline constexpr int kAttributes = 1;
inline constexpr int kHierarchicalAddress = 2;
inline constexpr int kHierarchicalAddressAttributes = 3;
inline constexpr int kAttributesChildResources = 4;
inline constexpr int kAttributesChildResourceReferences = 5;
inline constexpr int kChildResourceReferences = 6;
inline constexpr int kOriginalResource = 7;
inline constexpr int kChildResources = 8;
inline constexpr int kModifiedAttributes = 9;
inline constexpr int kSemanticContent = 10;
inline constexpr int kDiscoveryResultReferences = 11;
}  // namespace rcn

// m2m:filterUsage
namespace fu {
inline constexpr int kDiscovery = 1;
inline constexpr int kConditionalRetrieval = 2;
inline constexpr int kIPEOnDemandDiscovery = 3;
inline constexpr int kDiscoveryBasedOperation = 4;
}  // namespace fu

// m2m:discResType
namespace drt {
inline constexpr int kStructured = 1;
inline constexpr int kUnstructured = 2;
}  // namespace drt

// m2m:responseType (rt/rtv)
namespace rtv {
inline constexpr int kNonBlockingRequestSynch = 1;
inline constexpr int kNonBlockingRequestAsynch = 2;
inline constexpr int kBlockingRequest = 3;
inline constexpr int kFlexBlocking = 4;
inline constexpr int kNoResponse = 5;
}  // namespace rtv

// m2m:notificationEventType (enc/net, nev/net)
namespace net {
inline constexpr int kUpdateOfResource = 1;
inline constexpr int kDeleteOfResource = 2;
inline constexpr int kCreateOfDirectChildResource = 3;
inline constexpr int kDeleteOfDirectChildResource = 4;
inline constexpr int kRetrieveOfContainerResourceWithNoChildResource = 5;
}  // namespace net

// m2m:accessControlOperations bits (acop)
namespace acop {
inline constexpr int kCreate = 1;
inline constexpr int kRetrieve = 2;
inline constexpr int kUpdate = 4;
inline constexpr int kDelete = 8;
inline constexpr int kNotify = 16;
inline constexpr int kDiscover = 32;
inline constexpr int kAll = 63;
}  // namespace acop

// m2m:cseTypeID (cst)
namespace cst {
inline constexpr int kIN = 1;
inline constexpr int kMN = 2;
inline constexpr int kASN = 3;
}  // namespace cst

}  // namespace gw::onem2m
