// Journal recovery reads whatever a crash or a failing flash left on disk.
#include <cstdint>
#include <string_view>

#include "journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = gw::Journal::parse_segment(std::string_view(reinterpret_cast<const char*>(data), size));
  if (p.valid_bytes > size) __builtin_trap();
  uint64_t prev = 0;
  for (const auto& r : p.records) {
    if (prev && r.seq != prev + 1) __builtin_trap();
    prev = r.seq;
  }
  return 0;
}
