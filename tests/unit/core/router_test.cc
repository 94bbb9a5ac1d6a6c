#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "gw/adapter_abi.h"
#include "gw/value.h"
#include "router.h"

using gw::v1::Envelope;

namespace {

struct Fixture {
  gw::EventLoop loop;
  std::unique_ptr<gw::Registry> reg = std::move(gw::Registry::open(":memory:").value());
  gw::v1::RouterConfig cfg = [] {
    gw::v1::RouterConfig c;
    c.set_request_timeout_ms(100);
    return c;
  }();
  gw::Router router{loop, reg.get(), cfg};
  std::map<std::string, std::vector<Envelope>> inbox;

  void add(const std::string& name) {
    router.add_adapter(name, [this, name](const std::string& bytes) {
      Envelope e;
      e.ParseFromString(bytes);
      inbox[name].push_back(e);
      return GW_OK;
    });
  }
  void pump(int ms = 0) {
    uint64_t end = loop.now_ms() + ms;
    do {
      loop.run_once(ms ? 10 : 0);
    } while (loop.now_ms() < end);
    router.drain_all();
  }
  static Envelope request(const std::string& from, const std::string& corr, const std::string& to = "") {
    Envelope e;
    e.set_kind(gw::v1::REQUEST);
    e.set_op(gw::v1::RETRIEVE);
    e.set_correlation_id(corr);
    e.mutable_origin()->set_adapter(from);
    e.mutable_target()->set_adapter(to);
    e.mutable_target()->set_path("0/demo/x");
    return e;
  }
  static Envelope response_to(const Envelope& req, gw::v1::Status s) {
    Envelope r;
    r.set_kind(gw::v1::RESPONSE);
    r.set_op(req.op());
    r.set_correlation_id(req.correlation_id());
    *r.mutable_origin() = req.target();
    r.set_status(s);
    *r.mutable_content() = gw::make_string("ok");
    return r;
  }
};

}  // namespace

TEST_CASE("a request reaches its target and the response returns to the requester, once") {
  Fixture f;
  f.add("a");
  f.add("b");
  REQUIRE(f.router.submit(Fixture::request("a", "c1", "b")) == GW_OK);
  f.pump();
  REQUIRE(f.inbox["b"].size() == 1);
  auto req = f.inbox["b"][0];
  CHECK(f.router.pending() == 1);
  CHECK(f.router.submit(Fixture::response_to(req, gw::v1::OK)) == GW_OK);
  f.pump();
  REQUIRE(f.inbox["a"].size() == 1);
  CHECK(f.inbox["a"][0].status() == gw::v1::OK);
  CHECK(f.inbox["a"][0].correlation_id() == "c1");
  CHECK(f.router.pending() == 0);
  // A second response to the same request is dropped.
  f.router.submit(Fixture::response_to(req, gw::v1::OK));
  f.pump();
  CHECK(f.inbox["a"].size() == 1);
  CHECK(f.router.stats().late_responses == 1);
}

TEST_CASE("an unanswered request gets exactly one REQUEST_TIMEOUT response; a late answer is dropped") {
  Fixture f;
  f.add("a");
  f.add("b");
  f.router.submit(Fixture::request("a", "c2", "b"));
  f.pump();
  auto req = f.inbox["b"].at(0);
  f.pump(250);
  REQUIRE(f.inbox["a"].size() == 1);
  CHECK(f.inbox["a"][0].status() == gw::v1::REQUEST_TIMEOUT);
  CHECK(f.router.stats().timeouts == 1);
  f.router.submit(Fixture::response_to(req, gw::v1::OK));
  f.pump(20);
  CHECK(f.inbox["a"].size() == 1);
}

TEST_CASE("no route, unknown adapter, expired and duplicate requests get error responses") {
  Fixture f;
  f.add("a");
  f.add("b");
  f.router.submit(Fixture::request("a", "n1"));  // nowhere to go
  f.router.submit(Fixture::request("a", "n2", "ghost"));
  auto expired = Fixture::request("a", "n3", "b");
  expired.set_expires_ms(gw::EventLoop::wall_ms() - 1);
  f.router.submit(expired);
  f.router.submit(Fixture::request("a", "n4", "b"));
  f.router.submit(Fixture::request("a", "n4", "b"));  // duplicate correlation id
  f.pump();
  REQUIRE(f.inbox["a"].size() == 4);
  CHECK(f.inbox["a"][0].status() == gw::v1::NOT_FOUND);
  CHECK(f.inbox["a"][1].status() == gw::v1::NOT_FOUND);
  CHECK(f.inbox["a"][1].status_detail().find("ghost") != std::string::npos);
  CHECK(f.inbox["a"][2].status() == gw::v1::EXPIRED);
  CHECK(f.inbox["a"][3].status() == gw::v1::BAD_REQUEST);
  CHECK(f.inbox["b"].size() == 1);
  // A request without correlation id is refused outright.
  CHECK(f.router.submit(Fixture::request("a", "")) == GW_ERR_INVALID);
}

