// Device registry: who the devices are, which adapter owns them, their keys, and whether they are
// online. Persistent and crash-safe in SQLite (WAL, synchronous=FULL: a committed put survives
// power loss); the database and its -wal/-shm files are mode 0600 because records carry secrets.
// Online state is runtime-only (every device starts offline after a restart until it reconnects).
// All records are cached in memory (10,000 devices is a few MiB); reads never touch the disk.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gw/result.h"
#include "gw/v1/device.pb.h"

struct sqlite3;

namespace gw {

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> open(const std::string& path);
  ~Registry();

  // Creates or replaces the record keyed by (adapter, native_id); assigns the stable uuid and keeps
  // created_ms. Returns the stored record, visible to reads at once.
  //   batched = false: committed (and fsynced) before put returns, together with any open batch.
  //   batched = true:  written inside the open batch transaction (opened if none is); it is durable
  //                    only after commit_batch() — group commit: one fsync for many puts.
  Result<v1::Device> put(v1::Device device, bool batched = false);
  // Commits the open batch (no-op without one). On failure the batch is rolled back and the
  // in-memory records are reloaded from the database, so memory never shows what disk lost.
  Result<void> commit_batch();
  bool batch_open() const { return in_batch_; }
  const v1::Device* get(const std::string& uuid) const;
  const v1::Device* find(const std::string& adapter, const std::string& native_id) const;
  std::vector<const v1::Device*> list(const std::string& adapter = "") const;
  Result<void> set_online(const std::string& uuid, bool online);
  Result<void> remove(const std::string& uuid);
  size_t size() const { return by_uuid_.size(); }

  // UUIDv5 (RFC 4122, SHA-1) in the camgw namespace of "adapter/native_id".
  static std::string stable_uuid(const std::string& adapter, const std::string& native_id);

 private:
  Registry() = default;
  Result<void> exec(const char* sql);
  Result<void> load();
  Result<void> finish_write(const char* what);
  sqlite3* db_ = nullptr;
  bool in_batch_ = false;
  std::string path_;
  std::unordered_map<std::string, v1::Device> by_uuid_;
  std::unordered_map<std::string, std::string> by_native_;  // adapter + '\0' + native_id -> uuid
};

}  // namespace gw
