// Internal: the per-serialization tree readers and writers behind serialization.h.
#pragma once

#include <string>
#include <string_view>

#include "gw/result.h"
#include "onem2m/codec/serialization.h"

namespace gw::onem2m::detail {

inline constexpr std::string_view kXmlNamespace = "http://www.onem2m.org/xml/protocols";
inline constexpr std::string_view kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";
inline constexpr int kMaxEncodeDepth = 128;

gw::Result<Tree> json_to_tree(std::string_view bytes, const Limits& limits);
gw::Result<Tree> cbor_to_tree(std::string_view bytes, const Limits& limits);
gw::Result<Tree> xml_to_tree(std::string_view bytes, PrimitiveKind kind, const Limits& limits);
gw::Result<std::string> tree_to_json(const Tree& t);
gw::Result<std::string> tree_to_cbor(const Tree& t);
gw::Result<std::string> tree_to_xml(const Tree& t, PrimitiveKind kind);

std::string base64(std::string_view bytes, bool url_unpadded);

}  // namespace gw::onem2m::detail
