#include "admin.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "gateway.h"
#include "gw/adapter_abi.h"
#include "gw/status.h"
#include "gw/value.h"
#include "log.h"

namespace gw {
using json = nlohmann::ordered_json;

AdminServer::AdminServer(EventLoop& loop, Gateway& gateway) : loop_(loop), gw_(gateway) {
  gw_.router().add_adapter("$admin", [this](const std::string& bytes) { return deliver(bytes); });
}

AdminServer::~AdminServer() {
  for (auto& [fd, c] : conns_) {
    loop_.unwatch_fd(c.watch);
    ::close(fd);
  }
  if (listen_watch_) loop_.unwatch_fd(listen_watch_);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

Result<void> AdminServer::listen(const std::string& path) {
  path_ = path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error("admin socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());  // a stale socket of a previous run
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return make_error(std::string("admin socket: ") + std::strerror(errno));
  mode_t old = ::umask(077);
  int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(listen_fd_, 16) != 0)
    return make_error("admin socket " + path + ": " + std::strerror(errno));
  ::chmod(path.c_str(), 0600);
  listen_watch_ = loop_.watch_fd(listen_fd_, GW_FD_READ, [this](int, uint32_t) { on_accept(); });
  GW_LOG(Info, "admin", "listening on " << path);
  return {};
}

void AdminServer::on_accept() {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    Conn c;
    c.fd = fd;
    c.watch = loop_.watch_fd(fd, GW_FD_READ, [this](int f, uint32_t ev) { on_conn(f, ev); });
    conns_[fd] = std::move(c);
  }
}

void AdminServer::on_conn(int fd, uint32_t events) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  if (events & GW_FD_WRITE) flush(it->second);
  if (!(events & GW_FD_READ)) return;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      it->second.in.append(buf, static_cast<size_t>(n));
      if (it->second.in.size() > (1u << 20)) {
        close_conn(fd);
        return;
      }
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      close_conn(fd);
      return;
    }
    if (errno == EAGAIN) break;
  }
  size_t nl;
  while ((nl = it->second.in.find('\n')) != std::string::npos) {
    std::string line = it->second.in.substr(0, nl);
    it->second.in.erase(0, nl + 1);
    handle_line(fd, line);
    if (!conns_.count(fd)) return;
  }
}

void AdminServer::reply(int fd, const std::string& text) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  it->second.out += text;
  it->second.out += '\n';
  flush(it->second);
}

void AdminServer::flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EAGAIN) break;
    close_conn(c.fd);
    return;
  }
  loop_.update_fd(c.watch, c.out.empty() ? GW_FD_READ : GW_FD_READ | GW_FD_WRITE);
}

void AdminServer::close_conn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  loop_.unwatch_fd(it->second.watch);
  ::close(fd);
  conns_.erase(it);
  for (auto p = pending_.begin(); p != pending_.end();) p = p->second == fd ? pending_.erase(p) : std::next(p);
}

