#include "oic/xmpp/ibb_extension.h"

#include <limits>

namespace gw::oic::xmpp {

namespace {
const std::string kNsStr(ibb::kNs);
}

bool parse_decimal_attr(const std::string& s, std::uint32_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > std::numeric_limits<std::uint32_t>::max()) v = std::numeric_limits<std::uint32_t>::max();
  }
  out = static_cast<std::uint32_t>(v);
  return true;
}

IbbExtension::IbbExtension(const gloox::Tag* tag) : StanzaExtension(kExtIbb) {
  if (!tag || tag->xmlns() != kNsStr) return;
  const std::string& name = tag->name();
  if (name == "open") kind_ = Kind::Open;
  else if (name == "data") kind_ = Kind::Data;
  else if (name == "close") kind_ = Kind::Close;
  else return;
  sid_ = tag->findAttribute("sid");
  if (sid_.empty()) parse_error_ = "missing sid";
  if (kind_ == Kind::Open) {
    if (!parse_decimal_attr(tag->findAttribute("block-size"), block_size_))
      parse_error_ = "missing or invalid block-size";
    auto st = ibb::parse_stanza_type(tag->findAttribute("stanza"));
    if (!st) parse_error_ = "invalid stanza attribute '" + tag->findAttribute("stanza") + "'";
    else stanza_ = *st;
  } else if (kind_ == Kind::Data) {
    if (!parse_decimal_attr(tag->findAttribute("seq"), seq_)) parse_error_ = "missing or invalid seq";
    data_ = tag->cdata();
  }
}

IbbExtension IbbExtension::make_open(const std::string& sid, std::uint32_t block_size, ibb::StanzaType stanza) {
  IbbExtension e;
  e.kind_ = Kind::Open;
  e.sid_ = sid;
  e.block_size_ = block_size;
  e.stanza_ = stanza;
  return e;
}

IbbExtension IbbExtension::make_data(const std::string& sid, std::uint16_t seq, const std::string& base64) {
  IbbExtension e;
  e.kind_ = Kind::Data;
  e.sid_ = sid;
  e.seq_ = seq;
  e.data_ = base64;
  return e;
}

IbbExtension IbbExtension::make_close(const std::string& sid) {
  IbbExtension e;
  e.kind_ = Kind::Close;
  e.sid_ = sid;
  return e;
}

const std::string& IbbExtension::filterString() const {
  static const std::string filter = "/iq/open[@xmlns='" + kNsStr + "']|/iq/close[@xmlns='" + kNsStr +
                                    "']|/iq/data[@xmlns='" + kNsStr + "']|/message/data[@xmlns='" + kNsStr + "']";
  return filter;
}

gloox::Tag* IbbExtension::tag() const {
  gloox::Tag* t = nullptr;
  switch (kind_) {
    case Kind::Invalid:
      return nullptr;
    case Kind::Open:
      t = new gloox::Tag("open", "xmlns", kNsStr);
      t->addAttribute("block-size", std::to_string(block_size_));
      t->addAttribute("sid", sid_);
      t->addAttribute("stanza", std::string(ibb::stanza_type_name(stanza_)));
      return t;
    case Kind::Data:
      t = new gloox::Tag("data", data_);
      t->setXmlns(kNsStr);
      t->addAttribute("seq", std::to_string(seq_));
      t->addAttribute("sid", sid_);
      return t;
    case Kind::Close:
      t = new gloox::Tag("close", "xmlns", kNsStr);
      t->addAttribute("sid", sid_);
      return t;
  }
  return nullptr;
}

}  // namespace gw::oic::xmpp
