// osap_camsim: N simulated OSAP cameras / NVRs in one process, each a complete device of either SDK
// generation, all driven by one libuv loop (no thread per camera). Written from
// adapters/osap/PROTOCOL.md: onboarding by F1/F2/F3 (with the retry share key after result 1, devid
// wipe after 4, master-key wipe after 10, back-off 2 s x n), DAS connect with the NUL-padded will,
// CONNACK 10/11/12 handling (12 -> fast re-registration with clean session 0), heartbeat, periodic
// property reports, motion events, answers to shadow set/query and service calls, and an ordered
// outbound queue: events raised while the DAS connection is down are cached (bounded) and replayed in
// order after reconnecting; QoS 1 publishes not PUBACKed are retransmitted with DUP = 1.
//
// Threading: every method runs on the loop thread except those marked thread-safe, which may be
// called from any thread (they post to the loop and wait when they return something).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gw/result.h>

struct uv_loop_s;

namespace camsim {

enum class GenChoice { kGen1, kGen2, kMix };  // mix: odd camera numbers gen 1, even gen 2
enum class FlowChoice { kAuto, kF1, kF2, kF3 };

struct Options {
  std::string lbs_host = "127.0.0.1";
  uint16_t lbs_port = 8666;
  int count = 1;
  int first_index = 1;                  // serial = prefix + zero-padded (first_index + i)
  std::string serial_prefix = "CAMSIM";
  int serial_digits = 5;
  GenChoice gen = GenChoice::kMix;
  // auto: F3 with devid + master key stored, F2 with devid only, else F1. F1: forget stored keys
  // first. F2: forget the master key first (needs a stored devid, else F1). F3: as auto.
  FlowChoice flow = FlowChoice::kAuto;
  std::string vcode = "ABCDEF";          // the same verification code for every camera
  std::string state_file;                // "" = nothing persisted (every start is F1)
  std::string profile_json;              // thing-model profile (§8); "" = the built-in one
  std::string model = "camsim-ipc";      // registry model name printed by --print-config
  int channels = 1;                      // >1: an NVR; reports/events rotate over localIndex 0..n-1
  uint32_t report_interval_ms = 10000;   // 0 = no periodic reports
  uint32_t event_interval_ms = 0;        // 0 = no periodic motion events
  bool flood = false;                    // benchmark: keep max_inflight reports in flight always
  // "" = none; else every PUBACK of an event appends "serial seq count\n" (Seq of the common header,
  // the event's "count") to this file with one write(2), before anything else happens (tests).
  std::string ack_log;
  uint16_t keep_alive_s = 30;
  uint32_t backoff_ms = 2000;            // profile: 2 s x n, n capped at 60
  uint32_t reply_timeout_ms = 5000;      // profile: the device waits 5 s per LBS reply
  int max_concurrent_onboarding = 32;    // LBS handshakes in progress at once (a ramp, not a device rule)
  size_t event_cache = 256;              // events kept while offline per camera; oldest dropped beyond
  size_t max_inflight = 16;              // unacknowledged QoS 1 publishes per camera
  bool quiet = false;                    // only errors and summaries
  std::string control_socket;            // "" = none; else a Unix socket taking control commands
  // Benchmark baseline: skip the LBS and connect straight to this MQTT endpoint with a random
  // session key (the peer is a null sink that acknowledges without decrypting).
  std::string das_direct_host;
  uint16_t das_direct_port = 0;
  std::function<void(std::string_view)> out;  // one line per significant event (default: stdout)
};

struct Stats {
  uint64_t cameras = 0, online = 0, onboarding = 0, stopped = 0;
  uint64_t onboard_f1 = 0, onboard_f2 = 0, onboard_f3 = 0, lbs_errors = 0, lbs_timeouts = 0;
  uint64_t connack_ok = 0, connack_refused = 0, connack_12 = 0, resumed = 0, das_losses = 0;
  uint64_t reports_sent = 0, reports_acked = 0, reports_skipped = 0;
  uint64_t events_raised = 0, events_sent = 0, events_acked = 0, events_cached_now = 0, events_dropped = 0;
  uint64_t events_replayed = 0, retransmits = 0;
  uint64_t sets = 0, queries = 0, services = 0, downlinks = 0, pings = 0;
  std::string line() const;  // "stats: cameras=... online=..."
};

// What a test or the control interface can see of one camera.
struct CameraInfo {
  std::string serial, devid, state;
  int gen = 0;
  std::string last_flow;  // "F1" / "F2" / "F3"
  bool has_master = false, online = false, forced_offline = false, stopped = false;
  uint64_t events_raised = 0, events_acked = 0, reports_acked = 0;
  size_t queued = 0, inflight = 0;
  std::string das_server_id;
  std::vector<std::string> log;  // the last lines printed for this camera (at most 32)
};

class Simulator {
 public:
  explicit Simulator(Options o);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Loads the profile and the state file, creates the cameras and schedules their start.
  gw::Result<void> Start();
  void Run();  // runs the loop on the calling thread until Quit()
  // Runs the loop on a background thread (tests, benchmarks); StopThread quits and joins.
  void StartThread();
  void StopThread();

  // Thread-safe. One control line: "offline <sn|all> [graceful]", "online <sn|all>",
  // "event <sn|all> [domain/identifier [json]]", "report <sn|all>", "stats", "list", "quit".
  // Returns the reply text (one line, or several for "list").
  std::string Command(const std::string& line);
  Stats GetStats();                                         // thread-safe
  std::optional<CameraInfo> Info(const std::string& serial);  // thread-safe
  // Thread-safe: true once pred(stats) holds (polled every 20 ms) or false after timeout_ms.
  bool WaitFor(const std::function<bool(const Stats&)>& pred, int timeout_ms);
  void Quit();  // thread-safe: graceful DISCONNECT of online cameras, state saved, loop stops

  // The serials this configuration simulates, and their gateway configuration block lines
  // (`device { serial: ... verification_code: ... model: ... }`).
  std::vector<std::string> Serials() const;
  std::string ProvisionConfig() const;
  static const char* BuiltinProfile();
  uv_loop_s* loop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
uint64_t RaiseFileLimit();

}  // namespace camsim
