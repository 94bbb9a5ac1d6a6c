// A co-located mosquitto for local AEs, run and supervised by the oneM2M adapter: configuration,
// password file and ACL generated under the adapter's state directory with the topic
// authorization of Y.4500.10 §8.4 / TS-0010 §7.4, the broker spawned as a child process, watched
// through a pidfd on the gateway loop (no thread, no SIGCHLD handler), restarted with back-off when
// it dies, stopped by PID (SIGTERM, SIGKILL after a grace time) when the adapter stops.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gw/adapter_sdk.h"

namespace gw::onem2m {

struct LocalBrokerSettings {
  std::string dir;        // generated files: mosquitto.conf, passwd, acl, mosquitto.log, mosquitto.db
  std::string bin = "/usr/sbin/mosquitto";
  std::string host;       // listener address (IPv4/IPv6 literal or name)
  int port = 1883;
  std::string cse_topic;  // the CSE-ID as a topic level ("id-mn")
  std::string cse_user;   // the CSE's own account (full rights on /oneM2M/#)
  std::string cse_password;
  struct Account {
    std::string username;  // = the AE-ID stem in the topics (Cae1) = the Credential-ID for reg_req
    std::string password;
  };
  std::vector<Account> accounts;
  std::string password_file;  // further AE accounts, mosquitto_passwd format (hashed lines copied)
  uint64_t restart_min_ms = 500, restart_max_ms = 30000;
  uint64_t stop_grace_ms = 3000;  // SIGTERM, then SIGKILL
};

// "" when `u` may be an AE account: a C- or S-type AE-ID stem (first letter C or S), letters,
// digits, '-', '.', '_' only (no '/', ':', '+', '#', '%', spaces), at most 64 characters; else why not.
std::string check_ae_username(const std::string& u);
// mosquitto 2.0 password file hash: "$7$101$<base64 salt>$<base64 PBKDF2-HMAC-SHA512(pw, salt, 101)>".
std::string mosquitto_password_hash(const std::string& password, const std::string& salt);
// The ACL file text for the CSE topic level `cse` and the CSE's account `cse_user`.
std::string local_broker_acl(const std::string& cse, const std::string& cse_user);

class LocalBroker {
 public:
  // on_started runs after every successful spawn (first start and restarts).
  LocalBroker(const gw::sdk::Host& host, LocalBrokerSettings s, std::function<void()> on_started);
  ~LocalBroker();  // a child still running is killed (SIGKILL) and reaped
  LocalBroker(const LocalBroker&) = delete;
  LocalBroker& operator=(const LocalBroker&) = delete;

  std::string prepare();  // writes the files ("" or the reason)
  std::string start();    // first spawn ("" or the reason)
  void stop();            // SIGTERM by PID (SIGKILL after stop_grace_ms); no restarts afterwards
  bool done() const { return pid_ <= 0; }
  pid_t pid() const { return pid_; }
  uint64_t restarts() const { return restarts_; }
  std::string url_host() const;  // where the CSE connects (wildcard listener -> loopback)

 private:
  std::string spawn();
  void exited();
  void schedule_restart();
  static void on_pidfd(void* u, int fd, uint32_t ev);
  static void on_poll(void* u);
  static void on_restart(void* u);
  static void on_kill(void* u);

  const gw::sdk::Host& host_;
  LocalBrokerSettings s_;
  std::function<void()> on_started_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  uint64_t watch_ = 0, poll_timer_ = 0, restart_timer_ = 0, kill_timer_ = 0;
  uint64_t started_at_ = 0, backoff_ = 0, restarts_ = 0;
  bool stopping_ = false;
};

}  // namespace gw::onem2m
