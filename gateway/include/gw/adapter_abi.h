/*
 * camgw adapter ABI — the one C-linkage boundary between gatewayd and its adapter modules.
 *
 * A module is a shared object that exports exactly one symbol, GW_ADAPTER_ENTRY_SYMBOL
 * ("gw_adapter_entry"), returning a pointer to a static, const gw_adapter_descriptor.
 * The loader reads descriptor->abi_version first and refuses the module if it differs from
 * GW_ADAPTER_ABI_VERSION (the message names the module and both versions); nothing else in the
 * descriptor is touched in that case.
 *
 * Envelopes cross the boundary as serialized gw.v1.Envelope protobuf bytes
 * (gateway/proto/gw/v1/envelope.proto). That keeps this header free of C++ types: protobuf's wire
 * format is the versioned contract for message contents, this header for everything else.
 *
 * Threading: every function in both tables is called on, and must be called from, the gateway's
 * event-loop thread — except gw_host_api.post, which any thread may call (library callbacks that run
 * on a foreign thread use it to hand work to the loop).
 *
 * Ownership: buffers passed as (const uint8_t*, size_t) are borrowed for the duration of the call.
 * gw_buf data is always malloc()ed; the receiver owns it (host->buf_free or free()).
 *
 * Any change to a struct below, to a function signature or to the meaning of a field bumps
 * GW_ADAPTER_ABI_VERSION. Structs carry their own size and reserved slots for additive growth.
 */
#ifndef GW_ADAPTER_ABI_H
#define GW_ADAPTER_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GW_ADAPTER_ABI_VERSION 1u
#define GW_ADAPTER_ENTRY_SYMBOL "gw_adapter_entry"

/* Log levels, in increasing severity. */
enum gw_log_level { GW_LOG_TRACE = 0, GW_LOG_DEBUG = 1, GW_LOG_INFO = 2, GW_LOG_WARN = 3, GW_LOG_ERROR = 4 };

/* fd readiness bits for watch_fd / the fd callback. */
enum gw_fd_events { GW_FD_READ = 1u, GW_FD_WRITE = 2u, GW_FD_ERROR = 4u };

/* Result codes of host and adapter calls. */
enum gw_result {
  GW_OK = 0,
  GW_ERR_INVALID = -1,  /* bad argument or undecodable bytes */
  GW_ERR_NOT_FOUND = -2,
  GW_ERR_NO_ROUTE = -3, /* the router has nowhere to send the envelope */
  GW_ERR_BUSY = -4,     /* back-pressure: budget exhausted, retry later */
  GW_ERR_IO = -5,
  GW_ERR_INTERNAL = -6
};

typedef struct gw_buf {
  uint8_t *data;
  size_t len;
} gw_buf;

typedef void (*gw_fd_cb)(void *user, int fd, uint32_t events);
typedef void (*gw_timer_cb)(void *user);
typedef void (*gw_post_cb)(void *user);
/* Durability callback of emit_durable: result GW_OK once the envelope is on stable storage. */
typedef void (*gw_durable_cb)(void *user, uint64_t journal_seq, int result);
/* Completion callback: result GW_OK or a GW_ERR_* code. */
typedef void (*gw_done_cb)(void *user, int result);

