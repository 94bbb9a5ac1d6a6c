// Non-blocking TCP for the OSAP adapter: a listener and a buffered connection, both driven by the
// host's fd watches on the gateway's single event loop (no threads, no blocking calls).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "gw/adapter_sdk.h"
#include "osap/codec/bytes.h"

namespace gw::osap::session {

// Binds and listens (non-blocking, SO_REUSEADDR); port 0 = ephemeral. Returns the fd or -1 and
// the reason in err; *bound receives the bound port.
int ListenTcp(const std::string& address, uint16_t port, uint16_t* bound, std::string* err);

// "a.b.c.d:port" of a connected socket's peer.
std::string PeerName(int fd);

// A buffered, non-blocking TCP connection. Subclasses implement OnBytes(); the owner (the adapter)
// closes and frees connections through Close(), which defers the delete to a later loop turn so
// a connection may close itself from inside its own callbacks.
class Conn {
 public:
  Conn(const sdk::Host& host, int fd, std::string peer, size_t max_output);
  virtual ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Registers the fd watch. False if the host refused it.
  bool Start();
  // Queues bytes; writes as much as the socket takes now, the rest when it becomes writable.
  // Returns false (and closes) if the output buffer limit is exceeded.
  bool Send(ByteView bytes);
  // Closes once everything queued has been written.
  void CloseAfterFlush(const std::string& reason);
  // Closes now (queued bytes are dropped). Idempotent.
  void Close(const std::string& reason);
  bool closed() const { return closed_; }
  // Closed, or closing once the queued bytes are written: no further input is processed.
  bool closing() const { return closed_ || close_after_flush_; }
  const std::string& peer() const { return peer_; }
  size_t queued() const { return out_.size() - out_pos_; }
  // Stops (or resumes) reading from the socket: TCP back-pressure on a peer that is ahead of us.
  void PauseInput(bool paused);
  bool input_paused() const { return paused_; }

  // Set by the owner: called once, from Close(), after the fd is gone.
  std::function<void(Conn*, const std::string& reason)> on_closed;

 protected:
  // New bytes from the peer. The subclass may Close() from inside.
  virtual void OnBytes(ByteView bytes) = 0;
  // The peer closed its side (EOF) or the socket failed.
  virtual void OnEof(const std::string& reason) { Close(reason); }
  const sdk::Host& host_;

 private:
  static void OnFd(void* user, int fd, uint32_t events);
  void Readable();
  void Writable();
  void UpdateWatch();

  int fd_;
  std::string peer_;
  size_t max_output_;
  uint64_t watch_ = 0;
  bool want_write_ = false;
  bool paused_ = false;
  Bytes out_;
  size_t out_pos_ = 0;
  bool closed_ = false;
  bool close_after_flush_ = false;
  std::string close_reason_;
};

}  // namespace gw::osap::session
