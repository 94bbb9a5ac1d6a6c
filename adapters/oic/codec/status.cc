#include "oic/codec/status.h"

#include "oic/codec/text_util.h"

namespace gw::oic {

namespace {
struct Entry {
  int code;
  std::string_view reason;
};
constexpr Entry kTable[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {415, "Unsupported Media Type"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};
}  // namespace

std::string_view reason_phrase(int code) {
  for (const auto& e : kTable)
    if (e.code == code) return e.reason;
  return {};
}

bool is_known_status(int code) { return !reason_phrase(code).empty(); }

std::string format_status_line(int code) {
  std::string line = std::to_string(code);
  auto r = reason_phrase(code);
  if (!r.empty()) {
    line.push_back(' ');
    line.append(r);
  }
  return line;
}

gw::Result<StatusLine> parse_status_line(std::string_view text) {
  std::string_view t = trim_xml_space(text);
  if (t.size() < 3) return make_error("status: line too short: '" + printable(t) + "'");
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    char c = t[static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return make_error("status: code is not three digits: '" + printable(t) + "'");
    code = code * 10 + (c - '0');
  }
  if (code < 100 || code > 599) return make_error("status: code " + std::to_string(code) + " out of range 100..599");
  StatusLine sl;
  sl.code = code;
  if (t.size() > 3) {
    if (t[3] != ' ' && t[3] != '\t') return make_error("status: no space after the code: '" + printable(t) + "'");
    std::string_view reason = trim_xml_space(t.substr(4));
    if (has_control_chars(reason)) return make_error("status: control character in reason phrase");
    sl.reason = std::string(reason);
  }
  return sl;
}

}  // namespace gw::oic
