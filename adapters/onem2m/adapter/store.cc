#include "store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gw::onem2m::cse {

Store::~Store() {
  on_commit_.clear();  // nobody left to tell; what is pending is still committed (and synced)
  waiting_.clear();
  if (db_) flush();
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  alive_.reset();
  if (wal_fd_ >= 0) ::close(wal_fd_);
  for (sqlite3_stmt* st : {put_, del_, cin_put_, cin_get_, cin_name_, cin_first_, cin_last_, cin_each_, cin_del_,
                            cin_del_all_})
    if (st) sqlite3_finalize(st);
  if (db_) sqlite3_close(db_);
}

std::string Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown error";
    sqlite3_free(err);
    return e;
  }
  return "";
}

std::string Store::open(const std::string& path, bool sync_full) {
  path_ = path;
  sync_full_ = sync_full;
  // Create the file 0600 before SQLite does (it would use the umask).
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK)
    return path + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open");
  std::string e = exec(sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                 : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if (e.empty())
    e = exec(
        "CREATE TABLE IF NOT EXISTS resource (seq INTEGER PRIMARY KEY AUTOINCREMENT, ri TEXT UNIQUE NOT NULL, "
        "body TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
        // contentInstances in creation order (rowid = id): a camera event appends at the table's
        // end and the instance it evicts is among the oldest, at its front, so the pages an event
        // dirties are the two ends plus one page of each per-parent index (a container's entries
        // sit together there). Clustering the table by parent instead (its inserts and evictions
        // land on pages all over the table) was measured to make the WAL checkpoints, which run on
        // the loop, several times longer.
        "CREATE TABLE IF NOT EXISTS cin (id INTEGER PRIMARY KEY, pi TEXT NOT NULL, ri TEXT NOT NULL, rn TEXT NOT NULL, "
        "ct INTEGER NOT NULL, cs INTEGER NOT NULL, body TEXT NOT NULL);"
        "CREATE UNIQUE INDEX IF NOT EXISTS cin_ri ON cin (ri);"
        "CREATE UNIQUE INDEX IF NOT EXISTS cin_rn ON cin (pi, rn);"
        "CREATE INDEX IF NOT EXISTS cin_pi ON cin (pi, id);");
  if (!e.empty()) return path + ": " + e;
  const char* cols = "ri, pi, rn, ct, cs, body";
  std::string sel = std::string("SELECT ") + cols + " FROM cin ";
  if (!prepare(put_, "INSERT INTO resource (ri, body) VALUES (?1, ?2) ON CONFLICT(ri) DO UPDATE SET body=?2") ||
      !prepare(del_, "DELETE FROM resource WHERE ri=?1") ||
      !prepare(cin_put_, "INSERT INTO cin (pi, id, ri, rn, ct, cs, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)") ||
      !prepare(cin_get_, (sel + "WHERE ri=?1").c_str()) ||
      !prepare(cin_name_, "SELECT ri FROM cin WHERE pi=?1 AND rn=?2") ||
      !prepare(cin_first_, (sel + "WHERE pi=?1 ORDER BY id ASC LIMIT 1").c_str()) ||
      !prepare(cin_last_, (sel + "WHERE pi=?1 ORDER BY id DESC LIMIT 1").c_str()) ||
      !prepare(cin_each_, (sel + "WHERE pi=?1 ORDER BY id ASC").c_str()) ||
      !prepare(cin_del_, "DELETE FROM cin WHERE ri=?1") || !prepare(cin_del_all_, "DELETE FROM cin WHERE pi=?1"))
    return path + ": " + sqlite3_errmsg(db_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT coalesce(max(id), 0), count(*) FROM cin", -1, &st, nullptr) != SQLITE_OK)
    return path + ": " + sqlite3_errmsg(db_);
  if (sqlite3_step(st) == SQLITE_ROW) {
    cin_id_ = sqlite3_column_int64(st, 0);
    cin_count_ = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
  }
  sqlite3_finalize(st);
  return "";
}

sqlite3_stmt* Store::prepare(sqlite3_stmt*& st, const char* sql) {
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) st = nullptr;
  return st;
}

std::string Store::load(const std::function<void(const std::string&, const std::string&)>& fn) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT ri, body FROM resource ORDER BY seq", -1, &st, nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db_);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    fn(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
       std::string(reinterpret_cast<const char*>(sqlite3_column_blob(st, 1)), sqlite3_column_bytes(st, 1)));
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
}

void Store::begin() {
  if (depth_++ == 0 && !open_) {
    exec("BEGIN");
    open_ = true;
  }
}

std::string Store::commit() {
  if (depth_ == 0 || --depth_ > 0) return "";
  if (defer_ && group_ms_ && after_) {
    if (!flush_scheduled_) {
      flush_scheduled_ = true;
      after_(group_ms_, [this] {
        flush_scheduled_ = false;
        commit_group(true);
      });
    }
    return "";
  }
  return flush();
}

std::string Store::flush() { return commit_group(false); }

