// OIC RA v1.0 section 7.1.1 full-JID scheme:
//   OIC Client:  {user}@{domain}/OIC/1.0/Client/{UUID}
//   OIC Server:  {user}@{domain}/OIC/1.0/{OIC device type rt}/{UUID}
// (the XC-Proxy logs every bridged camera in as an OIC Server).
#pragma once

#include <string>
#include <string_view>

#include "gw/result.h"

namespace gw::oic {

inline constexpr std::string_view kOicJidVersion = "1.0";
inline constexpr std::string_view kClientDeviceType = "Client";

// 8-4-4-4-12 hexadecimal digits (either case), 36 characters. Note: both example JIDs printed in
// the spec (…-9E6234671ADC0 with 13 digits, FXFFB960-… with an 'X') fail this check; see PROTOCOL.md.
bool is_valid_uuid(std::string_view s);

// Device type (the "rt" of /oic/d, e.g. "oic.d.camera"): 1..64 characters from [A-Za-z0-9._-],
// not "Client".
bool is_valid_device_type(std::string_view s);

struct OicJid {
  std::string user;         // local part, non-empty
  std::string domain;       // non-empty
  std::string version;      // "1.0" for everything this code builds
  bool client = false;      // true for .../OIC/<v>/Client/<UUID>
  std::string device_type;  // "Client" when client is true
  std::string uuid;         // as written (case preserved)

  std::string bare() const { return user + "@" + domain; }
  std::string resource() const;  // "OIC/1.0/oic.d.camera/<UUID>"
  std::string full() const { return bare() + "/" + resource(); }
  // Same device: bare JID compared case-insensitively (ASCII), UUID case-insensitively, the rest exactly.
  bool same_as(const OicJid& o) const;
};

// Builders validate their inputs. Errors are prefixed "jid: ".
gw::Result<OicJid> make_server_jid(std::string_view user, std::string_view domain,
                                   std::string_view device_type, std::string_view uuid);
gw::Result<OicJid> make_client_jid(std::string_view user, std::string_view domain, std::string_view uuid);

// Parses a full JID. Accepts any version of the form <digits>.<digits> (the caller decides what it
// supports; see is_supported_version()); requires a valid UUID.
gw::Result<OicJid> parse_oic_jid(std::string_view full_jid);

// Parses only the resource part ("OIC/1.0/Client/<UUID>"); user/domain stay empty.
gw::Result<OicJid> parse_oic_resource(std::string_view resource);

inline bool is_supported_version(const OicJid& j) { return j.version == kOicJidVersion; }

}  // namespace gw::oic
