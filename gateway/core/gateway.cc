#include "gateway.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "log.h"

namespace gw {
namespace fs = std::filesystem;

std::string default_module_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/usr/lib/camgw";
  buf[n] = 0;
  return (fs::path(buf).parent_path() / ".." / "lib" / "camgw").lexically_normal().string();
}

namespace {
log::Level to_level(v1::LogLevel l) {
  switch (l) {
    case v1::TRACE: return log::Level::Trace;
    case v1::DEBUG: return log::Level::Debug;
    case v1::WARN: return log::Level::Warn;
    case v1::ERROR: return log::Level::Error;
    default: return log::Level::Info;
  }
}
}  // namespace

void apply_log_config(const v1::LogConfig& cfg) {
  log::set_level(to_level(cfg.level()));
  log::clear_component_levels();
  for (const auto& [comp, lvl] : cfg.component()) log::set_component_level(comp, to_level(lvl));
}

Result<std::unique_ptr<Gateway>> Gateway::create(EventLoop& loop, const Options& opts) {
  std::unique_ptr<Gateway> g(new Gateway(loop));
  std::string config_dir = fs::absolute(opts.config_path).parent_path().string();
  std::string module_dir = opts.module_dir;
  if (module_dir.empty()) {
    v1::GatewayConfig peek;  // lenient peek at module_dir; load_config reports any syntax error
    (void)parse_textproto_file(opts.config_path, &peek, nullptr, /*lenient=*/true);
    module_dir = peek.module_dir().empty() ? default_module_dir() : resolve_path(config_dir, peek.module_dir());
  }
  g->loader_ = std::make_unique<ModuleLoader>(module_dir);
  for (const auto* b : opts.builtins) g->loader_->add_builtin(b);
  auto preload = [&](const v1::AdapterConfig& a, const std::string& where) -> Result<void> {
    v1::AdapterConfig resolved = a;
    if (!a.module_path().empty()) resolved.set_module_path(resolve_path(config_dir, a.module_path()));
    auto m = g->loader_->load(resolved);
    if (!m) return make_error(where + ": adapter \"" + a.name() + "\": " + m.error().message);
    return {};
  };
  auto cfg = load_config(opts.config_path, preload);
  if (!cfg) return cfg.error();
  g->cfg_ = std::move(cfg.value());
  const auto& c = g->cfg_.config;
  apply_log_config(c.log());

  // Registry (real file) unless only checking.
  std::string state_dir = !opts.state_dir.empty() ? opts.state_dir
                          : c.state_dir().empty() ? "/var/lib/camgw"
                                                  : resolve_path(g->cfg_.dir, c.state_dir());
  std::string reg_path = ":memory:";
  if (!opts.check_only) {
    std::error_code ec;
    fs::create_directories(state_dir, ec);
    if (ec) return make_error(g->cfg_.where({{"state_dir"}}) + ": cannot create state directory " + state_dir + ": " + ec.message());
    ::chmod(state_dir.c_str(), 0700);
    reg_path = state_dir + "/registry.db";
  } else {
    state_dir = (fs::temp_directory_path() / ("camgw-check-" + std::to_string(::getpid()))).string();
  }
  g->state_dir_ = state_dir;
  g->check_only_ = opts.check_only;
  auto reg = Registry::open(reg_path);
  if (!reg) return reg.error();
  g->registry_ = std::move(reg.value());
  g->router_ = std::make_unique<Router>(loop, g->registry_.get(), c.router());
  g->host_ = std::make_unique<AdapterHost>(loop, *g->registry_, *g->router_, state_dir);
  if (c.registry().has_group_commit_ms()) g->host_->set_registry_group_commit_ms(c.registry().group_commit_ms());

  // Journal consumers must be configured adapters.
  for (int i = 0; i < c.journal().consumer_size(); ++i) {
    bool known = false;
    for (const auto& a : c.adapter()) known = known || a.name() == c.journal().consumer(i);
    if (!known)
      return make_error(g->cfg_.where({{"journal"}, {"consumer", i}}) + ": journal consumer \"" +
                        c.journal().consumer(i) + "\" is not a configured adapter");
  }
  if (!opts.check_only) {
    Journal::Options jo;
    jo.dir = state_dir + "/journal";
    jo.max_bytes = c.journal().max_bytes() ? c.journal().max_bytes() : 64ull << 20;
    jo.segment_bytes = c.journal().segment_bytes() ? c.journal().segment_bytes() : 1ull << 20;
    jo.fsync = c.journal().fsync() == v1::FSYNC_ALWAYS ? Journal::Fsync::kAlways
               : c.journal().fsync() == v1::FSYNC_NONE ? Journal::Fsync::kNone
                                                       : Journal::Fsync::kBatch;
    auto j = Journal::open(jo);
    if (!j) return j.error();
    g->journal_ = std::move(j.value());
    g->host_->set_journal(g->journal_.get(), c.journal());
  }

  // Mappings are checked against the configured adapter names.
  std::vector<std::string> names;
  for (const auto& a : c.adapter()) names.push_back(a.name());
  auto maps = load_mappings(g->cfg_, names);
  if (!maps) return maps.error();
  maps->set_generation(1);
  g->router_->set_mappings(std::make_shared<v1::MappingSet>(std::move(maps.value())));

  for (int i = 0; i < c.adapter_size(); ++i) {
    v1::AdapterConfig a = c.adapter(i);
    if (!a.module_path().empty()) a.set_module_path(resolve_path(g->cfg_.dir, a.module_path()));
    auto m = g->loader_->load(a);
    if (!m) return make_error(g->cfg_.where({{"adapter", i}}) + ": " + m.error().message);
    auto r = g->host_->create(a, m.value(), g->cfg_.where({{"adapter", i}}));
    if (!r) return r.error();
  }
  if (opts.check_only) {
    std::error_code ec;
    fs::remove_all(state_dir, ec);
  }
  return g;
}

