#include "osap/codec/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <cstring>

namespace gw::osap {
namespace {

constexpr std::string_view kShareSalt = "www.88075998.com";
constexpr uint8_t kCbcIv[16] = {'0', '1', '2', '3', '4', '5', '6', '7', 0, 0, 0, 0, 0, 0, 0, 0};
constexpr uint8_t kGcmIv[12] = {'0', '1', '2', '3', '4', '5', 0, 0, 0, 0, 0, 0};
constexpr size_t kTagLen = 16;

// Algorithms are fetched once per process (implicit fetches cost a provider lookup per call).
const EVP_MD* Md5() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md;
}
const EVP_MD* Sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}
const EVP_MD* Sha384() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  return md;
}
const EVP_CIPHER* Aes128Cbc() {
  static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  return c;
}
const EVP_CIPHER* Aes128Gcm() {
  static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  return c;
}

[[noreturn]] void CryptoFailure(const char* what) {
  // Only reachable if OpenSSL itself is broken (allocation failure, missing default provider):
  // an invariant violation, not an input error.
  std::fprintf(stderr, "osap crypto: %s failed\n", what);
  std::abort();
}

struct CipherCtx {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(c); }
};

std::array<uint8_t, 16> Md5Of(ByteView b) {
  std::array<uint8_t, 16> out{};
  unsigned int len = 0;
  if (!EVP_Digest(b.data(), b.size(), out.data(), &len, Md5(), nullptr)) CryptoFailure("MD5");
  return out;
}
std::array<uint8_t, 16> Md5Of(std::string_view s) { return Md5Of(AsBytes(s)); }

}  // namespace

AesKey AesKeyFromAscii(std::string_view ascii) {
  AesKey k{};
  std::memcpy(k.data(), ascii.data(), std::min(ascii.size(), k.size()));
  return k;
}

std::string ShareKey(Generation gen, std::string_view vcode, std::string_view serial,
                     bool lower_first_md5) {
  std::string in1 = std::string(vcode) + std::string(serial);
  auto d1 = Md5Of(in1);
  std::string h1 = lower_first_md5 ? HexLower(d1) : HexUpper(d1);
  std::string h2 = HexUpper(Md5Of(h1 + std::string(kShareSalt)));
  std::string h3 = HexUpper(Md5Of(h2));
  if (gen == Generation::kGen1) return h3;
  uint8_t dk[32];
  if (!PKCS5_PBKDF2_HMAC(h3.data(), static_cast<int>(h3.size()),
                         reinterpret_cast<const unsigned char*>(kShareSalt.data()),
                         static_cast<int>(kShareSalt.size()), 3, Sha256(), sizeof dk, dk)) {
    CryptoFailure("PBKDF2");
  }
  return HexUpper(ByteView(dk, sizeof dk)).substr(10, 32);
}

Bytes CbcEncrypt(const AesKey& key, ByteView plain) {
  size_t pad = 16 - plain.size() % 16;
  Bytes in(plain.begin(), plain.end());
  in.insert(in.end(), pad, static_cast<uint8_t>(pad));
  Bytes out(in.size());
  CipherCtx ctx;
  int len = 0;
  if (!ctx.c || !EVP_EncryptInit_ex2(ctx.c, Aes128Cbc(), key.data(), kCbcIv, nullptr) ||
      !EVP_CIPHER_CTX_set_padding(ctx.c, 0) ||
      !EVP_EncryptUpdate(ctx.c, out.data(), &len, in.data(), static_cast<int>(in.size()))) {
    CryptoFailure("AES-128-CBC encrypt");
  }
  return out;
}

Result<Bytes> CbcDecrypt(const AesKey& key, ByteView cipher) {
  if (cipher.empty() || cipher.size() % 16 != 0) {
    return make_error("AES-CBC: ciphertext length " + std::to_string(cipher.size()) +
                      " is not a non-zero multiple of 16");
  }
  Bytes out(cipher.size());
  CipherCtx ctx;
  int len = 0;
  if (!ctx.c || !EVP_DecryptInit_ex2(ctx.c, Aes128Cbc(), key.data(), kCbcIv, nullptr) ||
      !EVP_CIPHER_CTX_set_padding(ctx.c, 0) ||
      !EVP_DecryptUpdate(ctx.c, out.data(), &len, cipher.data(), static_cast<int>(cipher.size()))) {
    CryptoFailure("AES-128-CBC decrypt");
  }
  uint8_t pad = out.back();
  bool bad = pad == 0 || pad > 16;
  for (size_t i = 0; !bad && i < pad; ++i) bad = out[out.size() - 1 - i] != pad;
  if (bad) return make_error("AES-CBC: bad PKCS#7 padding (wrong key or corrupt data)");
  out.resize(out.size() - pad);
  return out;
}