std::string Store::commit_group(bool background) {
  if (open_ && depth_ == 0) {
    open_ = false;
    std::string e = exec("COMMIT");
    if (!e.empty()) exec("ROLLBACK");
    uint64_t gen = ++written_gen_;
    auto cbs = std::move(on_commit_);
    on_commit_.clear();
    if (!e.empty()) {
      for (auto& cb : cbs) cb(false);
      return e;
    }
    for (auto& cb : cbs) waiting_.emplace_back(gen, std::move(cb));
  }
  if (written_gen_ <= durable_gen_) return "";
  if (!post_) {  // COMMIT itself was as durable as configured (synchronous=FULL fsyncs the WAL)
    durable_gen_ = written_gen_;
    run_callbacks(durable_gen_, true);
    return "";
  }
  if (background) {
    start_sync();
    return "";
  }
  // A request (or the stop): durable before this returns, as synchronous=FULL would have it.
  uint64_t gen = written_gen_;
  std::string e = sync_wal_now();
  if (e.empty()) durable_gen_ = std::max(durable_gen_, gen);
  run_callbacks(gen, e.empty());
  return e;  // a job still out on the thread covers nothing more (its completion finds nothing to do)
}

void Store::run_callbacks(uint64_t upto_gen, bool ok) {
  std::vector<std::function<void(bool)>> ready;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->first <= upto_gen) {
      ready.push_back(std::move(it->second));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& cb : ready) cb(ok);
}

void Store::set_background_sync(std::function<bool(std::function<void()>)> post) {
  if (!db_ || !sync_full_) return;  // NORMAL by configuration: there is nothing to make durable
  // Checkpoints stay SQLite's automatic ones (every 1000 WAL pages, on the loop, syncing WAL and
  // database as NORMAL does before and after copying): checkpointing from a second connection on
  // the thread was measured to make the loop's own transactions wait on the WAL locks.
  if (!exec("PRAGMA synchronous=NORMAL;").empty()) return;
  post_ = std::move(post);
}

