#include "oic/xmpp/openssl_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <map>
#include <mutex>

namespace gw::oic::xmpp {

namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::mutex g_ctx_mu;
std::map<std::string, std::weak_ptr<SSL_CTX>> g_ctx_cache;  // key: the CA file list, '\n'-joined

int status_of(long verify_result) {
  switch (verify_result) {
    case X509_V_OK:
      return gloox::CertOk;
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return gloox::CertInvalid | gloox::CertWrongPeer;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return gloox::CertInvalid | gloox::CertExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return gloox::CertInvalid | gloox::CertNotActive;
    case X509_V_ERR_CERT_REVOKED:
      return gloox::CertInvalid | gloox::CertRevoked;
    case X509_V_ERR_INVALID_CA:
      return gloox::CertInvalid | gloox::CertSignerNotCa;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return gloox::CertInvalid | gloox::CertSignerUnknown;
    default:
      return gloox::CertInvalid;
  }
}

std::string common_name(const X509_NAME* name) {
  char buf[256] = {0};
  if (X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(name), NID_commonName, buf, sizeof buf) < 0) return {};
  return buf;
}

int unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int>(timegm(&tm));
}

}  // namespace

std::shared_ptr<SSL_CTX> shared_client_context(const std::vector<std::string>& ca_files, std::string* error) {
  std::string key;
  for (auto& f : ca_files) key += f + "\n";
  std::lock_guard<std::mutex> lock(g_ctx_mu);
  if (auto it = g_ctx_cache.find(key); it != g_ctx_cache.end())
    if (auto ctx = it->second.lock()) return ctx;

  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) {
    if (error) *error = "SSL_CTX_new: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);  // tls-unique, see the header
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // Verification result is judged after the handshake (CertInfo -> ConnectionListener).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (ca_files.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      if (error) *error = "system trust store: " + openssl_error();
      return nullptr;
    }
  } else {
    for (auto& f : ca_files) {
      if (SSL_CTX_load_verify_locations(ctx.get(), f.c_str(), nullptr) != 1) {
        if (error) *error = "CA file \"" + f + "\": " + openssl_error();
        return nullptr;
      }
    }
  }
  g_ctx_cache[key] = ctx;
  return ctx;
}

OpenSslTls::OpenSslTls(gloox::TLSHandler* th, const std::string& server, std::shared_ptr<SSL_CTX> ctx)
    : gloox::TLSBase(th, server), ctx_(std::move(ctx)) {}

OpenSslTls::~OpenSslTls() {
  m_handler = nullptr;
  cleanup();
}

bool OpenSslTls::init(const std::string&, const std::string&, const gloox::StringList&) {
  m_valid = ctx_ != nullptr;
  return m_valid;
}

bool OpenSslTls::ensure_session() {
  if (ssl_) return true;
  if (!ctx_) return false;
  ssl_ = SSL_new(ctx_.get());
  if (!ssl_) return false;
  net_in_ = BIO_new(BIO_s_mem());
  net_out_ = BIO_new(BIO_s_mem());
  if (!net_in_ || !net_out_) {
    BIO_free(net_in_);
    BIO_free(net_out_);
    net_in_ = net_out_ = nullptr;
    SSL_free(ssl_);
    ssl_ = nullptr;
    return false;
  }
  BIO_set_mem_eof_return(net_in_, -1);  // empty input = "want more", not EOF
  SSL_set_bio(ssl_, net_in_, net_out_);  // the SSL object owns both BIOs now
  SSL_set_connect_state(ssl_);
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_tlsext_host_name(ssl_, m_server.c_str());
  SSL_set1_host(ssl_, m_server.c_str());
  return true;
}

void OpenSslTls::cleanup() {
  if (filter_) dropped_total_ += filter_->dropped();
  filter_.reset();
  if (ssl_) SSL_free(ssl_);  // frees net_in_ / net_out_
  ssl_ = nullptr;
  net_in_ = net_out_ = nullptr;
  m_secure = false;
  handshaking_ = false;
  failed_ = false;
}

bool OpenSslTls::handshake() {
  if (!ensure_session()) {
    fail_handshake();
    return false;
  }
  handshaking_ = true;
  continue_handshake();
  return true;
}