void AdminServer::handle_line(int fd, const std::string& line) {
  json req = json::parse(line, nullptr, false);
  auto err = [&](const std::string& m) { reply(fd, json{{"ok", false}, {"error", m}}.dump()); };
  if (req.is_discarded() || !req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
    return err("expected one JSON object per line with a \"cmd\" string");
  std::string cmd = req["cmd"];
  if (cmd == "status") {
    json out{{"ok", true}, {"gateway_id", gw_.config().config.gateway_id()},
             {"mapping_generation", gw_.mapping_generation()}};
    const auto& s = gw_.router().stats();
    out["router"] = {{"submitted", s.submitted}, {"delivered", s.delivered}, {"requests", s.requests},
                     {"responses", s.responses}, {"timeouts", s.timeouts}, {"no_route", s.no_route},
                     {"pending", gw_.router().pending()}, {"queued", gw_.router().queued()}};
    const auto& ls = loop_.stats();
    out["loop"] = {{"turns", ls.turns},
                   {"busy_ms", ls.busy_us / 1000},
                   {"max_turn_ms", double(ls.max_us) / 1000.0},
                   {"max_turn_kind", ls.max_kind},
                   {"turns_by_ms", {{"lt_0.1", ls.by_duration[0]}, {"lt_1", ls.by_duration[1]}, {"lt_2", ls.by_duration[2]},
                                    {"lt_5", ls.by_duration[3]}, {"lt_50", ls.by_duration[4]}, {"ge_50", ls.by_duration[5]}}}};
    if (auto* j = gw_.journal())
      out["journal"] = {{"last_seq", j->last_seq()}, {"bytes", j->bytes()}, {"evicted", j->evicted()}};
    out["devices"] = gw_.registry().size();
    json adapters = json::object();
    for (const auto& name : gw_.host().names()) {
      auto* in = gw_.host().find(name);
      json a{{"module", in->module()->desc->name}};
      if (in->module()->desc->status) {
        gw_buf b{};
        if (in->module()->desc->status(in->self(), &b) == GW_OK) {
          json st = json::parse(std::string(reinterpret_cast<char*>(b.data), b.len), nullptr, false);
          if (!st.is_discarded()) a["status"] = st;
          std::free(b.data);
        }
      }
      adapters[name] = a;
    }
    out["adapters"] = adapters;
    return reply(fd, out.dump());
  }
  if (cmd == "devices") {
    std::string adapter = req.value("adapter", "");
    json list = json::array();
    for (const auto* d : gw_.registry().list(adapter)) {
      json identity = json::object();
      for (const auto& [k, v] : d->identity()) identity[k] = v;
      json secrets = json::array();  // names only, never values
      for (const auto& [k, v] : d->secrets()) secrets.push_back(k);
      list.push_back({{"uuid", d->uuid()}, {"adapter", d->adapter()}, {"native_id", d->native_id()},
                      {"model", d->model()}, {"online", d->online()}, {"identity", identity},
                      {"secret_names", secrets}});
    }
    return reply(fd, json{{"ok", true}, {"devices", list}}.dump());
  }
  if (cmd == "reload") {
    auto r = gw_.reload_mappings();
    if (!r) return err(r.error().message);
    return reply(fd, json{{"ok", true}, {"mapping_generation", gw_.mapping_generation()}}.dump());
  }
  if (cmd == "request") {
    v1::Envelope e;
    e.set_model_version(1);
    e.set_kind(v1::REQUEST);
    v1::Operation op;
    if (!v1::Operation_Parse(req.value("op", "RETRIEVE"), &op)) return err("unknown op " + req.value("op", ""));
    e.set_op(op);
    std::string corr = "admin-" + std::to_string(next_id_++);
    e.set_correlation_id(corr);
    e.set_message_id(corr);
    e.mutable_origin()->set_adapter("$admin");
    e.mutable_target()->set_adapter(req.value("adapter", ""));
    e.mutable_target()->set_device(req.value("device", ""));
    e.mutable_target()->set_path(req.value("path", ""));
    if (req.contains("content")) *e.mutable_content() = value_from_ojson(req["content"]);
    e.set_created_ms(EventLoop::wall_ms());
    e.set_expires_ms(EventLoop::wall_ms() + req.value("timeout_ms", 5000));
    pending_[corr] = fd;
    gw_.router().submit(std::move(e));
    return;
  }
  err("unknown cmd \"" + cmd + "\" (status, devices, reload, request)");
}

int AdminServer::deliver(const std::string& bytes) {
  v1::Envelope e;
  if (!e.ParseFromString(bytes) || e.kind() != v1::RESPONSE) return GW_OK;
  auto it = pending_.find(e.correlation_id());
  if (it == pending_.end()) return GW_OK;
  int fd = it->second;
  pending_.erase(it);
  json out{{"ok", status_is_success(e.status())}, {"status", v1::Status_Name(e.status())},
           {"status_line", status_line(e.status())}};
  if (!e.status_detail().empty()) out["detail"] = e.status_detail();
  if (e.native_status()) out["native_status"] = e.native_status();
  if (e.has_content()) out["content"] = json::parse(value_to_json(e.content()), nullptr, false);
  reply(fd, out.dump());
  return GW_OK;
}

}  // namespace gw
