// Fuzz target: untrusted <rest> payload as it arrives (base64 -> XML -> JSON), plus the raw-XML
// path, the status-line and JID parsers; anything that decodes must re-encode and decode equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "oic/codec/jid.h"
#include "oic/codec/rest.h"
#include "oic/codec/status.h"

using namespace gw::oic;

namespace {
void check_round_trip(const RestMessage& m) {
  // Whatever the decoder accepts, the encoder must be able to write (same validity rules).
  auto x = encode_rest_xml(m);
  if (!x.ok()) std::abort();
  auto d = decode_rest_xml(x.value());
  RestMessage expect = m;
  if (expect.is_response() && expect.reason.empty()) expect.reason.assign(reason_phrase(expect.status));
  if (!d.ok() || !(d.value() == expect)) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RestLimits limits;
  limits.max_xml_bytes = 64 * 1024;
  auto a = decode_rest_base64(in, limits);
  if (a.ok()) check_round_trip(a.value());
  auto b = decode_rest_xml(in, limits);
  if (b.ok()) check_round_trip(b.value());
  if (!b.ok() && rest_errc(b.error()) == RestErrc::None) std::abort();  // every error is classified
  (void)parse_status_line(in);
  (void)parse_oic_jid(in);
  (void)parse_url(in);
  return 0;
}
