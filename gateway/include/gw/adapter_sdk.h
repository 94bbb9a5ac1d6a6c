// C++ conveniences for adapter modules, on top of the C ABI in adapter_abi.h. Header-only, so a
// module depends on nothing of gatewayd's but the ABI and the message-model protos.
//
//   class MyAdapter : public gw::sdk::Adapter { ... };
//   GW_DEFINE_ADAPTER(MyAdapter, "name", "0.1.0", "what it does", "gw.my.v1.Config")
#pragma once

#include <cstdlib>
#include <cstring>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "gw/adapter_abi.h"
#include "gw/v1/device.pb.h"
#include "gw/v1/envelope.pb.h"
#include "gw/v1/mapping.pb.h"

namespace gw::sdk {

class Host {
 public:
  explicit Host(const gw_host_api* api) : api_(api) {}
  const gw_host_api* api() const { return api_; }
  const char* name() const { return api_->instance_name; }
  const char* state_dir() const { return api_->state_dir; }

  int emit(const v1::Envelope& env) const {
    std::string s;
    env.SerializeToString(&s);
    return api_->emit(api_->ctx, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  // See gw_host_api.emit_durable: cb(user, seq, result) runs once the envelope is on stable storage.
  int emit_durable(const v1::Envelope& env, gw_durable_cb cb, void* user) const {
    std::string s;
    env.SerializeToString(&s);
    return api_->emit_durable(api_->ctx, reinterpret_cast<const uint8_t*>(s.data()), s.size(), cb, user);
  }
  int journal_ack(uint64_t seq) const { return api_->journal_ack(api_->ctx, seq); }
  int journal_replay() const { return api_->journal_replay(api_->ctx); }
  bool log_enabled(int level) const { return api_->log_enabled(api_->ctx, level) != 0; }
  void log(int level, const std::string& msg) const { api_->log(api_->ctx, level, msg.c_str()); }

  uint64_t watch_fd(int fd, uint32_t ev, gw_fd_cb cb, void* user) const { return api_->watch_fd(api_->ctx, fd, ev, cb, user); }
  int update_fd(uint64_t id, uint32_t ev) const { return api_->update_fd(api_->ctx, id, ev); }
  void unwatch_fd(uint64_t id) const { api_->unwatch_fd(api_->ctx, id); }
  uint64_t timer(uint64_t ms, uint64_t repeat, gw_timer_cb cb, void* user) const {
    return api_->timer_start(api_->ctx, ms, repeat, cb, user);
  }
  void cancel(uint64_t id) const { api_->timer_stop(api_->ctx, id); }
  uint64_t now_ms() const { return api_->now_ms(api_->ctx); }
  // Thread-safe (gw_host_api.post): fn runs on the loop thread soon. False once shutting down
  // (fn is then dropped).
  bool post(std::function<void()> fn) const {
    auto* f = new std::function<void()>(std::move(fn));
    auto tramp = [](void* user) {
      std::unique_ptr<std::function<void()>> g(static_cast<std::function<void()>*>(user));
      (*g)();
    };
    if (api_->post(api_->ctx, tramp, f) == GW_OK) return true;
    delete f;
    return false;
  }
  int64_t wall_ms() const { return api_->wall_ms(api_->ctx); }

  std::optional<v1::Device> put_device(const v1::Device& d) const {
    std::string s;
    d.SerializeToString(&s);
    gw_buf out{};
    if (api_->registry_put(api_->ctx, reinterpret_cast<const uint8_t*>(s.data()), s.size(), &out) != GW_OK) return {};
    return take<v1::Device>(out);
  }
  // Group-committed put (gw_host_api.registry_put_durable): returns the stored record now; done(result)
  // runs on the loop once it is durable (GW_OK) or the commit failed (GW_ERR_IO). On an immediate
  // failure (nullopt) done is not called. A host without the call stores synchronously.
  std::optional<v1::Device> put_device_durable(const v1::Device& d, std::function<void(int)> done) const {
    if (api_->struct_size < offsetof(gw_host_api, registry_put_durable) + sizeof(void*) || !api_->registry_put_durable) {
      auto r = put_device(d);
      if (r) done(GW_OK);
      return r;
    }
    std::string s;
    d.SerializeToString(&s);
    gw_buf out{};
    auto* fn = new std::function<void(int)>(std::move(done));
    auto tramp = [](void* user, int result) {
      std::unique_ptr<std::function<void(int)>> f(static_cast<std::function<void(int)>*>(user));
      (*f)(result);
    };
    if (api_->registry_put_durable(api_->ctx, reinterpret_cast<const uint8_t*>(s.data()), s.size(), &out, tramp, fn) !=
        GW_OK) {
      delete fn;
      return {};
    }
    return take<v1::Device>(out);
  }
  std::optional<v1::Device> device(const char* uuid, const char* native_id = nullptr) const {
    gw_buf out{};
    if (api_->registry_get(api_->ctx, uuid, native_id, &out) != GW_OK) return {};
    return take<v1::Device>(out);
  }
  std::optional<v1::DeviceList> devices() const {
    gw_buf out{};
    if (api_->registry_list(api_->ctx, &out) != GW_OK) return {};
    return take<v1::DeviceList>(out);
  }
  // Every adapter's devices; other adapters' secrets removed.
  std::optional<v1::DeviceList> all_devices() const {
    gw_buf out{};
    if (api_->registry_list_all(api_->ctx, &out) != GW_OK) return {};
    return take<v1::DeviceList>(out);
  }
  int set_online(const std::string& uuid, bool on) const { return api_->registry_set_online(api_->ctx, uuid.c_str(), on); }
  std::optional<v1::MappingSet> mappings() const {
    gw_buf out{};
    if (api_->mappings(api_->ctx, &out) != GW_OK) return {};
    return take<v1::MappingSet>(out);
  }

 private:
  template <class M>
  std::optional<M> take(gw_buf& b) const {
    M m;
    bool ok = m.ParseFromArray(b.data, static_cast<int>(b.len));
    api_->buf_free(api_->ctx, &b);
    if (!ok) return {};
    return m;
  }
  const gw_host_api* api_;
};

// Base class; the macro below turns a subclass into a module descriptor.
class Adapter {
 public:
  explicit Adapter(const gw_host_api* api) : host_(api) {}
  virtual ~Adapter() = default;
  // config: serialized config message (may be empty). Return "" on success, else the reason.
  virtual std::string configure(const std::string& config) = 0;
  virtual std::string start() = 0;
  virtual int deliver(const v1::Envelope& env) = 0;
  virtual std::string on_mappings() { return ""; }
  virtual void stop() {}
  virtual bool done() { return true; }
  virtual std::string status_json() { return ""; }
  Host& host() { return host_; }

 protected:
  Host host_;
};

inline void copy_err(const std::string& msg, char* err, size_t errlen) {
  if (!err || errlen == 0) return;
  std::strncpy(err, msg.c_str(), errlen - 1);
  err[errlen - 1] = 0;
}

template <class T>
struct Glue {
  static T* self(gw_adapter* a) { return reinterpret_cast<T*>(a); }
  static int create(const gw_host_api* host, const uint8_t* cfg, size_t len, gw_adapter** out, char* err,
                    size_t errlen) {
    if (!host || host->abi_version != GW_ADAPTER_ABI_VERSION || host->struct_size < sizeof(gw_host_api)) {
      copy_err("host ABI mismatch", err, errlen);
      return GW_ERR_INVALID;
    }
    auto* t = new T(host);
    std::string e = t->configure(std::string(reinterpret_cast<const char*>(cfg), len));
    if (!e.empty()) {
      copy_err(e, err, errlen);
      delete t;
      return GW_ERR_INVALID;
    }
    *out = reinterpret_cast<gw_adapter*>(t);
    return GW_OK;
  }
  static int start(gw_adapter* a, char* err, size_t errlen) {
    std::string e = self(a)->start();
    if (!e.empty()) copy_err(e, err, errlen);
    return e.empty() ? GW_OK : GW_ERR_INTERNAL;
  }
  static int deliver(gw_adapter* a, const uint8_t* d, size_t n) {
    v1::Envelope env;
    if (!env.ParseFromArray(d, static_cast<int>(n))) return GW_ERR_INVALID;
    return self(a)->deliver(env);
  }
  static int on_mappings(gw_adapter* a, char* err, size_t errlen) {
    std::string e = self(a)->on_mappings();
    if (!e.empty()) copy_err(e, err, errlen);
    return e.empty() ? GW_OK : GW_ERR_INVALID;
  }
  static void stop(gw_adapter* a) { self(a)->stop(); }
  static int done(gw_adapter* a) { return self(a)->done() ? 1 : 0; }
  static void destroy(gw_adapter* a) { delete self(a); }
  static int status(gw_adapter* a, gw_buf* out) {
    std::string s = self(a)->status_json();
    out->data = static_cast<uint8_t*>(std::malloc(s.size() + 1));
    if (!out->data) return GW_ERR_INTERNAL;
    std::memcpy(out->data, s.data(), s.size());
    out->len = s.size();
    return GW_OK;
  }
};

// A descriptor for adapter class T (used by GW_DEFINE_ADAPTER, and directly by tests that run an
// adapter in-process).
template <class T>
constexpr gw_adapter_descriptor make_descriptor(const char* name, const char* version, const char* description,
                                                const char* config_schema) {
  return gw_adapter_descriptor{GW_ADAPTER_ABI_VERSION, sizeof(gw_adapter_descriptor), name, version, description,
                               config_schema, Glue<T>::create, Glue<T>::start, Glue<T>::deliver,
                               Glue<T>::on_mappings, Glue<T>::stop, Glue<T>::done, Glue<T>::destroy,
                               Glue<T>::status, {}};
}

}  // namespace gw::sdk

// Defines the module's descriptor and its exported entry point for class T (a gw::sdk::Adapter).
#define GW_DEFINE_ADAPTER(T, NAME, VERSION, DESCRIPTION, CONFIG_SCHEMA)                                     \
  namespace {                                                                                              \
  const gw_adapter_descriptor gw_adapter_descriptor_instance =                                             \
      ::gw::sdk::make_descriptor<T>(NAME, VERSION, DESCRIPTION, CONFIG_SCHEMA);                            \
  }                                                                                                        \
  extern "C" __attribute__((visibility("default"))) const gw_adapter_descriptor* gw_adapter_entry(void) {   \
    return &gw_adapter_descriptor_instance;                                                                \
  }
