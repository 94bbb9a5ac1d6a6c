// The CSE store's writer thread (Store::start_writer): group commits and requests are committed on
// the thread and their callbacks run on the loop once durable, in order; SQLite's automatic
// checkpoints move the WAL into the database; everything is there after a close; and the loop's
// reads of contentInstances see the writes the thread has not committed yet (the overlay).
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "adapter/store.h"
#include "test_util.h"

using gw::onem2m::cse::Store;

namespace {
// A stand-in for the gateway loop: timers run when the test says so; posts (from the store's
// thread) queue until the test runs them on its own thread.
struct FakeLoop {
  std::vector<std::function<void()>> timers;
  std::mutex mu;
  std::deque<std::function<void()>> posted;
  bool post(std::function<void()> fn) {
    std::lock_guard lk(mu);
    posted.push_back(std::move(fn));
    return true;
  }
  void fire_timers() {
    auto t = std::move(timers);
    timers.clear();
    for (auto& f : t) f();
  }
  // Runs posted work until pred() or 5 s.
  bool run_until(const std::function<bool()>& pred) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred() && std::chrono::steady_clock::now() < until) {
      std::deque<std::function<void()>> work;
      {
        std::lock_guard lk(mu);
        work.swap(posted);
      }
      for (auto& f : work) f();
      if (work.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return pred();
  }
};

// Opens the store with a 5 ms group commit on loop's timers and the writer thread posting to loop.
void open_with_writer(Store& s, const std::string& path, FakeLoop& loop) {
  REQUIRE(s.open(path, true) == "");
  s.set_group_commit(5, [&loop](uint64_t, std::function<void()> fn) { loop.timers.push_back(std::move(fn)); });
  REQUIRE(s.start_writer([&loop](std::function<void()> fn) { return loop.post(std::move(fn)); }) == "");
}

int64_t count_rows(const std::string& db_path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM resource", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}
}  // namespace

TEST_CASE("store: the writer thread commits groups and requests; callbacks once durable, in order") {
  gwtest::TempDir t;
  std::string path = t.file("cse.db");
  FakeLoop loop;
  {
    Store s;
    open_with_writer(s, path, loop);

    // A camera event: deferred into the group; its callback waits for the thread's COMMIT.
    int acked = 0;
    s.defer_commits(true);
    s.begin();
    REQUIRE(s.put("r1", R"({"ri":"r1"})") == "");
    REQUIRE(s.commit() == "");
    s.after_commit([&](bool ok) { acked += ok ? 1 : 100; });
    s.defer_commits(false);
    CHECK(s.pending());
    CHECK(acked == 0);
    loop.fire_timers();  // the group goes to the writer thread
    CHECK_FALSE(s.pending());
    REQUIRE(loop.run_until([&] { return acked != 0; }));
    CHECK(acked == 1);
    CHECK(s.groups_committed() >= 1);

    // Several groups: each callback once, in order, all ok.
    std::vector<int> order;
    for (int g = 0; g < 5; ++g) {
      s.defer_commits(true);
      s.begin();
      REQUIRE(s.put("g" + std::to_string(g), "{}") == "");
      s.commit();
      s.after_commit([&order, g](bool ok) { order.push_back(ok ? g : -1); });
      s.defer_commits(false);
      loop.fire_timers();
    }
    REQUIRE(loop.run_until([&] { return order.size() == 5; }));
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});

    // A request: commit() hands it over without waiting; after_commit answers once it is durable.
    s.begin();
    REQUIRE(s.put("ae1", "{}") == "");
    REQUIRE(s.commit() == "");
    bool done = false;
    s.after_commit([&](bool ok) { done = ok; });
    REQUIRE(loop.run_until([&] { return done; }));

    // Many groups (over 1000 WAL pages): the thread's automatic checkpoints copy them into the
    // database file.
    struct stat before {};
    REQUIRE(::stat(path.c_str(), &before) == 0);
    int left = 1200;
    for (int g = 0; g < 1200; ++g) {
      s.defer_commits(true);
      s.begin();
      REQUIRE(s.put("many" + std::to_string(g), std::string(3000, 'x')) == "");
      s.commit();
      s.after_commit([&](bool ok) { left -= ok ? 1 : 0; });
      s.defer_commits(false);
      loop.fire_timers();
    }
    REQUIRE(loop.run_until([&] { return left == 0; }));
    struct stat after {};
    REQUIRE(::stat(path.c_str(), &after) == 0);
    CHECK(after.st_size > before.st_size + 500 * 3000);  // pages copied from the WAL
  }
  // Closed: everything is in the database.
  CHECK(count_rows(path) == 1 + 5 + 1 + 1200);
}

