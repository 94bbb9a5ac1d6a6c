// Persistence of the CSE resource tree: one SQLite table, one row per resource (its attributes as
// JSON text), loaded whole at start and written through on every change, and one table of
// contentInstances, which are never held in memory: a gateway with 10,000 cameras keeping 100
// events each holds a million of them, and a JSON tree per instance costs ~2.5 KiB of RAM. They
// are read back by name, by ri, oldest/newest first, when addressed, listed, discovered or
// evicted.
//
// Why SQLite and not a file of our own: a change (create a contentInstance, evict the oldest one,
// update the parent container's cni/cbs) touches several resources and must land together or not
// at all; SQLite's WAL journal gives that atomicity and crash safety on flash without a server, and
// the project already depends on it (device registry). The file is {state_dir}/cse.db, mode 0600.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gw::onem2m::cse {

// A contentInstance as stored: its place and the columns the CSE selects on, plus its attributes
// (JSON text, internal "__" keys included).
struct CinRow {
  std::string ri, pi, rn, body;
  int64_t ct_ms = 0;  // creation time, Unix ms (maxInstanceAge, cra/crb)
  int64_t cs = 0;     // content size (maxByteSize)
};

// Per parent: how many instances, their bytes, and the newest one's attributes.
struct CinTally {
  std::string pi;
  int64_t count = 0, bytes = 0;
  std::string newest_body;
};

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
  // on, the outermost commit() leaves the transaction open and asks `after` to commit it within
  // `ms`; later operations join it. Any commit() with deferring off (requests of oneM2M entities)
  // commits everything pending at once. after_commit(cb) runs cb(ok) once what was written so far
  // is committed (at once when nothing is pending). ms 0: no grouping.
  void set_group_commit(uint64_t ms, std::function<void(uint64_t, std::function<void()>)> after);
  // Group commits made durable off the loop (with sync_full): the connection runs
  // synchronous=NORMAL (COMMIT writes the WAL without fsync), and a background thread fdatasyncs
  // the -wal file — which is exactly the durability synchronous=FULL gives; after_commit callbacks
  // run once the group is durable (SQLite's automatic checkpoints stay on the loop). `post` hands
  // the completion back to the loop (thread-safe). Commits of requests (not deferred) still
  // fdatasync on the loop before they return.
  void set_background_sync(std::function<bool(std::function<void()>)> post);
  void defer_commits(bool on) { defer_ = on; }
  std::string flush();
  void after_commit(std::function<void(bool ok)> cb);
  bool pending() const { return open_; }
  uint64_t background_syncs() const { return syncs_done_; }
  std::string put(const std::string& ri, const std::string& body);
  std::string erase(const std::string& ri);
  // contentInstances (table cin, in creation order; indexed by ri, (parent, name), (parent, order)).
  std::string cin_put(const CinRow& row);
  // Found: true and *out filled (out may be null). Not found or an error: false.
  bool cin_get(const std::string& ri, CinRow* out);
  std::string cin_by_name(const std::string& pi, const std::string& rn);  // ri or ""
  bool cin_edge(const std::string& pi, bool newest, CinRow* out);       // la / ol
  // fn(row) for the parent's instances, oldest first, while it returns true. with_body false leaves
  // row.body empty (eviction needs only ri, ct and cs).
  std::string cin_each(const std::string& pi, bool with_body, const std::function<bool(const CinRow&)>& fn);
  std::string cin_tally(const std::function<void(const CinTally&)>& fn);
  std::string cin_erase(const std::string& ri);
  std::string cin_erase_all(const std::string& pi);
  uint64_t cin_count() const { return cin_count_; }
  std::string get_meta(const std::string& key);
  std::string set_meta(const std::string& key, const std::string& value);

 private:
  std::string exec(const char* sql);
  std::string commit_group(bool background);
  void start_sync();
  void synced();
  std::string sync_wal_now();
  void run_callbacks(uint64_t upto_gen, bool ok);

  sqlite3* db_ = nullptr;
  std::string path_;
  bool sync_full_ = true;
  // Background durability (set_background_sync).
  std::function<bool(std::function<void()>)> post_;
  int wal_fd_ = -1;
  std::thread sync_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool job_ = false, quit_ = false, job_done_ = false, job_ok_ = true;  // guarded by mu_
  uint64_t job_gen_ = 0;                                                 // guarded by mu_
  bool sync_out_ = false;          // loop: a job is with the thread
  uint64_t written_gen_ = 0;       // COMMITs done
  uint64_t durable_gen_ = 0;       // COMMITs known durable
  uint64_t syncs_done_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::vector<std::pair<uint64_t, std::function<void(bool)>>> waiting_;  // (gen it needs, cb)
  sqlite3_stmt* prepare(sqlite3_stmt*& st, const char* sql);
  bool read_cin(sqlite3_stmt* st, bool with_body, CinRow* out);
  std::string cin_delete(sqlite3_stmt* st, const std::string& key);  // a DELETE taking one key
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  sqlite3_stmt* cin_put_ = nullptr;
  sqlite3_stmt* cin_get_ = nullptr;
  sqlite3_stmt* cin_name_ = nullptr;
  sqlite3_stmt* cin_first_ = nullptr;
  sqlite3_stmt* cin_last_ = nullptr;
  sqlite3_stmt* cin_each_ = nullptr;
  sqlite3_stmt* cin_del_ = nullptr;
  sqlite3_stmt* cin_del_all_ = nullptr;
  int64_t cin_id_ = 0;       // the last id given (ids order a parent's instances by creation)
  uint64_t cin_count_ = 0;   // rows in cin
  int last_rc_ = 0;          // of read_cin's step
  int depth_ = 0;
  bool open_ = false;       // a BEGIN without its COMMIT yet
  bool defer_ = false;
  bool flush_scheduled_ = false;
  uint64_t group_ms_ = 0;
  std::function<void(uint64_t, std::function<void()>)> after_;
  std::vector<std::function<void(bool)>> on_commit_;
};

}  // namespace gw::onem2m::cse
