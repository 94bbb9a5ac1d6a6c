// partial_decode_request: recover rqi / fr / to from a request that does not decode.
#include <string>

#include "onem2m/codec/serialization.h"
#include "onem2m/codec/value_access.h"

namespace gw::onem2m {

namespace {

std::string from_tree(const Tree& t, const char* key) {
  auto it = t.find(key);
  if (it == t.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return it->dump();
  return "";
}

// JSON: the first "key" followed by ':' and a string literal (or an integer).
std::string scan_json(std::string_view b, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\"";
  size_t pos = 0;
  while ((pos = b.find(needle, pos)) != std::string_view::npos) {
    size_t i = pos + needle.size();
    pos = i;
    while (i < b.size() && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) ++i;
    if (i >= b.size() || b[i] != ':') continue;
    ++i;
    while (i < b.size() && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) ++i;
    if (i < b.size() && b[i] == '"') {
      size_t j = i + 1;
      while (j < b.size() && b[j] != '"') j += b[j] == '\\' ? 2 : 1;
      if (j >= b.size()) return "";
      try {
        Tree lit = Tree::parse(b.substr(i, j - i + 1));
        if (lit.is_string()) return lit.get<std::string>();
      } catch (const std::exception&) {
      }
      return "";
    }
    size_t j = i;
    while (j < b.size() && b[j] >= '0' && b[j] <= '9') ++j;
    return std::string(b.substr(i, j - i));
  }
  return "";
}

// XML: the text of the first <key>...</key>, with the five predefined entities decoded.
std::string scan_xml(std::string_view b, std::string_view key) {
  std::string open = "<" + std::string(key) + ">";
  size_t pos = b.find(open);
  if (pos == std::string_view::npos) return "";
  size_t start = pos + open.size();
  size_t end = b.find('<', start);
  if (end == std::string_view::npos) return "";
  std::string_view raw = b.substr(start, end - start);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (auto [ent, ch] : kEntities)
      if (raw.substr(i, ent.size()) == ent) {
        out += ch;
        i += ent.size() - 1;
        done = true;
        break;
      }
    if (!done) out += '&';
  }
  return out;
}

// CBOR: a text-string key equal to `key` followed by a definite-length text string.
std::string scan_cbor(std::string_view b, std::string_view key) {
  std::string needle(1, static_cast<char>(0x60 + key.size()));
  needle += key;
  size_t pos = 0;
  while ((pos = b.find(needle, pos)) != std::string_view::npos) {
    size_t i = pos + needle.size();
    pos = i;
    if (i >= b.size()) return "";
    auto head = static_cast<uint8_t>(b[i]);
    size_t len = 0;
    size_t hdr = 1;
    if (head >= 0x60 && head <= 0x77) {
      len = head - 0x60u;
    } else if (head == 0x78 && i + 1 < b.size()) {
      len = static_cast<uint8_t>(b[i + 1]);
      hdr = 2;
    } else if (head == 0x79 && i + 2 < b.size()) {
      len = (size_t(uint8_t(b[i + 1])) << 8) | uint8_t(b[i + 2]);
      hdr = 3;
    } else {
      continue;
    }
    if (i + hdr + len > b.size()) return "";
    return std::string(b.substr(i + hdr, len));
  }
  return "";
}

}  // namespace

gw::Result<PartialRequest> partial_decode_request(std::string_view bytes, Format f, const Limits& limits) {
  PartialRequest p;
  auto tree = decode_tree(bytes, f, PrimitiveKind::kRequest, limits);
  if (tree) {
    auto full = request_from_tree(*tree);
    if (!full) p.error = full.error().message;
    p.rqi = from_tree(*tree, "rqi");
    p.fr = from_tree(*tree, "fr");
    p.to = from_tree(*tree, "to");
  } else {
    p.error = tree.error().message;
    std::string_view scan = bytes.substr(0, limits.max_bytes);
    auto pick = [&](std::string_view key) {
      switch (f) {
        case Format::kJson:
          return scan_json(scan, key);
        case Format::kXml:
          return scan_xml(scan, key);
        case Format::kCbor:
          return scan_cbor(scan, key);
      }
      return std::string();
    };
    p.rqi = pick("rqi");
    p.fr = pick("fr");
    p.to = pick("to");
  }
  if (p.rqi.empty()) return gw::make_error("no rqi recoverable (" + p.error + ")");
  return p;
}

ResponsePrimitive bad_request_answer(const PartialRequest& p, std::string_view receiver_id) {
  ResponsePrimitive r;
  r.rsc = rsc::kBadRequest;
  r.rqi = p.rqi;
  r.to = p.fr;
  r.fr = std::string(receiver_id);
  Tree pc = Tree::object();
  pc["m2m:dbg"] = p.error;
  r.pc = std::move(pc);
  return r;
}

}  // namespace gw::onem2m