Bytes GcmSeal(const AesKey& key, ByteView plain) {
  Bytes out(kTagLen + plain.size());
  CipherCtx ctx;
  int len = 0, fin = 0;
  if (!ctx.c || !EVP_EncryptInit_ex2(ctx.c, Aes128Gcm(), nullptr, nullptr, nullptr) ||
      !EVP_CIPHER_CTX_ctrl(ctx.c, EVP_CTRL_GCM_SET_IVLEN, sizeof kGcmIv, nullptr) ||
      !EVP_EncryptInit_ex2(ctx.c, nullptr, key.data(), kGcmIv, nullptr) ||
      (!plain.empty() && !EVP_EncryptUpdate(ctx.c, out.data() + kTagLen, &len, plain.data(),
                                            static_cast<int>(plain.size()))) ||
      !EVP_EncryptFinal_ex(ctx.c, out.data() + kTagLen + len, &fin) ||
      !EVP_CIPHER_CTX_ctrl(ctx.c, EVP_CTRL_GCM_GET_TAG, kTagLen, out.data())) {
    CryptoFailure("AES-128-GCM encrypt");
  }
  return out;
}

Result<Bytes> GcmOpen(const AesKey& key, ByteView tag_and_cipher) {
  if (tag_and_cipher.size() < kTagLen) {
    return make_error("AES-GCM: " + std::to_string(tag_and_cipher.size()) +
                      " bytes is shorter than the 16-byte tag");
  }
  ByteView tag = tag_and_cipher.first(kTagLen);
  ByteView ct = tag_and_cipher.subspan(kTagLen);
  Bytes out(ct.size());
  uint8_t tagbuf[kTagLen];
  std::memcpy(tagbuf, tag.data(), kTagLen);
  CipherCtx ctx;
  int len = 0, fin = 0;
  if (!ctx.c || !EVP_DecryptInit_ex2(ctx.c, Aes128Gcm(), nullptr, nullptr, nullptr) ||
      !EVP_CIPHER_CTX_ctrl(ctx.c, EVP_CTRL_GCM_SET_IVLEN, sizeof kGcmIv, nullptr) ||
      !EVP_DecryptInit_ex2(ctx.c, nullptr, key.data(), kGcmIv, nullptr) ||
      (!ct.empty() &&
       !EVP_DecryptUpdate(ctx.c, out.data(), &len, ct.data(), static_cast<int>(ct.size()))) ||
      !EVP_CIPHER_CTX_ctrl(ctx.c, EVP_CTRL_GCM_SET_TAG, kTagLen, tagbuf)) {
    CryptoFailure("AES-128-GCM decrypt");
  }
  if (EVP_DecryptFinal_ex(ctx.c, out.data() + len, &fin) <= 0) {
    return make_error("AES-GCM: tag mismatch (wrong key or corrupt data)");
  }
  return out;
}

Bytes Seal(Generation gen, const AesKey& key, ByteView plain) {
  return gen == Generation::kGen1 ? CbcEncrypt(key, plain) : GcmSeal(key, plain);
}

Result<Bytes> Open(Generation gen, const AesKey& key, ByteView sealed) {
  return gen == Generation::kGen1 ? CbcDecrypt(key, sealed) : GcmOpen(key, sealed);
}

size_t SealedSize(Generation gen, size_t plain_len) {
  return gen == Generation::kGen1 ? (plain_len / 16 + 1) * 16 : kTagLen + plain_len;
}

Sign ComputeSign(std::string_view master_key, std::string_view serial) {
  uint8_t digest[48];
  unsigned int dlen = 0;
  if (!EVP_Digest(serial.data(), serial.size(), digest, &dlen, Sha384(), nullptr)) {
    CryptoFailure("SHA384");
  }
  Sign out{};
  unsigned int mlen = 0;
  if (!HMAC(Sha384(), master_key.data(), static_cast<int>(master_key.size()), digest, dlen,
            out.data(), &mlen) ||
      mlen != out.size()) {
    CryptoFailure("HMAC-SHA384");
  }
  return out;
}

