// camsim: N simulated OSAP cameras / NVRs against a gateway's LBS (see README.md in this folder).
#include <getopt.h>
#include <uv.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "camsim.h"

namespace {

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: camsim [options]\n"
               "  --lbs HOST:PORT            the gateway's LBS (default 127.0.0.1:8666)\n"
               "  --count N                  number of cameras (default 1)\n"
               "  --gen 1|2|mix              SDK generation (mix: odd numbers gen 1, even gen 2; default mix)\n"
               "  --flow auto|F1|F2|F3       auto: F3 with a stored devid + master key, F2 with a devid only,\n"
               "                             else F1; F1 forgets stored keys, F2 forgets the master key\n"
               "  --serial-prefix P          serials are P + 5-digit number (default CAMSIM)\n"
               "  --first-index N            number of the first camera (default 1)\n"
               "  --vcode CODE               verification code of every camera (default ABCDEF)\n"
               "  --state-file FILE          keeps devid + master key per camera across runs (0600)\n"
               "  --report-interval-ms MS    property report period per camera (default 10000; 0 = none)\n"
               "  --event-interval-ms MS     motion event period per camera (default 0 = none)\n"
               "  --model FILE               thing-model profile JSON (default: the built-in camera profile)\n"
               "  --model-name NAME          model name for --print-config (default camsim-ipc)\n"
               "  --channels N               NVR: N video channels (localIndex 0..N-1; default 1)\n"
               "  --keepalive S              MQTT keep-alive seconds (default 30)\n"
               "  --backoff-ms MS            retry back-off unit (profile: 2000 x n, n <= 60)\n"
               "  --max-onboarding N         LBS handshakes in progress at once (default 32)\n"
               "  --event-cache N            events cached per camera while offline (default 256)\n"
               "  --control-socket PATH      also take control commands on this Unix socket\n"
               "  --no-stdin                 do not read control commands from stdin\n"
               "  --stats-interval-ms MS     print a stats line periodically (default 0 = never)\n"
               "  --duration-s S             quit after S seconds\n"
               "  --quiet                    only errors, warnings and stats lines\n"
               "  --ack-log FILE             append \"serial seq count\" for every PUBACK of an event (tests)\n"
               "  --flood                    every camera keeps its 16 in-flight slots full of reports\n"
               "                             (as fast as the gateway acknowledges)\n"
               "  --max-inflight N           unacknowledged QoS 1 publishes per camera (default 16; a\n"
               "                             misbehaving camera: more than the DAS's max_unacked_uplinks)\n"
               "  --print-config             print the gateway `device { ... }` lines for these cameras and exit\n"
               "  --print-profile            print the built-in thing-model profile and exit\n"
               "control commands (stdin or the socket), one per line:\n"
               "  offline <sn|all> [graceful]   cut the DAS connection (or DISCONNECT) and stay offline\n"
               "  online <sn|all>               reconnect; cached events are replayed in order\n"
               "  event <sn|all> [domain/identifier [json]]   raise an event (cached while offline)\n"
               "  report <sn|all>               send a property report now\n"
               "  stats | list | quit\n");
}

bool SplitHostPort(const std::string& s, std::string& host, uint16_t& port) {
  auto c = s.rfind(':');
  if (c == std::string::npos) return false;
  host = s.substr(0, c);
  int p = std::atoi(s.c_str() + c + 1);
  if (p <= 0 || p > 65535) return false;
  port = static_cast<uint16_t>(p);
  return !host.empty();
}

}  // namespace

