#include "osap/codec/payload.h"

#include <nlohmann/json.hpp>

namespace gw::osap {

CommonPolicy PolicyForTopic(std::string_view topic) {
  return topic.starts_with("/iot/") ? CommonPolicy::kThingModel : CommonPolicy::kLegacy;
}

std::string EncodeCommon(const CommonHeader& c) {
  std::string out = "{";
  if (c.cmd_ver) {
    out += "\"CmdVer\":";
    out += nlohmann::json(*c.cmd_ver).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += ",";
  }
  out += "\"Seq\":" + std::to_string(c.seq);
  if (c.msg_type) out += ",\"MsgType\":" + std::to_string(*c.msg_type);
  out += "}";
  return out;
}

namespace {
Result<CommonHeader> ParseCommonUnchecked(std::string_view json, CommonPolicy policy) {
  auto j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded()) return make_error("payload: common JSON is not valid JSON");
  if (!j.is_object()) return make_error("payload: common JSON is not an object");
  CommonHeader c;
  auto seq = j.find("Seq");
  if (seq == j.end()) return make_error("payload: common JSON lacks Seq");
  if (!seq->is_number_integer()) return make_error("payload: Seq is not an integer");
  if (!seq->is_number_unsigned() && seq->get<int64_t>() < 0) {
    return make_error("payload: Seq is negative");
  }
  uint64_t s = seq->get<uint64_t>();
  if (s > UINT32_MAX) return make_error("payload: Seq above 4294967295");
  c.seq = static_cast<uint32_t>(s);
  auto ver = j.find("CmdVer");
  if (ver != j.end()) {
    if (!ver->is_string()) return make_error("payload: CmdVer is not a string");
    c.cmd_ver = ver->get<std::string>();
  } else if (policy == CommonPolicy::kLegacy) {
    return make_error("payload: common JSON lacks CmdVer");
  }
  auto mt = j.find("MsgType");
  if (mt != j.end()) {
    if (!mt->is_number_integer()) return make_error("payload: MsgType is not an integer");
    int64_t v = mt->get<int64_t>();
    if (v != kMsgTypeRequest && v != kMsgTypeReply) {
      return make_error("payload: MsgType " + std::to_string(v) + " is neither 1 nor 2");
    }
    c.msg_type = static_cast<int>(v);
  }
  return c;
}
}  // namespace

Result<CommonHeader> ParseCommon(std::string_view json, CommonPolicy policy) {
  try {
    return ParseCommonUnchecked(json, policy);
  } catch (const std::exception& e) {  // every access is type-checked; this is a last guard
    return make_error(std::string("payload: common JSON: ") + e.what());
  }
}

Result<Bytes> FramePayload(std::string_view common_json, ByteView body) {
  if (common_json.size() > 0xFFFF) return make_error("payload: common JSON longer than 65535 bytes");
  Bytes plain;
  plain.reserve(2 + common_json.size() + body.size());
  AppendU16(plain, static_cast<uint16_t>(common_json.size()));
  Append(plain, common_json);
  Append(plain, body);
  return plain;
}

Result<PayloadMessage> ParsePayloadPlain(ByteView plain, CommonPolicy policy) {
  ByteReader r(plain);
  auto len = r.u16be();
  if (!len) return make_error("payload: shorter than the 2-byte length");
  auto common = r.take(*len);
  if (!common) {
    return make_error("payload: common JSON length " + std::to_string(*len) + " exceeds the " +
                      std::to_string(plain.size() - 2) + " bytes present");
  }
  PayloadMessage m;
  m.common_json = std::string(AsChars(*common));
  auto c = ParseCommon(m.common_json, policy);
  if (!c) return c.error();
  m.common = std::move(c.value());
  auto body = r.rest();
  m.body.assign(body.begin(), body.end());
  return m;
}

Result<Bytes> SealPayload(const SessionKey& key, const CommonHeader& common, ByteView body) {
  auto plain = FramePayload(EncodeCommon(common), body);
  if (!plain) return plain.error();
  return CbcEncrypt(key, plain.value());
}

Result<PayloadMessage> OpenPayload(const SessionKey& key, ByteView cipher, CommonPolicy policy) {
  auto plain = CbcDecrypt(key, cipher);
  if (!plain) return make_error("payload: " + plain.error().message);
  return ParsePayloadPlain(plain.value(), policy);
}

Bytes SealWillPayload(const SessionKey& key, std::string_view device_info_json) {
  return CbcEncrypt(key, AsBytes(device_info_json));
}

namespace {
Result<WillInfo> ParseWillJson(std::string json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("will payload: not a JSON object");
  auto sub = j.find("SubSerial");
  if (sub == j.end() || !sub->is_string()) return make_error("will payload: SubSerial missing or not a string");
  auto id = j.find("DeviceID");
  if (id == j.end() || !id->is_string()) return make_error("will payload: DeviceID missing or not a string");
  WillInfo w;
  w.sub_serial = sub->get<std::string>();
  w.device_id = id->get<std::string>();
  w.json = std::move(json);
  return w;
}
}  // namespace

Result<WillInfo> OpenWillPayload(const SessionKey& key, ByteView cipher) {
  auto plain = CbcDecrypt(key, cipher);
  if (!plain) return make_error("will payload: " + plain.error().message);
  try {
    if (!plain->empty() && (*plain)[0] == '{') return ParseWillJson(std::string(AsChars(plain.value())));
    auto framed = ParsePayloadPlain(plain.value(), CommonPolicy::kThingModel);
    if (!framed) return make_error("will payload: neither JSON nor framed (" + framed.error().message + ")");
    return ParseWillJson(std::string(AsChars(framed->body)));
  } catch (const std::exception& e) {  // every access is type-checked; this is a last guard
    return make_error(std::string("will payload: ") + e.what());
  }
}

}  // namespace gw::osap
