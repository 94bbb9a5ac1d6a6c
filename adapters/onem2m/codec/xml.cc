// XML serialization (TS-0004 clause 8.3 conventions): one element per short name, resources as
// prefixed elements (m2m:ae, m2m:cin, ...) carrying resourceName as the attribute rn, simple-type
// lists space-separated in one element, complex lists as repeated elements, null as xsi:nil.
// Types come back through xml_types.h, so XML decodes to the same tree as JSON and CBOR.
#include <tinyxml2.h>

#include <string>
#include <vector>

#include "onem2m/codec/tree_io.h"
#include "onem2m/codec/value_access.h"
#include "onem2m/codec/xml_types.h"

namespace gw::onem2m::detail {

namespace {

using tinyxml2::XMLAttribute;
using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

std::string sanitized(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 32)) out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  return out;
}

bool is_xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_xml_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_xml_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_xml_space(s[i])) ++i;
    size_t b = i;
    while (i < s.size() && !is_xml_space(s[i])) ++i;
    if (i > b) out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

// XML 1.0 forbids C0 controls other than TAB, LF, CR, even as character references.
bool has_forbidden_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return true;
  return false;
}

bool has_prefix(std::string_view s) {
  return s.find(':') != std::string_view::npos;
}

// Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF), as the JSON reader demands,
// so that a tree read from XML can always be written as JSON without replacement characters.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF)
      n = 1, cp = c & 0x1Fu;
    else if (c >= 0xE0 && c <= 0xEF)
      n = 2, cp = c & 0x0Fu;
    else if (c >= 0xF0 && c <= 0xF4)
      n = 3, cp = c & 0x07u;
    else
      return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// Text that XML 1.0 can carry and JSON can repeat.
bool acceptable_text(std::string_view s) {
  return !has_forbidden_control(s) && valid_utf8(s);
}

Tree int_or_text(std::string_view text) {
  int64_t n = 0;
  if (parse_int64(text, n)) return Tree(n);
  // Beyond INT64_MAX: unsigned, as the JSON and CBOR readers do.
  std::string_view t = trim(text);
  if (!t.empty() && t.size() <= 20 && t.find_first_not_of("0123456789") == std::string_view::npos) {
    uint64_t u = 0;
    bool overflow = false;
    for (char c : t) {
      uint64_t d = uint64_t(c - '0');
      if (u > (UINT64_MAX - d) / 10) overflow = true;
      u = u * 10 + d;
    }
    if (!overflow) return Tree(u);
  }
  return Tree(std::string(text));
}

// A text value typed by the table.
Tree typed_text(XmlType type, std::string_view text) {
  switch (type) {
    case XmlType::kInt:
      return int_or_text(text);
    case XmlType::kBool: {
      std::string_view t = trim(text);
      if (t == "true" || t == "1") return Tree(true);
      if (t == "false" || t == "0") return Tree(false);
      return Tree(std::string(text));
    }
    case XmlType::kStringList: {
      Tree a = Tree::array();
      for (auto& item : split_ws(text)) a.push_back(std::move(item));
      return a;
    }
    case XmlType::kIntList: {
      Tree a = Tree::array();
      for (auto& item : split_ws(text)) a.push_back(int_or_text(item));
      return a;
    }
    case XmlType::kComplex:
    case XmlType::kComplexList:
      if (trim(text).empty()) return Tree::object();
      return Tree(std::string(text));
    case XmlType::kString:
      break;
  }
  return Tree(std::string(text));
}

class Reader {
 public:
  Reader(const Limits& limits, std::string root_prefix) : limits_(limits), root_prefix_(std::move(root_prefix)) {}

