// First byte selects JSON (even) or CBOR (odd); a decoded value must re-encode and decode equal.
#include <cstdint>
#include <cstdlib>

#include "gw/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::span<const uint8_t> body(data + 1, size - 1);
  if (data[0] & 1) {
    auto v = gw::value_from_cbor(body);
    if (!v) return 0;
    auto again = gw::value_from_cbor(gw::value_to_cbor(v.value()));
    if (!again || !gw::value_equal(v.value(), again.value())) std::abort();
  } else {
    auto v = gw::value_from_json(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
    if (!v) return 0;
    auto text = gw::value_to_json(v.value());
    auto again = gw::value_from_json(text);
    if (!again) std::abort();  // what we write we must read back
  }
  return 0;
}
