// gatewayd: the camgw protocol gateway daemon.
#include <getopt.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "gateway.h"
#include "gw/adapter_abi.h"
#include "log.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: gatewayd [--config FILE] [--check-config] [--module-dir DIR] [--state-dir DIR] [--help] [--version]\n"
               "\n"
               "Bridges Hikvision-style cameras (OSAP) to oneM2M (MQTT binding) and OIC (XMPP, CoAP).\n"
               "\n"
               "  --config FILE      gateway configuration (textproto); default /etc/camgw/gateway.textproto\n"
               "  --check-config     validate the configuration, modules and mapping files; start nothing.\n"
               "                     exit 0 when valid, 2 with a one-line error naming file:line otherwise\n"
               "  --module-dir DIR   where adapter modules (gw_<name>.so) live; overrides the config\n"
               "  --state-dir DIR    registry and adapter state; overrides the config's state_dir\n"
               "  --help             this text\n"
               "  --version          version and adapter ABI version\n"
               "\n"
               "Signals: SIGTERM/SIGINT stop cleanly (adapters stopped, state flushed); SIGHUP reloads the\n"
               "mapping files atomically (a bad file keeps the active mappings and logs why).\n"
               "Exit status: 0 clean stop, 1 runtime failure, 2 bad configuration or a module that cannot\n"
               "load or start.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config = "/etc/camgw/gateway.textproto";
  std::string module_dir;
  std::string state_dir;
  bool check = false;
  static const option opts[] = {{"config", required_argument, nullptr, 'c'},
                                {"check-config", no_argument, nullptr, 'k'},
                                {"module-dir", required_argument, nullptr, 'm'},
                                {"state-dir", required_argument, nullptr, 's'},
                                {"help", no_argument, nullptr, 'h'},
                                {"version", no_argument, nullptr, 'v'},
                                {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "c:km:s:hv", opts, nullptr)) != -1) {
    switch (c) {
      case 'c': config = optarg; break;
      case 'k': check = true; break;
      case 'm': module_dir = optarg; break;
      case 's': state_dir = optarg; break;
      case 'h': usage(stdout); return 0;
      case 'v': std::printf("gatewayd %s (adapter ABI %u)\n", GW_VERSION, GW_ADAPTER_ABI_VERSION); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "gatewayd: unexpected argument \"%s\"\n", argv[optind]);
    usage(stderr);
    return 2;
  }

  gw::EventLoop loop;
  gw::Gateway::Options o;
  o.config_path = config;
  o.module_dir = module_dir;
  o.state_dir = state_dir;
  o.check_only = check;
  auto g = gw::Gateway::create(loop, o);
  if (!g) {
    std::fprintf(stderr, "gatewayd: %s\n", g.error().message.c_str());
    return 2;
  }
  if (check) {
    std::printf("gatewayd: %s is valid (%zu adapters, %d routes, %d device models)\n", config.c_str(),
                g.value()->host().names().size(), g.value()->router().mappings()->route_size(),
                g.value()->router().mappings()->model_size());
    return 0;
  }
  auto& gw = *g.value();
  gw.install_signal_handlers();
  auto st = gw.start();
  if (!st) {
    std::fprintf(stderr, "gatewayd: %s\n", st.error().message.c_str());
    GW_LOG(Error, "gateway", st.error().message);
    return 2;
  }
  loop.run();
  g.value().reset();
  GW_LOG(Info, "gateway", "stopped");
  return 0;
}
