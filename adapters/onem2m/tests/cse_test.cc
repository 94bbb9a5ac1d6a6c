// The CSE's contentInstances, which live in SQLite only (Store::cin_*), exercised through
// Cse::handle without a broker: every way of addressing one (ri, name, la, ol), listing
// (rcn 4/6), discovery with filters and paging, eviction by mni / mbs / mia, deletion alone and with
// the container, a restart, the move of instances out of an older database's resource table, and
// the fact that none of them stays in memory.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapter/cse.h"
#include "test_util.h"

using gw::onem2m::RequestPrimitive;
using gw::onem2m::ResponsePrimitive;
using gw::onem2m::Tree;
using gw::onem2m::cse::Cse;
namespace ty = gw::onem2m::ty;

namespace {

struct World {
  gwtest::TempDir dir;
  int64_t clock_ms = 1765000000000;  // 2025-12-06
  std::vector<RequestPrimitive> sent;  // notifications
  std::vector<std::string> logs;
  std::unique_ptr<Cse> cse;
  int rqi = 0;

  std::string db() const { return dir.file("cse.db"); }
  void open() {
    gw::onem2m::cse::Settings s;
    s.cse_id = "/id-mn";
    s.cse_name = "cse-mn";
    s.db_path = db();
    s.group_commit_ms = 0;
    gw::onem2m::cse::Hooks h;
    h.send = [this](const std::string&, RequestPrimitive q, gw::onem2m::Format, gw::onem2m::cse::Done done) {
      sent.push_back(std::move(q));
      done(2000, "");
    };
    h.wall_ms = [this] { return clock_ms; };
    h.log = [this](int, const std::string& m) { logs.push_back(m); };
    cse = std::make_unique<Cse>(s, h);
    std::string e = cse->open();
    REQUIRE(e == "");
  }
  void close() { cse.reset(); }
  ResponsePrimitive req(RequestPrimitive q) {
    q.rqi = "t" + std::to_string(++rqi);
    if (q.fr.empty()) q.fr = "Capp";
    ResponsePrimitive out;
    out.rsc = -1;
    cse->handle(q, [&](ResponsePrimitive r) { out = std::move(r); });
    clock_ms += 1;
    return out;
  }
  ResponsePrimitive create(const std::string& to, int t, Tree pc, std::optional<int> rcn = std::nullopt) {
    RequestPrimitive q;
    q.op = gw::onem2m::Operation::kCreate;
    q.to = to;
    q.ty = t;
    q.pc = std::move(pc);
    q.rcn = rcn;
    return req(q);
  }
  ResponsePrimitive get(const std::string& to, std::optional<int> rcn = std::nullopt) {
    RequestPrimitive q;
    q.to = to;
    q.rcn = rcn;
    return req(q);
  }
  ResponsePrimitive del(const std::string& to) {
    RequestPrimitive q;
    q.op = gw::onem2m::Operation::kDelete;
    q.to = to;
    return req(q);
  }
  ResponsePrimitive discover(const std::string& to, gw::onem2m::FilterCriteria fc, std::optional<int> drt = std::nullopt) {
    RequestPrimitive q;
    q.to = to;
    fc.fu = gw::onem2m::fu::kDiscovery;
    q.fc = fc;
    q.drt = drt;
    return req(q);
  }
  // AE Capp with container cnt (mni etc. from extra).
  void app(Tree cnt_extra = Tree::object()) {
    REQUIRE(create("cse-mn", ty::kAE, Tree{{"m2m:ae", {{"rn", "app"}, {"api", "Napp"}, {"rr", true}}}}).rsc == 2001);
    Tree cnt = Tree{{"rn", "cnt"}};
    cnt.update(cnt_extra);
    REQUIRE(create("cse-mn/app", ty::kContainer, Tree{{"m2m:cnt", cnt}}).rsc == 2001);
  }
  ResponsePrimitive cin(const std::string& con, const std::string& rn = "") {
    Tree c = Tree{{"con", con}};
    if (!rn.empty()) c["rn"] = rn;
    return create("cse-mn/app/cnt", ty::kContentInstance, Tree{{"m2m:cin", c}});
  }
  Tree cnt_attrs() { return get("cse-mn/app/cnt").pc->at("m2m:cnt"); }
};

std::string con_of(const ResponsePrimitive& r) { return r.pc ? r.pc->at("m2m:cin").value("con", "") : ""; }

}  // namespace

