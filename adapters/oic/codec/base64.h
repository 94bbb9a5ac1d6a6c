// Base64 as XEP-0047 and OIC RA v1.0 use it: RFC 4648 section 4 alphabet, '=' padding, no line
// breaks and no whitespace. The decoder is strict (canonical input only) and never throws.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gw/result.h"

namespace gw::oic {

// Encodes bytes as padded base64 without line breaks.
std::string base64_encode(std::string_view bytes);
std::string base64_encode(std::span<const std::uint8_t> bytes);

// Upper bound of the decoded size of `encoded_len` base64 characters.
constexpr std::size_t base64_decoded_max(std::size_t encoded_len) { return encoded_len / 4 * 3; }
// Exact encoded length of `raw_len` bytes.
constexpr std::size_t base64_encoded_len(std::size_t raw_len) { return (raw_len + 2) / 3 * 4; }

// Strict decode: length a multiple of 4, only A-Z a-z 0-9 + /, at most two '=' and only at the
// end, unused trailing bits zero. Errors are one line, prefixed "base64: ".
gw::Result<std::string> base64_decode(std::string_view text);

}  // namespace gw::oic