TEST_CASE("requests to a device go to the adapter owning it; a response from elsewhere is refused") {
  Fixture f;
  f.add("osap");
  f.add("cloud");
  f.add("intruder");
  gw::v1::Device d;
  d.set_adapter("osap");
  d.set_native_id("SN1");
  d.set_model("cam");
  auto uuid = f.reg->put(d)->uuid();
  auto req = Fixture::request("cloud", "d1");
  req.mutable_target()->set_device(uuid);
  f.router.submit(req);
  f.pump();
  REQUIRE(f.inbox["osap"].size() == 1);
  CHECK(f.inbox["osap"][0].device_model() == "cam");
  auto bad = Fixture::response_to(f.inbox["osap"][0], gw::v1::OK);
  bad.mutable_origin()->set_adapter("intruder");
  CHECK(f.router.submit(bad) == GW_ERR_INVALID);
  f.router.submit(Fixture::response_to(f.inbox["osap"][0], gw::v1::CHANGED));
  f.pump();
  REQUIRE(f.inbox["cloud"].size() == 1);
  CHECK(f.inbox["cloud"][0].status() == gw::v1::CHANGED);
}

TEST_CASE("reports fan out along matching routes, never back to the origin") {
  Fixture f;
  f.add("osap");
  f.add("onem2m");
  f.add("oic");
  auto maps = std::make_shared<gw::v1::MappingSet>();
  auto* r1 = maps->add_route();
  r1->set_name("up");
  r1->set_from_adapter("osap");
  r1->add_kind(gw::v1::REPORT);
  r1->add_kind(gw::v1::EVENT);
  r1->add_to_adapter("onem2m");
  r1->add_to_adapter("oic");
  r1->add_to_adapter("osap");
  auto* r2 = maps->add_route();
  r2->set_name("motion-only");
  r2->set_path_prefix("0/motion/");
  r2->add_to_adapter("oic");
  f.router.set_mappings(maps);
  Envelope rep;
  rep.set_kind(gw::v1::REPORT);
  rep.mutable_origin()->set_adapter("osap");
  rep.mutable_origin()->set_path("0/video/enabled");
  CHECK(f.router.submit(rep) == GW_OK);
  Envelope ev;
  ev.set_kind(gw::v1::EVENT);
  ev.mutable_origin()->set_adapter("onem2m");
  ev.mutable_origin()->set_path("0/motion/vmd");
  CHECK(f.router.submit(ev) == GW_OK);
  Envelope none;
  none.set_kind(gw::v1::NOTIFICATION);
  none.mutable_origin()->set_adapter("onem2m");
  none.mutable_origin()->set_path("0/video/x");
  CHECK(f.router.submit(none) == GW_ERR_NO_ROUTE);
  f.pump();
  CHECK(f.inbox["osap"].empty());
  CHECK(f.inbox["onem2m"].size() == 1);
  CHECK(f.inbox["oic"].size() == 2);
}

TEST_CASE("the delivery queue is bounded in bytes: a flood gets GW_ERR_BUSY, responses still pass") {
  gw::EventLoop loop;
  auto reg = std::move(gw::Registry::open(":memory:").value());
  gw::v1::RouterConfig cfg;
  cfg.set_max_queue_bytes(64 * 1024);
  gw::Router router(loop, reg.get(), cfg);
  int delivered = 0;
  router.add_adapter("cam", [&](const std::string&) { ++delivered; return GW_OK; });
  router.add_adapter("up", [&](const std::string&) { ++delivered; return GW_OK; });
  auto maps = std::make_shared<gw::v1::MappingSet>();
  auto* r = maps->add_route();
  r->set_name("all");
  r->add_to_adapter("up");
  router.set_mappings(maps);
  Envelope rep;
  rep.set_kind(gw::v1::REPORT);
  rep.mutable_origin()->set_adapter("cam");
  *rep.mutable_content() = gw::make_string(std::string(1000, 'x'));
  int accepted = 0, busy = 0;
  for (int i = 0; i < 1000; ++i) {
    int rc = router.submit(rep);
    if (rc == GW_OK) ++accepted;
    if (rc == GW_ERR_BUSY) ++busy;
  }
  CHECK(busy > 0);
  CHECK(accepted < 100);  // ~64 KiB of 1 KiB envelopes
  CHECK(router.queued_bytes() <= 64 * 1024 + 2048);
  // A request's response is never refused, even when the queue is full.
  Envelope req = Fixture::request("up", "q1", "cam");
  router.drain_all();
  REQUIRE(router.submit(req) == GW_OK);
  for (int i = 0; i < 200; ++i) (void)router.submit(rep);
  CHECK(router.submit(Fixture::response_to(req, gw::v1::OK)) == GW_OK);
  router.drain_all();
  CHECK(router.queued_bytes() == 0);
}
