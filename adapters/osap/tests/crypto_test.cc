#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <set>

#include "osap/codec/crypto.h"
#include "test_util.h"

using namespace gw::osap;
using osap_test::H;
using osap_test::Hex;

TEST_CASE("share key: the profile's gen-1 test vector") {
  CHECK(ShareKey(Generation::kGen1, "J7Fv5gCsTczVe38aNLe4ev", "4LYV8SK7UKLBOUOVS6HXVX:A532NO6K0Q2O") ==
        "32D4212CFFF7642B80B63D8E20387924");
}

TEST_CASE("share key: the profile's gen-2 test vector") {
  CHECK(ShareKey(Generation::kGen2, "VCODE123", "TESTSN0002") == "8B07045602F59A30E6EE1880C9455083");
}

TEST_CASE("share key: lower-case first MD5 retry variant") {
  // Values computed independently (Python hashlib) from the profile's recipe with h1 in lower case.
  CHECK(ShareKey(Generation::kGen1, "J7Fv5gCsTczVe38aNLe4ev", "4LYV8SK7UKLBOUOVS6HXVX:A532NO6K0Q2O",
                 true) == "0E8ED6E211F3143582833F0F39389DBD");
  CHECK(ShareKey(Generation::kGen2, "VCODE123", "TESTSN0002", true) == "BC99A388978390A0CAEA61AEE060B8F8");
}

TEST_CASE("AES key is the first 16 ASCII characters") {
  AesKey k = AesKeyFromAscii("32D4212CFFF7642B80B63D8E20387924");
  CHECK(std::string(k.begin(), k.end()) == "32D4212CFFF7642B");
}

TEST_CASE("CBC: known answers from openssl enc with the fixed IV") {
  AesKey k = AesKeyFromAscii("32D4212CFFF7642B");
  CHECK(Hex(CbcEncrypt(k, AsBytes("hello osap"))) == "69EBD73C2EF9ADAC0FC6C21B09B5C80D");
  // A full block of plaintext gets a full block of padding.
  CHECK(Hex(CbcEncrypt(k, AsBytes("0123456789abcdef"))) ==
        "E4ED6B68B57C74D6F280521DA5C1F18A064AF7843AFA3D99642897DCF9F97F58");
  auto p = CbcDecrypt(k, H("69EBD73C2EF9ADAC0FC6C21B09B5C80D"));
  REQUIRE(p.ok());
  CHECK(AsChars(*p) == "hello osap");
}

TEST_CASE("CBC: strict length and PKCS#7 checks") {
  AesKey k = AesKeyFromAscii("0123456789ABCDEF");
  CHECK_ERR(CbcDecrypt(k, Bytes{}), "multiple of 16");
  CHECK_ERR(CbcDecrypt(k, Bytes(15, 1)), "multiple of 16");
  CHECK_ERR(CbcDecrypt(k, Bytes(17, 1)), "multiple of 16");
  // The first block of a longer ciphertext decrypts to the raw plaintext block: a chosen last byte.
  auto first_block = [&](std::string_view plain16) {
    Bytes c = CbcEncrypt(k, AsBytes(plain16));
    return Bytes(c.begin(), c.begin() + 16);
  };
  CHECK_ERR(CbcDecrypt(k, first_block(std::string(16, '\0'))), "padding");           // pad byte 0
  CHECK_ERR(CbcDecrypt(k, first_block("AAAAAAAAAAAAAAA\x11")), "padding");            // pad 17
  CHECK_ERR(CbcDecrypt(k, first_block("AAAAAAAAAAA\x05\x05\x05\x04\x05")), "padding"); // uneven
  // A valid pad of 16 in a single block decrypts to nothing.
  auto ok = CbcDecrypt(k, first_block(std::string(16, '\x10')));
  REQUIRE(ok.ok());
  CHECK(ok->empty());
  auto ok3 = CbcDecrypt(k, first_block("AAAAAAAAAAAAA\x03\x03\x03"));
  REQUIRE(ok3.ok());
  CHECK(AsChars(*ok3) == "AAAAAAAAAAAAA");
}