TEST_CASE("contentInstances: addressed by ri, name, la and ol; none held in memory") {
  World w;
  w.open();
  w.app(Tree{{"mni", 1000}});
  size_t in_memory = w.cse->resources_in_memory();
  std::string first_ri;
  for (int i = 0; i < 300; ++i) {
    auto r = w.cin("v" + std::to_string(i), i == 7 ? "seven" : "");
    REQUIRE(r.rsc == 2001);
    if (i == 0) first_ri = r.pc->at("m2m:cin").at("ri").get<std::string>();
  }
  CHECK(w.cse->resources_in_memory() == in_memory);
  CHECK(w.cse->resource_count() == in_memory + 300);
  CHECK(w.cnt_attrs()["cni"] == 300);
  CHECK(w.cnt_attrs()["cbs"] == 10 * 2 + 90 * 3 + 200 * 4);
  CHECK(con_of(w.get("cse-mn/app/cnt/la")) == "v299");
  CHECK(con_of(w.get("cse-mn/app/cnt/ol")) == "v0");
  CHECK(con_of(w.get("cse-mn/app/cnt/seven")) == "v7");
  CHECK(con_of(w.get(first_ri)) == "v0");             // unstructured
  CHECK(con_of(w.get("/id-mn/" + first_ri)) == "v0");  // SP-relative
  CHECK(w.get(first_ri + "/x").rsc == 4004);          // nothing below an instance
  CHECK(w.get("cse-mn/app/cnt/seven/x").rsc == 4004);
  CHECK(w.get("cse-mn/app/cnt/nope").rsc == 4004);
  // The name is taken; an instance is immutable.
  CHECK(w.cin("again", "seven").rsc == 4105);
  RequestPrimitive up;
  up.op = gw::onem2m::Operation::kUpdate;
  up.to = "cse-mn/app/cnt/seven";
  up.pc = Tree{{"m2m:cin", {{"lbl", {"x"}}}}};
  CHECK(w.req(up).rsc == 4005);
  // rcn 2 (hierarchical address) names it by its structured address.
  auto r2 = w.create("cse-mn/app/cnt", ty::kContentInstance, Tree{{"m2m:cin", {{"rn", "named"}, {"con", "n"}}}}, 2);
  REQUIRE(r2.rsc == 2001);
  CHECK(r2.pc->at("m2m:uri") == "cse-mn/app/cnt/named");
}

