#include "adapter_host.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "log.h"

namespace gw {
namespace fs = std::filesystem;

// ---------------------------------------------------------------- module loading

Result<const Module*> ModuleLoader::load_file(const std::string& path) {
  std::error_code ec;
  std::string key = fs::weakly_canonical(path, ec).string();
  if (key.empty()) key = path;
  if (auto it = by_path_.find(key); it != by_path_.end()) return static_cast<const Module*>(it->second.get());
  if (!fs::exists(path, ec)) return make_error("module " + path + ": file not found");
  // RTLD_NODELETE: modules register protobuf descriptors (their config schema) in the process-wide
  // pool; unloading would leave it dangling. Modules are never unloaded.
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h) return make_error("module " + path + ": cannot load: " + dlerror());
  auto entry = reinterpret_cast<gw_adapter_entry_fn>(dlsym(h, GW_ADAPTER_ENTRY_SYMBOL));
  if (!entry) return make_error("module " + path + ": no " GW_ADAPTER_ENTRY_SYMBOL " symbol; not a camgw adapter");
  const gw_adapter_descriptor* d = entry();
  if (!d) return make_error("module " + path + ": " GW_ADAPTER_ENTRY_SYMBOL "() returned no descriptor");
  if (d->abi_version != GW_ADAPTER_ABI_VERSION) {
    // Nothing but abi_version is read from a descriptor of another ABI: its layout may differ.
    return make_error("module " + path + ": ABI version " + std::to_string(d->abi_version) +
                      ", this gatewayd speaks ABI version " + std::to_string(GW_ADAPTER_ABI_VERSION) +
                      "; rebuild the module against this gateway's adapter_abi.h");
  }
  if (d->struct_size < sizeof(gw_adapter_descriptor) || !d->name || !d->create || !d->start || !d->deliver ||
      !d->stop || !d->destroy)
    return make_error("module " + path + ": descriptor is incomplete (name, create, start, deliver, stop, destroy are required)");
  auto m = std::make_unique<Module>();
  m->path = path;
  m->desc = d;
  GW_LOG(Info, "host", "loaded module " << d->name << " " << (d->version ? d->version : "") << " from " << path);
  return static_cast<const Module*>((by_path_[key] = std::move(m)).get());
}

void ModuleLoader::add_builtin(const gw_adapter_descriptor* desc) {
  auto m = std::make_unique<Module>();
  m->desc = desc;
  builtins_[desc->name] = std::move(m);
}

Result<const Module*> ModuleLoader::load(const v1::AdapterConfig& cfg) {
  if (cfg.module_path().empty()) {
    if (auto it = builtins_.find(cfg.module()); it != builtins_.end()) return static_cast<const Module*>(it->second.get());
    if (!std::all_of(cfg.module().begin(), cfg.module().end(), [](char c) { return std::isalnum((unsigned char)c) || c == '_'; }))
      return make_error("module name \"" + cfg.module() + "\" may only hold letters, digits and '_'");
    return load_file(module_dir_ + "/gw_" + cfg.module() + ".so");
  }
  return load_file(cfg.module_path());
}

// ---------------------------------------------------------------- host API (C trampolines)

struct HostApiImpl {
  static AdapterInstance* inst(void* ctx) { return static_cast<AdapterInstance*>(ctx); }
  static AdapterHost& host(void* ctx) { return *inst(ctx)->host_; }

  static uint64_t rnd(AdapterHost& h) {  // xorshift64*: ids only, not secrets
    h.rng_state_ ^= h.rng_state_ >> 12;
    h.rng_state_ ^= h.rng_state_ << 25;
    h.rng_state_ ^= h.rng_state_ >> 27;
    return h.rng_state_ * 2685821657736338717ULL;
  }