TEST_CASE("GCM: known answer, tag before ciphertext") {
  // Python cryptography AESGCM(key).encrypt(iv="012345"+6 zero bytes) gives ct||tag; the wire
  // order is tag||ct.
  AesKey k = AesKeyFromAscii("8B07045602F59A30");
  Bytes sealed = GcmSeal(k, AsBytes("hello osap gen2"));
  CHECK(Hex(sealed) == "C77BDBC8EEE468F8A6ACF2F700854D67" "9229001E96B058905AFB186758DDD4");
  auto p = GcmOpen(k, sealed);
  REQUIRE(p.ok());
  CHECK(AsChars(*p) == "hello osap gen2");
}

TEST_CASE("GCM: bad tag, wrong key, short input") {
  AesKey k = AesKeyFromAscii("8B07045602F59A30");
  Bytes sealed = GcmSeal(k, AsBytes("payload"));
  Bytes bad_tag = sealed;
  bad_tag[0] ^= 1;
  CHECK_ERR(GcmOpen(k, bad_tag), "tag mismatch");
  Bytes bad_ct = sealed;
  bad_ct.back() ^= 0x80;
  CHECK_ERR(GcmOpen(k, bad_ct), "tag mismatch");
  CHECK_ERR(GcmOpen(AesKeyFromAscii("0000000000000000"), sealed), "tag mismatch");
  CHECK_ERR(GcmOpen(k, Bytes(15, 0)), "shorter than the 16-byte tag");
  // Empty plaintext is just a tag.
  Bytes empty = GcmSeal(k, {});
  CHECK(empty.size() == 16);
  CHECK(GcmOpen(k, empty).ok());
}

TEST_CASE("Seal/Open pick the generation's cipher") {
  AesKey k = AesKeyFromAscii("0123456789ABCDEF");
  Bytes p(97, 0x42);
  CHECK(Seal(Generation::kGen1, k, p).size() == 112);
  CHECK(Seal(Generation::kGen2, k, p).size() == 113);
  CHECK(SealedSize(Generation::kGen1, 97) == 112);
  CHECK(SealedSize(Generation::kGen2, 97) == 113);
  CHECK(SealedSize(Generation::kGen1, 32) == 48);
  CHECK(SealedSize(Generation::kGen1, 16) == 32);
  CHECK(Open(Generation::kGen2, k, Seal(Generation::kGen2, k, p)).value() == p);
  CHECK(Open(Generation::kGen1, k, Seal(Generation::kGen1, k, p)).value() == p);
  CHECK_FALSE(Open(Generation::kGen1, k, Seal(Generation::kGen2, k, p)).ok());
}

TEST_CASE("sign: HMAC-SHA384(master key, SHA384(serial)) known answer") {
  Sign s = ComputeSign("0123456789ABCDEF", "TESTSN0001");
  CHECK(Hex(s) ==
        "0AAA47E49FBF913AC3192DCF7FEEE7AB008F2D6D501030D84C91FA0E74E4CE882B7C787E47E0E2F76775ABA5760BF549");
  CHECK(SignEquals(s, ComputeSign("0123456789ABCDEF", "TESTSN0001")));
  CHECK_FALSE(SignEquals(s, ComputeSign("0123456789ABCDEF", "TESTSN0002")));
}

TEST_CASE("master key: upper hex of the first 8 bytes of MD5(X)") {
  SharedX x{};
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(i);
  CHECK(MasterKeyFromShared(x) == "04605CA542B2D82B");
  CHECK(IsValidMasterKey("04605CA542B2D82B"));
  CHECK_FALSE(IsValidMasterKey("04605ca542b2d82b"));
  CHECK_FALSE(IsValidMasterKey("04605CA542B2D82"));
}

