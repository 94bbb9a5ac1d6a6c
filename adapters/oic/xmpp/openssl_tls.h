// A gloox::TLSBase on OpenSSL 3 with one shared, verifying client SSL_CTX per CA set.
//
// Why hand-written: Debian's gloox 1.0.24 is built against GnuTLS, and its GnuTLSClient::init()
// loads the whole system trust store (~140 CA certificates, parsed by libtasn1) into fresh
// credentials for every client object — measured with heaptrack at ~3.5 MB and ~100 ms of CPU per
// XMPP session. The gateway keeps one XMPP session per bridged camera (OIC RA §7.2, XC-Proxy), so
// 10,000 cameras would need ~35 GB. No packaged library offers gloox a shared-context TLS layer;
// this one holds the CA store once (in an SSL_CTX shared by every session with the same CA files)
// and per session only an SSL object with memory BIOs, whose record buffers are released while
// idle (SSL_MODE_RELEASE_BUFFERS).
//
// Behaviour:
//   * TLS 1.2 at most: gloox 1.0.24's SCRAM-SHA-1-PLUS sends the `tls-unique` channel binding,
//     which TLS 1.3 does not define (RFC 8446 §C.5); prosody offers -PLUS and refuses the 'y' flag
//     (ENGINEERING-NOTES "XMPP"), so the binding must exist. TLS 1.2 is also what gloox's own
//     GnuTLS build negotiates.
//   * The server certificate is verified against the CA files (or the system store when none is
//     configured) and its name against `server` (SSL_set1_host); gloox learns the result through
//     CertInfo.status (CertOk only when both hold) and the ConnectionListener decides.
//   * channelBinding(): tls-unique (RFC 5929 §3.1) = the first Finished message of the handshake,
//     the client's own for a full handshake.
//   * Not thread-safe per object (gloox drives each client from one thread); the context cache is
//     guarded by a mutex.
#pragma once

#include <gloox/tlsbase.h>

#include "oic/codec/presence_filter.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

typedef struct ssl_st SSL;
typedef struct bio_st BIO;
typedef struct ssl_ctx_st SSL_CTX;

namespace gw::oic::xmpp {

// The shared client context for a CA set (created on first use, kept while any session uses it).
// Returns nullptr and sets *error when a CA file cannot be loaded.
std::shared_ptr<SSL_CTX> shared_client_context(const std::vector<std::string>& ca_files, std::string* error);

class OpenSslTls : public gloox::TLSBase {
 public:
  OpenSslTls(gloox::TLSHandler* th, const std::string& server, std::shared_ptr<SSL_CTX> ctx);
  ~OpenSslTls() override;

  // gloox::TLSBase
  bool init(const std::string& clientKey = gloox::EmptyString, const std::string& clientCerts = gloox::EmptyString,
            const gloox::StringList& cacerts = gloox::StringList()) override;
  bool encrypt(const std::string& data) override;
  int decrypt(const std::string& data) override;
  void cleanup() override;
  bool handshake() override;
  bool hasChannelBinding() const override;
  const std::string channelBinding() const override;
  // The CA set is fixed by the shared context; gloox calls these from connect() with its own
  // (empty) lists, so they are ignored.
  void setCACerts(const gloox::StringList&) override {}
  void setClientCert(const std::string&, const std::string&) override {}

  // Removes available-presence stanzas from the decrypted stream before gloox parses them (see
  // codec/presence_filter.h); for sessions that only act on unavailable presence. Reset with the
  // session (a reconnect starts a new stream).
  void drop_available_presence(bool on) { drop_presence_ = on; }
  std::uint64_t presences_dropped() const { return dropped_total_ + (filter_ ? filter_->dropped() : 0); }

  bool has_session() const { return ssl_ != nullptr; }

 private:
  bool ensure_session();
  void flush_out();
  void continue_handshake();
  void finish_handshake();
  void fail_handshake();
  void read_plaintext();

  std::shared_ptr<SSL_CTX> ctx_;
  SSL* ssl_ = nullptr;
  BIO* net_in_ = nullptr;   // the network's bytes, read by the SSL object
  BIO* net_out_ = nullptr;  // the SSL object's records, to be sent on the network
  bool handshaking_ = false;
  bool failed_ = false;
  bool drop_presence_ = false;
  std::unique_ptr<PresenceFilter> filter_;
  std::uint64_t dropped_total_ = 0;
};

}  // namespace gw::oic::xmpp
