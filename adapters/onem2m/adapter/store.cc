#include "store.h"

#include <fcntl.h>
#include <unistd.h>

namespace gw::onem2m::cse {

Store::~Store() {
  on_commit_.clear();  // nobody left to tell; what is pending is still committed
  if (db_ && open_) flush();
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
        flush();
      });
    }
    return "";
  }
  return flush();
}

std::string Store::flush() {
  if (!open_ || depth_ > 0) return "";
  open_ = false;
  std::string e = exec("COMMIT");
  if (!e.empty()) exec("ROLLBACK");
  auto cbs = std::move(on_commit_);
  on_commit_.clear();
  for (auto& cb : cbs) cb(e.empty());
  return e;
}

void Store::set_group_commit(uint64_t ms, std::function<void(uint64_t, std::function<void()>)> after) {
  group_ms_ = ms;
  after_ = std::move(after);
}

void Store::after_commit(std::function<void(bool ok)> cb) {
  if (!open_) return cb(true);
  on_commit_.push_back(std::move(cb));
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
