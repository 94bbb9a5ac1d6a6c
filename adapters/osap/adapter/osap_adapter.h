// The OSAP session adapter: an LBS authentication server and DAS device-access MQTT servers for
// Hikvision-style cameras, on top of the wire codec in osap/codec. Everything runs on the gateway's
// event loop through the host's fd watches and one sweep timer (no threads).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "gw/adapter_sdk.h"
#include "key_pool.h"
#include "net.h"
#include "osap.pb.h"
#include "osap/codec/crypto.h"
#include "osap/codec/lbs.h"
#include "osap/codec/mqtt.h"
#include "osap/codec/payload.h"
#include "osap/codec/thing_model.h"
#include "osap/codec/topics.h"

namespace gw::osap::session {

namespace pb = ::gw::v1;             // the message model
namespace cfgpb = ::gw::osap::v1;    // this adapter's configuration

class OsapAdapter;
class DasConn;

// A platform -> device QoS 1 PUBLISH not yet acknowledged (retransmitted with DUP on a resumed
// session).
struct Inflight {
  mqtt::Publish pub;
  uint32_t seq = 0;                // Seq of the payload (pending request key)
  bool sent = false;               // written to the current connection
  uint16_t keep_alive_change = 0;  // non-zero: the /{sn}/1000/1 interval this message announces
};

// The MQTT session state of a device; survives the connection when the device connected with
// clean session 0.
// The MQTT session of a device: live with its connection, retained for 2 x keep-alive after an
// ungraceful loss (PROTOCOL.md 5.4), ended by DISCONNECT or expiry.
struct MqttSession {
  bool exists = false;
  std::vector<std::string> filters;
  std::deque<Inflight> queue;  // in order; only the front is ever in flight
  uint16_t next_packet_id = 1;
  uint64_t retain_until = 0;   // monotonic; meaningful while no connection is live
};

// What the gateway knows about one provisioned device.
struct DeviceState {
  std::string serial, uuid, model, vcode, license, devid, master;
  // From the will's device info (full form): the NVR / hub a sub-device belongs to (DevSerial, empty
  // for a stand-alone camera), firmware version and device type. Kept in the registry identity.
  std::string parent_serial, firmware, dev_type;
  std::optional<SessionKey> session_key;
  bool blacklisted = false;
  DasConn* conn = nullptr;  // live DAS connection, if any
  bool online = false;      // as last reported by a $state/online EVENT
  MqttSession mqtt;
  uint32_t next_seq = 1;      // Seq of platform-initiated messages
  uint64_t device_seq = 0;    // envelope device_seq of REPORT/EVENT
  std::map<std::string, std::string> learned_rt;  // "{localIndex}/{domain}" -> resource type
};

// A REQUEST waiting for the device's answer, keyed by (serial, Seq).
struct Pending {
  enum class What { kSet, kQuery, kOperate, kLegacy } what = What::kSet;
  pb::Envelope request;
  std::string domain, identifier;
  uint64_t deadline_ms = 0;  // monotonic
};

struct DasEndpointState {
  cfgpb::DasEndpoint cfg;
  int fd = -1;
  uint64_t watch = 0;
  uint16_t bound_port = 0;
  size_t index = 0;
  size_t connected = 0;  // devices with a live connection here
  OsapAdapter* owner = nullptr;
};

// ---- LBS --------------------------------------------------------------------------------------

class LbsConn : public Conn {
 public:
  LbsConn(OsapAdapter& a, int fd, std::string peer);
  uint64_t deadline_ms = 0;  // the next complete message must arrive by then
  uint64_t hard_deadline_ms = 0;  // the whole handshake must be over by then
  std::string Who() const;

 protected:
  void OnBytes(ByteView bytes) override;

 private:
  enum class Stage { kStart, kAuthed, kGranted, kRefreshed, kReady };
  void Handle(const lbs::Frame& f);
  void OnAuth(const lbs::AuthRequest& m);
  void OnApply(const lbs::ApplyDevid& m);
  void OnRefresh(const lbs::RefreshRequest& m);
  void OnRefreshI(const lbs::RefreshI& m);
  void OnConfirm(const lbs::Confirm& m);
  void OnDas(const lbs::DasRequest& m);
  // Sends a result-only reply of `type` and closes after it; logs the reason.
  void Fail(lbs::MsgType type, lbs::ResultCode rc, const std::string& why);
  void Reply(const Result<Bytes>& bytes, const char* what);
  void Abort(const std::string& why);
  void Drain();
  // Stores the device's new keys (group-committed, PROTOCOL.md 12.2) and runs then() once they are
  // durable; input is held back meanwhile. On a storage failure the keys are restored and
  // fail(why) runs instead.
  void PersistThen(DeviceState& d, const DeviceState& saved, std::function<void()> then,
                   std::function<void(const std::string&)> fail);

