#include "store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

namespace gw::onem2m::cse {
namespace {

void bind(sqlite3_stmt* st, int i, const std::string& v) {
  sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string text(sqlite3_stmt* st, int col) {
  const void* p = sqlite3_column_blob(st, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string();
}

std::string exec_on(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown error";
    sqlite3_free(err);
    return e;
  }
  return "";
}

bool prepare_on(sqlite3* db, sqlite3_stmt*& st, const char* sql) {
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) st = nullptr;
  return st != nullptr;
}

const char* kCinCols = "SELECT ri, pi, rn, ct, cs, body, id FROM cin ";

}  // namespace

// ---- Writer: one connection's write statements ----

std::string Store::Writer::prepare() {
  if (!prepare_on(db, put, "INSERT INTO resource (ri, body) VALUES (?1, ?2) ON CONFLICT(ri) DO UPDATE SET body=?2") ||
      !prepare_on(db, del, "DELETE FROM resource WHERE ri=?1") ||
      !prepare_on(db, cin_put, "INSERT INTO cin (pi, id, ri, rn, ct, cs, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)") ||
      !prepare_on(db, cin_del, "DELETE FROM cin WHERE ri=?1") ||
      !prepare_on(db, cin_del_all, "DELETE FROM cin WHERE pi=?1"))
    return sqlite3_errmsg(db);
  return "";
}

std::string Store::Writer::exec(const char* sql) { return exec_on(db, sql); }

std::string Store::Writer::apply(const Op& op) {
  sqlite3_stmt* st = nullptr;
  switch (op.kind) {
    case Op::kPut: st = put; break;
    case Op::kErase: st = del; break;
    case Op::kCinPut: st = cin_put; break;
    case Op::kCinErase: st = cin_del; break;
    case Op::kCinEraseAll: st = cin_del_all; break;
  }
  sqlite3_reset(st);
  if (op.kind == Op::kCinPut) {
    bind(st, 1, op.row.pi);
    sqlite3_bind_int64(st, 2, op.row.id);
    bind(st, 3, op.row.ri);
    bind(st, 4, op.row.rn);
    sqlite3_bind_int64(st, 5, op.row.ct_ms);
    sqlite3_bind_int64(st, 6, op.row.cs);
    bind(st, 7, op.row.body);
  } else {
    bind(st, 1, op.key);  // ri, or pi for kCinEraseAll
    if (op.kind == Op::kPut) bind(st, 2, op.body);
  }
  std::string e = sqlite3_step(st) == SQLITE_DONE ? "" : sqlite3_errmsg(db);
  sqlite3_reset(st);
  return e;
}

void Store::Writer::close() {
  for (sqlite3_stmt* st : {put, del, cin_put, cin_del, cin_del_all})
    if (st) sqlite3_finalize(st);
  put = del = cin_put = cin_del = cin_del_all = nullptr;
}

// ---- Store ----

Store::~Store() {
  on_commit_.clear();  // nobody left to tell; what is pending is still committed
  waiting_.clear();
  if (db_) flush();
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  alive_.reset();
  thread_w_.close();
  if (thread_w_.db) sqlite3_close(thread_w_.db);
  direct_.close();
  for (sqlite3_stmt* st : {cin_get_, cin_name_, cin_each_, cin_each_desc_, cin_et_due_, cin_et_next_})
    if (st) sqlite3_finalize(st);
  if (db_) sqlite3_close(db_);
}

std::string Store::exec(const char* sql) { return exec_on(db_, sql); }

sqlite3_stmt* Store::prepare(sqlite3_stmt*& st, const char* sql) {
  prepare_on(db_, st, sql);
  return st;
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
        // land on pages all over the table) was measured to make the WAL checkpoints several
        // times longer.
        "CREATE TABLE IF NOT EXISTS cin (id INTEGER PRIMARY KEY, pi TEXT NOT NULL, ri TEXT NOT NULL, rn TEXT NOT NULL, "
        "ct INTEGER NOT NULL, cs INTEGER NOT NULL, body TEXT NOT NULL);"
        "CREATE UNIQUE INDEX IF NOT EXISTS cin_ri ON cin (ri);"
        "CREATE UNIQUE INDEX IF NOT EXISTS cin_rn ON cin (pi, rn);"
        "CREATE INDEX IF NOT EXISTS cin_pi ON cin (pi, id);"
        // expirationTime: only the (rare) instances that carry one are in this index.
        "CREATE INDEX IF NOT EXISTS cin_et ON cin (json_extract(body, '$.et')) "
        "WHERE json_extract(body, '$.et') IS NOT NULL;");
  if (!e.empty()) return path + ": " + e;
  std::string sel = kCinCols;
  direct_.db = db_;
  e = direct_.prepare();
  if (!e.empty()) return path + ": " + e;
  if (!prepare(cin_get_, (sel + "WHERE ri=?1").c_str()) ||
      !prepare(cin_name_, "SELECT ri, id FROM cin WHERE pi=?1 AND rn=?2") ||
      !prepare(cin_each_, (sel + "WHERE pi=?1 ORDER BY id ASC").c_str()) ||
      !prepare(cin_each_desc_, (sel + "WHERE pi=?1 ORDER BY id DESC").c_str()) ||
      !prepare(cin_et_due_,
               "SELECT ri FROM cin WHERE json_extract(body, '$.et') IS NOT NULL AND json_extract(body, '$.et') <= ?1 "
               "ORDER BY json_extract(body, '$.et') LIMIT ?2") ||
      !prepare(cin_et_next_,
               "SELECT min(json_extract(body, '$.et')) FROM cin WHERE json_extract(body, '$.et') IS NOT NULL"))
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

std::string Store::load(const std::function<void(const std::string&, const std::string&)>& fn) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT ri, body FROM resource ORDER BY seq", -1, &st, nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db_);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(text(st, 0), text(st, 1));
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
}

