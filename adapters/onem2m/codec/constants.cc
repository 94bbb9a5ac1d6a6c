#include "onem2m/codec/constants.h"

namespace gw::onem2m::rsc {

std::string_view name(int code) {
  switch (code) {
    case kAccepted:
      return "ACCEPTED";
    case kAcceptedNonBlockingRequestSynch:
      return "ACCEPTED_NON_BLOCKING_REQUEST_SYNCH";
    case kAcceptedNonBlockingRequestAsynch:
      return "ACCEPTED_NON_BLOCKING_REQUEST_ASYNCH";
    case kOk:
      return "OK";
    case kCreated:
      return "CREATED";
    case kDeleted:
      return "DELETED";
    case kUpdated:
      return "UPDATED";
    case kBadRequest:
      return "BAD_REQUEST";
    case kReleaseVersionNotSupported:
      return "RELEASE_VERSION_NOT_SUPPORTED";
    case kNotFound:
      return "NOT_FOUND";
    case kOperationNotAllowed:
      return "OPERATION_NOT_ALLOWED";
    case kRequestTimeout:
      return "REQUEST_TIMEOUT";
    case kUnsupportedMediaType:
      return "UNSUPPORTED_MEDIA_TYPE";
    case kSubscriptionCreatorHasNoPrivilege:
      return "SUBSCRIPTION_CREATOR_HAS_NO_PRIVILEGE";
    case kContentsUnacceptable:
      return "CONTENTS_UNACCEPTABLE";
    case kOriginatorHasNoPrivilege:
      return "ORIGINATOR_HAS_NO_PRIVILEGE";
    case kGroupRequestIdentifierExists:
      return "GROUP_REQUEST_IDENTIFIER_EXISTS";
    case kConflict:
      return "CONFLICT";
    case kOriginatorHasNotRegistered:
      return "ORIGINATOR_HAS_NOT_REGISTERED";
    case kSecurityAssociationRequired:
      return "SECURITY_ASSOCIATION_REQUIRED";
    case kInvalidChildResourceType:
      return "INVALID_CHILD_RESOURCE_TYPE";
    case kNoMembers:
      return "NO_MEMBERS";
    case kGroupMemberTypeInconsistent:
      return "GROUP_MEMBER_TYPE_INCONSISTENT";
    case kEsprimUnsupportedOption:
      return "ESPRIM_UNSUPPORTED_OPTION";
    case kEsprimUnknownKeyId:
      return "ESPRIM_UNKNOWN_KEY_ID";
    case kEsprimUnknownOrigRandId:
      return "ESPRIM_UNKNOWN_ORIG_RAND_ID";
    case kEsprimUnknownRecvRandId:
      return "ESPRIM_UNKNOWN_RECV_RAND_ID";
    case kEsprimBadMac:
      return "ESPRIM_BAD_MAC";
    case kEsprimImpersonationError:
      return "ESPRIM_IMPERSONATION_ERROR";
    case kOriginatorHasAlreadyRegistered:
      return "ORIGINATOR_HAS_ALREADY_REGISTERED";
    case kAppRuleValidationFailed:
      return "APP_RULE_VALIDATION_FAILED";
    case kOperationDeniedByRemoteEntity:
      return "OPERATION_DENIED_BY_REMOTE_ENTITY";
    case kServiceSubscriptionNotEstablished:
      return "SERVICE_SUBSCRIPTION_NOT_ESTABLISHED";
    case kInternalServerError:
      return "INTERNAL_SERVER_ERROR";
    case kNotImplemented:
      return "NOT_IMPLEMENTED";
    case kTargetNotReachable:
      return "TARGET_NOT_REACHABLE";
    case kReceiverHasNoPrivilege:
      return "RECEIVER_HAS_NO_PRIVILEGE";
    case kAlreadyExists:
      return "ALREADY_EXISTS";
    case kRemoteEntityNotReachable:
      return "REMOTE_ENTITY_NOT_REACHABLE";
    case kTargetNotSubscribable:
      return "TARGET_NOT_SUBSCRIBABLE";
    case kSubscriptionVerificationInitiationFailed:
      return "SUBSCRIPTION_VERIFICATION_INITIATION_FAILED";
    case kSubscriptionHostHasNoPrivilege:
      return "SUBSCRIPTION_HOST_HAS_NO_PRIVILEGE";
    case kNonBlockingRequestNotSupported:
      return "NON_BLOCKING_REQUEST_NOT_SUPPORTED";
    case kNotAcceptable:
      return "NOT_ACCEPTABLE";
    case kGroupMembersNotResponded:
      return "GROUP_MEMBERS_NOT_RESPONDED";
    case kMaxNumberOfMemberExceeded:
      return "MAX_NUMBER_OF_MEMBER_EXCEEDED";
    case kInvalidArguments:
      return "INVALID_ARGUMENTS";
    case kInsufficientArguments:
      return "INSUFFICIENT_ARGUMENTS";
    default:
      return "UNKNOWN";
  }
}

}  // namespace gw::onem2m::rsc
