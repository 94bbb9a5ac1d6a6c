// Fuzz target: LBS frame decoder and every LBS message parser (both directions), plus the
// decrypt-and-check helpers a server or device runs on the parsed fields.
// Input: byte 0 picks the chunk size used to feed the decoder (exercises incremental decoding);
// the rest is the byte stream.
#include <cstdint>
#include <cstdlib>

#include "fuzz_util.h"

#include "osap/codec/lbs.h"

using gw::Result;
using namespace gw::osap;
using namespace gw::osap::lbs;

namespace {
const AesKey kKey = AesKeyFromAscii("32D4212CFFF7642B");
constexpr std::string_view kMaster = "0123456789ABCDEF";
const SessionKey kSession = AesKeyFromAscii("SESSIONKEY012345");


// parse(encode(x)) must give x back for every device message that parsed.
void RoundTrip(const DeviceMessage& m) {
  Result<Bytes> enc = std::visit(
      [](const auto& v) -> Result<Bytes> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, AuthRequest>) return EncodeAuthRequest(v);
        if constexpr (std::is_same_v<T, ApplyDevid>) return EncodeApplyDevid(v);
        if constexpr (std::is_same_v<T, RefreshRequest>) return EncodeRefreshRequest(v);
        if constexpr (std::is_same_v<T, RefreshI>) return EncodeRefreshI(v);
        if constexpr (std::is_same_v<T, Confirm>) return EncodeConfirm(v);
        if constexpr (std::is_same_v<T, DasRequest>) return EncodeDasRequest(v);
        if constexpr (std::is_same_v<T, UnsupportedRequest>) return EncodeUnsupportedRequest(v);
      },
      m);
  FUZZ_ASSERT(enc.ok());
  auto f = DecodeFrame(enc.value(), enc.value().size());
  FUZZ_ASSERT(f.ok());
  auto again = ParseDeviceMessage(f.value());
  FUZZ_ASSERT(again.ok());
  FUZZ_ASSERT(again.value().index() == m.index());
  if (auto* a = std::get_if<AuthRequest>(&m)) {
    auto& b = std::get<AuthRequest>(again.value());
    FUZZ_ASSERT(a->serial == b.serial && a->sealed_public_key == b.sealed_public_key &&
                a->negotiation.groups == b.negotiation.groups && a->gen == b.gen);
  }
  if (auto* a = std::get_if<RefreshI>(&m)) {
    auto& b = std::get<RefreshI>(again.value());
    FUZZ_ASSERT(a->serial == b.serial && a->devid == b.devid && a->sealed_r1 == b.sealed_r1);
  }
}

void Exercise(const Frame& f) {
  auto dm = ParseDeviceMessage(f);
  if (dm.ok()) {
    RoundTrip(dm.value());
    if (auto* a = std::get_if<AuthRequest>(&dm.value())) (void)OpenPublicKey(a->gen, kKey, a->sealed_public_key);
    if (auto* r = std::get_if<RefreshI>(&dm.value())) (void)OpenByte(kMaster, r->sealed_r1);
    if (auto* c = std::get_if<Confirm>(&dm.value())) (void)OpenByte(kMaster, c->sealed_r2);
    if (auto* d = std::get_if<DasRequest>(&dm.value())) (void)OpenDasQuery(kSession, d->sealed_query);
  }
  for (Generation g : {Generation::kGen1, Generation::kGen2}) {
    auto ar = ParseAuthReply(f, g);
    if (ar.ok()) {
      if (auto* r = std::get_if<AuthReply>(&ar.value())) (void)OpenPublicKey(g, kKey, r->sealed_public_key);
    }
    for (MsgType t : {MsgType::kDevidReply, MsgType::kRefreshReply}) {
      auto kg = ParseKeyGrant(f, g, t);
      if (kg.ok() && kg->result == ResultCode::kOk) {
        (void)OpenKeyGrant(kg.value(), kMaster);
        auto enc = EncodeKeyGrant(kg.value());
        FUZZ_ASSERT(enc.ok());
      }
    }
  }
  auto rg = ParseRefreshGrant(f);
  if (rg.ok() && rg->result == ResultCode::kOk) (void)OpenRefreshKeys(kMaster, rg->sealed);
  auto dr = ParseDasReply(f);
  if (dr.ok() && dr->result == ResultCode::kOk) (void)OpenDasInfo(kSession, dr->sealed_info);
  (void)PeekReplyResult(f);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = static_cast<size_t>(data[0] % 16) + 1;
  ByteView in(data + 1, size - 1);
  FrameDecoder dec(kDefaultMaxFrame);
  for (size_t off = 0; off < in.size(); off += chunk) {
    dec.feed(in.subspan(off, std::min(chunk, in.size() - off)));
    while (true) {
      auto f = dec.next();
      if (!f.ok()) return 0;  // framing lost: a server closes the connection here
      if (!f.value()) break;
      Exercise(*f.value());
    }
  }
  return 0;
}
