#include "wire.h"

#include <cstring>

#include <nlohmann/json.hpp>

namespace camsim {

using gw::make_error;
using gw::osap::AesKeyFromAscii;
using gw::osap::Bytes;
using gw::osap::ByteView;

namespace {

std::string_view View(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
ByteView BView(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}
void PutStr(std::string& out, std::string_view s) {
  PutU16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}
uint16_t U16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

constexpr char kVersionAuth[] = {0x01, 0x02, 0x00};
constexpr char kVersionOther[] = {0x01, 0x01, 0x00};

std::string Hex2(uint8_t b) {
  static const char* d = "0123456789ABCDEF";
  return std::string{d[b >> 4], d[b & 15]};
}

}  // namespace

// ---- framing -------------------------------------------------------------------------------------

void PutVarint(std::string& out, uint32_t v) {
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v);
}

std::string Frame(uint8_t first_byte, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 5);
  out.push_back(static_cast<char>(first_byte));
  PutVarint(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

int NextFrame(std::string_view buf, size_t& pos, size_t max_total, RawFrame* out, std::string* err) {
  size_t avail = buf.size() - pos;
  if (avail < 2) return 0;
  uint32_t len = 0;
  size_t i = 1;
  for (int shift = 0;; shift += 7, ++i) {
    if (i > 4) {
      if (err) *err = "length field longer than 4 bytes";
      return -1;
    }
    if (i >= avail) return 0;
    uint8_t b = static_cast<uint8_t>(buf[pos + i]);
    len |= static_cast<uint32_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) break;
  }
  size_t header = i + 1;
  if (header + len > max_total) {
    if (err) *err = "frame of " + std::to_string(header + len) + " bytes exceeds " + std::to_string(max_total);
    return -1;
  }
  if (avail < header + len) return 0;
  out->first = static_cast<uint8_t>(buf[pos]);
  out->body.assign(buf.substr(pos + header, len));
  pos += header + len;
  return 1;
}

// ---- LBS -----------------------------------------------------------------------------------------

namespace lbs {

std::string AuthI(Generation gen, std::string_view serial, const Bytes& sealed_public_key) {
  std::string p;
  uint8_t first = 0x12;
  if (gen == Generation::kGen2) {
    first = 0x1A;
    p += {0x01, 0x01, 0x01};  // current type ECDH, one group: ECDH
  }
  p.append(kVersionAuth, 3);
  p.push_back(0x00);  // auth_mode: SAP verification code
  p.push_back(static_cast<char>(serial.size()));
  p.append(serial);
  p.append(View(sealed_public_key));
  return Frame(first, p);
}

std::string ApplyDevid(const Sign& sign) {
  std::string p(kVersionOther, 3);
  p.append(reinterpret_cast<const char*>(sign.data()), sign.size());
  return Frame(0x72, p);
}

std::string Refresh(std::string_view devid, const Sign& sign) {
  std::string p(kVersionOther, 3);
  p.push_back(0x20);
  p.append(devid);
  p.append(reinterpret_cast<const char*>(sign.data()), sign.size());
  return Frame(0x42, p);
}

std::string RefreshI(std::string_view serial, std::string_view devid, const Bytes& sealed_r1) {
  std::string p(kVersionOther, 3);
  p.push_back(static_cast<char>(serial.size()));
  p.append(serial);
  p.push_back(0x20);
  p.append(devid);
  p.append(View(sealed_r1));
  return Frame(0x70, p);
}

std::string Confirm(const Bytes& sealed_r2) {
  std::string p(kVersionOther, 3);
  p.append(View(sealed_r2));
  return Frame(0x90, p);
}

std::string GetDas(const Bytes& sealed_query) {
  std::string p(kVersionOther, 3);
  p.append(View(sealed_query));
  return Frame(0xA0, p);
}

Result<Reply> ParseReply(const RawFrame& f, bool expect_negotiation) {
  Reply r;
  r.type = f.type();
  std::string_view b = f.body;
  size_t at = 0;
  std::string what = "0x" + Hex2(r.type).substr(1) + " reply";
  if (expect_negotiation) {
    if (!(f.flags() & 0x08)) return make_error(what + ": negotiation flag 08 missing");
    if (b.empty()) return make_error(what + ": no negotiation byte");
    r.negotiated = static_cast<uint8_t>(b[0]);
    at = 1;
    if (r.negotiated == 0) {  // "no common group": the server's list follows (§3.3)
      if (b.size() < 2) return make_error(what + ": truncated group list");
      size_t n = static_cast<uint8_t>(b[1]);
      if (b.size() < 2 + n) return make_error(what + ": truncated group list");
      for (size_t i = 0; i < n; ++i) r.groups.push_back(static_cast<uint8_t>(b[2 + i]));
      at = 2 + n;
    }
  }
  if (b.size() < at + 4) return make_error(what + ": " + std::to_string(b.size()) + " bytes, no result");
  at += 3;  // version: parsed, never checked
  r.result = static_cast<uint8_t>(b[at++]);
  if (r.result == kResultOk) r.body.assign(b.substr(at));
  return r;
}

Result<KeyGrant> OpenKeyGrant(Generation gen, std::string_view master_key, std::string_view b) {
  if (b.size() != 130) return make_error("0x8/0x6 body is " + std::to_string(b.size()) + " bytes, expected 130");
  auto key = AesKeyFromAscii(master_key);
  Result<Bytes> devid = make_error("");
  Result<Bytes> sk = make_error("");
  size_t sign_at = 82;
  if (gen == Generation::kGen1) {
    if (static_cast<uint8_t>(b[0]) != 0x30 || static_cast<uint8_t>(b[49]) != 0x20)
      return make_error("0x8/0x6 (gen 1): length bytes are not 30/20");
    devid = gw::osap::CbcDecrypt(key, BView(b.substr(1, 48)));
    sk = gw::osap::CbcDecrypt(key, BView(b.substr(50, 32)));
  } else {
    // tag(16) 20 ct(32) tag(16) 10 ct(16) sign(48)
    if (static_cast<uint8_t>(b[16]) != 0x20 || static_cast<uint8_t>(b[65]) != 0x10)
      return make_error("0x8/0x6 (gen 2): length bytes are not 20/10");
    std::string d(b.substr(0, 16));
    d.append(b.substr(17, 32));
    std::string s(b.substr(49, 16));
    s.append(b.substr(66, 16));
    devid = gw::osap::GcmOpen(key, BView(d));
    sk = gw::osap::GcmOpen(key, BView(s));
  }
  if (!devid.ok()) return make_error("0x8/0x6: devid does not open: " + devid.error().message);
  if (!sk.ok()) return make_error("0x8/0x6: session key does not open: " + sk.error().message);
  if (devid->size() != 32) return make_error("0x8/0x6: devid is " + std::to_string(devid->size()) + " bytes");
  if (sk->size() != 16) return make_error("0x8/0x6: session key is " + std::to_string(sk->size()) + " bytes");
  KeyGrant g;
  g.devid.assign(View(devid.value()));
  for (char c : g.devid)
    if (c < 0x21 || c > 0x7E || c == '"' || c == '\\') return make_error("0x8/0x6: devid is not printable ASCII");
  std::memcpy(g.session_key.data(), sk->data(), 16);
  std::memcpy(g.sign.data(), b.data() + sign_at, 48);
  return g;
}

Result<RefreshKeys> OpenRefreshKeys(std::string_view master_key, std::string_view b) {
  if (b.size() != 32) return make_error("0x8 (F3) body is " + std::to_string(b.size()) + " bytes, expected 32");
  auto plain = gw::osap::CbcDecrypt(AesKeyFromAscii(master_key), BView(b));
  if (!plain.ok()) return make_error("0x8 (F3): " + plain.error().message);
  if (plain->size() != 18) return make_error("0x8 (F3): plaintext is " + std::to_string(plain->size()) + " bytes");
  RefreshKeys k;
  k.r1 = (*plain)[0];
  k.r2 = (*plain)[1];
  std::memcpy(k.session_key.data(), plain->data() + 2, 16);
  return k;
}

std::string DasQueryJson(std::string_view serial) {
  return std::string(R"({"DevSerial":")") + std::string(serial) + R"(","Type":"DAS","Mode":0})";
}

Result<DasInfo> OpenDasInfo(const SessionKey& sk, std::string_view b) {
  auto plain = gw::osap::CbcDecrypt(sk, BView(b));
  if (!plain.ok()) return make_error("0xB: " + plain.error().message);
  auto j = nlohmann::json::parse(View(plain.value()), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("0xB: not a JSON object");
  auto it = j.find("DasInfo");
  if (it == j.end() || !it->is_object()) return make_error("0xB: no DasInfo");
  const auto& d = *it;
  DasInfo info;
  auto str = [&](const char* k, std::string& out) {
    auto m = d.find(k);
    if (m == d.end() || !m->is_string() || m->get_ref<const std::string&>().size() >= 64) return false;
    out = m->get<std::string>();
    return true;
  };
  auto port = [&](const char* k, uint16_t& out) {
    auto m = d.find(k);
    if (m == d.end() || !m->is_number_integer()) return false;
    auto v = m->get<int64_t>();
    if (v < 0 || v > 65535) return false;
    out = static_cast<uint16_t>(v);
    return true;
  };
  if (!str("Address", info.address) || !port("Port", info.port) || !port("UdpPort", info.udp_port) ||
      !str("Domain", info.domain) || !str("ServerID", info.server_id))
    return make_error("0xB: DasInfo lacks a member or has a bad one");
  return info;
}

}  // namespace lbs

// ---- MQTT ----------------------------------------------------------------------------------------

namespace mqtt {

std::string Connect(const ConnectOptions& o) {
  std::string p;
  PutStr(p, "MQTT");
  p.push_back(0x04);
  uint8_t flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | (o.clean_session ? 0x02 : 0x00);
  p.push_back(static_cast<char>(flags));
  PutU16(p, o.keep_alive);
  PutStr(p, "");  // empty client id
  std::string topic = o.will_topic;
  if (topic.size() < kWillTopicPad) topic.resize(kWillTopicPad, '\0');
  PutStr(p, topic);
  PutStr(p, o.will_payload);
  PutStr(p, o.username);
  PutStr(p, o.password);
  return Frame(kConnect << 4, p);
}

std::string Subscribe(uint16_t packet_id, const std::vector<std::string>& filters) {
  std::string p;
  PutU16(p, packet_id);
  for (auto& f : filters) {
    PutStr(p, f);
    p.push_back(0x01);
  }
  return Frame(static_cast<uint8_t>(kSubscribe << 4 | 0x02), p);
}

std::string Publish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain, bool dup,
                    uint16_t packet_id) {
  std::string p;
  p.reserve(topic.size() + payload.size() + 4);
  PutStr(p, topic);
  if (qos > 0) PutU16(p, packet_id);
  p.append(payload);
  uint8_t first = static_cast<uint8_t>(kPublish << 4 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0));
  return Frame(first, p);
}

std::string Puback(uint16_t packet_id) {
  std::string p;
  PutU16(p, packet_id);
  return Frame(kPuback << 4, p);
}
std::string Pingreq() { return std::string("\xC0\x00", 2); }
std::string Disconnect() { return std::string("\xE0\x00", 2); }

Result<Connack> ParseConnack(const RawFrame& f) {
  if (f.type() != kConnack || f.body.size() != 2) return make_error("CONNACK: malformed");
  return Connack{(f.body[0] & 1) != 0, static_cast<uint8_t>(f.body[1])};
}

Result<Suback> ParseSuback(const RawFrame& f) {
  if (f.type() != kSuback || f.body.size() < 3) return make_error("SUBACK: malformed");
  Suback s;
  s.packet_id = U16(f.body, 0);
  for (size_t i = 2; i < f.body.size(); ++i) s.codes.push_back(static_cast<uint8_t>(f.body[i]));
  return s;
}

Result<PublishIn> ParsePublish(const RawFrame& f) {
  PublishIn p;
  p.qos = (f.flags() >> 1) & 3;
  p.dup = f.flags() & 0x08;
  p.retain = f.flags() & 0x01;
  if (p.qos > 1) return make_error("PUBLISH: QoS " + std::to_string(p.qos) + " not supported");
  std::string_view b = f.body;
  if (b.size() < 2) return make_error("PUBLISH: truncated");
  size_t tl = U16(b, 0);
  if (b.size() < 2 + tl + (p.qos ? 2 : 0)) return make_error("PUBLISH: truncated");
  p.topic.assign(b.substr(2, tl));
  size_t at = 2 + tl;
  if (p.qos) {
    p.packet_id = U16(b, at);
    at += 2;
    if (p.packet_id == 0) return make_error("PUBLISH: packet id 0");
  }
  p.payload.assign(b.substr(at));
  return p;
}

Result<uint16_t> ParsePuback(const RawFrame& f) {
  if (f.type() != kPuback || f.body.size() != 2) return make_error("PUBACK: malformed");
  return U16(f.body, 0);
}

}  // namespace mqtt

// ---- payload -------------------------------------------------------------------------------------

namespace payload {

std::string Common(std::string_view cmd_ver, uint32_t seq, int msg_type) {
  std::string s = "{";
  if (!cmd_ver.empty()) {
    s += "\"CmdVer\":\"";
    s += cmd_ver;
    s += "\",";
  }
  s += "\"Seq\":" + std::to_string(seq);
  if (msg_type) s += ",\"MsgType\":" + std::to_string(msg_type);
  s += "}";
  return s;
}

std::string Seal(const SessionKey& sk, std::string_view common, std::string_view body) {
  std::string plain;
  plain.reserve(2 + common.size() + body.size());
  PutU16(plain, static_cast<uint16_t>(common.size()));
  plain.append(common);
  plain.append(body);
  auto c = gw::osap::CbcEncrypt(sk, BView(plain));
  return std::string(View(c));
}

std::string SealWill(const SessionKey& sk, std::string_view json) {
  return std::string(View(gw::osap::CbcEncrypt(sk, BView(json))));
}

Result<Message> Open(const SessionKey& sk, std::string_view data, bool thing) {
  auto plain = gw::osap::CbcDecrypt(sk, BView(data));
  if (!plain.ok()) return make_error("payload: " + plain.error().message);
  std::string_view p = View(plain.value());
  if (p.size() < 2) return make_error("payload: shorter than 2 bytes");
  size_t len = U16(p, 0);
  if (2 + len > p.size()) return make_error("payload: common length " + std::to_string(len) + " beyond the plaintext");
  Message m;
  m.common_json.assign(p.substr(2, len));
  m.body.assign(p.substr(2 + len));
  auto j = nlohmann::json::parse(m.common_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("payload: common is not a JSON object");
  auto seq = j.find("Seq");
  if (seq == j.end() || !seq->is_number_unsigned() || seq->get<uint64_t>() > 0xFFFFFFFFull)
    return make_error("payload: Seq missing or not an integer 0..4294967295");
  m.seq = static_cast<uint32_t>(seq->get<uint64_t>());
  auto cv = j.find("CmdVer");
  if (cv != j.end()) {
    if (!cv->is_string()) return make_error("payload: CmdVer is not a string");
    m.cmd_ver = cv->get<std::string>();
  } else if (!thing) {
    return make_error("payload: CmdVer missing on a legacy topic");
  }
  auto mt = j.find("MsgType");
  if (mt != j.end()) {
    if (!mt->is_number_integer() || (mt->get<int64_t>() != 1 && mt->get<int64_t>() != 2))
      return make_error("payload: MsgType is not 1 or 2");
    m.msg_type = static_cast<int>(mt->get<int64_t>());
  }
  return m;
}

}  // namespace payload

// ---- topics --------------------------------------------------------------------------------------

namespace topics {

std::string ThingPrefix(std::string_view sn, std::string_view sub, std::string_view li, std::string_view rt) {
  std::string s = "/iot/";
  s.append(sn).append("/").append(sub).append("/").append(li).append("-").append(rt);
  return s;
}

std::string WillTopic(std::string_view sn, bool first_connect) {
  return "/Basic/pu2cenplt/" + std::string(sn) + (first_connect ? "/firstconnect" : "/breakconnect");
}

namespace {
std::vector<std::string_view> Split(std::string_view t) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t e = t.find('/', start);
    out.push_back(t.substr(start, e == std::string_view::npos ? std::string_view::npos : e - start));
    if (e == std::string_view::npos) break;
    start = e + 1;
  }
  return out;
}
bool Decimal(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xFFFFFFFFull) return false;
  out = static_cast<uint32_t>(v);
  return true;
}
}  // namespace

