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
//
// Two ways to write. Direct (tests, tools): every transaction runs on the caller's connection and
// commit() returns once it is durable. Writer thread (the gateway, start_writer()): the loop's
// connection only reads; each transaction's writes are handed to a thread that owns a second
// connection and runs BEGIN ... COMMIT (synchronous as configured) and SQLite's automatic WAL
// checkpoints — the fsyncs that stalled the loop on a disk. Until the thread reports a group
// committed, the loop's reads of contentInstances see its writes through an in-memory overlay;
// after_commit() callbacks run once the group is durable.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gw::onem2m::cse {

// A contentInstance as stored: its place and the columns the CSE selects on, plus its attributes
// (JSON text, internal "__" keys included).
struct CinRow {
  std::string ri, pi, rn, body;
  int64_t ct_ms = 0;  // creation time, Unix ms (maxInstanceAge, cra/crb)
  int64_t cs = 0;     // content size (maxByteSize)
  int64_t id = 0;     // creation order (given by the store)
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

  // A transaction groups the writes of one operation. Writes outside one are a transaction each.
  void begin();
  // Direct: commits (or, deferred, schedules) and returns the error, if any. Writer thread: hands
  // the transaction to the thread and returns "" (a failure reaches after_commit's callbacks).
  std::string commit();

  // Group commit for bridged camera traffic (reports and events arrive at up to thousands a
  // second; one fsynced SQLite commit each is what a flash device cannot do). While deferring is
  // on, the outermost commit() leaves the transaction open and asks `after` to commit it within
  // `ms`; later operations join it. Any commit() with deferring off (requests of oneM2M entities)
  // commits everything pending at once. after_commit(cb) runs cb(ok) once what was written so far
  // is committed and durable (at once when nothing is pending). ms 0: no grouping.
  void set_group_commit(uint64_t ms, std::function<void(uint64_t, std::function<void()>)> after);
  // Starts the writer thread (see the top of this file). `post` runs a function on the loop soon
  // (thread-safe; false once the loop is shutting down). "" or the reason (then writes stay direct).
  std::string start_writer(std::function<bool(std::function<void()>)> post);
  void defer_commits(bool on) { defer_ = on; }
  bool deferring() const { return defer_; }
  // Commits what is pending and, with the writer thread, waits until it is durable (at stop).
  std::string flush();
  void after_commit(std::function<void(bool ok)> cb);
  bool pending() const { return open_; }
  uint64_t groups_committed() const { return groups_done_; }  // by the writer thread
  std::string put(const std::string& ri, const std::string& body);
  std::string erase(const std::string& ri);

  // contentInstances (table cin, in creation order; indexed by ri, (parent, name), (parent, order)).
  std::string cin_put(const CinRow& row);  // row.id is given here
  // Found: true and *out filled (out may be null). Not found or an error: false.
  bool cin_get(const std::string& ri, CinRow* out);
  std::string cin_by_name(const std::string& pi, const std::string& rn);  // ri or ""
  bool cin_edge(const std::string& pi, bool newest, CinRow* out);       // la / ol
  // fn(row) for the parent's instances, oldest first, while it returns true. with_body false leaves
  // row.body empty (eviction needs only ri, ct and cs).
  std::string cin_each(const std::string& pi, bool with_body, const std::function<bool(const CinRow&)>& fn);
  // Before start_writer only (open): per-parent counts, bytes and newest instance.
  std::string cin_tally(const std::function<void(const CinTally&)>& fn);
  std::string cin_erase(const std::string& ri);
  std::string cin_erase_all(const std::string& pi);
  // expirationTime of contentInstances (an index on the et in their attributes; only instances
  // that have one are in it). Committed rows only: the CSE arms its timer for pending ones itself.
  // Up to `limit` ris whose et <= now_ts (oldest et first), and the earliest et ("" = none).
  std::string cin_expired(const std::string& now_ts, int limit, std::vector<std::string>* ris);
  std::string cin_next_expiry();
  uint64_t cin_count() const { return cin_count_; }

