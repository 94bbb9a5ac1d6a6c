// A prosody for the adapter's integration tests and benchmark: like tests/prosody_fixture.h
// (loopback, free port, generated CA, TLS required) plus stop()/start() on the same port and data
// (accounts survive a restart) and SIGSTOP/SIGCONT to freeze it. The process is stopped by PID.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "gw/result.h"

namespace gw::oic::itest {

class ProsodyServer {
 public:
  static gw::Result<std::unique_ptr<ProsodyServer>> create(const std::string& domain = "localhost");
  ~ProsodyServer();
  ProsodyServer(const ProsodyServer&) = delete;
  ProsodyServer& operator=(const ProsodyServer&) = delete;

  gw::Result<void> start();  // waits until it listens
  void stop();               // SIGTERM, then SIGKILL after 5 s
  void freeze(bool on);      // SIGSTOP / SIGCONT
  gw::Result<void> register_user(const std::string& user, const std::string& password);

  int port() const { return port_; }
  const std::string& domain() const { return domain_; }
  const std::string& ca_file() const { return ca_; }
  bool running() const { return pid_ > 0; }
  std::string log_tail() const;

 private:
  ProsodyServer() = default;
  std::string domain_, dir_, cfg_, ca_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace gw::oic::itest
