#include "onem2m/codec/primitive.h"

#include <doctest/doctest.h>

#include "fixtures.h"
#include "onem2m/codec/constants.h"
#include "onem2m/codec/xml_types.h"

using namespace gw::onem2m;
using gw::onem2m::test::create_ae;

namespace {
std::string error_of(const Tree& t) {
  auto r = request_from_tree(t);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}
}  // namespace

TEST_CASE("request_from_tree reads the modelled parameters and keeps the rest in order") {
  auto t = Tree::parse(R"({"op":1,"to":"cse-mn","fr":"Ccam1","rqi":"r1","ty":2,"rcn":1,"xyz":7,
      "rt":{"rtv":2,"nu":["/id-in/Cae1"]},"rqet":60000,"da":false,"abc":{"k":[1,2]},"rvi":"3"})");
  auto r = request_from_tree(t);
  REQUIRE(r.ok());
  CHECK(r->op == Operation::kCreate);
  CHECK(r->to == "cse-mn");
  CHECK(r->fr == "Ccam1");
  CHECK(r->rqi == "r1");
  CHECK(r->ty == 2);
  CHECK(r->rcn == 1);
  REQUIRE(r->rt.has_value());
  CHECK(r->rt->rtv == rtv::kNonBlockingRequestAsynch);
  CHECK(r->rt->nu == std::vector<std::string>{"/id-in/Cae1"});
  CHECK(r->rqet == "60000");
  CHECK(r->da == false);
  CHECK(r->rvi == "3");
  CHECK(r->other.dump() == R"({"xyz":7,"abc":{"k":[1,2]}})");
  // Written back: modelled parameters in TS-0004 order, relative rqet as an integer, then the rest.
  CHECK(to_tree(*r).dump() ==
        R"({"op":1,"to":"cse-mn","fr":"Ccam1","rqi":"r1","ty":2,"rqet":60000,"rt":{"rtv":2,"nu":["/id-in/Cae1"]},)"
        R"("rcn":1,"da":false,"rvi":"3","xyz":7,"abc":{"k":[1,2]}})");
}

TEST_CASE("request_from_tree tolerates quoted numbers and booleans, numeric rqi") {
  auto r = request_from_tree(Tree::parse(R"({"op":"2","to":"cse-mn","rqi":17,"rcn":" 4 ","sqi":"true"})"));
  REQUIRE(r.ok());
  CHECK(r->op == Operation::kRetrieve);
  CHECK(r->rqi == "17");
  CHECK(r->rcn == 4);
  CHECK(r->sqi == true);
  CHECK(r->fr.empty());
}

TEST_CASE("request_from_tree names the offending parameter") {
  CHECK(error_of(Tree::parse(R"({"op":1,"to":"cse-mn","fr":"C1"})")) == "request primitive has no 'rqi'");
  CHECK(error_of(Tree::parse(R"({"rqi":"r","to":"cse-mn"})")) == "request primitive has no 'op'");
  CHECK(error_of(Tree::parse(R"({"rqi":"r","op":2})")) == "request primitive has no 'to'");
  CHECK(error_of(Tree::parse(R"({"op":"create","to":"x","rqi":"r"})")) ==
        R"('op' must be an integer (got string "create"))");
  CHECK(error_of(Tree::parse(R"({"op":9,"to":"x","rqi":"r"})")) == "'op' must be 1..5 (got 9)");
  CHECK(error_of(Tree::parse(R"({"op":1.5,"to":"x","rqi":"r"})")) == "'op' must be an integer (got number 1.5)");
  CHECK(error_of(Tree::parse(R"({"op":1,"to":["x"],"rqi":"r"})")) == "'to' must be a string (got array)");
  CHECK(error_of(Tree::parse(R"({"op":1,"to":"x","rqi":"r","ty":"ae"})")) ==
        R"('ty' must be an integer (got string "ae"))");
  CHECK(error_of(Tree::parse(R"({"op":1,"to":"x","rqi":"r","fc":{"ty":["a"]}})")) ==
        R"('fc/ty' must be a list of integers (got an item string "a"))");
  CHECK(error_of(Tree::parse(R"({"op":1,"to":"x","rqi":"r","rt":{"nu":[]}})")) == "'rt' has no 'rtv'");
  CHECK(error_of(Tree::parse(R"({"op":1,"to":"x","rqi":"","fr":"C"})")) == "'rqi' is empty");
  CHECK(error_of(Tree::parse(R"({"op":1,"to":"x","rqi":{"a":1}})")) == "'rqi' must be a string (got object)");
  CHECK(error_of(Tree::parse(R"({"op":4294967297,"to":"x","rqi":"r"})")) ==
        "'op' is out of range (got number 4294967297)");
  CHECK(error_of(Tree::parse(R"([1,2])")) == "request primitive must be an object (got array)");
}

