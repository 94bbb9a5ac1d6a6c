// XEP-0047 elements as a gloox StanzaExtension, matching all four places they occur:
//   <iq type='set'><open xmlns='http://jabber.org/protocol/ibb' sid block-size stanza/></iq>
//   <iq type='set'><close xmlns='…' sid/></iq>
//   <message><data xmlns='…' sid seq>base64</data></message>     (OIC RA: stanza='message')
//   <iq type='set'><data xmlns='…' sid seq>base64</data></iq>     (parsed; refused unless allowed)
// gloox's own InBandBytestream cannot be used: it is only reachable through SI file transfer and
// sends data over IQ (ENGINEERING-NOTES). Parsing never throws; malformed attributes are reported
// in parse_error() so the caller can answer <bad-request/>.
#pragma once

#include <gloox/stanzaextension.h>
#include <gloox/tag.h>

#include <cstdint>
#include <string>

#include "oic/codec/ibb.h"

namespace gw::oic::xmpp {

// Extension type id (gloox requires ids above ExtUser).
inline constexpr int kExtIbb = gloox::ExtUser + 47;

class IbbExtension : public gloox::StanzaExtension {
 public:
  enum class Kind { Invalid, Open, Data, Close };

  // The factory instance registered with ClientBase::registerStanzaExtension().
  IbbExtension() : StanzaExtension(kExtIbb) {}
  explicit IbbExtension(const gloox::Tag* tag);

  static IbbExtension make_open(const std::string& sid, std::uint32_t block_size, ibb::StanzaType stanza);
  static IbbExtension make_data(const std::string& sid, std::uint16_t seq, const std::string& base64);
  static IbbExtension make_close(const std::string& sid);

  Kind kind() const { return kind_; }
  const std::string& sid() const { return sid_; }
  std::uint32_t block_size() const { return block_size_; }  // Open; > 65535 means "too large"
  ibb::StanzaType stanza() const { return stanza_; }        // Open
  std::uint32_t seq() const { return seq_; }                // Data; > 65535 means "too large"
  const std::string& data() const { return data_; }         // Data: base64 as received
  // Non-empty if the element was recognised but malformed (missing/invalid attribute).
  const std::string& parse_error() const { return parse_error_; }

  // gloox::StanzaExtension
  const std::string& filterString() const override;
  gloox::StanzaExtension* newInstance(const gloox::Tag* tag) const override { return new IbbExtension(tag); }
  gloox::Tag* tag() const override;
  gloox::StanzaExtension* clone() const override { return new IbbExtension(*this); }

 private:
  Kind kind_ = Kind::Invalid;
  std::string sid_;
  std::uint32_t block_size_ = 0;
  ibb::StanzaType stanza_ = ibb::StanzaType::Iq;
  std::uint32_t seq_ = 0;
  std::string data_;
  std::string parse_error_;
};

// Parses a non-negative decimal attribute strictly (digits only, no sign, no spaces). Values above
// 2^32-1 saturate to UINT32_MAX, so range checks upstream still reject them.
bool parse_decimal_attr(const std::string& s, std::uint32_t& out);

}  // namespace gw::oic::xmpp