bool SignEquals(const Sign& a, const Sign& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string MasterKeyFromShared(const SharedX& x) {
  return HexUpper(ByteView(Md5Of(ByteView(x))).first(8));
}

bool IsValidMasterKey(std::string_view key) {
  if (key.size() != kMasterKeyLen) return false;
  for (char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

void RandomFill(uint8_t* out, size_t len) {
  if (RAND_bytes(out, static_cast<int>(len)) != 1) CryptoFailure("RAND_bytes");
}

std::string RandomDevid() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  out.reserve(kDevidLen);
  uint8_t buf[64];
  while (out.size() < kDevidLen) {
    RandomFill(buf, sizeof buf);
    for (uint8_t b : buf) {
      if (b >= 248) continue;  // 248 = 4 * 62: rejection keeps the distribution uniform
      out.push_back(kAlphabet[b % 62]);
      if (out.size() == kDevidLen) break;
    }
  }
  return out;
}

bool IsValidDevid(std::string_view devid) {
  if (devid.size() != kDevidLen) return false;
  for (char c : devid) {
    if (c < 0x21 || c > 0x7E || c == '"' || c == '\\') return false;
  }
  return true;
}

SessionKey RandomSessionKey() {
  SessionKey k{};
  RandomFill(k.data(), k.size());
  return k;
}

// ---- EC ---------------------------------------------------------------------------------------

void EcKey::Free::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

namespace {
// Per-thread contexts: key generation and import reuse one context each instead of fetching the
// EC implementation on every handshake.
struct PkeyCtx {
  EVP_PKEY_CTX* c = nullptr;
  ~PkeyCtx() { EVP_PKEY_CTX_free(c); }
};

EVP_PKEY_CTX* KeygenCtx() {
  thread_local PkeyCtx ctx;
  if (!ctx.c) {
    ctx.c = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    if (!ctx.c || EVP_PKEY_keygen_init(ctx.c) <= 0 ||
        EVP_PKEY_CTX_set_group_name(ctx.c, "secp384r1") <= 0) {
      CryptoFailure("EC keygen context");
    }
  }
  return ctx.c;
}

EVP_PKEY_CTX* ImportCtx() {
  thread_local PkeyCtx ctx;
  if (!ctx.c) {
    ctx.c = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    if (!ctx.c) CryptoFailure("EC import context");
  }
  return ctx.c;
}
}  // namespace

Result<EcKey> EcKey::Generate() {
  EVP_PKEY* p = nullptr;
  if (EVP_PKEY_generate(KeygenCtx(), &p) <= 0) return make_error("ECDH: key generation failed");
  return EcKey(p);
}

Result<EcKey> EcKey::FromPublic(ByteView raw) {
  if (raw.size() != std::tuple_size_v<EcPoint>) {
    return make_error("ECDH: public key is " + std::to_string(raw.size()) +
                      " bytes, expected 97 (uncompressed secp384r1 point)");
  }
  if (raw[0] != 0x04) return make_error("ECDH: public key does not start with 04 (uncompressed)");
  char group[] = "secp384r1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(raw.data()),
                                        raw.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX* ctx = ImportCtx();
  EVP_PKEY* p = nullptr;
  // Decoding the point checks that the coordinates are below p and that it lies on the curve.
  if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
      EVP_PKEY_fromdata(ctx, &p, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return make_error("ECDH: public key is not a point on secp384r1");
  }
  return EcKey(p);
}

EcPoint EcKey::PublicRaw() const {
  EcPoint out{};
  size_t len = 0;
  if (!pkey_ || !EVP_PKEY_get_octet_string_param(pkey_.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                 out.data(), out.size(), &len) ||
      len != out.size()) {
    CryptoFailure("EC public key export");
  }
  return out;
}

Result<SharedX> EcKey::Derive(const EcKey& peer) const {
  if (!pkey_ || !peer.pkey_) return make_error("ECDH: missing key");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr);
  SharedX x{};
  size_t len = x.size();
  // The peer was validated on import (on-curve; cofactor 1), so skip OpenSSL's full check, which
  // would cost one more scalar multiplication per handshake.
  bool ok = ctx && EVP_PKEY_derive_init(ctx) > 0 &&
            EVP_PKEY_derive_set_peer_ex(ctx, peer.pkey_.get(), 0) > 0 &&
            EVP_PKEY_derive(ctx, x.data(), &len) > 0 && len == x.size();
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return make_error("ECDH: key derivation failed");
  return x;
}

}  // namespace gw::osap
