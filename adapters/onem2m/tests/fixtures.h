// Primitives shared by the codec tests: the exchanges a camera MN-CSE has every day.
#pragma once

#include <string>
#include <vector>

#include "onem2m/codec/primitive.h"

namespace gw::onem2m::test {

inline RequestPrimitive create_ae() {
  RequestPrimitive r;
  r.op = Operation::kCreate;
  r.to = "/id-mn/cse-mn";
  r.fr = "Ccam1";
  r.rqi = "req-0001";
  r.ty = ty::kAE;
  r.rvi = "3";
  r.pc = Tree::parse(R"({"m2m:ae":{"rn":"cam1","api":"Ncamgw","rr":true,"srv":["3","4"],
                         "poa":["mqtt://10.0.0.1:1883"],"lbl":["camera","hall"]}})");
  return r;
}

inline RequestPrimitive retrieve_rcn() {
  RequestPrimitive r;
  r.op = Operation::kRetrieve;
  r.to = "cse-mn/cam1/events";
  r.fr = "/id-in";
  r.rqi = "42";
  r.rcn = rcn::kAttributesChildResources;
  r.rqet = "20261122T170000";
  r.rt = ResponseTypeInfo{rtv::kBlockingRequest, {}};
  return r;
}

inline RequestPrimitive discovery() {
  RequestPrimitive r;
  r.op = Operation::kRetrieve;
  r.to = "cse-mn";
  r.fr = "CAdmin";
  r.rqi = "disc-7";
  r.drt = drt::kStructured;
  FilterCriteria fc;
  fc.fu = fu::kDiscovery;
  fc.ty = {ty::kContainer, ty::kFlexContainer};
  fc.lbl = {"camera"};
  fc.cra = "20260101T000000";
  fc.crb = "20270101T000000";
  fc.lim = 10;
  fc.other["atr"] = Tree::parse(R"([{"nm":"rn","val":"events"}])");
  r.fc = fc;
  return r;
}

inline RequestPrimitive notify_sgn() {
  RequestPrimitive r;
  r.op = Operation::kNotify;
  r.to = "/id-in/Cae-cloud";
  r.fr = "/id-mn";
  r.rqi = "ntf-9";
  r.ot = "20261122T165959,123456";
  r.rqet = "10000";  // relative: 10 s
  r.pc = Tree::parse(R"({"m2m:sgn":{"nev":{"rep":{"m2m:cin":{"rn":"cin_1","ty":4,"cnf":"text/plain:0",
      "cs":6,"con":"motion","st":3}},"net":3},"sur":"/id-mn/cse-mn/cam1/events/sub1","vrq":false}})");
  return r;
}

inline ResponsePrimitive response_with_pc() {
  ResponsePrimitive r;
  r.rsc = rsc::kCreated;
  r.rqi = "req-0001";
  r.to = "Ccam1";
  r.fr = "/id-mn";
  r.rvi = "3";
  r.ot = "20261122T170001";
  r.pc = Tree::parse(R"({"m2m:ae":{"rn":"cam1","ty":2,"ri":"Ccam1","pi":"cse-mn","ct":"20261122T170001",
      "lt":"20261122T170001","et":"20361122T170001","api":"Ncamgw","aei":"Ccam1","rr":true,
      "srv":["3","4"],"poa":["mqtt://10.0.0.1:1883"],"acpi":["cse-mn/acp-cam1"]}})");
  return r;
}

inline ResponsePrimitive discovery_response() {
  ResponsePrimitive r;
  r.rsc = rsc::kOk;
  r.rqi = "disc-7";
  r.pc = Tree::parse(R"({"m2m:uril":["cse-mn/cam1/events","cse-mn/cam1/motion"]})");
  return r;
}

inline ResponsePrimitive error_response() {
  ResponsePrimitive r;
  r.rsc = rsc::kNotFound;
  r.rqi = "42";
  r.pc = Tree::parse(R"({"m2m:dbg":"resource does not exist: cse-mn/cam9"})");
  return r;
}

inline std::vector<RequestPrimitive> all_requests() {
  return {create_ae(), retrieve_rcn(), discovery(), notify_sgn()};
}
inline std::vector<ResponsePrimitive> all_responses() {
  return {response_with_pc(), discovery_response(), error_response()};
}

// Order-insensitive comparison of trees (XML puts rn, an attribute, first).
inline bool same_tree(const Tree& a, const Tree& b) {
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

}  // namespace gw::onem2m::test
