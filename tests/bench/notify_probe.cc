// notify_probe: the measuring client of tests/bench/e2e_notify_bench.py, in C++ so that the
// measurement itself adds no interpreter pauses (a Python client's own p99 varied 1-25 ms here).
//
//   notify_probe gateway  --port P --control SOCK --serials FILE --ae AE-ID --rate R --seconds S --out FILE
//       Connects to mosquitto as a second connection of the oneM2M AE AE-ID (subscribes to
//       /oneM2M/req/+/AE-ID/#), raises R motion events a second for S seconds on the camsim
//       camera simulator through its control socket (round robin over the serials in FILE), each
//       carrying {"ts": CLOCK_MONOTONIC ns}, and answers every NOTIFY it gets with rsc 2000 on the
//       response topic, as the AE would. Latency = NOTIFY parsed - event raised.
//   notify_probe baseline --port P --rate R --seconds S --bytes N --out FILE
//       The MQTT leg alone: a publisher sends R NOTIFY primitives of N bytes a second (QoS 1,
//       TCP_NODELAY) through the same mosquitto to a subscriber that parses them with the same code.
//
// Both modes pace with absolute deadlines (clock_nanosleep), wait up to 5 s for stragglers, write
// one latency in ms per line to --out and print one JSON summary line on stdout:
//   {"sent":N,"received":N,"elapsed_s":S,"bytes":AVG,"p50":..,"p99":..,"max":..}
// A bench client, not gateway code: libmosquitto's own network thread per connection is fine here.
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using Json = nlohmann::json;

int64_t mono_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

void sleep_until_ns(int64_t ns) {
  timespec t{time_t(ns / 1000000000), long(ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
  }
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "notify_probe: %s\n", why.c_str());
  std::exit(2);
}

struct Args {
  std::string mode, control, serials, ae = "Cbench-app", out;
  int port = 1883, rate = 1000, bytes = 330;
  double seconds = 2;
};

// What both modes record: latencies (ms) of the messages whose primitive carried a ts.
struct Sink {
  std::mutex mu;
  std::vector<double> lat;
  std::atomic<size_t> count{0};
  std::atomic<uint64_t> bytes{0};
  void add(const Json& prim, int64_t now, size_t len) {
    auto& con = prim.at("pc").at("m2m:sgn").at("nev").at("rep").at("m2m:cin").at("con");
    int64_t ts = con.at("ts").get<int64_t>();
    {
      std::lock_guard<std::mutex> g(mu);
      lat.push_back(double(now - ts) / 1e6);
    }
    bytes += len;
    ++count;
  }
};

// One libmosquitto connection with its network thread; TCP_NODELAY as every camgw client.
struct Conn {
  mosquitto* m = nullptr;
  std::atomic<bool> subscribed{false};
  Sink* sink = nullptr;           // where received NOTIFYs are timed (subscribers)
  const std::string* ae = nullptr;  // gateway mode: the AE-ID that answers them
  explicit Conn(const std::string& id) {
    m = mosquitto_new(id.c_str(), true, this);  // callbacks get this Conn as userdata
    if (!m) die("mosquitto_new failed");
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m, 1000);
    mosquitto_subscribe_callback_set(m, [](mosquitto*, void* o, int, int, const int*) {
      static_cast<Conn*>(o)->subscribed = true;
    });
  }
  void start(int port) {
    int rc = mosquitto_connect(m, "127.0.0.1", port, 60);
    if (rc != MOSQ_ERR_SUCCESS) die(std::string("connect: ") + mosquitto_strerror(rc));
    if (mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) die("loop_start failed");
  }
  void subscribe(const std::string& topic) {
    int rc = mosquitto_subscribe(m, nullptr, topic.c_str(), 1);
    if (rc != MOSQ_ERR_SUCCESS) die(std::string("subscribe: ") + mosquitto_strerror(rc));
    int64_t until = mono_ns() + 5'000'000'000LL;
    while (!subscribed && mono_ns() < until) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (!subscribed) die("no SUBACK for " + topic);
  }
  ~Conn() {
    if (!m) return;
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
  }
};

void on_notify(mosquitto* m, void* o, const mosquitto_message* msg) {
  int64_t now = mono_ns();
  auto* conn = static_cast<Conn*>(o);
  Sink* sink = conn->sink;
  Json prim = Json::parse(static_cast<const char*>(msg->payload), static_cast<const char*>(msg->payload) + msg->payloadlen,
                          nullptr, false);
  if (prim.is_discarded()) return;
  try {
    sink->add(prim, now, size_t(msg->payloadlen));
  } catch (const Json::exception&) {
  }
  if (!conn->ae) return;  // baseline: nobody to answer
  // A request to the AE: answer 2000 on /oneM2M/resp/{originator}/{AE}/json, as m2m_app.py does.
  std::string topic = msg->topic;  // /oneM2M/req/{orig}/{ae}/json
  std::vector<std::string> parts;
  size_t p = 0;
  while (p <= topic.size()) {
    size_t q = topic.find('/', p);
    if (q == std::string::npos) q = topic.size();
    parts.push_back(topic.substr(p, q - p));
    p = q + 1;
  }
  if (parts.size() < 6) return;
  Json rsp = {{"rsc", 2000}, {"rqi", prim.value("rqi", "")}, {"to", prim.value("fr", "")},
              {"fr", *conn->ae}, {"rvi", "3"}};
  std::string body = rsp.dump();
  std::string rt = "/oneM2M/resp/" + parts[3] + "/" + parts[4] + "/json";
  mosquitto_publish(m, nullptr, rt.c_str(), int(body.size()), body.data(), 1, false);
}

