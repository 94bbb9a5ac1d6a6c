// Gateway configuration and mapping files: textproto checked against the protobuf schemas in
// gateway/proto/gw/v1/{config,mapping}.proto. Every error is one line naming file:line:column and
// what was expected, e.g.
//   gateway.textproto:12:3: adapter[1].name "osap" is used twice (first at line 4)
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gw/result.h"
#include "gw/v1/config.pb.h"
#include "gw/v1/mapping.pb.h"

namespace gw {

// Parses a textproto file into msg. tree (optional) receives field locations for later errors.
// lenient = unknown fields are skipped (used for the first pass over the gateway config).
// skipped (optional, lenient mode) receives the first unknown field that was skipped, as an error line.
Result<void> parse_textproto_file(const std::string& path, google::protobuf::Message* msg,
                                  google::protobuf::TextFormat::ParseInfoTree* tree, bool lenient = false,
                                  std::string* skipped = nullptr);
Result<void> parse_textproto_text(const std::string& name, const std::string& text, google::protobuf::Message* msg,
                                  google::protobuf::TextFormat::ParseInfoTree* tree, bool lenient = false,
                                  std::string* skipped = nullptr);

// "file:line:col" of a field (1-based), or "file" when unknown. path = {"adapter", 1, "name"} style.
struct FieldRef {
  std::string field;
  int index = -1;  // repeated field index, -1 for singular
};
std::string location(const std::string& file, const google::protobuf::Descriptor* root,
                     const google::protobuf::TextFormat::ParseInfoTree* tree, const std::vector<FieldRef>& path);

struct LoadedConfig {
  v1::GatewayConfig config;
  std::string path;
  std::string dir;  // directory of the config file: relative paths are resolved against it
  std::shared_ptr<google::protobuf::TextFormat::ParseInfoTree> tree;
  std::string where(const std::vector<FieldRef>& path) const;
};

// Called for every adapter block after the first pass so the module (and with it the adapter's
// config schema) is loaded before the strict second pass. Returns an error naming the module.
using ModulePreloader = std::function<Result<void>(const v1::AdapterConfig& adapter, const std::string& where)>;

Result<LoadedConfig> load_config(const std::string& path, const ModulePreloader& preload);

// Resolves a path relative to base (absolute paths unchanged).
std::string resolve_path(const std::string& base_dir, const std::string& p);

// Loads and validates the mapping files named by the config (files or directories of *.textproto).
// known_adapters: route targets must be among them (empty = don't check).
Result<v1::MappingSet> load_mappings(const LoadedConfig& cfg, const std::vector<std::string>& known_adapters);

}  // namespace gw