std::string Store::start_writer(std::function<bool(std::function<void()>)> post) {
  if (!db_) return "not open";
  if (post_) return "";
  if (open_) flush();
  if (sqlite3_open_v2(path_.c_str(), &thread_w_.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string e = thread_w_.db ? sqlite3_errmsg(thread_w_.db) : "cannot open";
    if (thread_w_.db) sqlite3_close(thread_w_.db);
    thread_w_.db = nullptr;
    return path_ + ": " + e;
  }
  sqlite3_busy_timeout(thread_w_.db, 10000);
  std::string e = thread_w_.exec(sync_full_ ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
  if (e.empty()) e = thread_w_.prepare();
  if (!e.empty()) {
    thread_w_.close();
    sqlite3_close(thread_w_.db);
    thread_w_.db = nullptr;
    return path_ + ": " + e;
  }
  // The loop's connection now only reads. In WAL mode a reader waits only in rare moments (the
  // writer resetting the WAL); it must not then answer "not found".
  sqlite3_busy_timeout(db_, 200);
  post_ = std::move(post);
  thread_ = std::thread([this] { writer_main(); });
  return "";
}

void Store::writer_main() {
  std::weak_ptr<int> alive = alive_;
  for (;;) {
    std::vector<Batch> work;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return quit_ || !queue_.empty(); });
      if (queue_.empty()) return;  // quit, and nothing left to write
      work.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    // Everything queued meanwhile goes in one transaction: its COMMIT (and the automatic
    // checkpoint that may follow it) is the fsync this thread exists to take off the loop.
    std::string e = thread_w_.exec("BEGIN IMMEDIATE");
    for (auto& b : work)
      for (auto& op : b.ops)
        if (e.empty()) e = thread_w_.apply(op);
    if (e.empty()) e = thread_w_.exec("COMMIT");
    if (!e.empty()) thread_w_.exec("ROLLBACK");
    {
      std::lock_guard lk(mu_);
      done_gen_ = work.back().gen;
      results_.emplace_back(work.back().gen, e.empty());
    }
    cv_.notify_all();
    post_([this, alive] {
      if (!alive.expired()) reap();
    });
  }
}

