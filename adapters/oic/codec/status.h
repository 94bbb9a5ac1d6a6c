// HTTP-style status lines carried in <url method="RESPONSE">…</url> (OIC RA v1.0 section 7.3.1:
// "the response in HTTP is formatted as a number and status. The full response line will be placed
// in the payload of url tag", e.g. "200 OK").
#pragma once

#include <string>
#include <string_view>

#include "gw/result.h"

namespace gw::oic {

struct StatusLine {
  int code = 0;          // 100..599
  std::string reason;    // as received (may be empty); see reason_phrase() for the canonical one
  bool operator==(const StatusLine&) const = default;
};

// Canonical reason phrase (RFC 9110 wording) for the codes the gateway uses: 200 201 202 204 400
// 401 403 404 405 406 408 409 415 500 501 502 503 504. Empty for any other code.
std::string_view reason_phrase(int code);

// True if `code` is one of the codes in the table above.
bool is_known_status(int code);

// "200 OK". For a code outside the table the line is just the three digits ("299").
std::string format_status_line(int code);

// Parses "<3 digits>[ SP reason]". Surrounding whitespace is ignored; the code must be 100..599;
// the reason must not contain control characters. Errors are prefixed "status: ".
gw::Result<StatusLine> parse_status_line(std::string_view text);

}  // namespace gw::oic