  static bool prepare(void* ctx, const uint8_t* data, size_t len, v1::Envelope& env) {
    auto* in = inst(ctx);
    auto& h = host(ctx);
    if (!env.ParseFromArray(data, static_cast<int>(len))) {
      GW_LOG(Warn, "host", "adapter " << in->name_ << " emitted undecodable envelope bytes (" << len << " bytes)");
      return false;
    }
    env.set_model_version(1);
    env.mutable_origin()->set_adapter(in->name_);  // an adapter cannot speak for another
    char buf[48];
    if (env.message_id().empty()) {
      std::snprintf(buf, sizeof buf, "%016llx-%llx", static_cast<unsigned long long>(h.msg_prefix_),
                    static_cast<unsigned long long>(++h.msg_counter_));
      env.set_message_id(buf);
    }
    if (env.created_ms() == 0) env.set_created_ms(EventLoop::wall_ms());
    if (env.trace_id().empty()) {
      std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rnd(h)),
                    static_cast<unsigned long long>(rnd(h)));
      env.set_trace_id(buf);
    }
    env.set_replayed(false);
    return true;
  }

  static int emit(void* ctx, const uint8_t* data, size_t len) {
    v1::Envelope env;
    if (!prepare(ctx, data, len, env)) return GW_ERR_INVALID;
    env.set_journal_seq(0);  // only the host assigns journal sequences
    return host(ctx).router_.submit(std::move(env));
  }

  static int emit_durable(void* ctx, const uint8_t* data, size_t len, gw_durable_cb cb, void* user) {
    auto& h = host(ctx);
    v1::Envelope env;
    if (!prepare(ctx, data, len, env)) return GW_ERR_INVALID;
    if (env.kind() != v1::REPORT && env.kind() != v1::EVENT && env.kind() != v1::NOTIFICATION) {
      GW_LOG(Warn, "host", "adapter " << inst(ctx)->name_ << ": emit_durable takes REPORT, EVENT or NOTIFICATION only");
      return GW_ERR_INVALID;
    }
    if (!h.journal_) {
      GW_LOG(Error, "host", "adapter " << inst(ctx)->name_ << " used emit_durable but no journal is configured");
      return GW_ERR_IO;
    }
    env.set_journal_seq(0);
    std::string bytes;
    env.SerializeToString(&bytes);
    const std::string& stream = env.origin().device().empty() ? env.origin().adapter() : env.origin().device();
    auto seq = h.journal_->append(stream, bytes);
    if (!seq) {
      GW_LOG(Error, "journal", seq.error().message);
      return GW_ERR_IO;
    }
    env.set_journal_seq(seq.value());
    if (cb) {
      h.waiters_.push_back({seq.value(), cb, user});
      h.schedule_commit();
    }
    int rc = h.router_.submit(std::move(env));
    // No route is not a loss: the record is journaled for consumers that replay it.
    return rc == GW_ERR_NO_ROUTE ? GW_OK : rc;
  }

  static int journal_ack(void* ctx, uint64_t seq) {
    auto& h = host(ctx);
    if (!h.journal_) return GW_ERR_IO;
    auto r = h.journal_->ack(inst(ctx)->name_, seq);
    if (!r) {
      GW_LOG(Warn, "journal", "adapter " << inst(ctx)->name_ << ": " << r.error().message);
      return GW_ERR_INVALID;
    }
    h.schedule_commit();  // the cursor move is persisted with the next group commit
    return GW_OK;
  }

  static int journal_replay(void* ctx) {
    auto r = host(ctx).start_replay(inst(ctx)->name_);
    if (!r) {
      GW_LOG(Warn, "journal", r.error().message);
      return GW_ERR_INVALID;
    }
    return GW_OK;
  }

  static void log(void* ctx, int level, const char* message) {
    auto lvl = static_cast<log::Level>(std::clamp(level, 0, 4));
    if (log::enabled(lvl, inst(ctx)->name_)) log::write(lvl, inst(ctx)->name_, message ? message : "");
  }
  static int log_enabled(void* ctx, int level) {
    return log::enabled(static_cast<log::Level>(std::clamp(level, 0, 4)), inst(ctx)->name_) ? 1 : 0;
  }

  static int index(void* ctx) {
    auto& h = host(ctx);
    for (size_t i = 0; i < h.instances_.size(); ++i)
      if (h.instances_[i].get() == inst(ctx)) return static_cast<int>(i);
    return -1;
  }

  static uint64_t watch_fd(void* ctx, int fd, uint32_t events, gw_fd_cb cb, void* user) {
    uint64_t id = host(ctx).loop_.watch_fd(fd, events, [cb, user](int f, uint32_t ev) { cb(user, f, ev); });
    if (id) host(ctx).watch_owner_[id] = index(ctx);
    return id;
  }
  static int update_fd(void* ctx, uint64_t id, uint32_t events) {
    return host(ctx).loop_.update_fd(id, events) ? GW_OK : GW_ERR_NOT_FOUND;
  }
  static void unwatch_fd(void* ctx, uint64_t id) {
    host(ctx).watch_owner_.erase(id);
    host(ctx).loop_.unwatch_fd(id);
  }
  static uint64_t timer_start(void* ctx, uint64_t timeout_ms, uint64_t repeat_ms, gw_timer_cb cb, void* user) {
    auto& h = host(ctx);
    auto idp = std::make_shared<uint64_t>(0);
    uint64_t id = h.loop_.start_timer(timeout_ms, repeat_ms, [&h, cb, user, idp, repeat_ms] {
      if (!repeat_ms) h.timer_owner_.erase(*idp);
      cb(user);
    });
    *idp = id;
    h.timer_owner_[id] = index(ctx);
    return id;
  }
  static void timer_stop(void* ctx, uint64_t id) {
    host(ctx).timer_owner_.erase(id);
    host(ctx).loop_.stop_timer(id);
  }
  static int post(void* ctx, gw_post_cb cb, void* user) {
    return host(ctx).loop_.post([cb, user] { cb(user); }) ? GW_OK : GW_ERR_BUSY;
  }
  static uint64_t now_ms(void* ctx) { return host(ctx).loop_.now_ms(); }
  static int64_t wall_ms(void*) { return EventLoop::wall_ms(); }

  static int fill(const google::protobuf::Message& m, gw_buf* out) {
    std::string s;
    m.SerializeToString(&s);
    out->len = s.size();
    out->data = static_cast<uint8_t*>(std::malloc(s.size() ? s.size() : 1));
    if (!out->data) return GW_ERR_INTERNAL;
    std::memcpy(out->data, s.data(), s.size());
    return GW_OK;
  }

  static int registry_put(void* ctx, const uint8_t* data, size_t len, gw_buf* out) {
    v1::Device d;
    if (!d.ParseFromArray(data, static_cast<int>(len))) return GW_ERR_INVALID;
    d.set_adapter(inst(ctx)->name_);  // adapters only own their own devices
    auto r = host(ctx).registry_.put(std::move(d));
    if (!r) {
      GW_LOG(Error, "registry", r.error().message);
      return GW_ERR_IO;
    }
    return out ? fill(r.value(), out) : GW_OK;
  }
  static int registry_put_durable(void* ctx, const uint8_t* data, size_t len, gw_buf* out, gw_done_cb cb, void* user) {
    v1::Device d;
    if (!d.ParseFromArray(data, static_cast<int>(len))) return GW_ERR_INVALID;
    d.set_adapter(inst(ctx)->name_);
    auto& h = host(ctx);
    auto r = h.registry_.put(std::move(d), /*batched=*/true);
    if (!r) {
      GW_LOG(Error, "registry", r.error().message);
      return GW_ERR_IO;
    }
    if (out) {
      int rc = fill(r.value(), out);
      if (rc != GW_OK) return rc;
    }
    if (cb) h.registry_waiters_.push_back({cb, user});
    if (!h.registry_commit_timer_)
      h.registry_commit_timer_ = h.loop_.start_timer(h.registry_commit_ms_, 0, [&h] {
        h.registry_commit_timer_ = 0;
        h.flush_registry();
      });
    return GW_OK;
  }
  static int registry_get(void* ctx, const char* uuid, const char* native_id, gw_buf* out) {
    auto& reg = host(ctx).registry_;
    const v1::Device* d = nullptr;
    if (uuid)
      d = reg.get(uuid);
    else if (native_id)
      d = reg.find(inst(ctx)->name_, native_id);
    if (!d) return GW_ERR_NOT_FOUND;
    if (d->adapter() == inst(ctx)->name_) return fill(*d, out);
    v1::Device copy = *d;
    copy.clear_secrets();  // another adapter's keys are never handed out
    return fill(copy, out);
  }
  static int registry_list(void* ctx, gw_buf* out) {
    v1::DeviceList l;
    for (const auto* d : host(ctx).registry_.list(inst(ctx)->name_)) *l.add_devices() = *d;
    return fill(l, out);
  }
  static int registry_list_all(void* ctx, gw_buf* out) {
    v1::DeviceList l;
    for (const auto* d : host(ctx).registry_.list()) {
      auto* c = l.add_devices();
      *c = *d;
      if (d->adapter() != inst(ctx)->name_) c->clear_secrets();
    }
    return fill(l, out);
  }
  static int registry_set_online(void* ctx, const char* uuid, int online) {
    auto* d = host(ctx).registry_.get(uuid ? uuid : "");
    if (!d) return GW_ERR_NOT_FOUND;
    if (d->adapter() != inst(ctx)->name_) return GW_ERR_INVALID;
    return host(ctx).registry_.set_online(uuid, online != 0) ? GW_OK : GW_ERR_IO;
  }
  static int registry_remove(void* ctx, const char* uuid) {
    auto* d = host(ctx).registry_.get(uuid ? uuid : "");
    if (!d) return GW_ERR_NOT_FOUND;
    if (d->adapter() != inst(ctx)->name_) return GW_ERR_INVALID;
    return host(ctx).registry_.remove(uuid) ? GW_OK : GW_ERR_IO;
  }
  static void buf_free(void*, gw_buf* b) {
    if (!b) return;
    std::free(b->data);
    b->data = nullptr;
    b->len = 0;
  }
  static int mappings(void* ctx, gw_buf* out) { return fill(*host(ctx).router_.mappings(), out); }
};

