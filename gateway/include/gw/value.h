// gw.v1.Value <-> JSON / CBOR, lossless for the value model (see envelope.proto), plus builders.
// Decoders take untrusted bytes: bounded depth and size, clear errors, never throw.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gw/result.h"
#include "gw/v1/envelope.pb.h"

namespace gw {

struct DecodeLimits {
  size_t max_depth = 64;
  size_t max_bytes = 4u << 20;
};

Result<v1::Value> value_from_json(std::string_view text, const DecodeLimits& limits = {});
Result<v1::Value> value_from_cbor(std::span<const uint8_t> bytes, const DecodeLimits& limits = {});
std::string value_to_json(const v1::Value& v);
std::vector<uint8_t> value_to_cbor(const v1::Value& v);

// Bridges to nlohmann::ordered_json (bytes <-> binary). from_ojson is for trusted trees.
nlohmann::ordered_json value_to_ojson(const v1::Value& v);
v1::Value value_from_ojson(const nlohmann::ordered_json& j);

// Builders and accessors.
v1::Value make_null();
v1::Value make_bool(bool b);
v1::Value make_int(int64_t i);
v1::Value make_double(double d);
v1::Value make_string(std::string s);
v1::Value make_bytes(std::string b);
// Map helpers: set replaces an existing key; find returns nullptr when absent or not a map.
void map_set(v1::Value& map, std::string key, v1::Value value);
const v1::Value* map_find(const v1::Value& map, std::string_view key);
bool value_equal(const v1::Value& a, const v1::Value& b);

}  // namespace gw
