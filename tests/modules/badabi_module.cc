// A module built against a different adapter ABI, to prove the loader refuses it. Only
// abi_version may be read from it; the rest is deliberately garbage.
#include <cstdint>

namespace {
struct FutureDescriptor {
  uint32_t abi_version;
  uint32_t struct_size;
  const char* name;
  void* garbage[4];
};
const FutureDescriptor kDescriptor = {999u, 4096u, "badabi", {nullptr, nullptr, nullptr, nullptr}};
}  // namespace

extern "C" __attribute__((visibility("default"))) const void* gw_adapter_entry(void) { return &kDescriptor; }
