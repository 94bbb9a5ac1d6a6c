// Legacy, thing-model and will topics; authorization helpers.
#include "osap/codec/topics.h"
#include "test_util.h"

using namespace gw::osap::topics;

TEST_CASE("legacy topics") {
  CHECK(BuildLegacyUplink({1100, 0x3445}) == "/1100/13381");
  auto u = ParseLegacyUplink("/1100/13381");
  REQUIRE(u.ok());
  CHECK(u->domain == 1100);
  CHECK(u->cmd == 13381);
  CHECK(BuildLegacyDownlink({"TESTSN0001", kDomainAccess, 1}).value() == "/TESTSN0001/1000/1");
  auto d = ParseLegacyDownlink("/TESTSN0001/1000/1");
  REQUIRE(d.ok());
  CHECK(d->serial == "TESTSN0001");
  CHECK(d->domain == 1000);
  CHECK(d->cmd == 1);
  for (const char* bad : {"1100/13381", "/1100", "/1100/13381/", "/01100/1", "/1100/-1", "/1100/+1",
                          "/1100/4294967296", "/a/1", "//1"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseLegacyUplink(bad).ok());
  }
  CHECK_FALSE(ParseLegacyDownlink("/iot/1000/1").ok());
  CHECK_FALSE(ParseLegacyDownlink("/S N/1000/1").ok());
  CHECK_FALSE(BuildLegacyDownlink({"a/b", 1, 1}).ok());
}

TEST_CASE("thing-model topics: model, shadow, ota") {
  ThingTopic t;
  t.serial = "TESTSN0001";
  t.local_index = "0";
  t.resource_type = "video";
  t.category = ModelCategory::kAttribute;
  t.business_type = "report";
  t.domain = "image";
  t.identifier = "brightness";
  const std::string s = "/iot/TESTSN0001/global/0-video/model/attribute/report/image/brightness";
  CHECK(BuildThingTopic(t).value() == s);
  auto p = ParseThingTopic(s);
  REQUIRE(p.ok());
  CHECK(p->serial == "TESTSN0001");
  CHECK(p->sub == "global");
  CHECK(p->local_index == "0");
  CHECK(p->resource_type == "video");
  CHECK(p->kind == ThingKind::kModel);
  CHECK(p->category == ModelCategory::kAttribute);
  CHECK(p->business_type == "report");
  CHECK(p->domain == "image");
  CHECK(p->identifier == "brightness");

  auto svc = ParseThingTopic("/iot/NVR01/SUB02/3-video-chan/model/service/operate/ptz/move");
  REQUIRE(svc.ok());
  CHECK(svc->sub == "SUB02");
  CHECK(svc->local_index == "3");
  CHECK(svc->resource_type == "video-chan");  // split at the first '-'
  CHECK(svc->category == ModelCategory::kService);

  auto sh = ParseThingTopic("/iot/SN/global/0-global/basic/shadow/set_reply");
  REQUIRE(sh.ok());
  CHECK(sh->kind == ThingKind::kShadow);
  CHECK(sh->shadow_action == "set_reply");
  ThingTopic shb = sh.value();
  CHECK(BuildThingTopic(shb).value() == "/iot/SN/global/0-global/basic/shadow/set_reply");
  shb.shadow_action = "delete";
  CHECK_FALSE(BuildThingTopic(shb).ok());

  auto ota = ParseThingTopic("/iot/SN/global/0-global/ota/42/inform");
  REQUIRE(ota.ok());
  CHECK(ota->kind == ThingKind::kOta);
  CHECK(ota->ota_id == "42");
  CHECK(ota->ota_type == "inform");

  for (const char* bad : {"/iot/SN/global/0video/model/attribute/report/d/i",
                          "/iot/SN/global/-video/model/attribute/report/d/i",
                          "/iot/SN/global/0-/model/attribute/report/d/i",
                          "/iot/SN/global/0-video/model/property/report/d/i",
                          "/iot/SN/global/0-video/model/attribute/report/d",
                          "/iot/SN/global/0-video/model/attribute/report//i",
                          "/iot/SN/global/0-video/basic/shadow/delete",
                          "/iot/SN/global/0-video/foo/x/y",
                          "/iot/+/global/0-video/basic/shadow/report",
                          "/iot/SN/global/0-video/model/attribute/report/d/#"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseThingTopic(bad).ok());
  }
}

TEST_CASE("will topics") {
  CHECK(BuildWillTopic({"TESTSN0001", WillKind::kFirstConnect}).value() ==
        "/Basic/pu2cenplt/TESTSN0001/firstconnect");
  auto w = ParseWillTopic("/Basic/pu2cenplt/TESTSN0001/breakconnect");
  REQUIRE(w.ok());
  CHECK(w->serial == "TESTSN0001");
  CHECK(w->kind == WillKind::kBreakConnect);
  CHECK_FALSE(ParseWillTopic("/Basic/pu2cenplt/TESTSN0001/reconnect").ok());
  CHECK_FALSE(ParseWillTopic("/basic/pu2cenplt/TESTSN0001/firstconnect").ok());
  CHECK_FALSE(ParseWillTopic("/Basic/pu2cenplt/firstconnect").ok());
}

TEST_CASE("authorization: a device only under its own serial") {
  const std::string sn = "TESTSN0001";
  CHECK(TopicBelongsTo(sn, "/TESTSN0001/#"));
  CHECK(TopicBelongsTo(sn, "/TESTSN0001/1000/1"));
  CHECK(TopicBelongsTo(sn, "/iot/TESTSN0001/#"));
  CHECK(TopicBelongsTo(sn, "/iot/TESTSN0001/global/0-video/model/attribute/report/d/i"));
  CHECK_FALSE(TopicBelongsTo(sn, "/TESTSN0002/#"));
  CHECK_FALSE(TopicBelongsTo(sn, "/TESTSN00011/#"));
  CHECK_FALSE(TopicBelongsTo(sn, "/+/#"));
  CHECK_FALSE(TopicBelongsTo(sn, "#"));
  CHECK_FALSE(TopicBelongsTo(sn, "/#"));
  CHECK_FALSE(TopicBelongsTo(sn, "/iot/+/#"));
  CHECK_FALSE(TopicBelongsTo(sn, "/iot/#"));
  CHECK_FALSE(TopicBelongsTo(sn, "TESTSN0001/#"));
  CHECK_FALSE(TopicBelongsTo(sn, "/TESTSN0001"));
  CHECK_FALSE(TopicBelongsTo("iot", "/iot/iot/#"));  // "iot" is not a valid serial
  CHECK(MaySubscribe(sn, "/TESTSN0001/#"));
  CHECK_FALSE(MaySubscribe(sn, "/1100/#"));
  CHECK(MayPublish(sn, "/1100/13381"));  // legacy uplink: scoped by the connection
  CHECK(MayPublish(sn, "/iot/TESTSN0001/global/0-video/model/event/report/d/i"));
  CHECK_FALSE(MayPublish(sn, "/iot/TESTSN0002/global/0-video/model/event/report/d/i"));
  CHECK_FALSE(MayPublish(sn, "/TESTSN0002/1000/1"));
  CHECK_FALSE(MayPublish(sn, "/Basic/pu2cenplt/TESTSN0001/firstconnect"));
}