 private:
  // One write, as the writer applies it.
  struct Op {
    enum Kind { kPut, kErase, kCinPut, kCinErase, kCinEraseAll } kind;
    std::string key, body;  // ri (pi for kCinEraseAll); body for kPut
    CinRow row;             // kCinPut
  };
  // A connection's write statements (the loop's in direct mode, the thread's otherwise).
  struct Writer {
    sqlite3* db = nullptr;
    sqlite3_stmt *put = nullptr, *del = nullptr, *cin_put = nullptr, *cin_del = nullptr, *cin_del_all = nullptr;
    std::string prepare();
    std::string apply(const Op& op);
    std::string exec(const char* sql);
    void close();
  };
  struct Batch {
    uint64_t gen = 0;
    std::vector<Op> ops;
  };

  std::string exec(const char* sql);
  sqlite3_stmt* prepare(sqlite3_stmt*& st, const char* sql);
  bool read_cin(sqlite3_stmt* st, bool with_body, CinRow* out);
  std::string write(Op op);
  std::string commit_group(bool wait);
  void run_callbacks(uint64_t upto_gen, bool ok);
  void writer_main();
  void reap();
  // Overlay (writer thread mode): writes not yet reported committed.
  bool hidden(const CinRow& sql_row) const;  // deleted, or shadowed by the overlay's copy
  void trim(uint64_t gen);
  struct OvIns;
  void drop_insert(std::unordered_map<std::string, OvIns>::iterator it);  // from ov_ins_, ov_pi_, ov_name_
  std::string sql_each(const std::string& pi, bool with_body, bool desc, const std::function<bool(const CinRow&)>& fn);

  sqlite3* db_ = nullptr;
  std::string path_;
  bool sync_full_ = true;
  Writer direct_;  // on db_

  // Writer thread.
  std::function<bool(std::function<void()>)> post_;
  Writer thread_w_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;                          // guarded by mu_
  std::vector<std::pair<uint64_t, bool>> results_;   // guarded by mu_
  bool quit_ = false;                                // guarded by mu_
  uint64_t done_gen_ = 0;                            // guarded by mu_: the last group the thread finished
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::vector<Op> batch_;  // the open transaction's writes

  // Overlay, keyed by the group (gen) that wrote each entry.
  struct OvIns {
    uint64_t gen;
    CinRow row;
  };
  std::unordered_map<std::string, OvIns> ov_ins_;                           // ri
  std::unordered_map<std::string, std::map<int64_t, std::string>> ov_pi_;  // pi -> id -> ri
  std::unordered_map<std::string, std::string> ov_name_;                   // pi '\n' rn -> ri
  std::unordered_map<std::string, uint64_t> ov_del_;                       // ri -> gen
  std::unordered_map<std::string, std::pair<uint64_t, int64_t>> ov_del_all_;  // pi -> (gen, ids up to)
  std::deque<std::pair<uint64_t, std::pair<char, std::string>>> ov_log_;   // (gen, (i|d|a, key)) to trim

  uint64_t written_gen_ = 0;  // groups committed (direct) or handed to the thread
  uint64_t durable_gen_ = 0;  // groups known durable
  uint64_t groups_done_ = 0;
  std::vector<std::pair<uint64_t, std::function<void(bool)>>> waiting_;  // (gen it needs, cb)
  sqlite3_stmt* cin_get_ = nullptr;
  sqlite3_stmt* cin_name_ = nullptr;
  sqlite3_stmt* cin_each_ = nullptr;
  sqlite3_stmt* cin_each_desc_ = nullptr;
  sqlite3_stmt* cin_et_due_ = nullptr;
  sqlite3_stmt* cin_et_next_ = nullptr;
  int64_t cin_id_ = 0;      // the last id given (ids order a parent's instances by creation)
  uint64_t cin_count_ = 0;  // instances, the overlay's included
  int last_rc_ = 0;         // of read_cin's step
  int depth_ = 0;
  bool open_ = false;       // a transaction without its COMMIT yet
  bool defer_ = false;
  bool flush_scheduled_ = false;
  uint64_t group_ms_ = 0;
  std::function<void(uint64_t, std::function<void()>)> after_;
  std::vector<std::function<void(bool)>> on_commit_;
};

}  // namespace gw::onem2m::cse
