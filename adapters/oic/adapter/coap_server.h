// Local OIC over CoAP (PROTOCOL.md §8): the gateway as an OIC server on the local network (discovery,
// the bridged devices' resources, the remote-access resources; CBOR/JSON; GET/POST/Observe) and the
// XC-Proxy's CoAP client toward RA-constrained OIC devices. One libcoap context, driven from the
// gateway loop through coap_context_get_coap_fd() (epoll fd) and host timers; no thread.
#pragma once

#include <coap3/coap.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coap_format.h"
#include "oic.pb.h"
#include "resource_map.h"

namespace gw::oic::adapter {

class OicAdapter;
class DeviceLink;
struct Txn;

class CoapService {
 public:
  explicit CoapService(OicAdapter& a, const ::gw::oic::v1::CoapConfig& cfg, std::string device_id);
  ~CoapService();
  CoapService(const CoapService&) = delete;
  CoapService& operator=(const CoapService&) = delete;

  std::string start();  // binds the endpoint; "" or the reason
  void stop();          // releases every libcoap object (pending answers are dropped)
  uint16_t port() const { return port_; }
  const std::string& device_id() const { return device_id_; }

  // Bridged devices changed (rescan): register/unregister their CoAP resources.
  void sync_devices();
  // A bridged device reported/evented a point: update the observed representations and notify.
  void notify(const std::string& uuid, const std::string& point_path, const v1::Value& content);

  // XC-Proxy: constrained devices, and the REQUEST envelopes addressed to them.
  bool is_constrained(const std::string& di) const { return constrained_.count(lower(di)) != 0; }
  void forward(const v1::Envelope& req);

  nlohmann::json status() const;

  // libcoap callbacks (static trampolines find the service through the context's app data).
  struct Res;
  struct Pend;
  struct Fwd;
  void handle(coap_resource_t* r, coap_session_t* s, const coap_pdu_t* req, const coap_string_t* query,
              coap_pdu_t* resp);
  void on_coap_response(coap_session_t* s, const coap_pdu_t* sent, const coap_pdu_t* received);
  void on_nack(coap_session_t* s, const coap_pdu_t* sent, int reason);

 private:
  static void on_fd(void* self, int fd, uint32_t events);
  static void on_kick(void* self);
  static void on_fwd_timeout(void* self);
  static std::string lower(std::string s);
  void kick();  // run coap_io_process soon (after work queued outside a libcoap callback)
  void add_resource(const std::string& path, int kind, const std::string& uuid, const std::string& href,
                    bool observable);
  void remove_resource(const std::string& path);
  nlohmann::ordered_json discovery(const std::string& rt_filter) const;
  void respond(Res& res, coap_session_t* s, const coap_pdu_t* req, const coap_string_t* query, coap_pdu_t* resp,
               int code, const nlohmann::ordered_json* body, int cf, const std::string& diagnostic);
  void fwd_done(const std::string& token, v1::Status st, int native, std::optional<v1::Value> content,
                const std::string& detail);
  coap_session_t* device_session(const std::string& di, std::string& err);

  OicAdapter& a_;
  ::gw::oic::v1::CoapConfig cfg_;
  std::string device_id_;
  coap_context_t* ctx_ = nullptr;
  uint16_t port_ = 0;
  uint64_t watch_id_ = 0, kick_timer_ = 0;
  std::map<std::string, std::unique_ptr<Res>> resources_;  // uri path without leading '/'
  std::map<coap_async_t*, std::shared_ptr<Pend>> pends_;
  // XC-Proxy
  struct Constrained {
    std::string di, uri, name;
    CoapTarget target;
    coap_session_t* session = nullptr;
  };
  std::map<std::string, Constrained> constrained_;  // lower-case di
  std::map<std::string, std::unique_ptr<Fwd>> fwds_;  // token bytes -> forwarded request
  uint64_t requests_ = 0, notifications_ = 0, forwarded_ = 0;
};

}  // namespace gw::oic::adapter
