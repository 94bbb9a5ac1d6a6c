// Structured logging: one logfmt line per event on stderr,
//   2026-11-22T16:45:00.123Z level=info comp=router msg="request timed out" corr=abc
// Levels are global with per-component overrides (gateway config: log { level, component }).
// Thread-safe. Never pass key material or credentials.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace gw::log {

enum class Level { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Off = 5 };

void set_level(Level level);
void set_component_level(const std::string& component, Level level);
void clear_component_levels();
bool enabled(Level level, std::string_view component);
void write(Level level, std::string_view component, std::string_view message);
const char* level_name(Level level);
// Quote a value for logfmt if it contains spaces, quotes or '='.
std::string quote(std::string_view value);
// Redirect output (tests). nullptr = stderr.
void set_sink(void (*sink)(std::string_view line));

}  // namespace gw::log

#define GW_LOG(level, component, expr)                                    \
  do {                                                                    \
    if (::gw::log::enabled(::gw::log::Level::level, component)) {         \
      std::ostringstream gw_log_os_;                                      \
      gw_log_os_ << expr;                                                 \
      ::gw::log::write(::gw::log::Level::level, component, gw_log_os_.str()); \
    }                                                                     \
  } while (0)