void Store::reap() {
  std::vector<std::pair<uint64_t, bool>> res;
  {
    std::lock_guard lk(mu_);
    res.swap(results_);
  }
  for (auto& [gen, ok] : res) {
    durable_gen_ = std::max(durable_gen_, gen);
    ++groups_done_;
    trim(gen);  // committed (or rolled back): the loop's connection reads the truth from now on
    run_callbacks(gen, ok);
  }
}

void Store::begin() {
  if (depth_++ == 0 && !open_) {
    if (!post_) exec("BEGIN");
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
        commit_group(false);
      });
    }
    return "";
  }
  return commit_group(false);
}

std::string Store::flush() { return commit_group(true); }

std::string Store::commit_group(bool wait) {
  std::string e;
  if (open_ && depth_ == 0) {
    open_ = false;
    uint64_t gen = ++written_gen_;
    auto cbs = std::move(on_commit_);
    on_commit_.clear();
    if (!post_) {
      // Direct: COMMIT is as durable as configured (synchronous=FULL fsyncs the WAL).
      e = exec("COMMIT");
      if (!e.empty()) exec("ROLLBACK");
      durable_gen_ = gen;
      for (auto& cb : cbs) cb(e.empty());
      return e;
    }
    for (auto& cb : cbs) waiting_.emplace_back(gen, std::move(cb));
    {
      std::lock_guard lk(mu_);
      queue_.push_back(Batch{gen, std::move(batch_)});
    }
    batch_.clear();
    cv_.notify_all();
  }
  if (post_ && wait && thread_.joinable()) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return done_gen_ >= written_gen_; });
    }
    reap();  // the posted completion then finds nothing left
  }
  return e;
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

void Store::set_group_commit(uint64_t ms, std::function<void(uint64_t, std::function<void()>)> after) {
  group_ms_ = ms;
  after_ = std::move(after);
}

void Store::after_commit(std::function<void(bool ok)> cb) {
  if (open_) return on_commit_.push_back(std::move(cb));
  if (written_gen_ <= durable_gen_) return cb(true);
  waiting_.emplace_back(written_gen_, std::move(cb));
}

std::string Store::write(Op op) {
  if (!post_) return direct_.apply(op);  // inside the BEGIN, or a transaction of its own
  if (open_) {
    batch_.push_back(std::move(op));
    return "";
  }
  begin();
  batch_.push_back(std::move(op));
  return commit();
}

std::string Store::put(const std::string& ri, const std::string& body) { return write(Op{Op::kPut, ri, body, {}}); }

std::string Store::erase(const std::string& ri) { return write(Op{Op::kErase, ri, "", {}}); }

// ---- contentInstances ----

std::string Store::cin_put(const CinRow& in) {
  CinRow row = in;
  row.id = ++cin_id_;
  if (post_) {
    uint64_t gen = written_gen_ + 1;  // the group this write belongs to
    ov_pi_[row.pi][row.id] = row.ri;
    ov_name_[row.pi + '\n' + row.rn] = row.ri;
    ov_log_.push_back({gen, {'i', row.ri}});
    ov_ins_[row.ri] = OvIns{gen, row};
  }
  std::string ri = row.ri;
  std::string e = write(Op{Op::kCinPut, ri, "", std::move(row)});
  if (e.empty()) ++cin_count_;
  return e;
}

std::string Store::cin_erase(const std::string& ri) {
  if (!post_) {
    std::string e = write(Op{Op::kCinErase, ri, "", {}});
    if (e.empty()) cin_count_ -= std::min<uint64_t>(cin_count_, static_cast<uint64_t>(sqlite3_changes(db_)));
    return e;
  }
  uint64_t gen = written_gen_ + 1;
  bool existed;
  auto it = ov_ins_.find(ri);
  if (it != ov_ins_.end()) {
    existed = true;
    drop_insert(it);
  } else {
    existed = cin_get(ri, nullptr);
  }
  ov_del_[ri] = gen;  // hides the row while its committed copy may still be read
  ov_log_.push_back({gen, {'d', ri}});
  if (existed && cin_count_) --cin_count_;
  return write(Op{Op::kCinErase, ri, "", {}});
}