namespace {
// A private-key-only EC key from a fixed scalar (test-only, for a known-answer ECDH).
EcKey FixedPrivate(const char* hex_scalar) {
  BIGNUM* d = nullptr;
  REQUIRE(BN_hex2bn(&d, hex_scalar) > 0);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(ctx) > 0);
  REQUIRE(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) > 0);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(d);
  return EcKey(pkey);
}
constexpr const char* kP2 =
    "04621f265ab6ed625cd60c8a892393c748caf8e5cee593b001fb9187b1b245791db1ff6487a69f0f3ed8e0ef57c321"
    "2ff50643c814f0f544c6bc57247e8003f3538749736ccbb77157ce7cb4aadea954ffb347c31f7a5adc47ef8c23aef26cd5c4";
}  // namespace

TEST_CASE("ECDH: known answer against an independent implementation") {
  // Python cryptography: private 0x1234567890abcdef with the public key of private 0xfedcba0987654321.
  EcKey mine = FixedPrivate("1234567890abcdef");
  auto peer = EcKey::FromPublic(H(kP2));
  REQUIRE(peer.ok());
  CHECK(Hex(peer->PublicRaw()) == Hex(H(kP2)));
  auto x = mine.Derive(*peer);
  REQUIRE(x.ok());
  CHECK(Hex(*x) ==
        "F63D4D253D19274B982F25524903F9B1DEBBEB1B1156288B69BEC9EBFC962596603309B6A36D3AD73D9C3C0E59B6EA43");
  CHECK(MasterKeyFromShared(*x) == "60D53CE138A0BFAE");
}

TEST_CASE("ECDH: fresh key pairs agree and differ from each other") {
  auto a = EcKey::Generate();
  auto b = EcKey::Generate();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  EcPoint pa = a->PublicRaw(), pb = b->PublicRaw();
  CHECK(pa[0] == 0x04);
  CHECK(pa != pb);
  auto b_pub = EcKey::FromPublic(pb);
  auto a_pub = EcKey::FromPublic(pa);
  REQUIRE(a_pub.ok());
  REQUIRE(b_pub.ok());
  auto xa = a->Derive(*b_pub);
  auto xb = b->Derive(*a_pub);
  REQUIRE(xa.ok());
  REQUIRE(xb.ok());
  CHECK(*xa == *xb);
}

TEST_CASE("ECDH: public key import rejects bad points") {
  Bytes good = H(kP2);
  CHECK_ERR(EcKey::FromPublic(Bytes(good.begin(), good.end() - 1)), "expected 97");
  Bytes compressed = good;
  compressed[0] = 0x02;
  CHECK_ERR(EcKey::FromPublic(compressed), "does not start with 04");
  Bytes off_curve = good;
  off_curve.back() ^= 0x01;  // same X, wrong Y
  CHECK_ERR(EcKey::FromPublic(off_curve), "not a point on secp384r1");
  Bytes big_x = good;
  std::fill(big_x.begin() + 1, big_x.begin() + 49, 0xFF);  // X >= p
  CHECK_ERR(EcKey::FromPublic(big_x), "not a point");
  Bytes zero(97, 0);
  zero[0] = 0x04;
  CHECK_ERR(EcKey::FromPublic(zero), "not a point");
}

TEST_CASE("random devid and session key") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string d = RandomDevid();
    CHECK(d.size() == 32);
    CHECK(IsValidDevid(d));
    for (char c : d) CHECK(std::isalnum(static_cast<unsigned char>(c)));
    seen.insert(d);
  }
  CHECK(seen.size() == 50);
  CHECK(RandomSessionKey() != RandomSessionKey());
  CHECK_FALSE(IsValidDevid(std::string(31, 'a')));
  CHECK_FALSE(IsValidDevid(std::string(31, 'a') + " "));
  CHECK_FALSE(IsValidDevid(std::string(31, 'a') + "\""));
}