/* What the host gives an adapter instance. Valid from create() until destroy() returns. */
typedef struct gw_host_api {
  uint32_t abi_version; /* == GW_ADAPTER_ABI_VERSION */
  uint32_t struct_size; /* sizeof(gw_host_api) as the host was built */
  void *ctx;            /* pass back as the first argument of every call below */

  /* The adapter instance's configured name (e.g. "osap"), its state directory (created, 0700). */
  const char *instance_name;
  const char *state_dir;

  /* Hand a serialized gw.v1.Envelope to the router. The host fills in origin.adapter, an empty
   * message_id / created_ms / trace_id. Returns GW_OK, GW_ERR_INVALID, GW_ERR_NO_ROUTE (a request
   * with no route also gets an error response delivered back) or GW_ERR_BUSY. */
  int (*emit)(void *ctx, const uint8_t *envelope, size_t len);

  /* One structured log line; the host prefixes time, level and the instance name. Never pass
   * key material. */
  void (*log)(void *ctx, int level, const char *message);
  int (*log_enabled)(void *ctx, int level);

  /* Event loop. Ids are never 0 and never reused within a process. */
  uint64_t (*watch_fd)(void *ctx, int fd, uint32_t events, gw_fd_cb cb, void *user);
  int (*update_fd)(void *ctx, uint64_t watch_id, uint32_t events);
  void (*unwatch_fd)(void *ctx, uint64_t watch_id);
  uint64_t (*timer_start)(void *ctx, uint64_t timeout_ms, uint64_t repeat_ms, gw_timer_cb cb, void *user);
  void (*timer_stop)(void *ctx, uint64_t timer_id);
  /* Thread-safe: run cb(user) on the loop thread soon. Returns GW_OK or GW_ERR_BUSY (shutting down). */
  int (*post)(void *ctx, gw_post_cb cb, void *user);
  /* Monotonic milliseconds, and wall-clock Unix milliseconds. */
  uint64_t (*now_ms)(void *ctx);
  int64_t (*wall_ms)(void *ctx);

  /* Device registry (serialized gw.v1.Device). put creates or replaces by (adapter, native_id)
   * and fills *out with the stored record (uuid assigned). get looks up by uuid, or by native_id
   * when uuid is NULL (scoped to this adapter). list returns a serialized gw.v1.DeviceList of
   * this adapter's devices. */
  int (*registry_put)(void *ctx, const uint8_t *device, size_t len, gw_buf *out);
  int (*registry_get)(void *ctx, const char *uuid, const char *native_id, gw_buf *out);
  int (*registry_list)(void *ctx, gw_buf *out);
  int (*registry_set_online)(void *ctx, const char *uuid, int online);
  int (*registry_remove)(void *ctx, const char *uuid);
  void (*buf_free)(void *ctx, gw_buf *buf);

  /* The active mapping set (serialized gw.v1.MappingSet); changes only between loop turns, after
   * which the adapter's on_mappings is called. */
  int (*mappings)(void *ctx, gw_buf *out);

  /* Store-and-forward (gateway/core/journal.h). emit_durable appends the envelope to the journal
   * (journal_seq assigned, per-device order kept), routes it like emit, and calls cb once the record
   * is on stable storage (group commit: at most journal.group_commit_ms later) — only then may the
   * adapter acknowledge it to its device. cb is called exactly once, also on error or shutdown.
   * Consumers (adapters listed in journal.consumer) receive envelopes with journal_seq set, and
   * after a restart every record they have not acknowledged again; they call journal_ack(seq) once
   * their upstream confirmed everything up to seq. */
  int (*emit_durable)(void *ctx, const uint8_t *envelope, size_t len, gw_durable_cb cb, void *user);
  int (*journal_ack)(void *ctx, uint64_t journal_seq);
  /* A consumer asks for everything after its cursor again, in order (e.g. after its upstream came
   * back). Until the replay has caught up, live journaled envelopes for it are held back, so it
   * sees one ordered stream. Called by the host itself for every consumer at startup. */
  int (*journal_replay)(void *ctx);
  /* Every device of every adapter (serialized gw.v1.DeviceList), for bridging adapters (oneM2M,
   * OIC) that expose other adapters' devices. Secrets of devices the caller does not own are
   * always removed — here and in registry_get. */
  int (*registry_list_all)(void *ctx, gw_buf *out);

  /* Group-committed registry_put: the record is stored and visible at once (*out filled as by
   * registry_put), and cb(user, GW_OK) runs once it is on stable storage — at most
   * registry.group_commit_ms later, one fsync for every put of the batch. An adapter that must
   * not answer its device before the record is durable (a key it just granted) answers in cb.
   * If the commit fails, cb gets GW_ERR_IO and the batch's records are gone from the registry
   * again. cb runs exactly once, also at shutdown (before stop returns). Present when
   * struct_size covers it. */
  int (*registry_put_durable)(void *ctx, const uint8_t *device, size_t len, gw_buf *out, gw_done_cb cb,
                              void *user);

  void *reserved[7];
} gw_host_api;

typedef struct gw_adapter gw_adapter; /* opaque, owned by the module */

typedef struct gw_adapter_descriptor {
  uint32_t abi_version; /* GW_ADAPTER_ABI_VERSION the module was built against */
  uint32_t struct_size; /* sizeof(gw_adapter_descriptor) */
  const char *name;     /* module type name, e.g. "osap" */
  const char *version;  /* module's own version string */
  const char *description;
  /* Fully qualified protobuf message name of this adapter's configuration (e.g.
   * "gw.osap.v1.OsapConfig"), registered by the module's generated code when it is loaded; the host
   * parses the config block with it, reporting errors with file:line. NULL = takes no config. */
  const char *config_schema;

  /* Lifecycle: create -> start -> (deliver | on_mappings)* -> stop -> destroy.
   * create parses config (serialized config_schema message) and allocates; it must not do I/O.
   * start begins I/O (listen, connect); a failure is fatal for the whole gateway at startup.
   * stop begins a graceful shutdown and returns; the host keeps the loop running until every
   * adapter's done() returns nonzero or the shutdown grace time passes. destroy frees everything.
   * Errors are written NUL-terminated into err (errlen bytes), one line, naming the reason. */
  int (*create)(const gw_host_api *host, const uint8_t *config, size_t config_len, gw_adapter **out,
                char *err, size_t errlen);
  int (*start)(gw_adapter *self, char *err, size_t errlen);
  /* An envelope for this adapter (serialized gw.v1.Envelope, borrowed). GW_ERR_BUSY pushes back. */
  int (*deliver)(gw_adapter *self, const uint8_t *envelope, size_t len);
  /* Mappings were (re)loaded; the adapter fetches them with host->mappings. Returning nonzero
   * keeps the gateway running on the previous mapping set for this adapter and logs err. */
  int (*on_mappings)(gw_adapter *self, char *err, size_t errlen);
  void (*stop)(gw_adapter *self);
  int (*done)(gw_adapter *self);
  void (*destroy)(gw_adapter *self);
  /* Optional: the adapter's live status as a UTF-8 JSON object, for the admin API;
   * out->data is malloc()ed by the module and free()d by the host. */
  int (*status)(gw_adapter *self, gw_buf *out);

  void *reserved[8];
} gw_adapter_descriptor;

typedef const gw_adapter_descriptor *(*gw_adapter_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* GW_ADAPTER_ABI_H */