TEST_CASE("contentInstances: listing, discovery, deletion and eviction") {
  World w;
  w.open();
  w.app(Tree{{"mni", 5}});
  REQUIRE(w.create("cse-mn/app/cnt", ty::kSubscription, Tree{{"m2m:sub", {{"rn", "s"}, {"nu", {"Capp"}}, {"enc", {{"net", {3}}}}}}}).rsc == 2001);
  for (int i = 0; i < 8; ++i) REQUIRE(w.cin("c" + std::to_string(i)).rsc == 2001);
  // mni 5: the newest five stay.
  CHECK(w.cnt_attrs()["cni"] == 5);
  CHECK(con_of(w.get("cse-mn/app/cnt/ol")) == "c3");
  // Every creation notified the subscriber with the instance.
  size_t cin_notes = 0;
  for (auto& n : w.sent)
    if (n.pc && n.pc->at("m2m:sgn").contains("nev")) {
      CHECK(n.pc->at("m2m:sgn")["nev"]["rep"]["m2m:cin"]["con"] == "c" + std::to_string(cin_notes));
      ++cin_notes;
    }
  CHECK(cin_notes == 8);

  auto rc4 = w.get("cse-mn/app/cnt", 4);
  REQUIRE(rc4.rsc == 2000);
  auto& body = rc4.pc->at("m2m:cnt");
  REQUIRE(body["m2m:cin"].size() == 5);
  CHECK(body["m2m:cin"][0]["con"] == "c3");
  CHECK(body["m2m:cin"][4]["con"] == "c7");
  CHECK(body["m2m:sub"].size() == 1);
  auto rc6 = w.get("cse-mn/app/cnt", 6);
  auto& rrf = rc6.pc->at("m2m:rrl")["rrf"];
  CHECK(rrf.size() == 6);
  CHECK(rrf[5]["typ"] == ty::kContentInstance);
  CHECK(rrf[5]["val"].get<std::string>().rfind("cse-mn/app/cnt/cin_", 0) == 0);

  gw::onem2m::FilterCriteria fc;
  fc.ty = {ty::kContentInstance};
  auto d = w.discover("cse-mn/app", fc);
  REQUIRE(d.rsc == 2000);
  CHECK(d.pc->at("m2m:uril").size() == 5);
  fc.lim = 2;
  fc.ofst = 1;
  auto d2 = w.discover("cse-mn/app", fc, gw::onem2m::drt::kUnstructured);
  REQUIRE(d2.pc->at("m2m:uril").size() == 2);
  std::string second = d2.pc->at("m2m:uril")[0].get<std::string>();
  CHECK(second.rfind("cin", 0) == 0);
  CHECK(con_of(w.get(second)) == "c4");
  gw::onem2m::FilterCriteria subs_only;
  subs_only.ty = {ty::kSubscription};
  CHECK(w.discover("cse-mn/app", subs_only).pc->at("m2m:uril").size() == 1);
  gw::onem2m::FilterCriteria big;
  big.sza = 100;
  CHECK(w.discover("cse-mn/app", big).pc->at("m2m:uril").empty());

  // DELETE la, then one by name; cni and cbs follow.
  CHECK(w.del("cse-mn/app/cnt/la").rsc == 2002);
  CHECK(con_of(w.get("cse-mn/app/cnt/la")) == "c6");
  CHECK(w.del(second).rsc == 2002);
  CHECK(w.get(second).rsc == 4004);
  CHECK(w.cnt_attrs()["cni"] == 3);
  CHECK(w.cnt_attrs()["cbs"] == 6);

  // mbs: an UPDATE lowering it evicts the oldest until the bytes fit.
  RequestPrimitive up;
  up.op = gw::onem2m::Operation::kUpdate;
  up.to = "cse-mn/app/cnt";
  up.pc = Tree{{"m2m:cnt", {{"mbs", 4}}}};
  REQUIRE(w.req(up).rsc == 2004);
  CHECK(w.cnt_attrs()["cni"] == 2);
  CHECK(con_of(w.get("cse-mn/app/cnt/ol")) == "c5");

  // Deleting the container deletes its instances from the store.
  size_t before = w.cse->resource_count();
  CHECK(w.del("cse-mn/app/cnt").rsc == 2002);
  CHECK(w.cse->resource_count() == before - 2 - 2);  // container, subscription, 2 instances
  CHECK(w.get(second).rsc == 4004);
}

TEST_CASE("contentInstances: maxInstanceAge evicts the aged ones at the next change") {
  World w;
  w.open();
  w.app(Tree{{"mia", 10}});
  REQUIRE(w.cin("old1").rsc == 2001);
  REQUIRE(w.cin("old2").rsc == 2001);
  w.clock_ms += 11000;
  REQUIRE(w.cin("new").rsc == 2001);
  CHECK(w.cnt_attrs()["cni"] == 1);
  CHECK(con_of(w.get("cse-mn/app/cnt/ol")) == "new");
}