  // Members of `el` (attributes, then child elements) into an object.
  gw::Result<Tree> object_of(const XMLElement* el, const std::string& name, int depth) {
    if (depth > limits_.max_depth)
      return gw::make_error("invalid XML: nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    Tree obj = Tree::object();
    size_t members = 0;
    for (const XMLAttribute* a = el->FirstAttribute(); a; a = a->Next()) {
      std::string_view an = a->Name();
      if (an.substr(0, 5) == "xmlns" || an.substr(0, 4) == "xsi:") continue;
      std::string_view value = a->Value();
      if (!acceptable_text(value) || !valid_utf8(an))
        return gw::make_error("invalid XML: control character or bad UTF-8 in attribute " + sanitized(an));
      std::string key(an);
      if (obj.contains(key)) return gw::make_error("invalid XML: duplicate attribute " + key);
      obj[key] = typed_text(xml_type(name, key), value);
      ++members;
    }
    for (const XMLElement* c = el->FirstChildElement(); c; c = c->NextSiblingElement()) {
      if (++members > limits_.max_members)
        return gw::make_error("invalid XML: more than " + std::to_string(limits_.max_members) + " members in <" + name +
                              ">");
      std::string cname = normalize(c->Name());
      if (!valid_utf8(cname)) return gw::make_error("invalid XML: bad UTF-8 in an element name");
      XmlType type = xml_type(name, cname);
      auto v = value_of(c, cname, type, depth + 1);
      if (!v) return v.error();
      if (auto r = add_member(obj, cname, type, std::move(v).value(), is_empty(c)); !r) return r.error();
    }
    return obj;
  }

  std::string normalize(const char* raw) const {
    std::string n = raw ? raw : "";
    if (!root_prefix_.empty() && root_prefix_ != "m2m" && n.size() > root_prefix_.size() &&
        n.compare(0, root_prefix_.size(), root_prefix_) == 0 && n[root_prefix_.size()] == ':')
      n = "m2m" + n.substr(root_prefix_.size());
    return n;
  }

 private:
  static bool has_member_attributes(const XMLElement* el) {
    for (const XMLAttribute* a = el->FirstAttribute(); a; a = a->Next()) {
      std::string_view an = a->Name();
      if (an.substr(0, 5) != "xmlns" && an.substr(0, 4) != "xsi:") return true;
    }
    return false;
  }
  static bool is_nil(const XMLElement* el) {
    const char* nil = el->Attribute("xsi:nil");
    return nil && (std::string_view(nil) == "true" || std::string_view(nil) == "1");
  }
  static bool is_empty(const XMLElement* el) {
    const char* text = el->GetText();
    return !el->FirstChildElement() && !has_member_attributes(el) && !is_nil(el) && (!text || trim(text).empty());
  }

  gw::Result<Tree> value_of(const XMLElement* el, const std::string& name, XmlType type, int depth) {
    bool simple_list = type == XmlType::kStringList || type == XmlType::kIntList;
    if (el->FirstChildElement() || has_member_attributes(el)) {
      // A list of simple values is space-separated text: elements or attributes inside it have no
      // meaning, and no serialization could write them back as that list.
      if (simple_list)
        return gw::make_error("invalid XML: <" + sanitized(name) +
                              "> is a list of simple values, it cannot hold elements or attributes");
      return object_of(el, name, depth);
    }
    if (is_nil(el)) return Tree(nullptr);
    const char* text = el->GetText();
    std::string_view t = text ? text : "";
    if (!acceptable_text(t)) return gw::make_error("invalid XML: control character or bad UTF-8 in <" + name + ">");
    return typed_text(type, t);
  }

  static gw::Result<void> add_member(Tree& obj, const std::string& key, XmlType type, Tree v, bool empty) {
    auto it = obj.find(key);
    if (type == XmlType::kStringList || type == XmlType::kIntList) {
      // Repeated list elements concatenate. Only a lone element may be xsi:nil (a null list): a
      // nil among items would be a list holding null, which no serialization writes back.
      if (it == obj.end()) {
        obj[key] = std::move(v);
      } else if (it->is_array() && v.is_array()) {
        for (auto& item : v) it->push_back(std::move(item));
      } else {
        return gw::make_error("invalid XML: <" + sanitized(key) + "> repeated with xsi:nil");
      }
      return {};
    }
    if (type == XmlType::kComplexList) {
      if (it == obj.end()) {
        obj[key] = Tree::array();
        it = obj.find(key);
      } else if (!it->is_array()) {
        Tree a = Tree::array();
        a.push_back(std::move(*it));
        *it = std::move(a);
      }
      if (!empty) it->push_back(std::move(v));
      return {};
    }
    if (it == obj.end()) {
      obj[key] = std::move(v);
    } else if (it->is_array()) {
      it->push_back(std::move(v));
    } else {
      Tree a = Tree::array();
      a.push_back(std::move(*it));
      a.push_back(std::move(v));
      *it = std::move(a);
    }
    return {};
  }

  const Limits& limits_;
  std::string root_prefix_;
};

bool is_xml_name(std::string_view n) {
  if (n.empty()) return false;
  auto name_start = [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
  };
  if (!name_start(static_cast<unsigned char>(n[0]))) return false;
  for (unsigned char c : n)
    if (!name_start(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.') return false;
  return true;
}

class Writer {
 public:
  explicit Writer(XMLDocument& doc) : doc_(doc) {}
  bool needs_xsi = false;

  gw::Result<void> member(XMLElement* parent_el, const std::string& parent, const std::string& name, const Tree& v,
                          int depth) {
    if (depth > kMaxEncodeDepth) return gw::make_error("tree nested deeper than " + std::to_string(kMaxEncodeDepth));
    if (!is_xml_name(name)) return gw::make_error("'" + name + "' is not a valid XML element name");
    XmlType type = xml_type(parent, name);
    if (!v.is_array()) return single(parent_el, name, v, depth);
    if (type == XmlType::kStringList || type == XmlType::kIntList) {
      std::string joined;
      for (const auto& item : v) {
        if (item.is_structured()) return gw::make_error("list '" + name + "' has an item that is not a simple value");
        auto text = scalar_text(item);
        if (!text) return text.error();
        if (!joined.empty()) joined += ' ';
        joined += *text;
      }
      XMLElement* el = doc_.NewElement(name.c_str());
      parent_el->InsertEndChild(el);
      if (!joined.empty()) el->SetText(joined.c_str());
      return {};
    }
    if (v.empty() && type == XmlType::kComplexList) {
      parent_el->InsertEndChild(doc_.NewElement(name.c_str()));
      return {};
    }
    for (const auto& item : v) {
      if (item.is_array()) return gw::make_error("XML cannot carry a list inside list '" + name + "'");
      auto r = single(parent_el, name, item, depth);
      if (!r) return r;
    }
    return {};
  }

  gw::Result<void> members(XMLElement* el, const std::string& name, const Tree& obj, int depth, bool rn_as_attribute) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (rn_as_attribute && it.key() == "rn") continue;
      auto r = member(el, name, it.key(), it.value(), depth + 1);
      if (!r) return r;
    }
    return {};
  }

 private:
  static gw::Result<std::string> scalar_text(const Tree& v) {
    std::string s;
    if (v.is_string())
      s = v.get<std::string>();
    else if (v.is_boolean())
      s = v.get<bool>() ? "true" : "false";
    else if (v.is_number_unsigned())
      s = std::to_string(v.get<uint64_t>());
    else if (v.is_number_integer())
      s = std::to_string(v.get<int64_t>());
    else if (v.is_number_float())
      s = v.dump();
    else if (v.is_binary()) {
      const auto& b = v.get_binary();
      s = base64(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), false);
    } else if (v.is_null())
      s = "";
    if (has_forbidden_control(s)) return gw::make_error("XML cannot carry control characters (in a text value)");
    return s;
  }