std::string Store::cin_erase_all(const std::string& pi) {
  if (!post_) {
    std::string e = write(Op{Op::kCinEraseAll, pi, "", {}});
    if (e.empty()) cin_count_ -= std::min<uint64_t>(cin_count_, static_cast<uint64_t>(sqlite3_changes(db_)));
    return e;
  }
  uint64_t n = 0;
  cin_each(pi, false, [&](const CinRow&) {
    ++n;
    return true;
  });
  uint64_t gen = written_gen_ + 1;
  auto p = ov_pi_.find(pi);
  if (p != ov_pi_.end()) {
    for (auto& [id, ri] : p->second) {
      auto it = ov_ins_.find(ri);
      if (it == ov_ins_.end()) continue;
      auto nm = ov_name_.find(pi + '\n' + it->second.row.rn);
      if (nm != ov_name_.end() && nm->second == ri) ov_name_.erase(nm);
      ov_ins_.erase(it);
    }
    ov_pi_.erase(p);
  }
  ov_del_all_[pi] = {gen, cin_id_};  // every row of pi up to this id is gone
  ov_log_.push_back({gen, {'a', pi}});
  cin_count_ -= std::min(cin_count_, n);
  return write(Op{Op::kCinEraseAll, pi, "", {}});
}

void Store::drop_insert(std::unordered_map<std::string, OvIns>::iterator it) {
  const CinRow& r = it->second.row;
  auto p = ov_pi_.find(r.pi);
  if (p != ov_pi_.end()) {
    p->second.erase(r.id);
    if (p->second.empty()) ov_pi_.erase(p);
  }
  auto n = ov_name_.find(r.pi + '\n' + r.rn);
  if (n != ov_name_.end() && n->second == r.ri) ov_name_.erase(n);
  ov_ins_.erase(it);
}

bool Store::hidden(const CinRow& r) const {
  if (!post_) return false;
  if (ov_del_.count(r.ri) || ov_ins_.count(r.ri)) return true;
  auto a = ov_del_all_.find(r.pi);
  return a != ov_del_all_.end() && r.id <= a->second.second;
}

void Store::trim(uint64_t gen) {
  while (!ov_log_.empty() && ov_log_.front().first <= gen) {
    auto [kind, key] = std::move(ov_log_.front().second);
    ov_log_.pop_front();
    if (kind == 'i') {
      auto it = ov_ins_.find(key);
      if (it != ov_ins_.end() && it->second.gen <= gen) drop_insert(it);
    } else if (kind == 'd') {
      auto it = ov_del_.find(key);
      if (it != ov_del_.end() && it->second <= gen) ov_del_.erase(it);
    } else {
      auto it = ov_del_all_.find(key);
      if (it != ov_del_all_.end() && it->second.first <= gen) ov_del_all_.erase(it);
    }
  }
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
    out->id = sqlite3_column_int64(st, 6);
  }
  return true;
}

bool Store::cin_get(const std::string& ri, CinRow* out) {
  if (post_) {
    if (ov_del_.count(ri)) return false;
    auto it = ov_ins_.find(ri);
    if (it != ov_ins_.end()) {
      if (out) *out = it->second.row;
      return true;
    }
  }
  sqlite3_reset(cin_get_);
  bind(cin_get_, 1, ri);
  CinRow row;
  bool found = read_cin(cin_get_, out != nullptr, &row);
  sqlite3_reset(cin_get_);
  if (!found || hidden(row)) return false;
  if (out) *out = std::move(row);
  return true;
}

std::string Store::cin_by_name(const std::string& pi, const std::string& rn) {
  if (post_) {
    auto it = ov_name_.find(pi + '\n' + rn);
    if (it != ov_name_.end()) return it->second;
  }
  sqlite3_reset(cin_name_);
  bind(cin_name_, 1, pi);
  bind(cin_name_, 2, rn);
  CinRow r;
  if (sqlite3_step(cin_name_) == SQLITE_ROW) {
    r.ri = text(cin_name_, 0);
    r.id = sqlite3_column_int64(cin_name_, 1);
    r.pi = pi;
  }
  sqlite3_reset(cin_name_);
  return r.ri.empty() || hidden(r) ? std::string() : r.ri;
}

