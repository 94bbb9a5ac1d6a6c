#include "oic/xmpp/client_setup.h"

#include <gloox/tlsdefault.h>

namespace gw::oic::xmpp {

bool apply_client_security(gloox::ClientBase& client, const ClientSecurity& sec) {
  client.setTls(gloox::TLSRequired);
  client.setSASLMechanisms(gloox::SaslMechScramSha1 | gloox::SaslMechScramSha1Plus);
  gloox::StringList cas(sec.ca_files.begin(), sec.ca_files.end());
  client.setCACerts(cas);  // re-applied by connect() onto the already initialised credentials
  auto* tls = new gloox::TLSDefault(&client, sec.server_name, gloox::TLSDefault::VerifyingClient);
  if (!tls->init()) {
    delete tls;
    return false;
  }
  tls->setCACerts(cas);
  client.setEncryptionImpl(tls);
  return true;
}

}  // namespace gw::oic::xmpp
