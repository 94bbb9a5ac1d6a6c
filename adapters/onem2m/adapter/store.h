// Persistence of the CSE resource tree: one SQLite table, one row per resource (its attributes as
// JSON text), loaded whole at start and written through on every change.
//
// Why SQLite and not a file of our own: a change (create a contentInstance, evict the oldest one,
// update the parent container's cni/cbs) touches several resources and must land together or not
// at all; SQLite's WAL journal gives that atomicity and crash safety on flash without a server, and
// the project already depends on it (device registry). The file is {state_dir}/cse.db, mode 0600.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gw::onem2m::cse {

class Store {
 public:
  Store() = default;
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Opens (creates) the database. "" on success, else the reason.
  std::string open(const std::string& path, bool sync_full);
  // Calls fn(ri, body) for every stored resource in insertion order.
  std::string load(const std::function<void(const std::string&, const std::string&)>& fn);

  // A transaction groups the writes of one operation. Writes outside one autocommit.
  void begin();
  std::string commit();

  // Group commit for bridged camera traffic (reports and events arrive at up to thousands a
  // second; one fsynced SQLite commit each is what a flash device cannot do). While deferring is
  // on, the outermost commit() leaves the transaction open and asks `after` to run flush() within
  // `ms`; later operations join it. Any commit() with deferring off (requests of oneM2M entities)
  // commits everything pending at once. after_commit(cb) runs cb(ok) once what was written so far
  // is committed (at once when nothing is pending). ms 0: no grouping.
  void set_group_commit(uint64_t ms, std::function<void(uint64_t, std::function<void()>)> after);
  void defer_commits(bool on) { defer_ = on; }
  std::string flush();
  void after_commit(std::function<void(bool ok)> cb);
  bool pending() const { return open_; }
  std::string put(const std::string& ri, const std::string& body);
  std::string erase(const std::string& ri);
  std::string get_meta(const std::string& key);
  std::string set_meta(const std::string& key, const std::string& value);

 private:
  std::string exec(const char* sql);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  int depth_ = 0;
  bool open_ = false;       // a BEGIN without its COMMIT yet
  bool defer_ = false;
  bool flush_scheduled_ = false;
  uint64_t group_ms_ = 0;
  std::function<void(uint64_t, std::function<void()>)> after_;
  std::vector<std::function<void(bool)>> on_commit_;
};

}  // namespace gw::onem2m::cse