void OpenSslTls::flush_out() {
  if (!net_out_) return;
  std::string out;
  char buf[16384];
  int n;
  while ((n = BIO_read(net_out_, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  if (!out.empty() && m_handler) m_handler->handleEncryptedData(this, out);
}

void OpenSslTls::continue_handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  flush_out();
  if (!ssl_) return;  // the handler tore the session down while sending
  if (r == 1) {
    finish_handshake();
    return;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
  fail_handshake();
}

void OpenSslTls::fail_handshake() {
  handshaking_ = false;
  failed_ = true;
  m_certInfo.status = gloox::CertInvalid;
  if (m_handler) m_handler->handleHandshakeResult(this, false, m_certInfo);
}

void OpenSslTls::finish_handshake() {
  handshaking_ = false;
  m_secure = true;
  m_certInfo = gloox::CertInfo();
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (!peer) {
    m_certInfo.status = gloox::CertInvalid;
  } else {
    m_certInfo.status = status_of(SSL_get_verify_result(ssl_));
    m_certInfo.chain = m_certInfo.status == gloox::CertOk;
    m_certInfo.issuer = common_name(X509_get_issuer_name(peer));
    m_certInfo.server = common_name(X509_get_subject_name(peer));
    m_certInfo.date_from = unix_time(X509_get0_notBefore(peer));
    m_certInfo.date_to = unix_time(X509_get0_notAfter(peer));
    X509_free(peer);
  }
  m_certInfo.protocol = SSL_get_version(ssl_);
  if (const char* c = SSL_get_cipher_name(ssl_)) m_certInfo.cipher = c;
  m_certInfo.compression = "NULL";
  if (m_handler) m_handler->handleHandshakeResult(this, true, m_certInfo);
}

bool OpenSslTls::encrypt(const std::string& data) {
  if (!ssl_ || !m_secure || failed_) return false;
  ERR_clear_error();
  // A memory BIO never refuses bytes, so one SSL_write takes everything (or fails for good).
  if (!data.empty() && SSL_write(ssl_, data.data(), static_cast<int>(data.size())) <= 0) {
    failed_ = true;
    return false;
  }
  flush_out();
  return true;
}

void OpenSslTls::read_plaintext() {
  std::string plain;
  char buf[16384];
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plain.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    int e = SSL_get_error(ssl_, n);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_ZERO_RETURN) failed_ = true;
    break;
  }
  flush_out();  // alerts or post-handshake records the read produced
  bool failed = failed_;
  if (drop_presence_ && !plain.empty()) {
    if (!filter_) filter_ = std::make_unique<PresenceFilter>();
    plain = filter_->feed(plain);
  }
  if (!plain.empty() && m_handler) m_handler->handleDecryptedData(this, plain);
  // A broken record layer (bad MAC, alert): gloox's only TLS failure path is the handshake
  // result, which makes ClientBase disconnect with ConnTlsFailed.
  if (failed && ssl_ && m_handler) m_handler->handleHandshakeResult(this, false, m_certInfo);
}

int OpenSslTls::decrypt(const std::string& data) {
  if (!ssl_ || failed_) return -1;
  if (!data.empty() && BIO_write(net_in_, data.data(), static_cast<int>(data.size())) <= 0) return -1;
  if (handshaking_) {
    continue_handshake();
    if (!ssl_ || !m_secure) return static_cast<int>(data.size());
  }
  if (m_secure && !failed_) read_plaintext();
  return static_cast<int>(data.size());
}

bool OpenSslTls::hasChannelBinding() const { return true; }

const std::string OpenSslTls::channelBinding() const {
  if (!ssl_ || !m_secure) return {};
  // RFC 5929 §3.1: the first Finished message of the most recent handshake — ours for a full
  // handshake, the server's for an abbreviated (resumed) one.
  unsigned char buf[128];
  std::size_t n = SSL_session_reused(ssl_) ? SSL_get_peer_finished(ssl_, buf, sizeof buf)
                                            : SSL_get_finished(ssl_, buf, sizeof buf);
  return std::string(reinterpret_cast<const char*>(buf), n);
}

}  // namespace gw::oic::xmpp