  gw::Result<void> single(XMLElement* parent_el, const std::string& name, const Tree& v, int depth) {
    XMLElement* el = doc_.NewElement(name.c_str());
    parent_el->InsertEndChild(el);
    if (v.is_object()) {
      bool rn_attr = has_prefix(name) && v.contains("rn") && v["rn"].is_string();
      if (rn_attr) {
        auto text = scalar_text(v["rn"]);
        if (!text) return text.error();
        el->SetAttribute("rn", text->c_str());
      }
      return members(el, name, v, depth, rn_attr);
    }
    if (v.is_null()) {
      el->SetAttribute("xsi:nil", "true");
      needs_xsi = true;
      return {};
    }
    auto text = scalar_text(v);
    if (!text) return text.error();
    if (!text->empty()) el->SetText(text->c_str());
    return {};
  }

  XMLDocument& doc_;
};

}  // namespace

gw::Result<Tree> xml_to_tree(std::string_view bytes, PrimitiveKind kind, const Limits& limits) {
  if (bytes.size() > limits.max_bytes)
    return gw::make_error("XML payload of " + std::to_string(bytes.size()) + " bytes exceeds " +
                          std::to_string(limits.max_bytes));
  if (bytes.empty()) return gw::make_error("empty XML payload");
  XMLDocument doc(true, tinyxml2::PRESERVE_WHITESPACE);
  if (doc.Parse(bytes.data(), bytes.size()) != tinyxml2::XML_SUCCESS)
    return gw::make_error(std::string("invalid XML: ") + doc.ErrorStr());
  const XMLElement* root = doc.RootElement();
  if (!root) return gw::make_error("invalid XML: no root element");
  std::string_view rname = root->Name();
  size_t colon = rname.rfind(':');
  std::string prefix = colon == std::string_view::npos ? "" : std::string(rname.substr(0, colon));
  std::string_view local = colon == std::string_view::npos ? rname : rname.substr(colon + 1);
  std::string_view want = kind == PrimitiveKind::kRequest ? "rqp" : "rsp";
  if (local != want)
    return gw::make_error("XML root element is <" + sanitized(rname) + ">, expected <m2m:" + std::string(want) + ">");
  Reader reader(limits, prefix);
  return reader.object_of(root, kind == PrimitiveKind::kRequest ? "m2m:rqp" : "m2m:rsp", 1);
}

gw::Result<std::string> tree_to_xml(const Tree& t, PrimitiveKind kind) {
  XMLDocument doc;
  const char* root_name = kind == PrimitiveKind::kRequest ? "m2m:rqp" : "m2m:rsp";
  XMLElement* root = doc.NewElement(root_name);
  doc.InsertEndChild(root);
  root->SetAttribute("xmlns:m2m", std::string(kXmlNamespace).c_str());
  Writer w(doc);
  auto r = w.members(root, root_name, t, 0, false);
  if (!r) return r.error();
  if (w.needs_xsi) root->SetAttribute("xmlns:xsi", std::string(kXsiNamespace).c_str());
  tinyxml2::XMLPrinter printer(nullptr, true);
  doc.Print(&printer);
  return std::string(printer.CStr(), static_cast<size_t>(printer.CStrSize() > 0 ? printer.CStrSize() - 1 : 0));
}

}  // namespace gw::onem2m::detail
