#include "prosody_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "prosody_fixture.h"  // run_command, on_path

namespace gw::oic::itest {

namespace {

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

}  // namespace

gw::Result<std::unique_ptr<ProsodyServer>> ProsodyServer::create(const std::string& domain) {
  for (const char* tool : {"prosody", "prosodyctl", "openssl"})
    if (!test::on_path(tool)) return make_error(std::string("required tool '") + tool + "' not found on PATH");
  std::unique_ptr<ProsodyServer> f(new ProsodyServer());
  f->domain_ = domain;
  char tmpl[] = "/tmp/oic-itest-prosody-XXXXXX";
  if (!::mkdtemp(tmpl)) return make_error("mkdtemp failed");
  f->dir_ = tmpl;
  const std::string& d = f->dir_;
  std::filesystem::create_directories(d + "/data");
  f->ca_ = d + "/ca.pem";
  std::ofstream(d + "/server.ext") << "subjectAltName=DNS:" << domain
                                   << "\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,"
                                      "keyEncipherment\nextendedKeyUsage=serverAuth\n";
  std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/ca.key", "-out", f->ca_, "-days", "2", "-subj", "/CN=camgw oic itest CA", "-addext",
       "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=" + domain},
      {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", f->ca_, "-CAkey", d + "/ca.key", "-CAcreateserial",
       "-out", d + "/server.crt", "-days", "2", "-extfile", d + "/server.ext"},
  };
  for (auto& s : steps)
    if (auto r = test::run_command(s); !r) return make_error("certificate generation: " + r.error().message);
  f->port_ = free_port();
  if (f->port_ <= 0) return make_error("no free port on 127.0.0.1");
  f->cfg_ = d + "/prosody.cfg.lua";
  std::ofstream cfg(f->cfg_);
  cfg << "pidfile = \"" << d << "/prosody.pid\"\n"
      << "data_path = \"" << d << "/data\"\n"
      << "run_as_root = true\n"
      << "daemonize = false\n"
      << "interfaces = { \"127.0.0.1\" }\n"
      << "c2s_ports = { " << f->port_ << " }\n"
      << "s2s_ports = { }\n"
      << "c2s_require_encryption = true\n"
      << "allow_registration = false\n"
      // prosody 0.12 keeps Nagle on and defers writes by default: every XMPP request/response then
      // waits on delayed ACKs (tens of ms). Deployments serving OIC RA should set the same.
      << "network_settings = { nagle = false }\n"
      << "authentication = \"internal_hashed\"\n"
      << "storage = \"internal\"\n"
      << "modules_enabled = { \"roster\", \"saslauth\", \"tls\", \"disco\", \"private\", \"ping\", \"posix\" }\n"
      << "modules_disabled = { \"s2s\" }\n"
      << "log = { { levels = { min = \"warn\" }, to = \"file\", filename = \"" << d << "/prosody.log\" } }\n"
      << "ssl = { key = \"" << d << "/server.key\", certificate = \"" << d << "/server.crt\" }\n"
      << "VirtualHost \"" << domain << "\"\n"
      << "  ssl = { key = \"" << d << "/server.key\", certificate = \"" << d << "/server.crt\" }\n";
  cfg.close();
  if (auto r = f->start(); !r) return r.error();
  return f;
}

gw::Result<void> ProsodyServer::start() {
  if (pid_ > 0) return {};
  pid_t pid = ::fork();
  if (pid < 0) return make_error("fork failed");
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    int logfd = ::open((dir_ + "/prosody.stdout").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
    ::setpgid(0, 0);
    ::execlp("prosody", "prosody", "--config", cfg_.c_str(), "-F", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!port_open(port_)) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      pid_ = -1;
      return make_error("prosody exited during startup: " + log_tail());
    }
    if (std::chrono::steady_clock::now() > deadline) return make_error("prosody did not listen: " + log_tail());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

void ProsodyServer::freeze(bool on) {
  if (pid_ > 0) ::kill(pid_, on ? SIGSTOP : SIGCONT);
}

void ProsodyServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int st = 0;
  while (::waitpid(pid_, &st, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &st, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

gw::Result<void> ProsodyServer::register_user(const std::string& user, const std::string& password) {
  auto r = test::run_command({"prosodyctl", "--config", cfg_, "register", user, domain_, password});
  if (!r) return r.error();
  return {};
}

std::string ProsodyServer::log_tail() const {
  std::string out;
  for (const char* name : {"/prosody.stdout", "/prosody.log"}) {
    std::ifstream in(dir_ + name);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.size() > 2000) s = s.substr(s.size() - 2000);
    out += std::string("[") + name + "] " + s + "\n";
  }
  return out;
}

ProsodyServer::~ProsodyServer() {
  stop();
  if (dir_.rfind("/tmp/oic-itest-prosody-", 0) == 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace gw::oic::itest
