#include "onem2m/codec/topic.h"

#include <doctest/doctest.h>

using namespace gw::onem2m;

TEST_CASE("IDs in topics: leading '/' dropped, other '/' become ':'") {
  CHECK(id_to_topic("/id-in") == "id-in");
  CHECK(id_to_topic("/id-in/Cae1") == "id-in:Cae1");
  CHECK(id_to_topic("Sae2") == "Sae2");
  CHECK(id_to_topic("//sp.example/id-in") == "sp.example:id-in");
  CHECK(topic_to_id("id-in:Cae1") == "/id-in/Cae1");
  CHECK(topic_to_id(":id-in") == "/id-in");
  CHECK(topic_to_id(":id-in:Cae1") == "/id-in/Cae1");
  CHECK(topic_to_id("id-in") == "id-in");
  CHECK(sp_relative_cse_id("id-in") == "/id-in");
  CHECK(sp_relative_cse_id("/id-in") == "/id-in");
  CHECK(sp_relative_cse_id(":id-in") == "/id-in");
  CHECK(same_topic_id("/id-in", "id-in"));
  CHECK(same_topic_id(":id-in", "/id-in"));
  CHECK(same_topic_id("/id-in/Cae1", "id-in:Cae1"));
  CHECK_FALSE(same_topic_id("/id-in", "/id-mn"));
}

TEST_CASE("topics of the binding (TS-0010 §6.4, Y.4500.10 §7.4)") {
  auto req = make_topic(TopicKind::kRequest, "Cae1", "/id-mn", Format::kJson);
  REQUIRE(req.ok());
  CHECK(*req == "/oneM2M/req/Cae1/id-mn/json");
  auto notify = make_topic(TopicKind::kRequest, "/id-mn", "/id-in/Cae-cloud", Format::kXml);
  REQUIRE(notify.ok());
  CHECK(*notify == "/oneM2M/req/id-mn/id-in:Cae-cloud/xml");
  auto reg = make_topic(TopicKind::kRegRequest, "cred/1", "/id-mn", Format::kCbor);
  REQUIRE(reg.ok());
  CHECK(*reg == "/oneM2M/reg_req/cred:1/id-mn/cbor");
  CHECK_FALSE(make_topic(TopicKind::kRequest, "", "/id-mn", Format::kJson).ok());
  CHECK_FALSE(make_topic(TopicKind::kRequest, "a+b", "/id-mn", Format::kJson).ok());
  CHECK_FALSE(make_topic(TopicKind::kRequest, "C1", "#", Format::kJson).ok());
  CHECK_FALSE(make_topic(TopicKind::kRequest, "/", "/id-mn", Format::kJson).ok());
}

TEST_CASE("parse_topic, strict and tolerant cases") {
  auto t = parse_topic("/oneM2M/req/id-in:Cae1/id-mn/json");
  REQUIRE(t.ok());
  CHECK(t->kind == TopicKind::kRequest);
  CHECK(t->originator == "id-in:Cae1");
  CHECK(topic_to_id(t->originator) == "/id-in/Cae1");
  CHECK(t->receiver == "id-mn");
  CHECK(t->format == Format::kJson);
  CHECK(t->format_given);
  CHECK(format_topic(*t) == "/oneM2M/req/id-in:Cae1/id-mn/json");

  auto resp = response_topic_for(*t);
  REQUIRE(resp.ok());
  CHECK(format_topic(*resp) == "/oneM2M/resp/id-in:Cae1/id-mn/json");

  auto bare = parse_topic("/oneM2M/req/id-in/Cae1");  // a CSE that omits the suffix
  REQUIRE(bare.ok());
  CHECK(bare->format == Format::kJson);
  CHECK_FALSE(bare->format_given);
  CHECK(format_topic(response_topic_for(*bare).value()) == "/oneM2M/resp/id-in/Cae1");

  auto no_slash = parse_topic("oneM2M/resp/Cae1/id-mn/CBOR");
  REQUIRE(no_slash.ok());
  CHECK(no_slash->kind == TopicKind::kResponse);
  CHECK(no_slash->format == Format::kCbor);

  auto reg = parse_topic("/oneM2M/reg_req/cred:1/id-mn/xml");
  REQUIRE(reg.ok());
  CHECK(reg->kind == TopicKind::kRegRequest);
  CHECK(format_topic(response_topic_for(*reg).value()) == "/oneM2M/reg_resp/cred:1/id-mn/xml");
  CHECK_FALSE(response_topic_for(*no_slash).ok());

  CHECK(parse_topic("/oneM2M/req/a").error().message == "not a oneM2M topic: '/oneM2M/req/a'");
  CHECK(parse_topic("/other/req/a/b/json").error().message == "not a oneM2M topic: '/other/req/a/b/json'");
  CHECK(parse_topic("/oneM2M/foo/a/b/json").error().message == "unknown oneM2M topic kind 'foo'");
  CHECK(parse_topic("/oneM2M/req/a/b/yaml").error().message == "unsupported serialization 'yaml' in topic");
  CHECK(parse_topic("/oneM2M/req/a/b/json/x").error().message == "too many levels in topic '/oneM2M/req/a/b/json/x'");
  CHECK(parse_topic("/oneM2M/req//b/json").error().message == "bad originator level in topic '/oneM2M/req//b/json'");
  CHECK_FALSE(parse_topic("/oneM2M/req/a/+/json").ok());
}

