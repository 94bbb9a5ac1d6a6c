// libFuzzer target: oneM2M xml primitives (request and response), see fuzz_common.h.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return gw::onem2m::fuzz::run(data, size, gw::onem2m::Format::kXml);
}
