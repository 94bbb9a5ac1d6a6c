#include "gw/status.h"

#include <array>

namespace gw {
namespace {
using S = v1::Status;
// Keep in sync with the table in gateway/proto/gw/v1/envelope.proto (status_test checks both).
// Reverse lookups take the first row with a code, so order matters where codes repeat.
constexpr std::array<StatusInfo, 21> kTable{{
    {S::OK, 2000, 205, 200, "OK", 0},
    {S::CREATED, 2001, 201, 201, "Created", -1},
    {S::DELETED, 2002, 202, 200, "OK", -1},
    {S::CHANGED, 2004, 204, 200, "OK", -1},
    {S::ACCEPTED, 1000, 203, 202, "Accepted", -1},
    {S::BAD_REQUEST, 4000, 400, 400, "Bad Request", 3},
    {S::NOT_FOUND, 4004, 404, 404, "Not Found", 5},
    {S::OPERATION_NOT_ALLOWED, 4005, 405, 405, "Method Not Allowed", -1},
    {S::REQUEST_TIMEOUT, 4008, 504, 504, "Gateway Timeout", -1},
    {S::UNSUPPORTED_MEDIA, 4015, 415, 415, "Unsupported Media Type", -1},
    {S::FORBIDDEN, 4103, 403, 403, "Forbidden", 1},
    {S::CONFLICT, 4105, 409, 409, "Conflict", 4},
    {S::NOT_ACCEPTABLE, 5207, 406, 406, "Not Acceptable", -1},
    {S::UNAUTHORIZED, 4101, 401, 401, "Unauthorized", 10},
    {S::EXPIRED, 4008, 408, 408, "Request Timeout", -1},
    {S::TARGET_NOT_REACHABLE, 5103, 503, 503, "Service Unavailable", -1},
    {S::INTERNAL_ERROR, 5000, 500, 500, "Internal Server Error", 6},
    {S::DEVICE_ERROR, 5000, 502, 502, "Bad Gateway", -1},
    {S::NOT_IMPLEMENTED, 5001, 501, 501, "Not Implemented", -1},
    {S::BUSY, 5000, 503, 503, "Service Unavailable", -1},
    {S::STATUS_UNSPECIFIED, 5000, 500, 500, "Internal Server Error", -1},
}};
}  // namespace

const StatusInfo& status_info(v1::Status s) {
  for (const auto& i : kTable)
    if (i.status == s) return i;
  return kTable.back();
}

std::string status_line(v1::Status s) {
  const auto& i = status_info(s);
  return std::to_string(i.http) + " " + i.http_reason;
}

bool status_is_success(v1::Status s) {
  return s == S::OK || s == S::CREATED || s == S::DELETED || s == S::CHANGED || s == S::ACCEPTED;
}

namespace {
// First row whose `field` equals code; else by class (2xx success, 4xx client error, else server).
v1::Status lookup(int code, int StatusInfo::*field, int scale) {
  for (const auto& i : kTable)
    if (i.*field == code && i.status != S::STATUS_UNSPECIFIED) return i.status;
  int cls = code / scale;
  if (cls == 2) return S::OK;
  if (cls == 4) return S::BAD_REQUEST;
  return S::INTERNAL_ERROR;
}
}  // namespace

v1::Status status_from_onem2m(int rsc) {
  if (rsc >= 1000 && rsc < 2000) return S::ACCEPTED;
  return lookup(rsc, &StatusInfo::onem2m_rsc, 1000);
}

v1::Status status_from_coap(int c) { return lookup(c, &StatusInfo::coap, 100); }

v1::Status status_from_http(int code) { return lookup(code, &StatusInfo::http, 100); }

v1::Status status_from_osap(int r) {
  switch (r) {
    case 0: return S::OK;
    case 1: return S::FORBIDDEN;
    case 2: return S::BAD_REQUEST;  // bad order
    case 3: return S::BAD_REQUEST;
    case 4: return S::CONFLICT;
    case 5: return S::NOT_FOUND;
    case 6: return S::INTERNAL_ERROR;
    case 7: return S::BAD_REQUEST;  // decrypt failed
    case 8: return S::INTERNAL_ERROR;
    case 9: return S::TARGET_NOT_REACHABLE;
    case 10: return S::UNAUTHORIZED;
    default: return S::DEVICE_ERROR;
  }
}

}  // namespace gw
