// DAS server: MQTT 3.1.1 with the device dialect (wire profile §2).
#include "osap_adapter.h"

namespace gw::osap::session {

using mqtt::ConnectReturn;
using mqtt::PacketType;

DasConn::DasConn(OsapAdapter& a, int fd, std::string peer, DasEndpointState& ep)
    : Conn(a.host(), fd, std::move(peer), a.cfg().limits().max_output_buffer()),
      endpoint(ep),
      a_(a),
      decoder_(a.cfg().limits().max_mqtt_packet()) {
  deadline_ms = a.now() + a.message_timeout();
}

std::string DasConn::Who() const {
  return "das peer=" + peer() + (device ? " sn=" + device->serial : std::string());
}

void DasConn::Touch() {
  if (device) deadline_ms = a_.now() + keep_alive_s * 1500ull;
}

bool DasConn::SendPacket(const Result<Bytes>& packet, const char* what) {
  if (!packet) {
    a_.Log(GW_LOG_WARN, Who() + ": cannot encode " + what + ": " + packet.error().message);
    return false;
  }
  if (packet->size() > mqtt::kDeviceMaxPacket) {
    a_.Log(GW_LOG_WARN, Who() + ": " + what + " of " + std::to_string(packet->size()) + " bytes exceeds the device limit");
    return false;
  }
  return Send(packet.value());
}

void DasConn::OnBytes(ByteView bytes) {
  decoder_.feed(bytes);
  Drain();
}

void DasConn::Drain() {
  while (!closing() && !input_paused()) {
    auto p = decoder_.next();
    if (!p) {
      a_.Log(GW_LOG_WARN, Who() + ": closing: " + p.error().message);
      return Close(p.error().message);
    }
    if (!p.value()) return;
    Touch();
    Handle(*p.value());
  }
}

void DasConn::Refuse(ConnectReturn code, const std::string& why) {
  ++a_.das_refusals_;
  a_.Log(GW_LOG_WARN, Who() + ": CONNACK " + std::to_string(static_cast<int>(code)) + ": " + why);
  Send(mqtt::EncodeConnack(mqtt::Connack{false, code}));
  CloseAfterFlush("connection refused");
}

void DasConn::Handle(const mqtt::Packet& p) {
  if (!device) {
    if (p.type != PacketType::kConnect) {
      a_.Log(GW_LOG_WARN, Who() + ": closing: " + mqtt::PacketTypeName(p.type) + " before CONNECT");
      return Close("packet before CONNECT");
    }
    return OnConnect(p);
  }
  switch (p.type) {
    case PacketType::kPublish: return OnPublish(p);
    case PacketType::kPuback: {
      auto id = mqtt::DecodePuback(p);
      if (!id) break;
      a_.DevicePuback(*this, *id);
      return;
    }
    case PacketType::kSubscribe: return OnSubscribe(p);
    case PacketType::kUnsubscribe: {
      auto u = mqtt::DecodeUnsubscribe(p);
      if (!u) break;
      auto& f = device->mqtt.filters;
      for (auto& x : u->filters) std::erase(f, x);
      Send(mqtt::EncodeUnsuback(u->packet_id));
      return;
    }
    case PacketType::kPingreq:
      if (!mqtt::DecodeEmpty(p, PacketType::kPingreq)) break;
      Send(mqtt::EncodePingresp());
      return;
    case PacketType::kDisconnect:
      graceful = true;
      will.reset();
      return Close("DISCONNECT");
    default:
      a_.Log(GW_LOG_WARN, Who() + ": closing: unexpected " + mqtt::PacketTypeName(p.type));
      return Close(std::string("unexpected ") + mqtt::PacketTypeName(p.type));
  }
  a_.Log(GW_LOG_WARN, Who() + ": closing: malformed " + mqtt::PacketTypeName(p.type));
  Close(std::string("malformed ") + mqtt::PacketTypeName(p.type));
}

void DasConn::OnConnect(const mqtt::Packet& p) {
  auto c = mqtt::DecodeConnect(p);
  if (!c) {
    a_.Log(GW_LOG_WARN, Who() + ": closing: " + c.error().message);
    return Close(c.error().message);
  }
  if (c->protocol_level != 4) return Refuse(ConnectReturn::kBadProtocolVersion, "protocol level " + std::to_string(c->protocol_level));
  // The password is not a credential (every device sends "test"): PROTOCOL.md 5.1.
  if (!c->username || c->username->empty()) return Refuse(ConnectReturn::kBadCredentials, "no username");
  const std::string& sn = *c->username;
  DeviceState* d = a_.FindDevice(sn);
  if (!d) return Refuse(ConnectReturn::kNotAuthorized, "sn=" + sn + " is not provisioned");
  if (d->blacklisted) return Refuse(ConnectReturn::kBlacklisted, "sn=" + sn + " is blacklisted");
  if (!c->will) return Refuse(ConnectReturn::kNotAuthorized, "sn=" + sn + ": no will, identity not proven");
  auto wt = topics::ParseWillTopic(c->will->topic);
  if (!wt || wt->serial != sn) return Refuse(ConnectReturn::kNotAuthorized, "sn=" + sn + ": will topic is not the device's");
  if (!d->session_key) return Refuse(ConnectReturn::kRedirect, "sn=" + sn + ": no session key, back to the LBS");
  auto info = OpenWillPayload(*d->session_key, c->will->payload);
  if (!info) return Refuse(ConnectReturn::kRedirect, "sn=" + sn + ": " + info.error().message + " (back to the LBS)");
  if (info->device_id != d->devid) return Refuse(ConnectReturn::kRedirect, "sn=" + sn + ": will DeviceID is not the devid");
  if (info->sub_serial != sn) return Refuse(ConnectReturn::kRedirect, "sn=" + sn + ": will SubSerial is not the username");
  RecordDeviceInfo(*d, info->json);
  DasConn* old = d->conn != this ? d->conn : nullptr;
  bool resumed = false;
  if (c->clean_session) {
    if (old || d->mqtt.exists) {
      // PROTOCOL.md 5.4: code 12, the older connection goes too (without its will).
      if (old) {
        old->taken_over = true;
        a_.Log(GW_LOG_INFO, old->Who() + ": closing: session exists, the device re-registers");
        old->Close("replaced (CONNACK 12 to a new connection)");
      }
      return Refuse(ConnectReturn::kSessionExists, "sn=" + sn + ": a session exists, fast re-registration expected");
    }
  } else if (old) {
    old->taken_over = true;
    a_.Log(GW_LOG_INFO, old->Who() + ": closing: replaced by a newer connection from " + peer());
    old->Close("replaced by a newer connection");
  }
  if (!c->clean_session && d->mqtt.exists) {
    resumed = true;
  } else {
    d->mqtt = MqttSession{};
    d->next_seq = 1;
  }
  d->mqtt.exists = true;
  keep_alive_s = c->keep_alive ? c->keep_alive : mqtt::kDefaultKeepAlive;
  will = c->will;
  device = d;
  d->conn = this;
  Touch();
  Send(mqtt::EncodeConnack(mqtt::Connack{resumed, ConnectReturn::kAccepted}));
  a_.DeviceConnected(*this, resumed);
}

// The full will form names the device's parent (DevSerial: the NVR of a sub-device, "" for a
// stand-alone camera), firmware and type (PROTOCOL.md 5.3); the short form of a fast
// re-registration names none, so stored values are kept then.
void DasConn::RecordDeviceInfo(DeviceState& d, const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object() || !j.contains("DevSerial")) return;
  auto str = [&j](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string parent = str("DevSerial"), fw = str("FirmwareVersion"), type = str("DevType");
  if (parent == d.serial) parent.clear();
  if (parent == d.parent_serial && fw == d.firmware && type == d.dev_type) return;
  d.parent_serial = parent;
  d.firmware = fw;
  d.dev_type = type;
  if (!parent.empty()) a_.Log(GW_LOG_INFO, "sn=" + d.serial + ": sub-device of " + parent);
  a_.Persist(d, [](bool) {});  // group-committed; nothing waits for it
}

void DasConn::OnPublish(const mqtt::Packet& p) {
  auto m = mqtt::DecodePublish(p);
  if (!m) {
    a_.Log(GW_LOG_WARN, Who() + ": closing: " + m.error().message);
    return Close(m.error().message);
  }
  if (!topics::MayPublish(device->serial, m->topic)) {
    ++a_.refused_topics_;
    a_.Log(GW_LOG_WARN, Who() + ": refused PUBLISH on \"" + m->topic + "\": not under the device's own serial");
  } else {
    if (m->qos == 1) {
      acks_.push_back(UplinkAck{m->packet_id, 1, false});
      a_.uplink_ = this;
    }
    a_.DevicePublish(*this, m.value());
    a_.uplink_ = nullptr;
    if (m->qos == 1) {
      ReleaseAck(acks_base_ + acks_.size() - 1, GW_OK);  // handled; now it waits for the journal only
      if (!closing() && acks_.size() >= a_.cfg().limits().max_unacked_uplinks()) PauseInput(true);
    }
    return;
  }
  // Refused: acknowledged at once (in order), nothing to store.
  if (!closed() && m->qos == 1) {
    acks_.push_back(UplinkAck{m->packet_id, 0, false});
    FlushAcks();
  }
}

std::function<void(int)> DasConn::HoldAck() {
  uint64_t index = acks_base_ + acks_.size() - 1;
  ++acks_.back().pending;
  std::weak_ptr<int> life = life_;
  return [this, life, index](int result) {
    if (!life.expired()) ReleaseAck(index, result);
  };
}

void DasConn::ReleaseAck(uint64_t index, int result) {
  if (index < acks_base_ || index - acks_base_ >= acks_.size()) return;
  auto& a = acks_[index - acks_base_];
  --a.pending;
  if (result != GW_OK) a.failed = true;
  FlushAcks();
}

// PUBACK once everything a PUBLISH produced is on disk; a journal failure withholds it and drops
// the connection, so the device keeps the message and sends it again after reconnecting.
void DasConn::FlushAcks() {
  while (!acks_.empty() && acks_.front().pending == 0) {
    UplinkAck a = acks_.front();
    acks_.pop_front();
    ++acks_base_;
    if (closed()) continue;
    if (a.failed) {
      a_.Log(GW_LOG_ERROR, Who() + ": PUBLISH " + std::to_string(a.packet_id) +
                               " could not be journaled; closing so that the device retransmits it");
      Close("journal write failed");
      continue;
    }
    Send(mqtt::EncodePuback(a.packet_id));
  }
  if (!closing() && input_paused() && acks_.size() < a_.cfg().limits().max_unacked_uplinks()) {
    PauseInput(false);
    Drain();  // packets already buffered while paused
  }
}

void DasConn::OnSubscribe(const mqtt::Packet& p) {
  auto s = mqtt::DecodeSubscribe(p);
  if (!s) {
    a_.Log(GW_LOG_WARN, Who() + ": closing: " + s.error().message);
    return Close(s.error().message);
  }
  mqtt::Suback ack;
  ack.packet_id = s->packet_id;
  bool added = false;
  for (auto& sub : s->subscriptions) {
    if (!topics::MaySubscribe(device->serial, sub.filter)) {
      ++a_.refused_topics_;
      a_.Log(GW_LOG_WARN, Who() + ": refused SUBSCRIBE to \"" + sub.filter + "\": not under the device's own serial");
      ack.return_codes.push_back(mqtt::kSubackFailure);
      continue;
    }
    auto& f = device->mqtt.filters;
    if (std::find(f.begin(), f.end(), sub.filter) == f.end()) f.push_back(sub.filter);
    ack.return_codes.push_back(sub.qos > 1 ? 1 : sub.qos);
    added = true;
  }
  SendPacket(mqtt::EncodeSuback(ack), "SUBACK");
  if (added) a_.FlushInflight(*device);  // messages that waited for a subscription
}

}  // namespace gw::osap::session