  OsapAdapter& a_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);  // callbacks hold a weak_ptr to it
  bool persisting_ = false;
  lbs::FrameDecoder decoder_;
  Stage stage_ = Stage::kStart;
  Generation gen_ = Generation::kGen1;
  std::string serial_;
  std::string master_;
  SessionKey session_key_{};
  uint8_t r2_ = 0;
};

// ---- DAS --------------------------------------------------------------------------------------

class DasConn : public Conn {
 public:
  DasConn(OsapAdapter& a, int fd, std::string peer, DasEndpointState& ep);
  uint64_t deadline_ms = 0;  // CONNECT deadline, then keep-alive deadline (monotonic)
  uint32_t keep_alive_s = 0;
  DeviceState* device = nullptr;  // set once CONNECT is accepted
  DasEndpointState& endpoint;
  bool graceful = false;    // DISCONNECT received
  bool taken_over = false;  // replaced by a new connection of the same device
  std::optional<mqtt::Will> will;
  std::string Who() const;
  // Encodes and sends a packet; false if it could not be sent.
  bool SendPacket(const Result<Bytes>& packet, const char* what);
  void Touch();
  // While the current QoS 1 PUBLISH is handled: one more durable envelope its PUBACK waits for.
  // The returned function is called once with the journal's result (on the loop); it is safe to
  // call after this connection is gone.
  std::function<void(int result)> HoldAck();
  size_t unacked() const { return acks_.size(); }

 protected:
  void OnBytes(ByteView bytes) override;

 private:
  // A device PUBLISH (QoS 1) waiting for its PUBACK; PUBACKs leave in PUBLISH order (MQTT 4.6).
  struct UplinkAck {
    uint16_t packet_id = 0;
    int pending = 1;  // durable envelopes not yet on disk, +1 while the PUBLISH is being handled
    bool failed = false;
  };
  void Drain();
  void ReleaseAck(uint64_t index, int result);
  void FlushAcks();
  std::deque<UplinkAck> acks_;
  uint64_t acks_base_ = 0;  // absolute index of acks_.front()
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
  void Handle(const mqtt::Packet& p);
  void OnConnect(const mqtt::Packet& p);
  void OnPublish(const mqtt::Packet& p);
  void OnSubscribe(const mqtt::Packet& p);
  void RecordDeviceInfo(DeviceState& d, const std::string& json);
  void Refuse(mqtt::ConnectReturn code, const std::string& why);
  OsapAdapter& a_;
  mqtt::PacketDecoder decoder_;
};

// ---- the adapter ------------------------------------------------------------------------------

class OsapAdapter : public sdk::Adapter {
 public:
  explicit OsapAdapter(const gw_host_api* api) : Adapter(api) {}
  ~OsapAdapter() override;

  std::string configure(const std::string& config) override;
  std::string start() override;
  int deliver(const pb::Envelope& env) override;
  void stop() override;
  bool done() override;
  std::string status_json() override;
  std::string on_mappings() override;

  // ---- used by the connections ----
  const cfgpb::OsapConfig& cfg() const { return cfg_; }
  const sdk::Host& host() const { return host_; }
  void Log(int level, const std::string& msg) const;
  uint64_t now() const { return host_.now_ms(); }
  uint64_t message_timeout() const { return cfg_.limits().message_timeout_ms(); }
  DeviceState* FindDevice(const std::string& serial);
  // Persists the device's identity and keys (devid, master, session key). False on storage error.
  // With durable set, the write is group-committed and durable(ok) runs once it is on disk (or the
  // commit failed); it is not called when Persist returns false.
  bool Persist(DeviceState& d, std::function<void(bool ok)> durable = nullptr);
  const DasEndpointState* LeastLoadedDas() const;
  // A fresh server key pair for one handshake (from the pool when one is ready).
  Result<EcKey> ServerKey() { return key_pool_ ? key_pool_->Take() : EcKey::Generate(); }
  lbs::DasInfo DasInfoFor(const DasEndpointState& ep) const;

