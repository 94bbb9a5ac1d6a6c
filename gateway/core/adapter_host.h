// Loads adapter modules (dlopen, ABI check) and runs adapter instances behind gw_host_api.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gw/adapter_abi.h"
#include "gw/event_loop.h"
#include "gw/result.h"
#include "gw/v1/config.pb.h"
#include "gw/v1/mapping.pb.h"
#include "journal.h"
#include "registry.h"
#include "router.h"

namespace gw {

struct Module {
  std::string path;  // "" for in-process (builtin) descriptors
  const gw_adapter_descriptor* desc = nullptr;
};

class ModuleLoader {
 public:
  explicit ModuleLoader(std::string module_dir) : module_dir_(std::move(module_dir)) {}
  // Loads a shared object and checks its descriptor. Refuses a module whose ABI version differs:
  //   "module /x/gw_bad.so (\"bad\"): ABI version 999, this gatewayd speaks ABI version 1"
  Result<const Module*> load_file(const std::string& path);
  // module_path if set, else {module_dir}/gw_{module}.so; builtins (tests) are found by name first.
  Result<const Module*> load(const v1::AdapterConfig& cfg);
  void add_builtin(const gw_adapter_descriptor* desc);
  const std::string& module_dir() const { return module_dir_; }

 private:
  std::string module_dir_;
  std::map<std::string, std::unique_ptr<Module>> by_path_;
  std::map<std::string, std::unique_ptr<Module>> builtins_;
};

class AdapterHost;
struct HostApiImpl;

class AdapterInstance {
 public:
  const std::string& name() const { return name_; }
  const Module* module() const { return module_; }
  gw_adapter* self() const { return self_; }
  bool started() const { return started_; }

 private:
  friend class AdapterHost;
  friend struct HostApiImpl;
  std::string name_;
  const Module* module_ = nullptr;
  AdapterHost* host_ = nullptr;
  gw_host_api api_{};
  gw_adapter* self_ = nullptr;
  std::string state_dir_;
  bool started_ = false;
  bool stopping_ = false;
};

class AdapterHost {
 public:
  AdapterHost(EventLoop& loop, Registry& registry, Router& router, std::string state_dir);
  ~AdapterHost();

  // Store-and-forward: envelopes emitted with emit_durable go to this journal (may be null: then
  // emit_durable fails with GW_ERR_IO). consumers get cursors and a replay at start.
  void set_journal(Journal* journal, const v1::JournalConfig& cfg);
  // Re-delivers everything after the consumer's cursor, in order, paced by the router's queue.
  Result<void> start_replay(const std::string& consumer);
  // Group commit now (shutdown) and run every pending durability callback.
  void flush_journal();
  // Registry group commit window for registry_put_durable (RegistryConfig.group_commit_ms).
  void set_registry_group_commit_ms(uint32_t ms) { registry_commit_ms_ = ms; }
  // Commits the registry batch now and runs its callbacks.
  void flush_registry();

  // Validates the adapter's config block against the module's schema and calls create().
  // where = "file:line:col" of the adapter block for error messages.
  Result<void> create(const v1::AdapterConfig& cfg, const Module* module, const std::string& where);
  Result<void> start_all();
  void stop_all();
  bool all_done() const;
  void destroy_all();
  // Calls on_mappings on every instance; errors are collected (the gateway decides what to keep).
  Result<void> notify_mappings();

  std::vector<std::string> names() const;
  AdapterInstance* find(const std::string& name);
  Router& router() { return router_; }

 private:
  friend struct HostApiImpl;
  EventLoop& loop_;
  Registry& registry_;
  Router& router_;
  std::string state_dir_;
  std::vector<std::unique_ptr<AdapterInstance>> instances_;
  std::map<uint64_t, int> watch_owner_;  // watch id -> instance index (cleanup on destroy)
  std::map<uint64_t, int> timer_owner_;

  struct DurableWaiter {
    uint64_t seq;
    gw_durable_cb cb;
    void* user;
  };
  void schedule_commit();
  void commit();
  void commit_now();   // synchronous group commit on the loop (shutdown; fsync ALWAYS / NONE)
  void sync_main();    // the durability thread
  void reap_sync();    // loop: the durability thread's finished job
  void wait_sync();    // loop: until no job is with the durability thread
  void pump_replays();
  Journal* journal_ = nullptr;
  v1::JournalConfig journal_cfg_;
  std::vector<DurableWaiter> waiters_;
  uint64_t commit_timer_ = 0;
  // Journal group commits (fsync BATCH) are fsynced on this thread, never on the loop: the loop
  // goes on serving devices while the storage flushes; waiters run once their records are durable.
  std::thread sync_thread_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::optional<Journal::SyncJob> sync_todo_, sync_done_;  // guarded by sync_mu_
  bool sync_quit_ = false;                                 // guarded by sync_mu_
  bool sync_busy_ = false;      // loop: a job is out and not reaped yet
  bool commit_again_ = false;   // loop: a commit was asked for meanwhile
  std::vector<DurableWaiter> sync_waiters_;  // loop: waiting for the job that is out
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted completions check it
  struct RegistryWaiter {
    gw_done_cb cb;
    void* user;
  };
  std::vector<RegistryWaiter> registry_waiters_;
  uint64_t registry_commit_timer_ = 0;
  uint32_t registry_commit_ms_ = 5;
  std::map<std::string, uint64_t> replay_pos_;  // consumer -> last seq handed to the router
  uint64_t replay_timer_ = 0;
  uint64_t msg_prefix_ = 0;
  uint64_t msg_counter_ = 0;
  uint64_t rng_state_ = 0;
  friend class Gateway;
};

}  // namespace gw
