// A module built against a different adapter ABI, to prove the loader refuses it. Only
// abi_version may be read from it; the rest is deliberately garbage.
#include <cstdint>

struct gw_adapter_descriptor;  // the loader's view; this module's real layout differs

namespace {
struct FutureDescriptor {
  uint32_t abi_version;
  uint32_t struct_size;
  const char* name;
  void* garbage[4];
};
const FutureDescriptor kDescriptor = {999u, 4096u, "badabi", {nullptr, nullptr, nullptr, nullptr}};
}  // namespace

// Same signature as gw_adapter_entry_fn, so even an indirect-call type check is satisfied.
extern "C" __attribute__((visibility("default"))) const gw_adapter_descriptor* gw_adapter_entry(void) {
  return reinterpret_cast<const gw_adapter_descriptor*>(&kDescriptor);
}
