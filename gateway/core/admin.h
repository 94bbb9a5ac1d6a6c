// Admin API: a Unix stream socket ({state_dir}/control.sock, mode 0600) speaking one JSON object
// per line each way, used by gatewayctl. Requests:
//   {"cmd":"status"}                               gateway, router, journal and adapter status
//   {"cmd":"devices","adapter":"osap"}             registry records (never secrets)
//   {"cmd":"reload"}                               same as SIGHUP
//   {"cmd":"request","adapter":"osap","op":"CREATE","path":"$provision","content":{...},
//    "device":"<uuid>","timeout_ms":5000}         any request envelope to an adapter; the reply
//                                                  carries the response's status and content
// Replies: {"ok":true,...} or {"ok":false,"error":"..."}. Requests enter the router from the
// pseudo-adapter "$admin", so adapters answer them like any other request.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "gw/event_loop.h"
#include "gw/result.h"

namespace gw {

class Gateway;

class AdminServer {
 public:
  AdminServer(EventLoop& loop, Gateway& gateway);
  ~AdminServer();
  Result<void> listen(const std::string& path);
  const std::string& path() const { return path_; }

 private:
  struct Conn {
    int fd = -1;
    uint64_t watch = 0;
    std::string in, out;
    bool closing = false;
  };
  void on_accept();
  void on_conn(int fd, uint32_t events);
  void handle_line(int fd, const std::string& line);
  void reply(int fd, const std::string& json);
  void flush(Conn& c);
  void close_conn(int fd);
  int deliver(const std::string& bytes);

  EventLoop& loop_;
  Gateway& gw_;
  std::string path_;
  int listen_fd_ = -1;
  uint64_t listen_watch_ = 0;
  std::map<int, Conn> conns_;
  std::map<std::string, int> pending_;  // correlation id -> connection fd
  uint64_t next_id_ = 1;
};

}  // namespace gw