// Paces n = rate*seconds calls of fn(i) on absolute 1/rate deadlines; returns the elapsed seconds.
template <class F>
double paced(int rate, double seconds, F fn) {
  size_t n = size_t(rate * seconds);
  int64_t t0 = mono_ns(), step = 1000000000LL / rate;
  for (size_t i = 0; i < n; ++i) {
    sleep_until_ns(t0 + int64_t(i) * step);
    fn(i);
  }
  return double(mono_ns() - t0) / 1e9;
}

void wait_all(Sink& s, size_t n) {
  int64_t until = mono_ns() + 5'000'000'000LL;
  while (s.count < n && mono_ns() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

double pct(std::vector<double> xs, double p) {
  if (xs.empty()) return -1;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, size_t(p / 100.0 * double(xs.size() - 1) + 0.5))];
}

void report(const Args& a, Sink& s, size_t sent, double elapsed) {
  std::vector<double> lat;
  {
    std::lock_guard<std::mutex> g(s.mu);
    lat = s.lat;
  }
  if (!a.out.empty()) {
    std::ofstream f(a.out);
    for (double x : lat) f << x << "\n";
    if (!f) die("cannot write " + a.out);
  }
  Json j = {{"sent", sent},
            {"received", lat.size()},
            {"elapsed_s", elapsed},
            {"bytes", lat.empty() ? 0 : s.bytes.load() / lat.size()},
            {"p50", pct(lat, 50)},
            {"p99", pct(lat, 99)},
            {"max", lat.empty() ? -1 : *std::max_element(lat.begin(), lat.end())}};
  std::printf("%s\n", j.dump().c_str());
}

int run_gateway(const Args& a) {
  std::vector<std::string> serials;
  {
    std::ifstream f(a.serials);
    for (std::string l; std::getline(f, l);)
      if (!l.empty()) serials.push_back(l);
  }
  if (serials.empty()) die("no serials in " + a.serials);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (a.control.size() >= sizeof sa.sun_path) die("control socket path too long");
  std::memcpy(sa.sun_path, a.control.c_str(), a.control.size());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    die("control socket " + a.control + ": " + std::strerror(errno));

  Sink sink;
  std::string ae = a.ae;
  Conn c("probe-" + std::to_string(getpid()));
  c.sink = &sink;
  c.ae = &ae;
  mosquitto_message_callback_set(c.m, on_notify);
  c.start(a.port);
  c.subscribe("/oneM2M/req/+/" + ae + "/#");

  double elapsed = paced(a.rate, a.seconds, [&](size_t i) {
    char line[160];
    int n = std::snprintf(line, sizeof line, "event %s motion/vmd {\"ts\":%lld}\n", serials[i % serials.size()].c_str(),
                          static_cast<long long>(mono_ns()));
    for (int off = 0; off < n;) {
      ssize_t w = write(fd, line + off, size_t(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) die(std::string("control socket write: ") + std::strerror(errno));
      off += int(w);
    }
  });
  size_t n = size_t(a.rate * a.seconds);
  wait_all(sink, n);
  close(fd);
  report(a, sink, n, elapsed);
  return 0;
}

int run_baseline(const Args& a) {
  Sink sink;
  std::string tag = std::to_string(getpid());
  Conn sub("probe-sub-" + tag);
  sub.sink = &sink;
  mosquitto_message_callback_set(sub.m, on_notify);
  sub.start(a.port);
  std::string topic = "/oneM2M/req/id-mn/Cprobe" + tag + "/json";
  sub.subscribe(topic);
  Conn pub("probe-pub-" + tag);
  pub.start(a.port);
  // The same primitive shape as the CSE's NOTIFY, padded to the gateway's average size.
  Json proto = {{"op", 5}, {"to", "Cprobe"}, {"fr", "/id-mn"}, {"rqi", "ntf-0000000000000-0000000"}, {"rvi", "3"},
                {"pc",
                 {{"m2m:sgn",
                   {{"nev", {{"rep", {{"m2m:cin", {{"con", {{"ts", mono_ns()}, {"pad", ""}}}}}}}, {"net", 3}}},
                    {"sur", "cse-mn/camgw/x/motionEvents/sub"}}}}}};
  size_t base = proto.dump().size();
  std::string pad(size_t(a.bytes) > base ? size_t(a.bytes) - base : 0, 'x');
  double elapsed = paced(a.rate, a.seconds, [&](size_t i) {
    Json prim = proto;
    prim["rqi"] = "ntf-" + std::to_string(i);
    auto& con = prim["pc"]["m2m:sgn"]["nev"]["rep"]["m2m:cin"]["con"];
    con["pad"] = pad;
    con["ts"] = mono_ns();
    std::string body = prim.dump();
    mosquitto_publish(pub.m, nullptr, topic.c_str(), int(body.size()), body.data(), 1, false);
  });
  size_t n = size_t(a.rate * a.seconds);
  wait_all(sink, n);
  report(a, sink, n, elapsed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2) die("usage: notify_probe gateway|baseline [options] (see the file's header)");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) die("missing value for " + k);
    std::string v = argv[++i];
    if (k == "--port") a.port = std::stoi(v);
    else if (k == "--control") a.control = v;
    else if (k == "--serials") a.serials = v;
    else if (k == "--ae") a.ae = v;
    else if (k == "--rate") a.rate = std::stoi(v);
    else if (k == "--seconds") a.seconds = std::stod(v);
    else if (k == "--bytes") a.bytes = std::stoi(v);
    else if (k == "--out") a.out = v;
    else die("unknown option " + k);
  }
  if (a.rate <= 0 || a.seconds <= 0) die("--rate and --seconds must be positive");
  mosquitto_lib_init();
  int rc = a.mode == "gateway" ? run_gateway(a) : a.mode == "baseline" ? run_baseline(a) : (die("unknown mode " + a.mode), 2);
  mosquitto_lib_cleanup();
  return rc;
}