std::string Store::sync_wal_now() {
  if (wal_fd_ < 0) wal_fd_ = ::open((path_ + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd_ < 0) return path_ + "-wal: " + std::strerror(errno);
  if (::fdatasync(wal_fd_) != 0) return path_ + "-wal: fsync failed: " + std::strerror(errno);
  return "";
}

void Store::start_sync() {
  if (sync_out_) return;  // synced() sends the next group when this one is back
  if (wal_fd_ < 0) wal_fd_ = ::open((path_ + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd_ < 0) {
    uint64_t gen = written_gen_;
    run_callbacks(gen, false);
    return;
  }
  sync_out_ = true;
  {
    std::lock_guard lk(mu_);
    job_ = true;
    job_gen_ = written_gen_;
  }
  if (!sync_thread_.joinable()) {
    std::weak_ptr<int> alive = alive_;
    sync_thread_ = std::thread([this, alive] {
      std::unique_lock lk(mu_);
      for (;;) {
        cv_.wait(lk, [&] { return quit_ || job_; });
        if (!job_) return;
        job_ = false;
        lk.unlock();
        // The slow part, off the loop: make the WAL durable (what synchronous=FULL does inside
        // COMMIT).
        bool ok = ::fdatasync(wal_fd_) == 0;
        lk.lock();
        job_done_ = true;
        job_ok_ = ok;
        cv_.notify_all();
        lk.unlock();
        post_([this, alive] {
          if (!alive.expired()) synced();
        });
        lk.lock();
      }
    });
  }
  cv_.notify_all();
}

void Store::synced() {
  uint64_t gen;
  bool ok;
  {
    std::lock_guard lk(mu_);
    if (!job_done_) return;  // reaped already (wait_sync)
    job_done_ = false;
    gen = job_gen_;
    ok = job_ok_;
  }
  sync_out_ = false;
  ++syncs_done_;
  if (ok) durable_gen_ = std::max(durable_gen_, gen);
  run_callbacks(gen, ok);
  // Groups committed meanwhile go next. After a failed fsync nothing is retried in a loop: the
  // next group commit or after_commit() starts the next attempt.
  if (ok && written_gen_ > durable_gen_) start_sync();
}

void Store::set_group_commit(uint64_t ms, std::function<void(uint64_t, std::function<void()>)> after) {
  group_ms_ = ms;
  after_ = std::move(after);
}

void Store::after_commit(std::function<void(bool ok)> cb) {
  if (open_) return on_commit_.push_back(std::move(cb));
  if (written_gen_ <= durable_gen_) return cb(true);
  waiting_.emplace_back(written_gen_, std::move(cb));
  if (post_ && !sync_out_) start_sync();  // committed but no fsync under way (one failed before)
}

std::string Store::put(const std::string& ri, const std::string& body) {
  sqlite3_reset(put_);
  sqlite3_bind_text(put_, 1, ri.data(), static_cast<int>(ri.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(put_, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  return sqlite3_step(put_) == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
}

std::string Store::erase(const std::string& ri) {
  sqlite3_reset(del_);
  sqlite3_bind_text(del_, 1, ri.data(), static_cast<int>(ri.size()), SQLITE_TRANSIENT);
  return sqlite3_step(del_) == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
}

namespace {
void bind(sqlite3_stmt* st, int i, const std::string& v) {
  sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
std::string text(sqlite3_stmt* st, int col) {
  const void* p = sqlite3_column_blob(st, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string();
}
}  // namespace

std::string Store::cin_put(const CinRow& row) {
  sqlite3_reset(cin_put_);
  bind(cin_put_, 1, row.pi);
  sqlite3_bind_int64(cin_put_, 2, ++cin_id_);
  bind(cin_put_, 3, row.ri);
  bind(cin_put_, 4, row.rn);
  sqlite3_bind_int64(cin_put_, 5, row.ct_ms);
  sqlite3_bind_int64(cin_put_, 6, row.cs);
  bind(cin_put_, 7, row.body);
  if (sqlite3_step(cin_put_) != SQLITE_DONE) return sqlite3_errmsg(db_);
  ++cin_count_;
  return "";
}

bool Store::read_cin(sqlite3_stmt* st, bool with_body, CinRow* out) {
  last_rc_ = sqlite3_step(st);
  if (last_rc_ != SQLITE_ROW) return false;
  if (out) {
    out->ri = text(st, 0);
    out->pi = text(st, 1);
    out->rn = text(st, 2);
    out->ct_ms = sqlite3_column_int64(st, 3);
    out->cs = sqlite3_column_int64(st, 4);
    if (with_body) out->body = text(st, 5);
    else out->body.clear();
  }
  return true;
}

bool Store::cin_get(const std::string& ri, CinRow* out) {
  sqlite3_reset(cin_get_);
  bind(cin_get_, 1, ri);
  bool found = read_cin(cin_get_, true, out);
  sqlite3_reset(cin_get_);
  return found;
}

std::string Store::cin_by_name(const std::string& pi, const std::string& rn) {
  sqlite3_reset(cin_name_);
  bind(cin_name_, 1, pi);
  bind(cin_name_, 2, rn);
  std::string ri = sqlite3_step(cin_name_) == SQLITE_ROW ? text(cin_name_, 0) : std::string();
  sqlite3_reset(cin_name_);
  return ri;
}

bool Store::cin_edge(const std::string& pi, bool newest, CinRow* out) {
  sqlite3_stmt* st = newest ? cin_last_ : cin_first_;
  sqlite3_reset(st);
  bind(st, 1, pi);
  bool found = read_cin(st, true, out);
  sqlite3_reset(st);
  return found;
}

std::string Store::cin_each(const std::string& pi, bool with_body, const std::function<bool(const CinRow&)>& fn) {
  // The cached statement, unless a caller up the stack is stepping it (then a private one).
  sqlite3_stmt* st = cin_each_;
  sqlite3_stmt* own = nullptr;
  if (sqlite3_stmt_busy(st)) {
    if (sqlite3_prepare_v2(db_, sqlite3_sql(cin_each_), -1, &own, nullptr) != SQLITE_OK) return sqlite3_errmsg(db_);
    st = own;
  }
  sqlite3_reset(st);
  bind(st, 1, pi);
  CinRow row;
  int rc;
  for (;;) {
    bool more = read_cin(st, with_body, &row);
    rc = last_rc_;  // read now: fn may read other rows
    if (!more || !fn(row)) break;
  }
  std::string e = rc == SQLITE_ROW || rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
  sqlite3_reset(st);
  if (own) sqlite3_finalize(own);
  return e;
}

std::string Store::cin_tally(const std::function<void(const CinTally&)>& fn) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT t.pi, t.n, t.s, c.body FROM (SELECT pi, count(*) AS n, sum(cs) AS s, max(id) AS m "
                         "FROM cin GROUP BY pi) AS t JOIN cin AS c ON c.id = t.m",
                         -1, &st, nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db_);
  int rc;
  CinTally t;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    t.pi = text(st, 0);
    t.count = sqlite3_column_int64(st, 1);
    t.bytes = sqlite3_column_int64(st, 2);
    t.newest_body = text(st, 3);
    fn(t);
  }
  std::string e = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
  sqlite3_finalize(st);
  return e;
}

std::string Store::cin_delete(sqlite3_stmt* st, const std::string& key) {
  sqlite3_reset(st);
  bind(st, 1, key);
  if (sqlite3_step(st) != SQLITE_DONE) return sqlite3_errmsg(db_);
  cin_count_ -= std::min<uint64_t>(cin_count_, static_cast<uint64_t>(sqlite3_changes(db_)));
  return "";
}

std::string Store::cin_erase(const std::string& ri) { return cin_delete(cin_del_, ri); }

std::string Store::cin_erase_all(const std::string& pi) { return cin_delete(cin_del_all_, pi); }

std::string Store::get_meta(const std::string& key) {
  sqlite3_stmt* st = nullptr;
  std::string v;
  if (sqlite3_prepare_v2(db_, "SELECT v FROM meta WHERE k=?1", -1, &st, nullptr) != SQLITE_OK) return v;
  sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) == SQLITE_ROW) v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}

std::string Store::set_meta(const std::string& key, const std::string& value) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)", -1, &st, nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db_);
  sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, value.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
}

}  // namespace gw::onem2m::cse
