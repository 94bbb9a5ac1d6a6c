// gatewayctl: the command-line tool for a running gatewayd (admin socket, see gateway/core/admin.h).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {
using json = nlohmann::ordered_json;

void usage(FILE* out) {
  std::fprintf(out,
               "usage: gatewayctl [--socket PATH | --state-dir DIR] COMMAND\n"
               "\n"
               "  status                                   gateway, router, journal and adapter status\n"
               "  devices [ADAPTER]                        registered devices (secret values never shown)\n"
               "  reload                                   reload the mapping files (like SIGHUP)\n"
               "  provision ADAPTER SERIAL CODE [MODEL]    make a camera known before it onboards\n"
               "                                           (CODE: verification code, or license:LICENSE)\n"

               "  deprovision ADAPTER SERIAL               forget a camera\n"
               "  request ADAPTER OP PATH [JSON] [DEVICE]  send any request envelope (OP = CREATE,\n"
               "                                           RETRIEVE, UPDATE, DELETE, INVOKE)\n"
               "\n"
               "The socket defaults to /var/lib/camgw/control.sock. Exit status 0 on success, 1 when\n"
               "the gateway refused the command, 2 on usage or connection errors.\n");
}

int call(const std::string& sock, const json& req) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "gatewayctl: socket path too long\n");
    return 2;
  }
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "gatewayctl: cannot connect to %s: %s (is gatewayd running?)\n", sock.c_str(),
                 std::strerror(errno));
    return 2;
  }
  std::string line = req.dump() + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "gatewayctl: send failed: %s\n", std::strerror(errno));
    return 2;
  }
  std::string in;
  char buf[4096];
  while (in.find('\n') == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      std::fprintf(stderr, "gatewayctl: connection closed before a reply\n");
      return 2;
    }
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  json reply = json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (reply.is_discarded()) {
    std::fprintf(stderr, "gatewayctl: undecodable reply\n");
    return 2;
  }
  std::printf("%s\n", reply.dump(2).c_str());
  return reply.value("ok", false) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string sock = "/var/lib/camgw/control.sock";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      sock = argv[++i];
    } else if (a == "--state-dir" && i + 1 < argc) {
      sock = std::string(argv[++i]) + "/control.sock";
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  const std::string& cmd = args[0];
  size_t n = args.size();
  if (cmd == "status" && n == 1) return call(sock, {{"cmd", "status"}});
  if (cmd == "reload" && n == 1) return call(sock, {{"cmd", "reload"}});
  if (cmd == "devices" && n <= 2) return call(sock, {{"cmd", "devices"}, {"adapter", n == 2 ? args[1] : ""}});
  if (cmd == "provision" && (n == 4 || n == 5)) {
    json content{{"serial", args[2]}};
    // CODE is the verification code, or license:CODE for a license-mode camera.
    if (args[3].rfind("license:", 0) == 0) content["license"] = args[3].substr(8);
    else content["verification_code"] = args[3];
    if (n == 5) content["model"] = args[4];
    return call(sock, {{"cmd", "request"}, {"adapter", args[1]}, {"op", "CREATE"}, {"path", "$provision"},
                       {"content", content}});
  }
  if (cmd == "deprovision" && n == 3)
    return call(sock, {{"cmd", "request"}, {"adapter", args[1]}, {"op", "DELETE"}, {"path", "$provision"},
                       {"content", {{"serial", args[2]}}}});
  if (cmd == "request" && n >= 4 && n <= 6) {
    json req{{"cmd", "request"}, {"adapter", args[1]}, {"op", args[2]}, {"path", args[3]}};
    if (n >= 5) {
      json c = json::parse(args[4], nullptr, false);
      if (c.is_discarded()) {
        std::fprintf(stderr, "gatewayctl: content is not JSON: %s\n", args[4].c_str());
        return 2;
      }
      req["content"] = c;
    }
    if (n == 6) req["device"] = args[5];
    return call(sock, req);
  }
  usage(stderr);
  return 2;
}
