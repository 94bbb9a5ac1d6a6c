// The fixed header shared by LBS frames and MQTT packets: one type/flags byte, then the
// MQTT-style "remaining length" (7 bits per byte, least significant group first, high bit = more
// follows, at most 4 bytes), then exactly that many bytes. FrameAssembler turns a byte stream into
// whole frames; the LBS and MQTT decoders add their own type/flag rules on top.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <gw/result.h>

#include "osap/codec/bytes.h"

namespace gw::osap {

inline constexpr size_t kMaxVarintBytes = 4;
inline constexpr uint32_t kMaxRemainingLength = 268'435'455;  // 4 bytes of 7 bits

// Appends the remaining-length encoding of `len` (must be <= kMaxRemainingLength).
void AppendRemainingLength(Bytes& out, uint32_t len);

// Whole frame bytes: first byte, remaining length, payload.
Bytes BuildFrame(uint8_t first_byte, ByteView payload);

struct FixedHeader {
  uint8_t first_byte = 0;
  uint32_t remaining = 0;  // payload bytes after the header
  size_t header_len = 0;   // 1 + number of length bytes
  size_t total() const { return header_len + remaining; }
};

// Reads a fixed header at the start of `data`. nullopt = not enough bytes yet. Errors: length longer
// than 4 bytes, or a total frame size above `max_total`. `what` prefixes error messages ("lbs frame").
Result<std::optional<FixedHeader>> ParseFixedHeader(ByteView data, size_t max_total,
                                                    std::string_view what);

struct RawFrame {
  uint8_t first_byte = 0;
  Bytes payload;
};

// Incremental assembler: feed() bytes as they arrive, then call next() until it yields nullopt
// (need more bytes). After an error the stream is unusable (framing is lost) and every later call
// returns the same error: close the connection.
class FrameAssembler {
 public:
  FrameAssembler(size_t max_total, std::string what) : max_total_(max_total), what_(std::move(what)) {}
  void feed(ByteView bytes) { Append(buf_, bytes); }
  Result<std::optional<RawFrame>> next();
  size_t buffered() const { return buf_.size() - pos_; }
  size_t max_total() const { return max_total_; }

 private:
  size_t max_total_;
  std::string what_;
  Bytes buf_;
  size_t pos_ = 0;  // consumed prefix of buf_
  std::optional<Error> failed_;
};

}  // namespace gw::osap
