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

  static int emit(void* ctx, const uint8_t* data, size_t len) {
    auto* in = inst(ctx);
    auto& h = host(ctx);
    v1::Envelope env;
    if (!env.ParseFromArray(data, static_cast<int>(len))) {
      GW_LOG(Warn, "host", "adapter " << in->name_ << " emitted undecodable envelope bytes (" << len << " bytes)");
      return GW_ERR_INVALID;
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
    return h.router_.submit(std::move(env));
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
  static int registry_get(void* ctx, const char* uuid, const char* native_id, gw_buf* out) {
    auto& reg = host(ctx).registry_;
    const v1::Device* d = nullptr;
    if (uuid)
      d = reg.get(uuid);
    else if (native_id)
      d = reg.find(inst(ctx)->name_, native_id);
    if (!d) return GW_ERR_NOT_FOUND;
    return fill(*d, out);
  }
  static int registry_list(void* ctx, gw_buf* out) {
    v1::DeviceList l;
    for (const auto* d : host(ctx).registry_.list(inst(ctx)->name_)) *l.add_devices() = *d;
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

AdapterHost::~AdapterHost() { destroy_all(); }

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
