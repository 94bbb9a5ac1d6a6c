// A throw-away prosody for integration tests: loopback only, a free port, TLS required with a
// certificate for "localhost" signed by a CA generated here, SCRAM via internal_hashed storage,
// mod_private (gloox queries jabber:iq:private before the roster). Everything lives in a temp
// directory that the destructor removes after stopping prosody by PID.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "gw/result.h"

namespace gw::oic::test {

class ProsodyFixture {
 public:
  // Fails (never skips) with a clear message if prosody, prosodyctl or openssl are missing or
  // prosody does not come up.
  static gw::Result<std::unique_ptr<ProsodyFixture>> start(const std::string& domain = "localhost");
  ~ProsodyFixture();
  ProsodyFixture(const ProsodyFixture&) = delete;
  ProsodyFixture& operator=(const ProsodyFixture&) = delete;

  gw::Result<void> register_user(const std::string& user, const std::string& password);

  int port() const { return port_; }
  const std::string& domain() const { return domain_; }
  const std::string& dir() const { return dir_; }
  const std::string& ca_file() const { return ca_; }
  pid_t pid() const { return pid_; }
  std::string log_tail() const;

 private:
  ProsodyFixture() = default;
  void stop();

  std::string domain_;
  std::string dir_;
  std::string cfg_;
  std::string ca_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Runs a command (argv[0] looked up in PATH) and waits; returns its output on exit status 0.
gw::Result<std::string> run_command(const std::vector<std::string>& argv);
// True if an executable with that name is on PATH.
bool on_path(const std::string& name);

}  // namespace gw::oic::test