TEST_CASE("contentInstances: survive a restart; an older database's are moved to their table") {
  World w;
  w.open();
  w.app(Tree{{"mni", 3}});
  for (int i = 0; i < 4; ++i) REQUIRE(w.cin("p" + std::to_string(i)).rsc == 2001);
  // The container's row is not rewritten per instance: after a restart its counters, stateTag and
  // lastModifiedTime are derived from the instances and equal what they were.
  Tree before = w.cnt_attrs();
  CHECK(before["st"] == 4);
  w.close();
  w.open();
  Tree after = w.cnt_attrs();
  for (const char* k : {"cni", "cbs", "st", "lt"}) {
    INFO(k);
    CHECK(after[k] == before[k]);
  }
  CHECK(con_of(w.get("cse-mn/app/cnt/la")) == "p3");
  CHECK(con_of(w.get("cse-mn/app/cnt/ol")) == "p1");
  CHECK(w.cnt_attrs()["cni"] == 3);
  REQUIRE(w.cin("p4").rsc == 2001);  // ids continue after the restart: still creation order
  CHECK(con_of(w.get("cse-mn/app/cnt/la")) == "p4");
  CHECK(con_of(w.get("cse-mn/app/cnt/ol")) == "p2");
  std::string cnt_ri = w.cnt_attrs()["ri"].get<std::string>();
  w.close();

  // Put the instances back the way earlier versions stored them: rows of the resource table.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(w.db().c_str(), &db) == SQLITE_OK);
  // ... plus one whose container does not exist.
  const char* sql =
      "INSERT INTO resource (ri, body) SELECT ri, json_insert(json_insert(body, '$.__tag', 'm2m:cin'), '$.rn', rn) "
      "FROM cin ORDER BY id; DELETE FROM cin;"
      "INSERT INTO resource (ri, body) VALUES ('cin-orphan', "
      "'{\"ty\":4,\"ri\":\"cin-orphan\",\"pi\":\"cnt-gone\",\"rn\":\"o\",\"con\":\"x\",\"cs\":1,\"__tag\":\"m2m:cin\"}');";
  char* e = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &e);
  std::string why = e ? e : "";
  sqlite3_free(e);
  INFO(why);
  REQUIRE(rc == SQLITE_OK);
  sqlite3_close(db);

  w.open();
  bool moved = false, dropped = false;
  for (auto& l : w.logs) {
    moved = moved || l.find("moved 4 contentInstances") != std::string::npos;
    dropped = dropped || l.find("dropped the contentInstances of 1 parent") != std::string::npos;
  }
  CHECK(moved);
  CHECK(dropped);
  CHECK(w.cse->resource_count() == w.cse->resources_in_memory() + 3);
  CHECK(w.get("cin-orphan").rsc == 4004);
  CHECK(con_of(w.get("cse-mn/app/cnt/la")) == "p4");
  CHECK(con_of(w.get("cse-mn/app/cnt/ol")) == "p2");
  auto rc4 = w.get("cse-mn/app/cnt", 4);
  CHECK(rc4.pc->at("m2m:cnt")["m2m:cin"].size() == 3);
  CHECK(rc4.pc->at("m2m:cnt")["ri"] == cnt_ri);
  // ... and the resource table no longer holds them.
  REQUIRE(sqlite3_open(w.db().c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM resource WHERE ri LIKE 'cin%'", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

namespace {
std::string m2m_time(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[32];
  (void)strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return buf;
}
}  // namespace

TEST_CASE("expirationTime: checked, enforced with the subtree, subscribers told, also across a restart") {
  World w;
  w.open();
  REQUIRE(w.create("cse-mn", ty::kAE, Tree{{"m2m:ae", {{"rn", "app"}, {"api", "Napp"}, {"rr", true}}}}).rsc == 2001);
  // Bad values are refused with a reason.
  auto bad = w.create("cse-mn/app", ty::kContainer, Tree{{"m2m:cnt", {{"rn", "x"}, {"et", "tomorrow"}}}});
  CHECK(bad.rsc == 4000);
  CHECK(bad.pc->at("m2m:dbg") == "et is not a timestamp (YYYYMMDDTHHMMSS)");
  auto past = w.create("cse-mn/app", ty::kContainer, Tree{{"m2m:cnt", {{"rn", "x"}, {"et", m2m_time(w.clock_ms - 1000)}}}});
  CHECK(past.rsc == 4000);
  CHECK(w.create("cse-mn/app", ty::kContainer, Tree{{"m2m:cnt", {{"rn", "x"}, {"et", nullptr}}}}).rsc == 4000);
  // A container that expires in 10 s, with an instance and a subscription on its parent.
  REQUIRE(w.create("cse-mn/app", ty::kSubscription,
                   Tree{{"m2m:sub", {{"rn", "s"}, {"nu", {"Capp"}}, {"enc", {{"net", {4}}}}}}})
              .rsc == 2001);
  REQUIRE(w.create("cse-mn/app", ty::kContainer, Tree{{"m2m:cnt", {{"rn", "cnt"}, {"et", m2m_time(w.clock_ms + 10000)}}}})
              .rsc == 2001);
  REQUIRE(w.cin("kept until the container goes").rsc == 2001);
  // A second one whose et an UPDATE moves out, a third whose et an UPDATE removes.
  REQUIRE(w.create("cse-mn/app", ty::kContainer, Tree{{"m2m:cnt", {{"rn", "later"}, {"et", m2m_time(w.clock_ms + 5000)}}}})
              .rsc == 2001);
  REQUIRE(w.create("cse-mn/app", ty::kContainer, Tree{{"m2m:cnt", {{"rn", "never"}, {"et", m2m_time(w.clock_ms + 5000)}}}})
              .rsc == 2001);
  RequestPrimitive up;
  up.op = gw::onem2m::Operation::kUpdate;
  up.to = "cse-mn/app/later";
  up.pc = Tree{{"m2m:cnt", {{"et", m2m_time(w.clock_ms + 60000)}}}};
  REQUIRE(w.req(up).rsc == 2004);
  up.to = "cse-mn/app/never";
  up.pc = Tree{{"m2m:cnt", {{"et", nullptr}}}};
  REQUIRE(w.req(up).rsc == 2004);
  up.pc = Tree{{"m2m:cnt", {{"et", "20000101T000000"}}}};
  CHECK(w.req(up).rsc == 4000);
  CHECK(w.get("cse-mn/app/cnt").rsc == 2000);
  w.sent.clear();

  w.clock_ms += 10500;
  CHECK(w.get("cse-mn/app/cnt").rsc == 4004);
  CHECK(w.get("cse-mn/app/cnt/la").rsc == 4004);
  CHECK(w.get("cse-mn/app/later").rsc == 2000);
  CHECK(w.get("cse-mn/app/never").rsc == 2000);
  CHECK(w.cse->resources_expired() == 1);
  REQUIRE(w.sent.size() == 1);
  CHECK(w.sent[0].pc->at("m2m:sgn").at("nev").at("net") == 4);

  // What expires while the CSE is down is gone at its first request; an expired AE is deregistered.
  up.to = "cse-mn/app";
  up.pc = Tree{{"m2m:ae", {{"et", m2m_time(w.clock_ms + 20000)}}}};
  REQUIRE(w.req(up).rsc == 2004);
  w.close();
  w.clock_ms += 61000;
  w.open();
  CHECK(w.get("cse-mn/app/later").rsc == 4103);  // Capp is no longer registered
  RequestPrimitive q;
  q.to = "cse-mn/app";
  q.fr = "CAdmin";
  CHECK(w.req(q).rsc == 4004);
  CHECK(w.cse->resources_expired() == 1);  // the AE; its children went with it
}

TEST_CASE("expirationTime of contentInstances: indexed in the store, enforced, also after a restart") {
  World w;
  w.open();
  w.app(Tree{{"mni", 100}});
  auto cin_et = [&](const std::string& rn, int64_t in_ms) {
    return w.create("cse-mn/app/cnt", ty::kContentInstance,
                    Tree{{"m2m:cin", {{"rn", rn}, {"con", rn}, {"et", m2m_time(w.clock_ms + in_ms)}}}});
  };
  REQUIRE(w.cin("forever", "forever").rsc == 2001);
  REQUIRE(cin_et("soon", 5000).rsc == 2001);
  REQUIRE(cin_et("later", 30000).rsc == 2001);
  CHECK(w.create("cse-mn/app/cnt", ty::kContentInstance,
                 Tree{{"m2m:cin", {{"con", "x"}, {"et", m2m_time(w.clock_ms - 5000)}}}})
            .rsc == 4000);
  REQUIRE(w.create("cse-mn/app/cnt", ty::kSubscription,
                   Tree{{"m2m:sub", {{"rn", "s"}, {"nu", {"Capp"}}, {"enc", {{"net", {4}}}}}}})
              .rsc == 2001);
  w.sent.clear();
  CHECK(w.cnt_attrs()["cni"] == 3);
  w.clock_ms += 6000;
  CHECK(w.get("cse-mn/app/cnt/soon").rsc == 4004);
  CHECK(w.get("cse-mn/app/cnt/later").rsc == 2000);
  CHECK(w.cnt_attrs()["cni"] == 2);
  CHECK(w.cse->resources_expired() == 1);
  REQUIRE(w.sent.size() == 1);
  CHECK(w.sent[0].pc->at("m2m:sgn").at("nev").at("rep").at("m2m:cin").at("rn") == "soon");
  // The index is in the database: after a restart past its et, "later" goes too.
  w.close();
  w.clock_ms += 30000;
  w.open();
  CHECK(w.get("cse-mn/app/cnt/later").rsc == 4004);
  CHECK(w.get("cse-mn/app/cnt/forever").rsc == 2000);
  CHECK(w.cnt_attrs()["cni"] == 1);
  CHECK(con_of(w.get("cse-mn/app/cnt/la")) == "forever");
}
