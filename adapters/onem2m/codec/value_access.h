// Internal: typed reads of tree values with one-line error messages naming the parameter.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gw/result.h"

namespace gw::onem2m::detail {

using Tree = nlohmann::ordered_json;

// "string \"abc\"", "number 1.5", "object", ... (strings cut at 32 bytes).
std::string describe(const Tree& v);

// Parses an optionally signed decimal integer, surrounding ASCII whitespace allowed.
bool parse_int64(std::string_view s, int64_t& out);

gw::Result<int64_t> as_int64(const Tree& v, std::string_view name);
gw::Result<int> as_int(const Tree& v, std::string_view name);
gw::Result<bool> as_bool(const Tree& v, std::string_view name);
// allow_number: integers are accepted and written in decimal (e.g. a numeric rqi).
gw::Result<std::string> as_string(const Tree& v, std::string_view name, bool allow_number);
// An array of strings, or a single string (taken as a one-element list).
gw::Result<std::vector<std::string>> as_string_list(const Tree& v, std::string_view name);
gw::Result<std::vector<int>> as_int_list(const Tree& v, std::string_view name);

}  // namespace gw::onem2m::detail
