// The oneM2M request and response primitives (TS-0004 clause 6.4.1 / 6.4.2) as a CSE sees them,
// keyed by their TS-0004 short names, and their conversion to and from a content tree.
//
// The tree is nlohmann::ordered_json: member order is kept, integers stay integers (signed, or
// unsigned beyond INT64_MAX), CBOR byte strings stay binary. JSON, CBOR and XML all decode to the
// same tree (see serialization.h), so everything above the wire works on trees and these structs.
//
// Parameters the structs do not model are kept verbatim in `other` (in document order) and written
// back after the modelled ones, so a primitive survives decode -> encode without loss.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gw/result.h"
#include "onem2m/codec/constants.h"

namespace gw::onem2m {

using Tree = nlohmann::ordered_json;

// rt: m2m:responseTypeInfo.
struct ResponseTypeInfo {
  int rtv = rtv::kBlockingRequest;  // responseTypeValue
  std::vector<std::string> nu;      // notificationURI (for nonBlockingRequestAsynch)
  bool operator==(const ResponseTypeInfo&) const = default;
};

// fc: m2m:filterCriteria. Timestamps are m2m:timestamp strings ("20240101T120000").
struct FilterCriteria {
  std::optional<std::string> crb;  // createdBefore
  std::optional<std::string> cra;  // createdAfter
  std::optional<std::string> ms;   // modifiedSince
  std::optional<std::string> us;   // unmodifiedSince
  std::optional<int64_t> sts;      // stateTagSmaller
  std::optional<int64_t> stb;      // stateTagBigger
  std::optional<std::string> exb;  // expireBefore
  std::optional<std::string> exa;  // expireAfter
  std::vector<std::string> lbl;    // labels (empty = absent)
  std::vector<int> ty;             // resourceType list (empty = absent)
  std::optional<int64_t> sza;      // sizeAbove
  std::optional<int64_t> szb;      // sizeBelow
  std::vector<std::string> cty;    // contentType list (empty = absent)
  std::optional<int> fu;           // filterUsage (fu::kDiscovery, ...)
  std::optional<int> lim;          // limit
  std::optional<int> fo;           // filterOperation (1 AND, 2 OR, 3 XOR)
  std::optional<int> lvl;          // level
  std::optional<int> ofst;         // offset
  Tree other = Tree::object();     // atr, chty, smf, gq, ... verbatim
  bool operator==(const FilterCriteria&) const = default;
};

// m2m:requestPrimitive. rqet/rset/oet are m2m:absRelTimestamp: a timestamp string, or a relative
// time in milliseconds, which is kept as its decimal digits ("10000") and written as an integer.
struct RequestPrimitive {
  Operation op = Operation::kRetrieve;
  std::string to;                   // target resource address (mandatory)
  std::string fr;                   // originator ID; "" = absent (e.g. some AE registrations)
  std::string rqi;                  // request identifier (mandatory)
  std::optional<int> ty;            // resourceType (CREATE)
  std::optional<Tree> pc;           // primitiveContent
  std::optional<std::string> rol;   // role IDs
  std::optional<std::string> ot;    // originatingTimestamp
  std::optional<std::string> rqet;  // requestExpirationTimestamp
  std::optional<std::string> rset;  // resultExpirationTimestamp
  std::optional<std::string> oet;   // operationExecutionTime
  std::optional<ResponseTypeInfo> rt;
  std::optional<std::string> rp;     // resultPersistence
  std::optional<int> rcn;            // resultContent (rcn::k...)
  std::optional<int> ec;             // eventCategory
  std::optional<bool> da;            // deliveryAggregation
  std::optional<std::string> gid;    // groupRequestIdentifier
  std::optional<FilterCriteria> fc;  // filterCriteria
  std::optional<int> drt;            // discoveryResultType (drt::k...)
  std::optional<bool> tqi;           // tokenRequestIndicator
  std::optional<Tree> tids;          // tokenIDs
  std::optional<std::string> rvi;    // releaseVersionIndicator ("3", "4", "2a")
  std::optional<std::string> vsi;    // vendorInformation
  std::optional<bool> sqi;           // semanticQueryIndicator
  Tree other = Tree::object();       // unmodelled parameters, verbatim
  bool operator==(const RequestPrimitive&) const = default;
};

// m2m:responsePrimitive.
struct ResponsePrimitive {
  int rsc = rsc::kOk;               // responseStatusCode (mandatory)
  std::string rqi;                  // request identifier (mandatory)
  std::optional<Tree> pc;           // primitiveContent
  std::string to;                   // "" = absent
  std::string fr;                   // "" = absent
  std::optional<std::string> ot;    // originatingTimestamp
  std::optional<std::string> rset;  // resultExpirationTimestamp
  std::optional<int> ec;            // eventCategory
  std::optional<int> cts;           // contentStatus (1 full, 2 partial)
  std::optional<int> cto;           // contentOffset
  std::optional<std::string> rvi;   // releaseVersionIndicator
  std::optional<std::string> vsi;   // vendorInformation
  Tree other = Tree::object();      // unmodelled parameters, verbatim
  bool operator==(const ResponsePrimitive&) const = default;
};

// Tree <-> struct. The *_from_tree functions check presence and types of the modelled parameters
// and say which one is wrong; they never throw. Integers may arrive as integral numbers or decimal
// strings (XML carries no types; some peers quote numbers), booleans as true/false or "true"/"false".
gw::Result<RequestPrimitive> request_from_tree(const Tree& t);
gw::Result<ResponsePrimitive> response_from_tree(const Tree& t);
Tree to_tree(const RequestPrimitive& r);
Tree to_tree(const ResponsePrimitive& r);

// The response skeleton for a request received by `receiver_id` (the CSE's own ID): same rqi,
// to = the request's fr, fr = receiver_id, rvi echoed (TS-0004 §7.2.1.2). For error answers put
// {"m2m:dbg": "..."} in pc.
ResponsePrimitive answer_to(const RequestPrimitive& req, int rsc, std::string_view receiver_id);

// True when `s` is a relative absRelTimestamp (only decimal digits).
bool is_relative_time(std::string_view s);

}  // namespace gw::onem2m
