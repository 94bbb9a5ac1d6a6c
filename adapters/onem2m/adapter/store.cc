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
  if (put_) sqlite3_finalize(put_);
  if (del_) sqlite3_finalize(del_);
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
        "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);");
  if (!e.empty()) return path + ": " + e;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO resource (ri, body) VALUES (?1, ?2) ON CONFLICT(ri) DO UPDATE SET body=?2", -1,
                         &put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM resource WHERE ri=?1", -1, &del_, nullptr) != SQLITE_OK)
    return path + ": " + sqlite3_errmsg(db_);
  return "";
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