TEST_CASE("filterCriteria: modelled members and the rest") {
  auto r = request_from_tree(Tree::parse(
      R"({"op":2,"to":"cse-mn","rqi":"d","fc":{"fu":1,"ty":4,"lbl":"cam","lim":5,"atr":[{"nm":"rn","val":"x"}]}})"));
  REQUIRE(r.ok());
  REQUIRE(r->fc.has_value());
  CHECK(r->fc->fu == fu::kDiscovery);
  CHECK(r->fc->ty == std::vector<int>{4});  // a single value is a one-element list
  CHECK(r->fc->lbl == std::vector<std::string>{"cam"});
  CHECK(r->fc->lim == 5);
  CHECK(r->fc->other.dump() == R"({"atr":[{"nm":"rn","val":"x"}]})");
  CHECK(to_tree(*r)["fc"].dump() == R"({"lbl":["cam"],"ty":[4],"fu":1,"lim":5,"atr":[{"nm":"rn","val":"x"}]})");
}

TEST_CASE("response_from_tree") {
  auto r = response_from_tree(Tree::parse(R"({"rsc":"2001","rqi":"r1","pc":{"m2m:cnt":{"rn":"c"}},"cts":1})"));
  REQUIRE(r.ok());
  CHECK(r->rsc == rsc::kCreated);
  CHECK(r->cts == 1);
  CHECK(r->pc->dump() == R"({"m2m:cnt":{"rn":"c"}})");
  auto no_rsc = response_from_tree(Tree::parse(R"({"rqi":"r1"})"));
  REQUIRE_FALSE(no_rsc.ok());
  CHECK(no_rsc.error().message == "response primitive has no 'rsc'");
  auto no_rqi = response_from_tree(Tree::parse(R"({"rsc":2000})"));
  REQUIRE_FALSE(no_rqi.ok());
  CHECK(no_rqi.error().message == "response primitive has no 'rqi'");
  auto bad = response_from_tree(Tree::parse(R"({"rsc":true,"rqi":"r"})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "'rsc' must be an integer (got true)");
}

TEST_CASE("struct -> tree -> struct is the identity for the fixtures") {
  for (const auto& r : test::all_requests()) {
    auto back = request_from_tree(to_tree(r));
    REQUIRE(back.ok());
    CHECK(*back == r);
  }
  for (const auto& r : test::all_responses()) {
    auto back = response_from_tree(to_tree(r));
    REQUIRE(back.ok());
    CHECK(*back == r);
  }
}

TEST_CASE("answer_to swaps the parties and echoes rqi and rvi") {
  auto a = answer_to(create_ae(), rsc::kCreated, "/id-mn");
  CHECK(a.rsc == 2001);
  CHECK(a.rqi == "req-0001");
  CHECK(a.to == "Ccam1");
  CHECK(a.fr == "/id-mn");
  CHECK(a.rvi == "3");
  CHECK_FALSE(a.pc.has_value());
}

TEST_CASE("constants") {
  CHECK(rsc::kBadRequest == 4000);
  CHECK(rsc::kOriginatorHasNotRegistered == 4106);
  CHECK(rsc::kAlreadyExists == 5106);
  CHECK(rsc::kNotAcceptable == 5207);
  CHECK(rsc::name(4004) == "NOT_FOUND");
  CHECK(rsc::name(1234) == "UNKNOWN");
  CHECK(rsc::is_success(2001));
  CHECK(rsc::is_success(1000));
  CHECK_FALSE(rsc::is_success(4000));
  CHECK(rsc::is_error(5103));
  CHECK(ty::kAccessControlPolicy == 1);
  CHECK(ty::kCSEBase == 5);
  CHECK(ty::kRemoteCSE == 16);
  CHECK(ty::kSubscription == 23);
  CHECK(ty::kFlexContainer == 28);
  CHECK(is_relative_time("10000"));
  CHECK_FALSE(is_relative_time("20261122T170000"));
  CHECK_FALSE(is_relative_time(""));
}

TEST_CASE("XML type table") {
  CHECK(xml_type("m2m:rqp", "op") == XmlType::kInt);
  CHECK(xml_type("m2m:rqp", "ty") == XmlType::kInt);
  CHECK(xml_type("fc", "ty") == XmlType::kIntList);
  CHECK(xml_type("m2m:rqp", "rqi") == XmlType::kString);
  CHECK(xml_type("m2m:rqp", "rvi") == XmlType::kString);
  CHECK(xml_type("m2m:ae", "rr") == XmlType::kBool);
  CHECK(xml_type("m2m:ae", "poa") == XmlType::kStringList);
  CHECK(xml_type("m2m:cb", "srt") == XmlType::kIntList);
  CHECK(xml_type("nev", "net") == XmlType::kInt);
  CHECK(xml_type("enc", "net") == XmlType::kIntList);
  CHECK(xml_type("pv", "acr") == XmlType::kComplexList);
  CHECK(xml_type("pc", "m2m:ae") == XmlType::kComplex);
  CHECK(xml_type("rep", "m2m:cin") == XmlType::kComplex);
  CHECK(xml_type("m2m:cnt", "m2m:cin") == XmlType::kComplexList);
  CHECK(xml_type("pc", "cod:binSw") == XmlType::kComplex);
  CHECK(xml_type("pc", "m2m:dbg") == XmlType::kString);
  CHECK(xml_type("pc", "m2m:uril") == XmlType::kStringList);
  CHECK(xml_type("m2m:cin", "con") == XmlType::kString);
}