std::string Store::sql_each(const std::string& pi, bool with_body, bool desc,
                            const std::function<bool(const CinRow&)>& fn) {
  // The cached statement, unless a caller up the stack is stepping it (then a private one).
  sqlite3_stmt* cached = desc ? cin_each_desc_ : cin_each_;
  sqlite3_stmt* st = cached;
  sqlite3_stmt* own = nullptr;
  if (sqlite3_stmt_busy(st)) {
    if (sqlite3_prepare_v2(db_, sqlite3_sql(cached), -1, &own, nullptr) != SQLITE_OK) return sqlite3_errmsg(db_);
    st = own;
  }
  sqlite3_reset(st);
  bind(st, 1, pi);
  CinRow row;
  int rc;
  for (;;) {
    bool more = read_cin(st, with_body, &row);
    rc = last_rc_;  // read now: fn may read other rows
    if (!more) break;
    if (hidden(row)) continue;
    if (!fn(row)) break;
  }
  std::string e = rc == SQLITE_ROW || rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
  sqlite3_reset(st);
  if (own) sqlite3_finalize(own);
  return e;
}

std::string Store::cin_each(const std::string& pi, bool with_body, const std::function<bool(const CinRow&)>& fn) {
  bool go = true;
  std::string e = sql_each(pi, with_body, false, [&](const CinRow& r) { return go = fn(r); });
  if (!e.empty() || !go || !post_) return e;
  // Then the overlay's (newer than any row read above that it does not shadow).
  auto p = ov_pi_.find(pi);
  if (p == ov_pi_.end()) return "";
  std::vector<std::string> ris;
  ris.reserve(p->second.size());
  for (auto& [id, ri] : p->second) ris.push_back(ri);
  for (auto& ri : ris) {
    auto it = ov_ins_.find(ri);
    if (it == ov_ins_.end()) continue;
    CinRow r = it->second.row;
    if (!with_body) r.body.clear();
    if (!fn(r)) break;
  }
  return "";
}

bool Store::cin_edge(const std::string& pi, bool newest, CinRow* out) {
  bool found = false;
  if (newest && post_) {
    auto p = ov_pi_.find(pi);
    if (p != ov_pi_.end() && !p->second.empty()) {
      if (out) *out = ov_ins_.at(p->second.rbegin()->second).row;
      return true;
    }
  }
  sql_each(pi, true, newest, [&](const CinRow& r) {
    if (out) *out = r;
    found = true;
    return false;
  });
  if (found || newest || !post_) return found;
  auto p = ov_pi_.find(pi);
  if (p == ov_pi_.end() || p->second.empty()) return false;
  if (out) *out = ov_ins_.at(p->second.begin()->second).row;
  return true;
}

std::string Store::cin_expired(const std::string& now_ts, int limit, std::vector<std::string>* ris) {
  sqlite3_reset(cin_et_due_);
  sqlite3_bind_text(cin_et_due_, 1, now_ts.data(), static_cast<int>(now_ts.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(cin_et_due_, 2, limit);
  int rc;
  while ((rc = sqlite3_step(cin_et_due_)) == SQLITE_ROW) ris->push_back(text(cin_et_due_, 0));
  std::string e = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
  sqlite3_reset(cin_et_due_);
  return e;
}

std::string Store::cin_next_expiry() {
  sqlite3_reset(cin_et_next_);
  std::string et;
  if (sqlite3_step(cin_et_next_) == SQLITE_ROW && sqlite3_column_type(cin_et_next_, 0) == SQLITE_TEXT)
    et = text(cin_et_next_, 0);
  sqlite3_reset(cin_et_next_);
  return et;
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

}  // namespace gw::onem2m::cse