namespace {
gw::onem2m::cse::CinRow cin(const std::string& ri, const std::string& pi, const std::string& rn) {
  gw::onem2m::cse::CinRow r;
  r.ri = ri;
  r.pi = pi;
  r.rn = rn;
  r.body = "{\"con\":\"" + ri + "\"}";
  r.cs = 1;
  return r;
}
std::vector<std::string> each(Store& s, const std::string& pi) {
  std::vector<std::string> out;
  s.cin_each(pi, true, [&](const gw::onem2m::cse::CinRow& r) {
    out.push_back(r.ri);
    return true;
  });
  return out;
}
}  // namespace

TEST_CASE("store: with the writer thread, reads see the writes it has not committed yet") {
  gwtest::TempDir t;
  std::string path = t.file("cse.db");
  FakeLoop loop;
  Store s;
  open_with_writer(s, path, loop);
  auto settle = [&] {
    bool done = false;
    s.after_commit([&](bool) { done = true; });
    loop.fire_timers();
    REQUIRE(loop.run_until([&] { return done; }));
  };
  using V = std::vector<std::string>;

  // c1..c3 committed; c4, c5 pending in an open group.
  s.defer_commits(true);
  for (int i = 1; i <= 3; ++i) {
    s.begin();
    REQUIRE(s.cin_put(cin("c" + std::to_string(i), "p", "n" + std::to_string(i))) == "");
    s.commit();
  }
  s.defer_commits(false);
  settle();
  s.defer_commits(true);
  s.begin();
  REQUIRE(s.cin_put(cin("c4", "p", "n4")) == "");
  REQUIRE(s.cin_put(cin("c5", "p", "n5")) == "");
  s.commit();
  CHECK(s.pending());
  CHECK(s.cin_count() == 5);
  CHECK(each(s, "p") == V{"c1", "c2", "c3", "c4", "c5"});
  gw::onem2m::cse::CinRow r;
  REQUIRE(s.cin_get("c5", &r));
  CHECK(r.body == "{\"con\":\"c5\"}");
  CHECK(s.cin_by_name("p", "n4") == "c4");
  REQUIRE(s.cin_edge("p", true, &r));
  CHECK(r.ri == "c5");
  REQUIRE(s.cin_edge("p", false, &r));
  CHECK(r.ri == "c1");

  // Deletes inside the same open group: one committed row, one pending row.
  s.begin();
  REQUIRE(s.cin_erase("c1") == "");
  REQUIRE(s.cin_erase("c5") == "");
  s.commit();
  CHECK(s.cin_count() == 3);
  CHECK_FALSE(s.cin_get("c1", nullptr));
  CHECK_FALSE(s.cin_get("c5", nullptr));
  CHECK(s.cin_by_name("p", "n5") == "");
  CHECK(each(s, "p") == V{"c2", "c3", "c4"});
  REQUIRE(s.cin_edge("p", true, &r));
  CHECK(r.ri == "c4");
  REQUIRE(s.cin_edge("p", false, &r));
  CHECK(r.ri == "c2");
  // A name freed by a pending delete can be taken again at once.
  s.begin();
  REQUIRE(s.cin_put(cin("c6", "p", "n5")) == "");
  s.commit();
  CHECK(s.cin_by_name("p", "n5") == "c6");
  s.defer_commits(false);

  // After the thread committed, the same answers come from the database.
  settle();
  CHECK(s.cin_count() == 4);
  CHECK(each(s, "p") == V{"c2", "c3", "c4", "c6"});
  CHECK(s.cin_by_name("p", "n5") == "c6");
  CHECK_FALSE(s.cin_get("c1", nullptr));

  // erase_all while some rows are still pending; another parent is untouched.
  s.defer_commits(true);
  s.begin();
  REQUIRE(s.cin_put(cin("q1", "q", "n1")) == "");
  REQUIRE(s.cin_put(cin("c7", "p", "n7")) == "");
  REQUIRE(s.cin_erase_all("p") == "");
  s.commit();
  CHECK(each(s, "p").empty());
  CHECK_FALSE(s.cin_edge("p", true, nullptr));
  CHECK(s.cin_by_name("p", "n7") == "");
  CHECK(s.cin_count() == 1);
  s.begin();
  REQUIRE(s.cin_put(cin("c8", "p", "n2")) == "");  // a new row after the erase is visible
  s.commit();
  CHECK(each(s, "p") == V{"c8"});
  s.defer_commits(false);
  settle();
  CHECK(each(s, "p") == V{"c8"});
  CHECK(each(s, "q") == V{"q1"});
  CHECK(s.cin_count() == 2);
}
