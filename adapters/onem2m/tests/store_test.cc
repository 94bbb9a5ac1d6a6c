// The CSE store's group commit made durable off the loop (Store::set_background_sync): callbacks
// wait for the background fdatasync, requests stay synchronous, SQLite's automatic checkpoints still
// move the WAL into the database, and everything is in the database after a reopen.
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

TEST_CASE("store: group commits are acknowledged after the background fsync; requests at once") {
  gwtest::TempDir t;
  std::string path = t.file("cse.db");
  FakeLoop loop;
  {
    Store s;
    REQUIRE(s.open(path, true) == "");
    s.set_group_commit(5, [&](uint64_t, std::function<void()> fn) { loop.timers.push_back(std::move(fn)); });
    s.set_background_sync([&](std::function<void()> fn) { return loop.post(std::move(fn)); });

    // A camera event: deferred into the group; its callback waits for commit + fsync.
    int acked = 0;
    s.defer_commits(true);
    s.begin();
    REQUIRE(s.put("cin1", R"({"ri":"cin1"})") == "");
    REQUIRE(s.commit() == "");
    s.after_commit([&](bool ok) { acked += ok ? 1 : 100; });
    s.defer_commits(false);
    CHECK(s.pending());
    CHECK(acked == 0);
    loop.fire_timers();  // the group commits; the fsync goes to the background thread
    CHECK_FALSE(s.pending());
    REQUIRE(loop.run_until([&] { return acked != 0; }));
    CHECK(acked == 1);
    CHECK(s.background_syncs() == 1);

    // Several groups while a sync is out: each callback once, in order, all ok.
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

    // A request commits (and fsyncs) before commit() returns; after_commit answers at once.
    s.begin();
    REQUIRE(s.put("ae1", "{}") == "");
    REQUIRE(s.commit() == "");
    bool now = false;
    s.after_commit([&](bool ok) { now = ok; });
    CHECK(now);

    // Many groups (over 1000 WAL pages): the automatic checkpoint copies them into the database file.
    struct stat before {};
    REQUIRE(::stat(path.c_str(), &before) == 0);
    for (int g = 0; g < 1200; ++g) {
      s.defer_commits(true);
      s.begin();
      REQUIRE(s.put("many" + std::to_string(g), std::string(3000, 'x')) == "");
      s.commit();
      s.defer_commits(false);
      loop.fire_timers();
      uint64_t want = s.background_syncs() + 1;
      REQUIRE(loop.run_until([&] { return s.background_syncs() >= want; }));
    }
    struct stat after {};
    REQUIRE(::stat(path.c_str(), &after) == 0);
    CHECK(after.st_size > before.st_size + 500 * 3000);  // pages copied from the WAL
  }
  // Closed: everything is in the database.
  CHECK(count_rows(path) == 1 + 5 + 1 + 1200);
}
