#include "net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gw::osap::session {

int ListenTcp(const std::string& address, uint16_t port, uint16_t* bound, std::string* err) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
    *err = "listen address \"" + address + "\" is not an IPv4 address";
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 1024) != 0) {
    *err = "cannot listen on " + address + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *bound = ntohs(sa.sin_port);
  return fd;
}

std::string PeerName(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0 || sa.sin_family != AF_INET) return "?";
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(ntohs(sa.sin_port));
}

Conn::Conn(const sdk::Host& host, int fd, std::string peer, size_t max_output)
    : host_(host), fd_(fd), peer_(std::move(peer)), max_output_(max_output) {
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Conn::~Conn() {
  if (watch_) host_.unwatch_fd(watch_);
  if (fd_ >= 0) ::close(fd_);
}

bool Conn::Start() {
  watch_ = host_.watch_fd(fd_, GW_FD_READ, &Conn::OnFd, this);
  return watch_ != 0;
}

void Conn::OnFd(void* user, int, uint32_t events) {
  auto* c = static_cast<Conn*>(user);
  if (c->closed_) return;
  if (events & GW_FD_WRITE) c->Writable();
  if (!c->closed_ && (events & (GW_FD_READ | GW_FD_ERROR))) c->Readable();
}

void Conn::Readable() {
  uint8_t buf[16384];
  // Bounded per callback so one busy peer cannot starve the loop.
  for (int i = 0; i < 16 && !closed_ && !paused_; ++i) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      if (close_after_flush_) continue;  // answer already final: ignore further input
      OnBytes(ByteView(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) {
      OnEof("peer closed the connection");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    OnEof(std::string("read error: ") + std::strerror(errno));
    return;
  }
}

void Conn::Writable() {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    OnEof(std::string("write error: ") + std::strerror(errno));
    return;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
    if (close_after_flush_) {
      Close(close_reason_);
      return;
    }
  } else if (out_pos_ > 65536) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_pos_));
    out_pos_ = 0;
  }
  UpdateWatch();
}

void Conn::UpdateWatch() {
  bool want = out_pos_ < out_.size();
  if (want == want_write_ || !watch_) return;
  want_write_ = want;
  host_.update_fd(watch_, (paused_ ? 0u : uint32_t{GW_FD_READ}) | (want ? uint32_t{GW_FD_WRITE} : 0u));
}

void Conn::PauseInput(bool paused) {
  if (paused == paused_ || closed_ || !watch_) return;
  paused_ = paused;
  host_.update_fd(watch_, (paused_ ? 0u : uint32_t{GW_FD_READ}) | (want_write_ ? uint32_t{GW_FD_WRITE} : 0u));
}

bool Conn::Send(ByteView bytes) {
  if (closed_) return false;
  if (queued() + bytes.size() > max_output_) {
    Close("peer is not reading (" + std::to_string(queued()) + " bytes queued)");
    return false;
  }
  Append(out_, bytes);
  Writable();
  return !closed_;
}

void Conn::CloseAfterFlush(const std::string& reason) {
  if (closed_) return;
  close_after_flush_ = true;
  close_reason_ = reason;
  if (queued() == 0) Close(reason);
}

void Conn::Close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  if (watch_) host_.unwatch_fd(watch_);
  watch_ = 0;
  ::close(fd_);
  fd_ = -1;
  if (on_closed) on_closed(this, reason);
}

}  // namespace gw::osap::session
