#include "oic/xmpp/client_setup.h"

#include "oic/xmpp/openssl_tls.h"

namespace gw::oic::xmpp {

bool apply_client_security(gloox::ClientBase& client, const ClientSecurity& sec, std::string* error) {
  client.setTls(gloox::TLSRequired);
  client.setSASLMechanisms(gloox::SaslMechScramSha1 | gloox::SaslMechScramSha1Plus);
  // No XEP-0138 stream compression (deprecated: compression under TLS leaks secrets, CRIME). It also
  // keeps gloox from allocating a zlib deflate+inflate pair (~65 KB) for every session at connect().
  client.setCompression(false);
  auto ctx = shared_client_context(sec.ca_files, error);
  if (!ctx) return false;
  auto* tls = new OpenSslTls(&client, sec.server_name, std::move(ctx));
  tls->init();
  tls->drop_available_presence(sec.drop_available_presence);
  client.setEncryptionImpl(tls);  // the client owns and deletes it
  return true;
}

}  // namespace gw::oic::xmpp
