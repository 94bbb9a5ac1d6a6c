// Fuzz target: the presence filter on arbitrary stream bytes. First byte: split point selector.
// Invariants: no crash; the output never grows; the result is the same however the bytes are split
// (whole, at the chosen point, byte by byte); with nothing dropped the output is the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "oic/codec/presence_filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t k = in.empty() ? 0 : data[0] % (in.size() + 1);
  gw::oic::PresenceFilter whole(256);
  std::string a = whole.feed(in);
  gw::oic::PresenceFilter split(256);
  std::string b = split.feed(in.substr(0, k));
  b += split.feed(in.substr(k));
  gw::oic::PresenceFilter bytes(256);
  std::string c;
  for (char ch : in) c += bytes.feed(std::string(1, ch));
  if (a.size() > in.size() || a != b || a != c) std::abort();
  if (whole.dropped() == 0 && a != in) {
    // Only a presence still held at the end (incomplete) may be missing.
    if (in.compare(0, a.size(), a) != 0) std::abort();
  }
  return 0;
}
