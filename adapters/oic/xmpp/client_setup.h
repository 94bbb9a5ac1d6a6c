// Connection settings every OIC RA XMPP client of the gateway uses (OIC RA v1.0 section 7.2 and
// ENGINEERING-NOTES "XMPP"): TLS required with the server certificate verified, SASL
// SCRAM-SHA-1 (+PLUS, or prosody refuses the GS2 'y' flag as a downgrade).
#pragma once

#include <gloox/clientbase.h>
#include <gloox/gloox.h>

#include <string>
#include <vector>

namespace gw::oic::xmpp {

struct ClientSecurity {
  // PEM files with the CAs that may sign the server certificate. Empty: the system trust store.
  std::vector<std::string> ca_files;
  // The name the certificate must carry (normally the JID domain).
  std::string server_name;
  // Drop available presence before gloox parses it (sessions that only use unavailable presence:
  // the bridged devices; codec/presence_filter.h).
  bool drop_available_presence = false;
};

// Applies TLSRequired, the SCRAM-SHA-1 mechanisms and the gateway's TLS layer (OpenSslTls: one
// shared verifying SSL_CTX per CA set instead of gloox's per-client GnuTLS credentials, which load
// the whole system trust store for every session — see openssl_tls.h). Returns false, with the
// reason in *error, if the CA files cannot be loaded. Call before connect(); the caller's
// ConnectionListener must still reject the handshake in onTLSConnect() unless
// CertInfo.status == gloox::CertOk.
bool apply_client_security(gloox::ClientBase& client, const ClientSecurity& sec, std::string* error = nullptr);

}  // namespace gw::oic::xmpp
