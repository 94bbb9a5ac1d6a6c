#include "osap/codec/frame.h"

namespace gw::osap {

void AppendRemainingLength(Bytes& out, uint32_t len) {
  do {
    uint8_t b = len & 0x7F;
    len >>= 7;
    if (len) b |= 0x80;
    out.push_back(b);
  } while (len);
}

Bytes BuildFrame(uint8_t first_byte, ByteView payload) {
  Bytes out;
  out.reserve(payload.size() + 5);
  out.push_back(first_byte);
  AppendRemainingLength(out, static_cast<uint32_t>(payload.size()));
  Append(out, payload);
  return out;
}

Result<std::optional<FixedHeader>> ParseFixedHeader(ByteView data, size_t max_total,
                                                    std::string_view what) {
  if (data.empty()) return std::optional<FixedHeader>{};
  FixedHeader h;
  h.first_byte = data[0];
  uint32_t value = 0;
  for (size_t i = 0;; ++i) {
    if (i == kMaxVarintBytes) {
      return make_error(std::string(what) + ": remaining length longer than 4 bytes");
    }
    if (1 + i >= data.size()) return std::optional<FixedHeader>{};  // truncated: need more
    uint8_t b = data[1 + i];
    value |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) {
      h.header_len = 2 + i;
      break;
    }
  }
  h.remaining = value;
  if (h.total() > max_total) {
    return make_error(std::string(what) + ": frame of " + std::to_string(h.total()) +
                      " bytes exceeds the limit of " + std::to_string(max_total));
  }
  return std::optional<FixedHeader>{h};
}

Result<std::optional<RawFrame>> FrameAssembler::next() {
  if (failed_) return *failed_;
  ByteView avail(buf_.data() + pos_, buf_.size() - pos_);
  auto h = ParseFixedHeader(avail, max_total_, what_);
  if (!h) {
    failed_ = h.error();
    return *failed_;
  }
  if (!h.value() || avail.size() < h.value()->total()) {
    // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
      pos_ = 0;
    }
    return std::optional<RawFrame>{};
  }
  const FixedHeader& fh = *h.value();
  RawFrame f;
  f.first_byte = fh.first_byte;
  auto body = avail.subspan(fh.header_len, fh.remaining);
  f.payload.assign(body.begin(), body.end());
  pos_ += fh.total();
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return std::optional<RawFrame>{std::move(f)};
}

}  // namespace gw::osap