Gateway::~Gateway() {
  admin_.reset();
  if (host_) host_->destroy_all();
  host_.reset();  // before the journal it writes to
}

Result<void> Gateway::start() {
  if (!check_only_) {
    admin_ = std::make_unique<AdminServer>(loop_, *this);
    std::string sock = cfg_.config.admin().control_socket().empty()
                           ? state_dir_ + "/control.sock"
                           : resolve_path(cfg_.dir, cfg_.config.admin().control_socket());
    auto a = admin_->listen(sock);
    if (!a) return a;
  }
  auto r = host_->start_all();
  if (!r) return r;
  // Everything a consumer had not acknowledged before the restart is delivered again, in order.
  if (journal_)
    for (const auto& c : cfg_.config.journal().consumer()) {
      if (journal_->last_seq() > journal_->cursor(c))
        GW_LOG(Info, "journal", "replaying seq " << journal_->cursor(c) + 1 << ".." << journal_->last_seq() << " to "
                                                 << c);
      auto rr = host_->start_replay(c);
      if (!rr) return rr;
    }
  GW_LOG(Info, "gateway", "gateway " << cfg_.config.gateway_id() << " running with " << host_->names().size()
                                     << " adapters, " << router_->mappings()->route_size() << " routes, "
                                     << router_->mappings()->model_size() << " device models");
  return {};
}

Result<void> Gateway::reload_mappings() {
  // Re-read the configuration file only for its mapping list; adapters are not reloaded here.
  std::vector<std::string> names = host_->names();
  auto maps = load_mappings(cfg_, names);
  if (!maps) {
    GW_LOG(Error, "gateway", "mapping reload failed, keeping generation " << mapping_generation() << ": "
                                                                         << maps.error().message);
    return maps.error();
  }
  auto previous = router_->mappings();
  maps->set_generation(previous->generation() + 1);
  router_->set_mappings(std::make_shared<v1::MappingSet>(std::move(maps.value())));
  auto r = host_->notify_mappings();
  if (!r) {
    router_->set_mappings(previous);
    (void)host_->notify_mappings();
    GW_LOG(Error, "gateway", "mapping reload rejected, keeping generation " << previous->generation() << ": "
                                                                           << r.error().message);
    return r.error();
  }
  GW_LOG(Info, "gateway", "mappings reloaded: generation " << mapping_generation() << ", "
                                                          << router_->mappings()->route_size() << " routes, "
                                                          << router_->mappings()->model_size() << " models");
  return {};
}

void Gateway::begin_shutdown(std::function<void()> on_done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  GW_LOG(Info, "gateway", "shutting down");
  host_->stop_all();
  uint64_t grace = cfg_.config.shutdown_grace_ms() ? cfg_.config.shutdown_grace_ms() : 5000;
  shutdown_deadline_ = loop_.now_ms() + grace;
  shutdown_done_ = std::move(on_done);
  shutdown_timer_ = loop_.start_timer(0, 20, [this] { poll_shutdown(); });
}

void Gateway::poll_shutdown() {
  router_->drain_all();
  bool done = host_->all_done();
  if (!done && loop_.now_ms() < shutdown_deadline_) return;
  if (!done) GW_LOG(Warn, "gateway", "shutdown grace time passed; stopping anyway");
  loop_.stop_timer(shutdown_timer_);
  shutdown_timer_ = 0;
  router_->drain_all();
  auto cb = std::move(shutdown_done_);
  if (cb) cb();
}

void Gateway::install_signal_handlers() {
  auto shutdown = [this] {
    if (shutting_down_) {
      GW_LOG(Warn, "gateway", "second stop signal: exiting now");
      std::_Exit(1);
    }
    begin_shutdown([this] { loop_.stop(); });
  };
  loop_.on_signal(SIGTERM, shutdown);
  loop_.on_signal(SIGINT, shutdown);
  loop_.on_signal(SIGHUP, [this] { (void)reload_mappings(); });
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace gw
