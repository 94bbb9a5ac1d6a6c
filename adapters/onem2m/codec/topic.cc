#include "onem2m/codec/topic.h"

#include <cctype>

namespace gw::onem2m {

namespace {

bool valid_level(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == '+' || c == '#' || c == '/' || c == '\0') return false;
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t b = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(b, i - b));
      b = i + 1;
    }
  return out;
}

}  // namespace

std::string_view topic_kind_name(TopicKind k) {
  switch (k) {
    case TopicKind::kRequest:
      return "req";
    case TopicKind::kResponse:
      return "resp";
    case TopicKind::kRegRequest:
      return "reg_req";
    case TopicKind::kRegResponse:
      return "reg_resp";
  }
  return "req";
}

std::string id_to_topic(std::string_view id) {
  while (!id.empty() && id.front() == '/') id.remove_prefix(1);
  std::string out(id);
  for (char& c : out)
    if (c == '/') c = ':';
  return out;
}

std::string topic_to_id(std::string_view level) {
  if (level.find(':') == std::string_view::npos) return std::string(level);
  std::string out(level);
  for (char& c : out)
    if (c == ':') c = '/';
  if (out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

std::string sp_relative_cse_id(std::string_view id) {
  while (!id.empty() && (id.front() == '/' || id.front() == ':')) id.remove_prefix(1);
  return "/" + std::string(id);
}

bool same_topic_id(std::string_view a, std::string_view b) {
  std::string ta = id_to_topic(a), tb = id_to_topic(b);
  while (!ta.empty() && ta.front() == ':') ta.erase(ta.begin());
  while (!tb.empty() && tb.front() == ':') tb.erase(tb.begin());
  return ta == tb;
}

gw::Result<std::string> make_topic(TopicKind kind, std::string_view originator_id, std::string_view receiver_id,
                                   Format f) {
  std::string o = id_to_topic(originator_id), r = id_to_topic(receiver_id);
  if (!valid_level(o)) return gw::make_error("originator '" + std::string(originator_id) + "' cannot be a topic level");
  if (!valid_level(r)) return gw::make_error("receiver '" + std::string(receiver_id) + "' cannot be a topic level");
  Topic t{kind, o, r, f, true};
  return format_topic(t);
}

std::string format_topic(const Topic& t) {
  std::string s = "/oneM2M/";
  s += topic_kind_name(t.kind);
  s += '/';
  s += t.originator;
  s += '/';
  s += t.receiver;
  if (t.format_given) {
    s += '/';
    s += format_name(t.format);
  }
  return s;
}

gw::Result<Topic> parse_topic(std::string_view topic) {
  std::string_view s = topic;
  if (!s.empty() && s.front() == '/') s.remove_prefix(1);
  auto levels = split(s, '/');
  if (levels.size() < 4 || levels[0] != "oneM2M")
    return gw::make_error("not a oneM2M topic: '" + std::string(topic) + "'");
  Topic t;
  std::string_view kind = levels[1];
  if (kind == "req")
    t.kind = TopicKind::kRequest;
  else if (kind == "resp")
    t.kind = TopicKind::kResponse;
  else if (kind == "reg_req")
    t.kind = TopicKind::kRegRequest;
  else if (kind == "reg_resp")
    t.kind = TopicKind::kRegResponse;
  else
    return gw::make_error("unknown oneM2M topic kind '" + std::string(kind) + "'");
  if (levels.size() > 5) return gw::make_error("too many levels in topic '" + std::string(topic) + "'");
  if (!valid_level(levels[2])) return gw::make_error("bad originator level in topic '" + std::string(topic) + "'");
  if (!valid_level(levels[3])) return gw::make_error("bad receiver level in topic '" + std::string(topic) + "'");
  t.originator = std::string(levels[2]);
  t.receiver = std::string(levels[3]);
  if (levels.size() == 5) {
    auto f = format_from_name(levels[4]);
    if (!f) return gw::make_error("unsupported serialization '" + std::string(levels[4]) + "' in topic");
    t.format = *f;
    t.format_given = true;
  } else {
    t.format = Format::kJson;
    t.format_given = false;
  }
  return t;
}

gw::Result<Topic> response_topic_for(const Topic& request) {
  Topic t = request;
  if (request.kind == TopicKind::kRequest)
    t.kind = TopicKind::kResponse;
  else if (request.kind == TopicKind::kRegRequest)
    t.kind = TopicKind::kRegResponse;
  else
    return gw::make_error("a response topic answers a req or reg_req topic only");
  return t;
}

std::vector<std::string> cse_subscriptions(std::string_view cse_id) {
  std::string id = id_to_topic(cse_id);
  return {"/oneM2M/req/+/" + id + "/#", "/oneM2M/resp/" + id + "/+/#", "/oneM2M/reg_req/+/" + id + "/#"};
}

std::vector<std::string> ae_subscriptions(std::string_view ae_id) {
  std::string id = id_to_topic(ae_id);
  return {"/oneM2M/req/+/" + id + "/#", "/oneM2M/resp/" + id + "/+/#"};
}

std::string make_client_id(EntityKind kind, std::string_view id) {
  while (!id.empty() && id.front() == '/') id.remove_prefix(1);
  return std::string(kind == EntityKind::kCse ? "C::" : "A::") + std::string(id);
}

gw::Result<ClientId> parse_client_id(std::string_view client_id) {
  ClientId c;
  if (client_id.size() < 3 || client_id[1] != ':')
    return gw::make_error("client id '" + std::string(client_id) + "' has no C:: or A:: prefix");
  if (client_id[0] == 'C')
    c.kind = EntityKind::kCse;
  else if (client_id[0] == 'A')
    c.kind = EntityKind::kAe;
  else
    return gw::make_error("client id '" + std::string(client_id) + "' has no C:: or A:: prefix");
  std::string_view rest = client_id.substr(2);
  if (!rest.empty() && rest.front() == ':') rest.remove_prefix(1);  // "C::x"; "C:x" tolerated
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (rest.empty()) return gw::make_error("client id '" + std::string(client_id) + "' has an empty ID");
  c.id = std::string(rest);
  return c;
}

gw::Result<PointOfAccess> parse_poa(std::string_view uri) {
  PointOfAccess p;
  auto lower_starts = [&](std::string_view prefix) {
    if (uri.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(uri[i])) != prefix[i]) return false;
    return true;
  };
  std::string_view rest;
  if (lower_starts("mqtts://")) {
    p.tls = true;
    rest = uri.substr(8);
  } else if (lower_starts("mqtt://")) {
    rest = uri.substr(7);
  } else {
    return gw::make_error("pointOfAccess '" + std::string(uri) + "' is not mqtt:// or mqtts://");
  }
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos && rest.substr(end) != "/")
    return gw::make_error("pointOfAccess '" + std::string(uri) + "' has a path, query or fragment");
  if (authority.find('@') != std::string_view::npos)
    return gw::make_error("pointOfAccess '" + std::string(uri) + "' carries user information");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return gw::make_error("pointOfAccess '" + std::string(uri) + "': unclosed '['");
    std::string_view host = authority.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos)
      return gw::make_error("pointOfAccess '" + std::string(uri) + "': brackets around a non-IPv6 host");
    for (char c : host)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return gw::make_error("pointOfAccess '" + std::string(uri) + "': bad IPv6 literal");
    p.host = std::string(host);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return gw::make_error("pointOfAccess '" + std::string(uri) + "': junk after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return gw::make_error("pointOfAccess '" + std::string(uri) + "': empty port");
    }
  } else {
    size_t colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return gw::make_error("pointOfAccess '" + std::string(uri) + "': empty port");
    }
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
        return gw::make_error("pointOfAccess '" + std::string(uri) + "': bad host");
    p.host = std::string(host);
  }
  if (p.host.empty()) return gw::make_error("pointOfAccess '" + std::string(uri) + "' has no host");
  if (port_text.empty()) {
    p.port = p.tls ? 8883 : 1883;
  } else {
    uint32_t port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535)
        return gw::make_error("pointOfAccess '" + std::string(uri) + "': bad port");
      port = port * 10 + uint32_t(c - '0');
    }
    if (port == 0 || port > 65535) return gw::make_error("pointOfAccess '" + std::string(uri) + "': bad port");
    p.port = static_cast<uint16_t>(port);
  }
  return p;
}

std::string format_poa(const PointOfAccess& poa) {
  std::string s = poa.tls ? "mqtts://" : "mqtt://";
  if (poa.host.find(':') != std::string::npos)
    s += "[" + poa.host + "]";
  else
    s += poa.host;
  s += ":" + std::to_string(poa.port);
  return s;
}

}  // namespace gw::onem2m
