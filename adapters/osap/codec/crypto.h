// OSAP cryptography (wire profile §1.5): share keys, AES-128-CBC/GCM with the fixed IVs, the
// 48-byte sign, ECDH on secp384r1 with raw 97-byte points, master-key derivation, and the random
// devid / session key the server hands out. OpenSSL 3 EVP only; nothing here throws.
// Thread-safe: algorithms are fetched once per process, EC contexts are cached per thread.
// Cost on the server per onboarding: one key generation + one derivation (two P-384 scalar
// multiplications; the peer point is checked on import, so derivation skips OpenSSL's extra check).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <gw/result.h>

#include "osap/codec/bytes.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace gw::osap {

// The two device SDK generations of the profile.
enum class Generation : uint8_t { kGen1 = 1, kGen2 = 2 };

using AesKey = std::array<uint8_t, 16>;     // a 128-bit AES key
using SessionKey = std::array<uint8_t, 16>; // raw session key (also the DAS payload key)
using Sign = std::array<uint8_t, 48>;       // HMAC-SHA384 output
using EcPoint = std::array<uint8_t, 97>;    // 04 || X(48) || Y(48)
using SharedX = std::array<uint8_t, 48>;    // X coordinate of the ECDH shared point

inline constexpr size_t kDevidLen = 32;
inline constexpr size_t kMasterKeyLen = 16;
inline constexpr size_t kShareKeyLen = 32;

// The AES key made of the first 16 characters of an ASCII key (share key or master key).
// Precondition: ascii.size() >= 16.
AesKey AesKeyFromAscii(std::string_view ascii);

// Share key (32 ASCII characters) from the verification code and serial. `lower_first_md5` selects
// the retry variant (first MD5 hex in lower case) that devices use after result 1.
std::string ShareKey(Generation gen, std::string_view vcode, std::string_view serial,
                     bool lower_first_md5 = false);

// AES-128-CBC, IV = "01234567" + 8 zero bytes, PKCS#7 (always 1..16 bytes of padding).
Bytes CbcEncrypt(const AesKey& key, ByteView plain);
// Strict: ciphertext length a non-zero multiple of 16, padding bytes all equal and in 1..16.
Result<Bytes> CbcDecrypt(const AesKey& key, ByteView cipher);

// AES-128-GCM, IV = "012345" + 6 zero bytes, no AAD; returns tag(16) || ciphertext.
Bytes GcmSeal(const AesKey& key, ByteView plain);
// Input tag(16) || ciphertext; fails on a short input or a tag mismatch.
Result<Bytes> GcmOpen(const AesKey& key, ByteView tag_and_cipher);

// The generation's cipher for 0x1/0x2 and 0x8/0x6 fields: gen 1 = CBC, gen 2 = GCM (tag first).
Bytes Seal(Generation gen, const AesKey& key, ByteView plain);
Result<Bytes> Open(Generation gen, const AesKey& key, ByteView sealed);
// Sealed size of `plain_len` bytes: gen 1 = next multiple of 16 above plain_len, gen 2 = 16 + plain_len.
size_t SealedSize(Generation gen, size_t plain_len);

// sign = HMAC-SHA384(key = 16-char ASCII master key, message = SHA384(serial)).
Sign ComputeSign(std::string_view master_key, std::string_view serial);
// Constant-time comparison of two signs.
bool SignEquals(const Sign& a, const Sign& b);

// Master key = upper-case hex of the first 8 bytes of MD5(X): 16 ASCII characters.
std::string MasterKeyFromShared(const SharedX& x);
// True if `key` is 16 upper-case hex characters (what MasterKeyFromShared produces).
bool IsValidMasterKey(std::string_view key);

// Random devid: 32 printable ASCII characters ([0-9A-Za-z]) from RAND_bytes.
std::string RandomDevid();
// True if `devid` is exactly 32 printable ASCII characters (0x21..0x7E; no space, no quote or
// backslash, so it can be copied into a JSON string verbatim).
bool IsValidDevid(std::string_view devid);
SessionKey RandomSessionKey();
// Fills `out` from RAND_bytes.
void RandomFill(uint8_t* out, size_t len);

// An EC key on secp384r1 (private + public, or public only). Move-only owner of an EVP_PKEY.
class EcKey {
 public:
  EcKey() = default;
  explicit EcKey(EVP_PKEY* owned) : pkey_(owned) {}
  EcKey(EcKey&&) noexcept = default;
  EcKey& operator=(EcKey&&) noexcept = default;
  ~EcKey() = default;

  // Fresh key pair (use one per handshake on the server).
  static Result<EcKey> Generate();
  // Imports a raw 97-byte uncompressed point; rejects a wrong size or prefix and points that are
  // not on the curve.
  static Result<EcKey> FromPublic(ByteView raw);

  bool valid() const { return pkey_ != nullptr; }
  // The raw 97-byte uncompressed public point.
  EcPoint PublicRaw() const;
  // ECDH with a peer public key: the 48-byte X coordinate of the shared point.
  Result<SharedX> Derive(const EcKey& peer) const;
  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* p) const;
  };
  std::unique_ptr<EVP_PKEY, Free> pkey_;
};

}  // namespace gw::osap
