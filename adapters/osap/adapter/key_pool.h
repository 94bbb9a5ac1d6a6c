// Server ECDH key pairs made ahead of time on one background thread, so that an LBS handshake on
// the event loop only derives (one scalar multiplication instead of two). Every pair is still used
// for exactly one handshake (PROTOCOL.md 12.2: a fresh server key pair per 0x1). This is compute
// offload, not I/O: the thread never touches a socket, the loop never waits for it (an empty pool
// means the loop generates the pair itself).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "osap/codec/crypto.h"

namespace gw::osap::session {

class KeyPool {
 public:
  // target: pairs kept ready (0: no thread, Take() always generates).
  explicit KeyPool(size_t target) : target_(target) {
    if (target_) th_ = std::thread([this] { Run(); });
  }
  ~KeyPool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (th_.joinable()) th_.join();
  }
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // A fresh key pair: from the pool if one is ready, else generated now.
  Result<EcKey> Take() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!keys_.empty()) {
        EcKey k = std::move(keys_.front());
        keys_.pop_front();
        ++taken_;
        cv_.notify_one();
        return k;
      }
      ++missed_;
    }
    cv_.notify_one();
    return EcKey::Generate();
  }
  size_t taken() const {
    std::lock_guard<std::mutex> l(mu_);
    return taken_;
  }
  size_t missed() const {
    std::lock_guard<std::mutex> l(mu_);
    return missed_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      if (keys_.size() >= target_) {
        cv_.wait(l);
        continue;
      }
      l.unlock();
      auto k = EcKey::Generate();
      l.lock();
      if (k) keys_.push_back(std::move(k.value()));
    }
  }
  const size_t target_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<EcKey> keys_;
  bool stop_ = false;
  size_t taken_ = 0, missed_ = 0;
  std::thread th_;
};

}  // namespace gw::osap::session
