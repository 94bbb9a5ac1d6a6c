#include "log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

namespace gw::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<int> g_min_level{static_cast<int>(Level::Info)};  // min over global + overrides
std::atomic<bool> g_has_overrides{false};
std::mutex g_mu;
std::map<std::string, Level, std::less<>> g_components;
void (*g_sink)(std::string_view) = nullptr;

void recompute_min() {
  int m = g_level.load();
  for (auto& [_, l] : g_components) m = std::min(m, static_cast<int>(l));
  g_min_level.store(m);
  g_has_overrides.store(!g_components.empty());
}
}  // namespace

void set_level(Level level) {
  std::lock_guard lk(g_mu);
  g_level.store(static_cast<int>(level));
  recompute_min();
}

void set_component_level(const std::string& component, Level level) {
  std::lock_guard lk(g_mu);
  g_components[component] = level;
  recompute_min();
}

void clear_component_levels() {
  std::lock_guard lk(g_mu);
  g_components.clear();
  recompute_min();
}

bool enabled(Level level, std::string_view component) {
  int l = static_cast<int>(level);
  if (l < g_min_level.load(std::memory_order_relaxed)) return false;
  if (!g_has_overrides.load(std::memory_order_relaxed)) return l >= g_level.load(std::memory_order_relaxed);
  std::lock_guard lk(g_mu);
  auto it = g_components.find(component);
  return l >= (it != g_components.end() ? static_cast<int>(it->second) : g_level.load());
}

const char* level_name(Level level) {
  switch (level) {
    case Level::Trace: return "trace";
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
    case Level::Off: return "off";
  }
  return "?";
}

std::string quote(std::string_view v) {
  bool needs = v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) needs = true;
  if (!needs) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned char>(c));
      out += b;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

void set_sink(void (*sink)(std::string_view line)) {
  std::lock_guard lk(g_mu);
  g_sink = sink;
}

void write(Level level, std::string_view component, std::string_view message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  std::string line;
  line.reserve(64 + message.size());
  line += ts;
  line += " level=";
  line += level_name(level);
  line += " comp=";
  line += component;
  line += " msg=";
  line += quote(message);
  line += '\n';
  std::lock_guard lk(g_mu);
  if (g_sink) {
    g_sink(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

}  // namespace gw::log
