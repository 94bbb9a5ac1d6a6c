#include "loop_connection.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cstring>

namespace gw::oic::adapter {

LoopConnection::LoopConnection(gloox::ConnectionDataHandler* cdh, const gloox::LogSink& log,
                               const sockaddr_storage& addr, socklen_t addrlen, FdOwner* owner,
                               std::size_t max_queued)
    : gloox::ConnectionTCPClient(cdh, log, "", -1), addr_(addr), addrlen_(addrlen), owner_(owner),
      max_queued_(max_queued) {}

LoopConnection::~LoopConnection() {
  if (m_socket >= 0) {
    owner_->fd_unwatch();
    ::close(m_socket);
    m_socket = -1;
  }
}

gloox::ConnectionBase* LoopConnection::newInstance() const {
  return new LoopConnection(m_handler, m_logInstance, addr_, addrlen_, owner_, max_queued_);
}

gloox::ConnectionError LoopConnection::connect() {
  if (!m_handler) return gloox::ConnNotConnected;
  if (m_socket >= 0 && m_state > gloox::StateDisconnected) return gloox::ConnNoError;
  int fd = ::socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return gloox::ConnIoError;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // request/response traffic
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), addrlen_);
  if (rc != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return gloox::ConnConnectionRefused;
  }
  m_socket = fd;
  m_cancel = false;
  m_state = gloox::StateConnecting;
  connecting_ = true;
  out_.clear();
  out_pos_ = 0;
  owner_->fd_watch(fd, false, true);
  return gloox::ConnNoError;
}

void LoopConnection::fail(gloox::ConnectionError e) {
  // ClientBase::handleDisconnect() runs cleanup() (which unwatches and closes) and notifies the
  // ConnectionListener.
  if (m_handler) m_handler->handleDisconnect(this, e);
}

void LoopConnection::rewatch() {
  if (m_socket < 0) return;
  owner_->fd_watch(m_socket, !connecting_, connecting_ || queued() > 0);
}

void LoopConnection::on_ready(bool readable, bool writable) {
  if (m_socket < 0) return;
  if (connecting_) {
    if (!writable && !readable) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(m_socket, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      fail(err == ECONNREFUSED ? gloox::ConnConnectionRefused : gloox::ConnIoError);
      return;
    }
    connecting_ = false;
    m_state = gloox::StateConnected;
    rewatch();
    if (m_handler) m_handler->handleConnect(this);  // sends the stream header
    return;
  }
  if (writable && queued() > 0) {
    if (!flush()) {
      fail(gloox::ConnIoError);
      return;
    }
    rewatch();
  }
  if (readable) (void)recv(0);
}

gloox::ConnectionError LoopConnection::recv(int /*timeout*/) {
  if (m_cancel || m_socket < 0 || connecting_) return gloox::ConnNotConnected;
  // Bounded per call so one busy connection cannot starve the loop; the watch is level-triggered.
  for (int round = 0; round < 16 && m_socket >= 0 && !m_cancel; ++round) {
    ssize_t n = ::recv(m_socket, m_buf, static_cast<std::size_t>(m_bufsize), MSG_DONTWAIT);
    if (n > 0) {
      m_totalBytesIn += n;
      if (m_handler) m_handler->handleReceivedData(this, std::string(m_buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return gloox::ConnNoError;
    gloox::ConnectionError e = n == 0 ? gloox::ConnStreamClosed : gloox::ConnIoError;
    fail(e);
    return e;
  }
  return gloox::ConnNoError;
}

bool LoopConnection::flush() {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(m_socket, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_pos_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    return false;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  } else if (out_pos_ > (1u << 16)) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
  return true;
}

bool LoopConnection::send(const std::string& data) {
  if (data.empty() || m_socket < 0) return false;
  m_totalBytesOut += static_cast<long>(data.size());
  bool was_empty = queued() == 0;
  if (queued() + data.size() > max_queued_) {
    // The peer does not read: treat as a dead connection rather than grow without bound.
    return false;
  }
  out_.append(data);
  if (connecting_) return true;  // flushed once connected (gloox sends nothing before that)
  if (!flush()) return false;    // the read side reports the error and tears the stream down
  if (was_empty != (queued() == 0)) rewatch();
  return true;
}

void LoopConnection::cleanup() {
  if (m_socket >= 0) {
    owner_->fd_unwatch();
    if (!connecting_ && queued() > 0) (void)flush();  // best effort: e.g. </stream:stream>
  }
  connecting_ = false;
  out_.clear();
  out_pos_ = 0;
  gloox::ConnectionTCPClient::cleanup();  // closes the socket, state = disconnected
}

}  // namespace gw::oic::adapter
