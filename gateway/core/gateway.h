// Gateway: the whole process minus main(): configuration, registry, router, adapters, signals.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapter_host.h"
#include "admin.h"
#include "config.h"
#include "gw/event_loop.h"
#include "gw/result.h"
#include "registry.h"
#include "router.h"

namespace gw {

class Gateway {
 public:
  struct Options {
    std::string config_path;
    std::string module_dir;  // overrides config.module_dir and the default
    std::string state_dir;   // overrides config.state_dir
    bool check_only = false; // --check-config: validate everything, open nothing persistent
    std::vector<const gw_adapter_descriptor*> builtins;  // in-process adapters (tests, benchmarks)
  };

  // Loads and validates configuration, modules and mappings, opens the registry and creates the
  // adapters. No network I/O happens before start(). Errors are one line naming file/module.
  static Result<std::unique_ptr<Gateway>> create(EventLoop& loop, const Options& opts);
  ~Gateway();

  Result<void> start();
  // SIGHUP: reload every mapping file; a bad file keeps the active set and returns why.
  Result<void> reload_mappings();
  // SIGTERM/SIGINT: stop adapters, wait for them (up to shutdown_grace_ms), drain the router,
  // then call on_done on the loop thread.
  void begin_shutdown(std::function<void()> on_done);
  // Installs SIGTERM/SIGINT/SIGHUP handlers on the loop: shutdown stops the loop.
  void install_signal_handlers();

  const LoadedConfig& config() const { return cfg_; }
  Router& router() { return *router_; }
  Registry& registry() { return *registry_; }
  AdapterHost& host() { return *host_; }
  Journal* journal() { return journal_.get(); }
  const std::string& state_dir() const { return state_dir_; }
  // The admin socket's path once started ("" in --check-config mode).
  std::string admin_socket() const { return admin_ ? admin_->path() : ""; }
  uint64_t mapping_generation() const { return router_->mappings()->generation(); }

 private:
  Gateway(EventLoop& loop) : loop_(loop) {}
  EventLoop& loop_;
  LoadedConfig cfg_;
  std::unique_ptr<ModuleLoader> loader_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<AdminServer> admin_;
  std::string state_dir_;
  bool check_only_ = false;
  std::unique_ptr<AdapterHost> host_;
  bool shutting_down_ = false;
  void poll_shutdown();
  uint64_t shutdown_timer_ = 0;
  uint64_t shutdown_deadline_ = 0;
  std::function<void()> shutdown_done_;
};

// Default module directory: {dir of the running binary}/../lib/camgw.
std::string default_module_dir();
void apply_log_config(const v1::LogConfig& cfg);

}  // namespace gw
