#include "registry.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "gw/event_loop.h"
#include "log.h"

namespace gw {
namespace {
// camgw's UUIDv5 namespace (a fixed random UUID).
constexpr unsigned char kNamespace[16] = {0x6b, 0x1e, 0x2f, 0x8a, 0x3c, 0x55, 0x4d, 0x0e,
                                          0x9a, 0x71, 0xc4, 0x12, 0x5f, 0x3b, 0x88, 0xd2};

std::string native_key(const std::string& adapter, const std::string& native_id) {
  std::string k = adapter;
  k.push_back('\0');
  k += native_id;
  return k;
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};
}  // namespace

std::string Registry::stable_uuid(const std::string& adapter, const std::string& native_id) {
  std::string name = adapter + "/" + native_id;
  std::string input(reinterpret_cast<const char*>(kNamespace), sizeof kNamespace);
  input += name;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_Digest(input.data(), input.size(), md, &mdlen, EVP_sha1(), nullptr);
  md[6] = (md[6] & 0x0f) | 0x50;
  md[8] = (md[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
                md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
  return out;
}

Result<void> Registry::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = "registry " + path_ + ": " + (err ? err : "sqlite error");
    sqlite3_free(err);
    return make_error(m);
  }
  return {};
}

Result<std::unique_ptr<Registry>> Registry::open(const std::string& path) {
  std::unique_ptr<Registry> r(new Registry());
  r->path_ = path;
  // Create the file 0600 before SQLite does, so secrets are never world-readable, even briefly.
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return make_error("registry " + path + ": cannot open: " + std::strerror(errno));
    ::fchmod(fd, 0600);
    ::close(fd);
  }
  if (sqlite3_open_v2(path.c_str(), &r->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return make_error("registry " + path + ": " + sqlite3_errmsg(r->db_));
  sqlite3_busy_timeout(r->db_, 2000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "CREATE TABLE IF NOT EXISTS device (uuid TEXT PRIMARY KEY, adapter TEXT NOT NULL, "
                          "native_id TEXT NOT NULL, record BLOB NOT NULL, UNIQUE(adapter, native_id))",
                          "PRAGMA integrity_check"}) {
    auto res = r->exec(sql);
    if (!res) return res.error();
  }
  if (!in_memory)
    for (const char* suffix : {"-wal", "-shm"}) ::chmod((path + suffix).c_str(), 0600);

  if (auto l = r->load(); !l) return l.error();
  GW_LOG(Info, "registry", "opened " << path << " with " << r->by_uuid_.size() << " devices");
  return r;
}

Result<void> Registry::load() {
  by_uuid_.clear();
  by_native_.clear();
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT uuid, record FROM device", -1, &st.s, nullptr) != SQLITE_OK)
    return make_error("registry " + path_ + ": " + sqlite3_errmsg(db_));
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    v1::Device d;
    const void* blob = sqlite3_column_blob(st.s, 1);
    int n = sqlite3_column_bytes(st.s, 1);
    if (!d.ParseFromArray(blob, n)) {
      GW_LOG(Error, "registry", "skipping undecodable record " << reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0)));
      continue;
    }
    d.set_online(false);
    by_native_[native_key(d.adapter(), d.native_id())] = d.uuid();
    by_uuid_[d.uuid()] = std::move(d);
  }
  return {};
}

Result<void> Registry::commit_batch() {
  if (!in_batch_) return {};
  in_batch_ = false;
  auto r = exec("COMMIT");
  if (r) return r;
  (void)exec("ROLLBACK");
  // Keep the online flags of what survives: they are runtime state, not in the database.
  std::unordered_map<std::string, bool> online;
  for (const auto& [uuid, d] : by_uuid_) online[uuid] = d.online();
  if (auto l = load(); !l) GW_LOG(Error, "registry", l.error().message);
  for (auto& [uuid, d] : by_uuid_)
    if (auto it = online.find(uuid); it != online.end()) d.set_online(it->second);
  return r;
}

// A write outside a batch commits at once, together with whatever the open batch holds.
Result<void> Registry::finish_write(const char*) { return in_batch_ ? commit_batch() : Result<void>{}; }

Registry::~Registry() {
  if (db_) {
    if (auto r = commit_batch(); !r) GW_LOG(Error, "registry", r.error().message);
    sqlite3_close(db_);
  }
}

Result<v1::Device> Registry::put(v1::Device d, bool batched) {
  if (d.adapter().empty() || d.native_id().empty()) return make_error("registry put: adapter and native_id are required");
  if (batched && !in_batch_) {
    if (auto b = exec("BEGIN IMMEDIATE"); !b) return b.error();
    in_batch_ = true;
  }
  d.set_uuid(stable_uuid(d.adapter(), d.native_id()));
  int64_t now = EventLoop::wall_ms();
  auto existing = by_uuid_.find(d.uuid());
  d.set_created_ms(existing != by_uuid_.end() ? existing->second.created_ms() : now);
  d.set_updated_ms(now);
  bool online = d.online();
  d.set_online(false);  // runtime state is not persisted
  std::string blob;
  d.SerializeToString(&blob);
  Stmt st;
  sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO device (uuid, adapter, native_id, record) VALUES (?,?,?,?)", -1,
                     &st.s, nullptr);
  sqlite3_bind_text(st.s, 1, d.uuid().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, d.adapter().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 3, d.native_id().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st.s, 4, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE) return make_error(std::string("registry put: ") + sqlite3_errmsg(db_));
  d.set_online(online);
  by_native_[native_key(d.adapter(), d.native_id())] = d.uuid();
  by_uuid_[d.uuid()] = d;
  if (!batched)
    if (auto c = finish_write("put"); !c) return c.error();
  return d;
}

const v1::Device* Registry::get(const std::string& uuid) const {
  auto it = by_uuid_.find(uuid);
  return it == by_uuid_.end() ? nullptr : &it->second;
}

const v1::Device* Registry::find(const std::string& adapter, const std::string& native_id) const {
  auto it = by_native_.find(native_key(adapter, native_id));
  return it == by_native_.end() ? nullptr : get(it->second);
}

std::vector<const v1::Device*> Registry::list(const std::string& adapter) const {
  std::vector<const v1::Device*> out;
  for (const auto& [_, d] : by_uuid_)
    if (adapter.empty() || d.adapter() == adapter) out.push_back(&d);
  return out;
}

Result<void> Registry::set_online(const std::string& uuid, bool online) {
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return make_error("registry: no device " + uuid);
  it->second.set_online(online);
  it->second.set_last_seen_ms(EventLoop::wall_ms());
  return {};
}

Result<void> Registry::remove(const std::string& uuid) {
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return make_error("registry: no device " + uuid);
  Stmt st;
  sqlite3_prepare_v2(db_, "DELETE FROM device WHERE uuid = ?", -1, &st.s, nullptr);
  sqlite3_bind_text(st.s, 1, uuid.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE) return make_error(std::string("registry remove: ") + sqlite3_errmsg(db_));
  by_native_.erase(native_key(it->second.adapter(), it->second.native_id()));
  by_uuid_.erase(it);
  return finish_write("remove");
}

}  // namespace gw
