// Thing-model (TSL) profiles (wire profile §3, PROTOCOL.md §7): a JSON document per camera model
// listing resources (e.g. an NVR's video channels, one localIndex each), their domains ("areas"),
// and in each domain the props (attributes), actions (operations) and events, each with a value
// schema. LoadProfile() checks the document and names the JSON path of every error; Validate()
// checks a value against a schema and names the path inside the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <gw/result.h>

namespace gw::osap::tsl {

enum class ValueType { kBoolean, kInteger, kNumber, kString, kObject, kArray };
const char* ValueTypeName(ValueType t);

struct NamedSchema;

// The JSON-Schema subset of the profiles. Keys other than these are ignored.
struct Schema {
  ValueType type = ValueType::kString;
  std::optional<double> minimum, maximum, multiple_of;     // integer / number, inclusive bounds
  std::optional<uint64_t> min_length, max_length;          // string, in Unicode code points
  std::vector<nlohmann::json> enum_values;                 // any type; empty = no restriction
  std::vector<NamedSchema> properties;                     // object: known members
  std::vector<std::string> required;                       // object: members that must be present
  std::vector<Schema> items;                               // array: 0 or 1 element schema
  std::optional<uint64_t> min_items, max_items;            // array
};
struct NamedSchema {
  std::string name;
  Schema schema;
};

// `path` names the value in errors ("value" -> "value.a[2]: …").
Result<void> Validate(const Schema& schema, const nlohmann::json& value, const std::string& path = "value");
// Parses a schema object; errors are prefixed with `path`.
Result<Schema> ParseSchema(const nlohmann::json& j, const std::string& path);

enum class Access { kRead, kReadWrite };

struct Prop {
  std::string identifier;
  std::string version;  // e.g. "v3.0"
  Access access = Access::kRead;
  Schema schema;
};

struct Action {
  std::string identifier;
  std::string direction = "Plt2Dev";
  std::optional<Schema> input;   // absent or null: no input
  std::optional<Schema> output;  // absent: no output
};

struct Event {
  std::string identifier;
  std::vector<std::string> event_types;  // e.g. ["notification", "general"]
  std::optional<Schema> input;
};

struct Domain {
  std::string identifier;
  std::vector<Prop> props;
  std::vector<Action> actions;
  std::vector<Event> events;
  const Prop* FindProp(std::string_view id) const;
  const Action* FindAction(std::string_view id) const;
  const Event* FindEvent(std::string_view id) const;
};

struct Resource {
  std::string identifier;
  std::string title;
  std::string category;                  // resourceCategory: the {resourceType} of v3 topics
  std::vector<std::string> local_index;  // e.g. {"0","1"}
  nlohmann::json local_index_rule;       // kept as given
  bool dynamic = false;                  // local indexes may appear at run time
  bool global = false;
  std::vector<Domain> domains;
  const Domain* FindDomain(std::string_view id) const;
  // True if the index is listed, or the resource is dynamic.
  bool AcceptsLocalIndex(std::string_view index) const;
};

struct Profile {
  std::string version;
  nlohmann::json capacities;
  std::vector<Resource> resources;
  // By resourceCategory (the resource type of a v3 topic).
  const Resource* FindResource(std::string_view category) const;
};

Result<Profile> LoadProfile(std::string_view json_text);
Result<Profile> LoadProfileJson(const nlohmann::json& doc);

}  // namespace gw::osap::tsl