std::optional<Down> ParseDown(std::string_view topic, std::string_view sn) {
  auto l = Split(topic);  // l[0] is "" (leading '/')
  if (l.size() < 2 || !l[0].empty()) return std::nullopt;
  Down d;
  if (l[1] == "iot") {
    if (l.size() < 6 || l[2] != sn) return std::nullopt;
    d.sub = l[3];
    auto dash = l[4].find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == l[4].size()) return d;
    d.li = l[4].substr(0, dash);
    d.rt = l[4].substr(dash + 1);
    if (l.size() == 8 && l[5] == "basic" && l[6] == "shadow") {
      if (l[7] == "set") d.kind = Down::kShadowSet;
      else if (l[7] == "query") d.kind = Down::kShadowQuery;
    } else if (l.size() == 10 && l[5] == "model") {
      d.domain = l[8];
      d.identifier = l[9];
      if (l[6] == "service" && l[7] == "operate") d.kind = Down::kServiceOperate;
      else if (l[6] == "attribute" && l[7] == "set") d.kind = Down::kAttributeSet;
    }
    return d;
  }
  if (l[1] != sn) return std::nullopt;
  if (l.size() == 4 && Decimal(l[2], d.legacy_domain) && Decimal(l[3], d.legacy_cmd)) d.kind = Down::kLegacy;
  return d;
}

}  // namespace topics

}  // namespace camsim
