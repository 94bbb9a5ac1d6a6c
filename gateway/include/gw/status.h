// The status mapping table of envelope.proto, as code: gw.v1.Status <-> oneM2M response status
// codes, CoAP codes, OIC/HTTP-style status lines and OSAP result codes.
#pragma once

#include <string>

#include "gw/v1/envelope.pb.h"

namespace gw {

struct StatusInfo {
  v1::Status status;
  int onem2m_rsc;
  int coap;              // class * 100 + detail, e.g. 205 for 2.05
  int http;              // status-line code
  const char* http_reason;
  int osap;              // LBS result code, -1 = none
};

const StatusInfo& status_info(v1::Status s);
std::string status_line(v1::Status s);  // "404 Not Found"
bool status_is_success(v1::Status s);

v1::Status status_from_onem2m(int rsc);
v1::Status status_from_coap(int coap);  // 205 for 2.05
v1::Status status_from_http(int code);
v1::Status status_from_osap(int result);  // LBS result codes of osap-wire-profile §1.4

}  // namespace gw