  // DAS session events.
  void DeviceConnected(DasConn& c, bool resumed);
  void DeviceLost(DasConn& c, const std::string& reason);
  void DevicePublish(DasConn& c, const mqtt::Publish& pub);
  void DevicePuback(DasConn& c, uint16_t packet_id);
  // The DAS connection whose QoS 1 PUBLISH is being handled (its PUBACK waits for the journal).
  DasConn* uplink_ = nullptr;
  // Sends the queued messages the device's subscriptions now cover.
  void FlushInflight(DeviceState& d);
  // Queues a QoS 1 PUBLISH to the device (sent now if connected and subscribed).
  Result<void> PublishToDevice(DeviceState& d, const std::string& topic, const CommonHeader& common,
                               const std::string& body, uint16_t keep_alive_change = 0);
  uint16_t bound_lbs_port() const { return lbs_port_; }
  // Seq of the next platform-initiated message (1..2147483647, wrapping to 1).
  uint32_t NextSeq(DeviceState& d);

 private:
  static void OnAccept(void* user, int fd, uint32_t events);
  static void OnDasAccept(void* user, int fd, uint32_t events);
  static void OnSweep(void* user);
  static void OnReap(void* user);
  void Accept(int listen_fd, DasEndpointState* das);
  void Adopt(std::unique_ptr<Conn> c);
  void Closed(Conn* c, const std::string& reason);
  void Sweep();

  // Envelopes.
  void EmitOnline(DeviceState& d, bool online, const std::string& cause, const std::string& will_topic);
  void EndSession(DeviceState& d, const std::string& why);
  void EmitUplink(pb::Envelope& e);
  // INVOKE $legacy/{domain}/{cmd}: a legacy command on /{sn}/{domain}/{cmd}, answered by the
  // device's MsgType-2 reply with the same Seq (PROTOCOL.md 12.5).
  void HandleLegacyCommand(DeviceState& d, const pb::Envelope& req);
  // Waits for the reply of a downlink request (Seq) until the service timeout or expires_ms.
  void AddPending(DeviceState& d, uint32_t seq, Pending p);
  void EmitReport(DeviceState& d, const std::string& path, const nlohmann::ordered_json& value, uint32_t seq);
  void EmitEvent(DeviceState& d, const std::string& path, const nlohmann::ordered_json& body, uint32_t seq);
  void Respond(const pb::Envelope& req, pb::Status st, const pb::Value* content = nullptr, int native = 0,
               const std::string& detail = "");
  void HandleProvision(const pb::Envelope& req);
  void HandleDeviceRequest(const pb::Envelope& req);
  void AnswerPending(DeviceState& d, uint32_t seq, Pending::What what, const nlohmann::ordered_json& body,
                     const std::string& domain, const std::string& identifier);
  void FailPending(DeviceState& d, pb::Status st, const std::string& detail);

  const tsl::Profile* ProfileFor(const std::string& model);
  // Resource type of "{localIndex}/{domain}" for downlink topics (profile, else learned).
  std::optional<std::string> ResourceType(DeviceState& d, const std::string& li, const std::string& domain);
  Result<DeviceState*> AddDevice(const cfgpb::ProvisionedDevice& p, bool replace);

  cfgpb::OsapConfig cfg_;
  int lbs_fd_ = -1;
  uint64_t lbs_watch_ = 0;
  uint16_t lbs_port_ = 0;
  std::vector<std::unique_ptr<DasEndpointState>> das_;
  std::unordered_map<std::string, DeviceState> devices_;    // by serial
  std::unordered_map<std::string, std::string> by_uuid_;    // uuid -> serial
  std::map<Conn*, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> dead_;
  std::map<std::pair<std::string, uint32_t>, Pending> pending_;
  std::map<std::string, std::optional<tsl::Profile>> profiles_;
  std::unique_ptr<KeyPool> key_pool_;
  uint64_t sweep_timer_ = 0;
  uint64_t reap_timer_ = 0;
  bool stopping_ = false;
  // Counters for status_json.
  uint64_t lbs_handshakes_ = 0, lbs_failures_ = 0, das_connects_ = 0, das_refusals_ = 0;
  uint64_t reports_ = 0, events_ = 0, refused_topics_ = 0;
  friend class LbsConn;
  friend class DasConn;
};

}  // namespace gw::osap::session
