#include "oic/codec/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <climits>

namespace gw::oic {

std::string base64_encode(std::string_view bytes) {
  std::string out(base64_encoded_len(bytes.size()), '\0');
  if (bytes.empty()) return out;
  // EVP_EncodeBlock takes an int length; feed it in chunks that are a multiple of 3.
  constexpr std::size_t kChunk = 3 * 1024 * 1024;
  std::size_t in_off = 0, out_off = 0;
  while (in_off < bytes.size()) {
    std::size_t n = std::min(kChunk, bytes.size() - in_off);
    int w = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + out_off),
                            reinterpret_cast<const unsigned char*>(bytes.data() + in_off),
                            static_cast<int>(n));
    in_off += n;
    out_off += static_cast<std::size_t>(w);
  }
  out.resize(out_off);
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  return base64_encode(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

namespace {

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alpha[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

gw::Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return make_error("base64: length " + std::to_string(text.size()) + " is not a multiple of 4");
  std::string out;
  out.reserve(base64_decoded_max(text.size()));
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      unsigned char c = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if (c == '=') {
        if (!last || k < 2)
          return make_error("base64: misplaced '=' at offset " + std::to_string(i + static_cast<std::size_t>(k)));
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0)
        return make_error("base64: data after '=' at offset " + std::to_string(i + static_cast<std::size_t>(k)));
      v[k] = kTable[c];
      if (v[k] < 0)
        return make_error("base64: invalid character 0x" +
                          std::string(1, "0123456789abcdef"[c >> 4]) +
                          std::string(1, "0123456789abcdef"[c & 15]) + " at offset " +
                          std::to_string(i + static_cast<std::size_t>(k)));
    }
    const std::uint32_t triple = (static_cast<std::uint32_t>(v[0]) << 18) |
                                 (static_cast<std::uint32_t>(v[1]) << 12) |
                                 (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    if ((pad == 1 && (triple & 0xFF) != 0) || (pad == 2 && (triple & 0xFFFF) != 0))
      return make_error("base64: non-canonical padding bits in the last quantum");
    out.push_back(static_cast<char>((triple >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((triple >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(triple & 0xFF));
  }
  return out;
}

}  // namespace gw::oic