TEST_CASE("wildcard subscriptions") {
  CHECK(cse_subscriptions("/id-mn") ==
        std::vector<std::string>{"/oneM2M/req/+/id-mn/#", "/oneM2M/resp/id-mn/+/#", "/oneM2M/reg_req/+/id-mn/#"});
  CHECK(ae_subscriptions("/id-mn/Ccam1") ==
        std::vector<std::string>{"/oneM2M/req/+/id-mn:Ccam1/#", "/oneM2M/resp/id-mn:Ccam1/+/#"});
}

TEST_CASE("client ids") {
  CHECK(make_client_id(EntityKind::kCse, "/id-mn") == "C::id-mn");
  CHECK(make_client_id(EntityKind::kAe, "Ccam1") == "A::Ccam1");
  auto c = parse_client_id("C::id-in");
  REQUIRE(c.ok());
  CHECK(c->kind == EntityKind::kCse);
  CHECK(c->id == "id-in");
  auto single = parse_client_id("A:Ccam1");  // Y.4500.10 writes one colon
  REQUIRE(single.ok());
  CHECK(single->kind == EntityKind::kAe);
  CHECK(single->id == "Ccam1");
  auto slash = parse_client_id("C:/id-in");
  REQUIRE(slash.ok());
  CHECK(slash->id == "id-in");
  CHECK_FALSE(parse_client_id("X::a").ok());
  CHECK_FALSE(parse_client_id("C::").ok());
  CHECK_FALSE(parse_client_id("id-mn").ok());
  CHECK(parse_client_id("").error().message == "client id '' has no C:: or A:: prefix");
}

TEST_CASE("pointOfAccess") {
  auto a = parse_poa("mqtt://broker.example:1883");
  REQUIRE(a.ok());
  CHECK(*a == PointOfAccess{false, "broker.example", 1883});
  auto b = parse_poa("mqtts://[2001:db8::1]:8884");
  REQUIRE(b.ok());
  CHECK(*b == PointOfAccess{true, "2001:db8::1", 8884});
  CHECK(format_poa(*b) == "mqtts://[2001:db8::1]:8884");
  auto c = parse_poa("MQTTS://10.0.0.1");
  REQUIRE(c.ok());
  CHECK(c->port == 8883);
  CHECK(format_poa(*c) == "mqtts://10.0.0.1:8883");
  auto d = parse_poa("mqtt://[::1]/");
  REQUIRE(d.ok());
  CHECK(*d == PointOfAccess{false, "::1", 1883});
  for (const char* bad :
       {"http://x:1883", "mqtt://", "mqtt://h:0", "mqtt://h:70000", "mqtt://h:", "mqtt://u@h", "mqtt://[::1",
        "mqtt://[::1]x", "mqtt://[host]:1", "mqtt://h/path", "mqtt://h:12a", "mqtt://h?x", "mqtt://a b"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_poa(bad).ok());
  }
}
