// Fuzz target: DAS payload decryption + framing + common JSON, and the topic parsers.
// Input: byte 0 bit 0 picks the policy (legacy / thing model), bit 1 whether the rest is treated
// as ciphertext under a fixed session key or as an already-decrypted plaintext.
#include <cstdint>
#include <cstdlib>

#include "fuzz_util.h"

#include "osap/codec/payload.h"
#include "osap/codec/topics.h"

using gw::Result;
using namespace gw::osap;

namespace {
const SessionKey kSession = AesKeyFromAscii("SESSIONKEY012345");
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  CommonPolicy policy = (data[0] & 1) ? CommonPolicy::kThingModel : CommonPolicy::kLegacy;
  ByteView in(data + 1, size - 1);
  Result<PayloadMessage> m = (data[0] & 2) ? OpenPayload(kSession, in, policy) : ParsePayloadPlain(in, policy);
  if (m.ok()) {
    // Re-encoding the parsed header and body must parse back to the same values.
    auto sealed = SealPayload(kSession, m->common, m->body);
    FUZZ_ASSERT(sealed.ok());
    auto again = OpenPayload(kSession, sealed.value(), policy);
    FUZZ_ASSERT(again.ok());
    FUZZ_ASSERT(again->common.seq == m->common.seq && again->common.msg_type == m->common.msg_type &&
                again->body == m->body);
  }
  // The will message (identity proof) under the same key.
  if (data[0] & 2) {
    auto w = OpenWillPayload(kSession, in);
    if (w.ok()) FUZZ_ASSERT(!w->json.empty());
  }
  std::string_view s(reinterpret_cast<const char*>(in.data()), in.size());
  auto t = topics::ParseThingTopic(s);
  if (t.ok()) {
    auto built = topics::BuildThingTopic(t.value());
    FUZZ_ASSERT(built.ok() && built.value() == s);
    FUZZ_ASSERT(topics::TopicBelongsTo(t->serial, s));
  }
  auto w = topics::ParseWillTopic(s);
  if (w.ok()) FUZZ_ASSERT(topics::BuildWillTopic(w.value()).value() == s);
  auto d = topics::ParseLegacyDownlink(s);
  if (d.ok()) FUZZ_ASSERT(topics::BuildLegacyDownlink(d.value()).value() == s);
  auto u = topics::ParseLegacyUplink(s);
  if (u.ok()) FUZZ_ASSERT(topics::BuildLegacyUplink(u.value()) == s);
  return 0;
}
