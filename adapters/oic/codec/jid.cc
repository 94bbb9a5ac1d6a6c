#include "oic/codec/jid.h"

#include "oic/codec/text_util.h"

namespace gw::oic {

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool valid_localpart(std::string_view s) {
  if (s.empty() || s.size() > 1023) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7F) return false;
    switch (c) {  // RFC 7622 localpart exclusions
      case '"': case '&': case '\'': case '/': case ':': case '<': case '>': case '@':
        return false;
      default:
        break;
    }
  }
  return true;
}

bool valid_domain(std::string_view s) {
  if (s.empty() || s.size() > 1023) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7F || c == '@' || c == '/') return false;
  return true;
}

bool valid_version(std::string_view v) {
  auto dot = v.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size() || v.size() > 16) return false;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (i != dot && !(v[i] >= '0' && v[i] <= '9')) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

}  // namespace

bool is_valid_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!is_hex(s[i])) {
      return false;
    }
  }
  return true;
}

bool is_valid_device_type(std::string_view s) {
  if (s.empty() || s.size() > 64 || s == kClientDeviceType) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  return true;
}

std::string OicJid::resource() const {
  return "OIC/" + version + "/" + (client ? std::string(kClientDeviceType) : device_type) + "/" + uuid;
}

bool OicJid::same_as(const OicJid& o) const {
  return lower(user) == lower(o.user) && lower(domain) == lower(o.domain) && version == o.version &&
         client == o.client && device_type == o.device_type && lower(uuid) == lower(o.uuid);
}

gw::Result<OicJid> make_server_jid(std::string_view user, std::string_view domain,
                                   std::string_view device_type, std::string_view uuid) {
  if (!valid_localpart(user)) return make_error("jid: invalid user '" + printable(user) + "'");
  if (!valid_domain(domain)) return make_error("jid: invalid domain '" + printable(domain) + "'");
  if (!is_valid_device_type(device_type))
    return make_error("jid: invalid OIC device type '" + printable(device_type) + "'");
  if (!is_valid_uuid(uuid)) return make_error("jid: invalid UUID '" + printable(uuid) + "'");
  OicJid j;
  j.user.assign(user);
  j.domain.assign(domain);
  j.version.assign(kOicJidVersion);
  j.device_type.assign(device_type);
  j.uuid.assign(uuid);
  return j;
}

gw::Result<OicJid> make_client_jid(std::string_view user, std::string_view domain, std::string_view uuid) {
  if (!valid_localpart(user)) return make_error("jid: invalid user '" + printable(user) + "'");
  if (!valid_domain(domain)) return make_error("jid: invalid domain '" + printable(domain) + "'");
  if (!is_valid_uuid(uuid)) return make_error("jid: invalid UUID '" + printable(uuid) + "'");
  OicJid j;
  j.user.assign(user);
  j.domain.assign(domain);
  j.version.assign(kOicJidVersion);
  j.client = true;
  j.device_type.assign(kClientDeviceType);
  j.uuid.assign(uuid);
  return j;
}

gw::Result<OicJid> parse_oic_resource(std::string_view r) {
  // OIC / version / type / uuid — exactly four segments.
  std::string_view seg[4];
  std::size_t n = 0;
  std::string_view rest = r;
  while (true) {
    auto slash = rest.find('/');
    if (n == 4) return make_error("jid: resource has more than four segments: '" + printable(r) + "'");
    seg[n++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (n != 4) return make_error("jid: resource is not OIC/<version>/<type>/<UUID>: '" + printable(r) + "'");
  if (seg[0] != "OIC") return make_error("jid: resource does not start with 'OIC/': '" + printable(r) + "'");
  if (!valid_version(seg[1])) return make_error("jid: invalid version '" + printable(seg[1]) + "'");
  OicJid j;
  j.version.assign(seg[1]);
  if (seg[2] == kClientDeviceType) {
    j.client = true;
  } else if (!is_valid_device_type(seg[2])) {
    return make_error("jid: invalid OIC device type '" + printable(seg[2]) + "'");
  }
  j.device_type.assign(seg[2]);
  if (!is_valid_uuid(seg[3])) return make_error("jid: invalid UUID '" + printable(seg[3]) + "'");
  j.uuid.assign(seg[3]);
  return j;
}

gw::Result<OicJid> parse_oic_jid(std::string_view full) {
  auto slash = full.find('/');
  if (slash == std::string_view::npos) return make_error("jid: not a full JID (no resource): '" + printable(full) + "'");
  std::string_view bare = full.substr(0, slash);
  auto at = bare.find('@');
  if (at == std::string_view::npos) return make_error("jid: bare JID has no user part: '" + printable(bare) + "'");
  std::string_view user = bare.substr(0, at), domain = bare.substr(at + 1);
  if (!valid_localpart(user)) return make_error("jid: invalid user '" + printable(user) + "'");
  if (!valid_domain(domain)) return make_error("jid: invalid domain '" + printable(domain) + "'");
  auto j = parse_oic_resource(full.substr(slash + 1));
  if (!j) return j.error();
  j->user.assign(user);
  j->domain.assign(domain);
  return j;
}

}  // namespace gw::oic