int main(int argc, char** argv) {
  camsim::Options o;
  bool use_stdin = true, print_config = false, print_profile = false;
  uint64_t stats_ms = 0, duration_s = 0;
  enum {
    kLbs = 1000, kCount, kGen, kFlow, kPrefix, kFirst, kVcode, kState, kReport, kEvent, kModel, kModelName, kChannels,
    kKeepalive, kBackoff, kMaxOnb, kCache, kControl, kNoStdin, kStats, kDuration, kQuiet, kPrintConfig, kPrintProfile, kHelp,
    kAckLog, kFlood, kMaxInflight
  };
  static const option opts[] = {
      {"lbs", required_argument, nullptr, kLbs}, {"count", required_argument, nullptr, kCount},
      {"gen", required_argument, nullptr, kGen}, {"flow", required_argument, nullptr, kFlow},
      {"serial-prefix", required_argument, nullptr, kPrefix}, {"first-index", required_argument, nullptr, kFirst},
      {"vcode", required_argument, nullptr, kVcode}, {"state-file", required_argument, nullptr, kState},
      {"report-interval-ms", required_argument, nullptr, kReport}, {"event-interval-ms", required_argument, nullptr, kEvent},
      {"model", required_argument, nullptr, kModel}, {"model-name", required_argument, nullptr, kModelName},
      {"channels", required_argument, nullptr, kChannels}, {"keepalive", required_argument, nullptr, kKeepalive},
      {"backoff-ms", required_argument, nullptr, kBackoff}, {"max-onboarding", required_argument, nullptr, kMaxOnb},
      {"event-cache", required_argument, nullptr, kCache}, {"control-socket", required_argument, nullptr, kControl},
      {"no-stdin", no_argument, nullptr, kNoStdin}, {"stats-interval-ms", required_argument, nullptr, kStats},
      {"duration-s", required_argument, nullptr, kDuration}, {"quiet", no_argument, nullptr, kQuiet},
      {"print-config", no_argument, nullptr, kPrintConfig}, {"print-profile", no_argument, nullptr, kPrintProfile},
      {"ack-log", required_argument, nullptr, kAckLog}, {"flood", no_argument, nullptr, kFlood},
      {"max-inflight", required_argument, nullptr, kMaxInflight},
      {"help", no_argument, nullptr, kHelp}, {nullptr, 0, nullptr, 0}};
  int c;
  auto num = [](const char* s) { return std::strtoull(s, nullptr, 10); };
  while ((c = getopt_long(argc, argv, "", opts, nullptr)) != -1) {
    switch (c) {
      case kLbs:
        if (!SplitHostPort(optarg, o.lbs_host, o.lbs_port)) {
          std::fprintf(stderr, "camsim: --lbs wants HOST:PORT, got \"%s\"\n", optarg);
          return 2;
        }
        break;
      case kCount: o.count = static_cast<int>(num(optarg)); break;
      case kGen: {
        std::string g = optarg;
        if (g == "1") o.gen = camsim::GenChoice::kGen1;
        else if (g == "2") o.gen = camsim::GenChoice::kGen2;
        else if (g == "mix") o.gen = camsim::GenChoice::kMix;
        else {
          std::fprintf(stderr, "camsim: --gen wants 1, 2 or mix\n");
          return 2;
        }
        break;
      }
      case kFlow: {
        std::string f = optarg;
        if (f == "auto") o.flow = camsim::FlowChoice::kAuto;
        else if (f == "F1" || f == "f1") o.flow = camsim::FlowChoice::kF1;
        else if (f == "F2" || f == "f2") o.flow = camsim::FlowChoice::kF2;
        else if (f == "F3" || f == "f3") o.flow = camsim::FlowChoice::kF3;
        else {
          std::fprintf(stderr, "camsim: --flow wants auto, F1, F2 or F3\n");
          return 2;
        }
        break;
      }
      case kPrefix: o.serial_prefix = optarg; break;
      case kFirst: o.first_index = static_cast<int>(num(optarg)); break;
      case kVcode: o.vcode = optarg; break;
      case kState: o.state_file = optarg; break;
      case kReport: o.report_interval_ms = static_cast<uint32_t>(num(optarg)); break;
      case kEvent: o.event_interval_ms = static_cast<uint32_t>(num(optarg)); break;
      case kModel: {
        std::ifstream in(optarg);
        if (!in) {
          std::fprintf(stderr, "camsim: cannot read --model %s\n", optarg);
          return 2;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        o.profile_json = ss.str();
        break;
      }
      case kModelName: o.model = optarg; break;
      case kChannels: o.channels = static_cast<int>(num(optarg)); break;
      case kKeepalive: o.keep_alive_s = static_cast<uint16_t>(num(optarg)); break;
      case kBackoff: o.backoff_ms = static_cast<uint32_t>(num(optarg)); break;
      case kMaxOnb: o.max_concurrent_onboarding = static_cast<int>(num(optarg)); break;
      case kCache: o.event_cache = num(optarg); break;
      case kControl: o.control_socket = optarg; break;
      case kNoStdin: use_stdin = false; break;
      case kStats: stats_ms = num(optarg); break;
      case kDuration: duration_s = num(optarg); break;
      case kQuiet: o.quiet = true; break;
      case kAckLog: o.ack_log = optarg; break;
      case kFlood: o.flood = true; break;
      case kMaxInflight: o.max_inflight = std::max<size_t>(1, num(optarg)); break;
      case kPrintConfig: print_config = true; break;
      case kPrintProfile: print_profile = true; break;
      case kHelp: Usage(stdout); return 0;
      default: Usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "camsim: unexpected argument \"%s\"\n", argv[optind]);
    return 2;
  }
  if (print_profile) {
    std::printf("%s\n", camsim::Simulator::BuiltinProfile());
    return 0;
  }
  camsim::Simulator sim(o);
  if (print_config) {
    std::printf("%s", sim.ProvisionConfig().c_str());
    return 0;
  }
  // A peer that goes away (a killed gateway, a control client that hung up) must cost an EPIPE on
  // that connection, not the whole simulator: libuv writes with write(2), which raises SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  uint64_t nofile = camsim::RaiseFileLimit();
  if (nofile < static_cast<uint64_t>(o.count) + 64)
    std::fprintf(stderr, "camsim: warning: RLIMIT_NOFILE is %llu, fewer than the %d cameras need\n",
                 static_cast<unsigned long long>(nofile), o.count);
  auto r = sim.Start();
  if (!r.ok()) {
    std::fprintf(stderr, "camsim: %s\n", r.error().message.c_str());
    return 2;
  }
  std::printf("camsim: %d camera(s) (%s) -> LBS %s:%u; type \"stats\", \"offline <sn>\", \"online <sn>\", "
              "\"event <sn>\" or \"quit\"\n",
              o.count, o.gen == camsim::GenChoice::kMix ? "gen 1 and 2" : o.gen == camsim::GenChoice::kGen1 ? "gen 1" : "gen 2",
              o.lbs_host.c_str(), o.lbs_port);
  std::fflush(stdout);

  uv_loop_t* loop = sim.loop();
  struct Ctx {
    camsim::Simulator* sim;
  } ctx{&sim};
  uv_signal_t sigint, sigterm;
  uv_timer_t stats_timer, end_timer;
  for (uv_signal_t* s : {&sigint, &sigterm}) {
    uv_signal_init(loop, s);
    s->data = &ctx;
  }
  auto on_sig = [](uv_signal_t* s, int) { static_cast<Ctx*>(s->data)->sim->Quit(); };
  uv_signal_start(&sigint, on_sig, SIGINT);
  uv_signal_start(&sigterm, on_sig, SIGTERM);
  uv_timer_init(loop, &stats_timer);
  uv_timer_init(loop, &end_timer);
  stats_timer.data = end_timer.data = &ctx;
  if (stats_ms)
    uv_timer_start(&stats_timer, [](uv_timer_t* t) {
      std::printf("camsim: %s\n", static_cast<Ctx*>(t->data)->sim->GetStats().line().c_str());
      std::fflush(stdout);
    }, stats_ms, stats_ms);
  if (duration_s)
    uv_timer_start(&end_timer, [](uv_timer_t* t) { static_cast<Ctx*>(t->data)->sim->Quit(); }, duration_s * 1000, 0);

  if (use_stdin) {
    std::thread([&sim] {
      std::string line;
      while (std::getline(std::cin, line)) {
        std::string reply = sim.Command(line);
        if (!reply.empty()) {
          std::printf("%s\n", reply.c_str());
          std::fflush(stdout);
        }
        if (reply == "bye") break;
      }
    }).detach();
  }
  sim.Run();
  std::printf("camsim: %s\n", sim.GetStats().line().c_str());
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&sigint), reinterpret_cast<uv_handle_t*>(&sigterm),
                         reinterpret_cast<uv_handle_t*>(&stats_timer), reinterpret_cast<uv_handle_t*>(&end_timer)})
    uv_close(h, nullptr);
  std::fflush(stdout);
  // The stdin reader may still be blocked in getline: leave without destroying what it uses (the
  // state file was written by Quit()).
  std::_Exit(0);
}
