// A gloox TCP connection driven by the gateway's event loop (no threads, no blocking, no select()).
//
// gloox 1.0.24's ConnectionTCPClient connects with a blocking connect() (and a blocking DNS lookup),
// waits for data with select() (undefined for fds >= FD_SETSIZE, i.e. beyond ~1000 devices) and
// sends with a blocking loop that treats EAGAIN as a fatal error. LoopConnection replaces those three
// parts and keeps the rest of gloox's stream handling:
//   * connect(): non-blocking socket + connect() to an already resolved address; the loop reports
//     writability, then handleConnect() starts the XMPP stream;
//   * recv(): drains the socket with MSG_DONTWAIT (called when the loop reports readability);
//   * send(): non-blocking; what the kernel does not take is queued and flushed on writability
//     (bounded: beyond max_queued bytes the connection fails with ConnIoError).
// The owner (FdOwner) installs and removes the fd watch; cleanup() removes it before the socket is
// closed, so the loop never sees a stale or reused fd.
#pragma once

#include <gloox/connectiontcpclient.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace gw::oic::adapter {

class FdOwner {
 public:
  virtual ~FdOwner() = default;
  // Start watching fd (read and/or write), or change the events of the current watch.
  virtual void fd_watch(int fd, bool read, bool write) = 0;
  virtual void fd_unwatch() = 0;
};

class LoopConnection : public gloox::ConnectionTCPClient {
 public:
  LoopConnection(gloox::ConnectionDataHandler* cdh, const gloox::LogSink& log, const sockaddr_storage& addr,
                 socklen_t addrlen, FdOwner* owner, std::size_t max_queued = 4u << 20);
  ~LoopConnection() override;

  // gloox::ConnectionBase
  gloox::ConnectionError connect() override;
  gloox::ConnectionError recv(int timeout = -1) override;
  bool send(const std::string& data) override;
  void cleanup() override;
  gloox::ConnectionBase* newInstance() const override;

  // The loop reports readiness of the fd.
  void on_ready(bool readable, bool writable);

  int fd() const { return m_socket; }
  std::size_t queued() const { return out_.size() - out_pos_; }

 private:
  void fail(gloox::ConnectionError e);
  bool flush();
  void rewatch();

  sockaddr_storage addr_;
  socklen_t addrlen_;
  FdOwner* owner_;
  std::size_t max_queued_;
  bool connecting_ = false;
  std::string out_;
  std::size_t out_pos_ = 0;
};

}  // namespace gw::oic::adapter
