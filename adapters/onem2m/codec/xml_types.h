// The short-name type table that lets XML (which has no types) decode to the same tree as JSON and
// CBOR. PROTOCOL.md §4 lists the table; keep both in agreement.
#pragma once

#include <string_view>

namespace gw::onem2m {

enum class XmlType {
  kString,       // text as is (the default for unknown names)
  kInt,          // integer text -> number (other text stays a string: absRelTimestamp)
  kBool,         // "true"/"false" (also "1"/"0") -> boolean
  kStringList,   // one element, space-separated items -> array of strings
  kIntList,      // one element, space-separated integers -> array of numbers
  kComplex,      // element with child elements -> object ({} when empty)
  kComplexList,  // repeated elements -> array (objects, or strings that may hold spaces), even of one
};

// Type of member `name` inside element `parent` (both short names with their prefix, e.g.
// parent "m2m:cnt", name "mni"; the primitive roots are "m2m:rqp" / "m2m:rsp").
XmlType xml_type(std::string_view parent, std::string_view name);

}  // namespace gw::onem2m
