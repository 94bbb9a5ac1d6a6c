// Connection settings every OIC RA XMPP client of the gateway uses (OIC RA v1.0 section 7.2 and
// ENGINEERING-NOTES "XMPP"): TLS required with the server certificate verified, SASL
// SCRAM-SHA-1 (+PLUS, or prosody refuses the GS2 'y' flag as a downgrade), and the gloox 1.0.24
// CA-file workaround below.
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
};

// Applies TLSRequired, the SCRAM-SHA-1 mechanisms and a verifying TLS implementation.
//
// gloox 1.0.24 (GnuTLS build) loses CA files given with ClientBase::setCACerts(): connect() loads
// them into the TLS object before that object's init() allocates fresh credentials, so a private
// CA is never trusted (CertInfo.status = CertInvalid|CertSignerUnknown). The workaround is to
// create and init() the TLSDefault ourselves, add the CA files afterwards, and hand it to the
// client with setEncryptionImpl() (the client owns and deletes it). Returns false if the TLS
// implementation cannot be initialised. Call before connect(); the caller's ConnectionListener
// must still reject the handshake in onTLSConnect() unless CertInfo.status == gloox::CertOk.
bool apply_client_security(gloox::ClientBase& client, const ClientSecurity& sec);

}  // namespace gw::oic::xmpp