// ---------------------------------------------------------------- host

AdapterHost::AdapterHost(EventLoop& loop, Registry& registry, Router& router, std::string state_dir)
    : loop_(loop), registry_(registry), router_(router), state_dir_(std::move(state_dir)) {
  RAND_bytes(reinterpret_cast<unsigned char*>(&msg_prefix_), sizeof msg_prefix_);
  RAND_bytes(reinterpret_cast<unsigned char*>(&rng_state_), sizeof rng_state_);
  rng_state_ |= 1;
}

AdapterHost::~AdapterHost() {
  destroy_all();
  {
    std::lock_guard lk(sync_mu_);
    sync_quit_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  alive_.reset();
}

void AdapterHost::set_journal(Journal* journal, const v1::JournalConfig& cfg) {
  journal_ = journal;
  journal_cfg_ = cfg;
  if (journal_)
    for (const auto& c : cfg.consumer()) journal_->add_cursor(c);
}

void AdapterHost::schedule_commit() {
  if (commit_timer_) return;
  uint64_t ms = journal_cfg_.group_commit_ms() ? journal_cfg_.group_commit_ms() : 5;
  if (journal_cfg_.fsync() == v1::FSYNC_ALWAYS) ms = 0;
  commit_timer_ = loop_.start_timer(ms, 0, [this] {
    commit_timer_ = 0;
    commit();
  });
}

void AdapterHost::commit() {
  if (!journal_) return;
  if (sync_busy_) {  // one job at a time: this group goes out when the current one is back
    commit_again_ = true;
    return;
  }
  if (journal_cfg_.fsync() == v1::FSYNC_ALWAYS || journal_cfg_.fsync() == v1::FSYNC_NONE) return commit_now();
  if (waiters_.empty() && !journal_->cursors_dirty()) return;
  Journal::SyncJob job = journal_->begin_sync();
  sync_waiters_.swap(waiters_);
  sync_busy_ = true;
  if (!sync_thread_.joinable()) sync_thread_ = std::thread([this] { sync_main(); });
  {
    std::lock_guard lk(sync_mu_);
    sync_todo_ = std::move(job);
  }
  sync_cv_.notify_all();
}

void AdapterHost::sync_main() {
  std::weak_ptr<int> alive = alive_;
  std::unique_lock lk(sync_mu_);
  for (;;) {
    sync_cv_.wait(lk, [&] { return sync_quit_ || sync_todo_.has_value(); });
    if (!sync_todo_) return;
    Journal::SyncJob job = std::move(*sync_todo_);
    sync_todo_.reset();
    lk.unlock();
    Journal::run_sync(job);  // fdatasync + cursors file: the slow part, off the loop
    lk.lock();
    sync_done_ = std::move(job);
    sync_cv_.notify_all();
    lk.unlock();
    loop_.post([this, alive] {
      if (!alive.expired()) reap_sync();
    });
    lk.lock();
  }
}

void AdapterHost::reap_sync() {
  std::optional<Journal::SyncJob> done;
  {
    std::lock_guard lk(sync_mu_);
    done.swap(sync_done_);
  }
  if (!done) return;  // reaped already (wait_sync at shutdown)
  sync_busy_ = false;
  journal_->end_sync(*done);
  if (!done->records_error.empty()) GW_LOG(Error, "journal", done->records_error);
  if (!done->cursors_error.empty()) GW_LOG(Error, "journal", done->cursors_error);
  std::vector<DurableWaiter> ready;
  ready.swap(sync_waiters_);
  int rc = done->records_error.empty() ? GW_OK : GW_ERR_IO;
  for (const auto& w : ready) w.cb(w.user, w.seq, rc);
  if (commit_again_ || !waiters_.empty() || journal_->cursors_dirty()) {
    commit_again_ = false;
    schedule_commit();
  }
}

void AdapterHost::wait_sync() {
  if (!sync_busy_) return;
  {
    std::unique_lock lk(sync_mu_);
    sync_cv_.wait(lk, [&] { return !sync_todo_ && sync_done_; });
  }
  reap_sync();
}

void AdapterHost::commit_now() {
  if (!journal_) return;
  // Consumers' acked cursor moves (a failure only means those records would be replayed again).
  if (auto c = journal_->flush_cursors(); !c) GW_LOG(Error, "journal", c.error().message);
  if (waiters_.empty()) return;
  auto r = journal_->sync();
  std::vector<DurableWaiter> ready;
  ready.swap(waiters_);
  for (const auto& w : ready) w.cb(w.user, w.seq, r.ok() ? GW_OK : GW_ERR_IO);
  if (!r) GW_LOG(Error, "journal", r.error().message);
}

void AdapterHost::flush_registry() {
  if (registry_commit_timer_) {
    loop_.stop_timer(registry_commit_timer_);
    registry_commit_timer_ = 0;
  }
  auto r = registry_.commit_batch();
  if (!r) GW_LOG(Error, "registry", "group commit failed, its records are dropped: " << r.error().message);
  std::vector<RegistryWaiter> ready;
  ready.swap(registry_waiters_);
  for (const auto& w : ready) w.cb(w.user, r.ok() ? GW_OK : GW_ERR_IO);
}

void AdapterHost::flush_journal() {
  if (commit_timer_) {
    loop_.stop_timer(commit_timer_);
    commit_timer_ = 0;
  }
  wait_sync();  // the job that is out (its waiters run), then the rest at once
  if (commit_timer_) {  // reap_sync may have scheduled the next group
    loop_.stop_timer(commit_timer_);
    commit_timer_ = 0;
  }
  commit_again_ = false;
  commit_now();
}

Result<void> AdapterHost::start_replay(const std::string& consumer) {
  if (!journal_) return make_error("journal replay for " + consumer + ": no journal configured");
  if (std::find(journal_cfg_.consumer().begin(), journal_cfg_.consumer().end(), consumer) ==
      journal_cfg_.consumer().end())
    return make_error("journal replay: adapter " + consumer + " is not a journal consumer");
  replay_pos_[consumer] = journal_->cursor(consumer);
  router_.set_replaying(consumer, true);
  if (!replay_timer_) replay_timer_ = loop_.start_timer(0, 1, [this] { pump_replays(); });
  return {};
}

void AdapterHost::pump_replays() {
  const size_t budget = router_.max_queue() / 4;
  for (auto it = replay_pos_.begin(); it != replay_pos_.end();) {
    const std::string& consumer = it->first;
    uint64_t& pos = it->second;
    size_t n = 0;
    auto r = journal_->scan(pos, [&](const Journal::Record& rec) {
      if (router_.queued() >= budget || n >= 1024) return false;
      v1::Envelope env;
      if (!env.ParseFromArray(rec.payload.data(), static_cast<int>(rec.payload.size()))) {
        GW_LOG(Error, "journal", "record " << rec.seq << " does not decode; skipped");
      } else {
        env.set_journal_seq(rec.seq);
        env.set_replayed(true);
        env.mutable_target()->set_adapter(consumer);
        (void)router_.submit(std::move(env));
      }
      pos = rec.seq;
      ++n;
      return true;
    });
    if (!r) GW_LOG(Error, "journal", r.error().message);
    if (pos >= journal_->last_seq()) {
      router_.set_replaying(consumer, false);
      GW_LOG(Info, "journal", "replay to " << consumer << " caught up at seq " << pos);
      it = replay_pos_.erase(it);
    } else {
      ++it;
    }
  }
  if (replay_pos_.empty() && replay_timer_) {
    loop_.stop_timer(replay_timer_);
    replay_timer_ = 0;
  }
}

Result<void> AdapterHost::create(const v1::AdapterConfig& cfg, const Module* module, const std::string& where) {
  const auto* d = module->desc;
  std::string cfg_bytes;
  if (cfg.has_config()) {
    std::string type = cfg.config().type_url().substr(cfg.config().type_url().rfind('/') + 1);
    if (!d->config_schema)
      return make_error(where + ": adapter \"" + cfg.name() + "\" (module " + d->name + ") takes no config block");
    if (type != d->config_schema)
      return make_error(where + ": adapter \"" + cfg.name() + "\" config is " + type + ", module " + d->name +
                        " expects " + d->config_schema);
    cfg_bytes = cfg.config().value();
  }
  auto inst = std::make_unique<AdapterInstance>();
  inst->name_ = cfg.name();
  inst->module_ = module;
  inst->host_ = this;
  inst->state_dir_ = state_dir_ + "/" + cfg.name();
  std::error_code ec;
  fs::create_directories(inst->state_dir_, ec);
  ::chmod(inst->state_dir_.c_str(), 0700);
  auto& a = inst->api_;
  a.abi_version = GW_ADAPTER_ABI_VERSION;
  a.struct_size = sizeof(gw_host_api);
  a.ctx = inst.get();
  a.instance_name = inst->name_.c_str();
  a.state_dir = inst->state_dir_.c_str();
  a.emit = HostApiImpl::emit;
  a.log = HostApiImpl::log;
  a.log_enabled = HostApiImpl::log_enabled;
  a.watch_fd = HostApiImpl::watch_fd;
  a.update_fd = HostApiImpl::update_fd;
  a.unwatch_fd = HostApiImpl::unwatch_fd;
  a.timer_start = HostApiImpl::timer_start;
  a.timer_stop = HostApiImpl::timer_stop;
  a.post = HostApiImpl::post;
  a.now_ms = HostApiImpl::now_ms;
  a.wall_ms = HostApiImpl::wall_ms;
  a.registry_put = HostApiImpl::registry_put;
  a.registry_get = HostApiImpl::registry_get;
  a.registry_list = HostApiImpl::registry_list;
  a.registry_set_online = HostApiImpl::registry_set_online;
  a.registry_remove = HostApiImpl::registry_remove;
  a.buf_free = HostApiImpl::buf_free;
  a.mappings = HostApiImpl::mappings;
  a.emit_durable = HostApiImpl::emit_durable;
  a.journal_ack = HostApiImpl::journal_ack;
  a.journal_replay = HostApiImpl::journal_replay;
  a.registry_list_all = HostApiImpl::registry_list_all;
  a.registry_put_durable = HostApiImpl::registry_put_durable;

  char err[512] = {0};
  int rc = d->create(&inst->api_, reinterpret_cast<const uint8_t*>(cfg_bytes.data()), cfg_bytes.size(), &inst->self_,
                     err, sizeof err);
  if (rc != GW_OK || !inst->self_)
    return make_error(where + ": adapter \"" + cfg.name() + "\" (module " + d->name + ") failed to initialise: " +
                      (err[0] ? err : "no reason given"));
  AdapterInstance* raw = inst.get();
  router_.add_adapter(cfg.name(), [raw](const std::string& bytes) {
    return raw->module_->desc->deliver(raw->self_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  });
  instances_.push_back(std::move(inst));
  return {};
}

Result<void> AdapterHost::start_all() {
  for (auto& in : instances_) {
    char err[512] = {0};
    if (in->module_->desc->start(in->self_, err, sizeof err) != GW_OK)
      return make_error("adapter \"" + in->name_ + "\" (module " + in->module_->desc->name + ") failed to start: " +
                        (err[0] ? err : "no reason given"));
    in->started_ = true;
    GW_LOG(Info, "host", "adapter " << in->name_ << " started");
  }
  return {};
}

void AdapterHost::stop_all() {
  flush_registry();  // every put_durable callback runs while its adapter is still live
  for (auto& in : instances_)
    if (in->started_ && !in->stopping_) {
      in->stopping_ = true;
      in->module_->desc->stop(in->self_);
    }
}

bool AdapterHost::all_done() const {
  for (auto& in : instances_)
    if (in->started_ && in->module_->desc->done && !in->module_->desc->done(in->self_)) return false;
  return true;
}

void AdapterHost::destroy_all() {
  flush_journal();
  flush_registry();
  if (replay_timer_) {
    loop_.stop_timer(replay_timer_);
    replay_timer_ = 0;
  }
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
    auto& in = *it;
    if (in->started_ && !in->stopping_) {
      in->stopping_ = true;
      in->module_->desc->stop(in->self_);
    }
    in->module_->desc->destroy(in->self_);
    in->self_ = nullptr;
  }
  // Release what adapters left registered with the loop.
  for (auto& [id, _] : watch_owner_) loop_.unwatch_fd(id);
  for (auto& [id, _] : timer_owner_) loop_.stop_timer(id);
  watch_owner_.clear();
  timer_owner_.clear();
  instances_.clear();
}

Result<void> AdapterHost::notify_mappings() {
  std::string errors;
  for (auto& in : instances_) {
    if (!in->module_->desc->on_mappings) continue;
    char err[512] = {0};
    if (in->module_->desc->on_mappings(in->self_, err, sizeof err) != GW_OK) {
      if (!errors.empty()) errors += "; ";
      errors += "adapter " + in->name_ + ": " + (err[0] ? err : "rejected the mappings");
    }
  }
  if (!errors.empty()) return make_error(errors);
  return {};
}

std::vector<std::string> AdapterHost::names() const {
  std::vector<std::string> n;
  for (auto& in : instances_) n.push_back(in->name_);
  return n;
}

AdapterInstance* AdapterHost::find(const std::string& name) {
  for (auto& in : instances_)
    if (in->name_ == name) return in.get();
  return nullptr;
}

}  // namespace gw
