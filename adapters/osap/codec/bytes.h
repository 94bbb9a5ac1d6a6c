// Byte vocabulary of the OSAP wire layer: owned buffers, views, a bounds-checked reader and hex
// helpers. Everything here is header-only and allocation-light; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gw::osap {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsChars(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline void Append(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }
inline void Append(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
inline void AppendU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xFF));
}

// Upper-case hex of bytes ("0A1B").
std::string HexUpper(ByteView b);
// Lower-case hex.
std::string HexLower(ByteView b);
// Parses hex (either case, whitespace ignored); nullopt on odd length or a non-hex character.
std::optional<Bytes> FromHex(std::string_view hex);

// Bounds-checked cursor over untrusted bytes. Every read either succeeds or returns nullopt/false
// and leaves the reader where it was; callers turn failures into named errors.
class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }
  std::optional<uint8_t> u8() {
    if (remaining() < 1) return std::nullopt;
    return data_[pos_++];
  }
  std::optional<uint16_t> u16be() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::optional<ByteView> take(size_t n) {
    if (remaining() < n) return std::nullopt;
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  ByteView rest() {
    ByteView v = data_.subspan(pos_);
    pos_ = data_.size();
    return v;
  }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

}  // namespace gw::osap
