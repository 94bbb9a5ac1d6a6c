#include "config.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/io/tokenizer.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace gw {
namespace fs = std::filesystem;
using google::protobuf::Descriptor;
using google::protobuf::TextFormat;

namespace {

class Collector : public google::protobuf::io::ErrorCollector {
 public:
  Collector(std::string file, bool keep_warnings) : file_(std::move(file)), keep_warnings_(keep_warnings) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) first_ = file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  void AddWarning(int line, int column, const std::string& message) override {
    if (keep_warnings_) {
      AddError(line, column, message);
    } else if (first_warning_.empty()) {
      first_warning_ = file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
  }
  const std::string& first() const { return first_; }
  const std::string& first_warning() const { return first_warning_; }

 private:
  std::string file_;
  bool keep_warnings_;
  std::string first_;
  std::string first_warning_;
};

// First pass: expands every Any as an empty message so unknown adapter types don't fail.
class EmptyFinder : public TextFormat::Finder {
 public:
  const Descriptor* FindAnyType(const google::protobuf::Message&, const std::string&, const std::string&) const override {
    return google::protobuf::Empty::descriptor();
  }
};

}  // namespace

Result<void> parse_textproto_text(const std::string& name, const std::string& text, google::protobuf::Message* msg,
                                  TextFormat::ParseInfoTree* tree, bool lenient, std::string* skipped) {
  TextFormat::Parser parser;
  Collector collector(name, !lenient);
  parser.RecordErrorsTo(&collector);
  EmptyFinder empty_finder;
  if (lenient) {
    parser.AllowUnknownField(true);
    parser.AllowUnknownExtension(true);
    parser.SetFinder(&empty_finder);
  }
  if (tree) parser.WriteLocationsTo(tree);
  bool ok = parser.ParseFromString(text, msg) && collector.first().empty();
  if (skipped) *skipped = collector.first_warning();
  if (!ok) return make_error(collector.first().empty() ? name + ": cannot parse" : collector.first());
  return {};
}

Result<void> parse_textproto_file(const std::string& path, google::protobuf::Message* msg,
                                  TextFormat::ParseInfoTree* tree, bool lenient, std::string* skipped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot open: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_textproto_text(path, ss.str(), msg, tree, lenient, skipped);
}

std::string location(const std::string& file, const Descriptor* root, const TextFormat::ParseInfoTree* tree,
                     const std::vector<FieldRef>& path) {
  const Descriptor* d = root;
  const TextFormat::ParseInfoTree* t = tree;
  std::string best = file;
  for (size_t i = 0; i < path.size() && d && t; ++i) {
    const auto* f = d->FindFieldByName(path[i].field);
    if (!f) break;
    int idx = f->is_repeated() ? std::max(path[i].index, 0) : -1;
    auto loc = t->GetLocation(f, idx);
    if (loc.line >= 0) best = file + ":" + std::to_string(loc.line + 1) + ":" + std::to_string(loc.column + 1);
    if (f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) break;
    t = t->GetTreeForNested(f, idx);
    d = f->message_type();
  }
  return best;
}

std::string LoadedConfig::where(const std::vector<FieldRef>& p) const {
  return location(path, v1::GatewayConfig::descriptor(), tree.get(), p);
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

Result<LoadedConfig> load_config(const std::string& path, const ModulePreloader& preload) {
  LoadedConfig lc;
  lc.path = path;
  lc.dir = fs::absolute(path).parent_path().string();
  lc.tree = std::make_shared<TextFormat::ParseInfoTree>();

  // Pass 1: structure only, to learn which modules to load.
  {
    v1::GatewayConfig first;
    TextFormat::ParseInfoTree tree;
    std::string skipped;  // first unknown field pass 1 skipped: the likely cause of what fails next
    auto r = parse_textproto_file(path, &first, &tree, /*lenient=*/true, &skipped);
    if (!r) return r.error();
    auto fail = [&](std::string msg) -> Result<LoadedConfig> { return make_error(skipped.empty() ? msg : skipped); };
    std::map<std::string, int> seen;
    for (int i = 0; i < first.adapter_size(); ++i) {
      const auto& a = first.adapter(i);
      auto where = location(path, v1::GatewayConfig::descriptor(), &tree, {{"adapter", i}, {"name"}});
      if (a.name().empty())
        return fail(location(path, v1::GatewayConfig::descriptor(), &tree, {{"adapter", i}}) +
                          ": adapter[" + std::to_string(i) + "] needs a name");
      if (!std::regex_match(a.name(), std::regex("[a-z][a-z0-9_-]{0,31}")))
        return fail(where + ": adapter name \"" + a.name() + "\" must match [a-z][a-z0-9_-]{0,31}");
      if (auto [it, fresh] = seen.emplace(a.name(), i); !fresh)
        return fail(where + ": adapter name \"" + a.name() + "\" is used twice (first as adapter[" +
                          std::to_string(it->second) + "])");
      if (a.module().empty() && a.module_path().empty())
        return fail(location(path, v1::GatewayConfig::descriptor(), &tree, {{"adapter", i}}) + ": adapter \"" +
                          a.name() + "\" needs module or module_path");
      if (preload) {
        auto mw = location(path, v1::GatewayConfig::descriptor(), &tree,
                           {{"adapter", i}, {a.module_path().empty() ? "module" : "module_path"}});
        auto pr = preload(a, mw);
        if (!pr) return pr.error();
      }
    }
  }
  // Pass 2: strict, with every adapter's own config schema now known.
  auto r = parse_textproto_file(path, &lc.config, lc.tree.get(), /*lenient=*/false);
  if (!r) return r.error();

  const auto& c = lc.config;
  if (c.gateway_id().empty()) return make_error(path + ": gateway_id is required (e.g. gateway_id: \"mn-cse-01\")");
  if (c.mapping_file_size() == 0)
    return make_error(path + ": at least one mapping_file is required (a file or a directory of *.textproto)");
  return lc;
}

namespace {

Result<std::vector<std::string>> expand_mapping_paths(const LoadedConfig& cfg) {
  std::vector<std::string> files;
  for (int i = 0; i < cfg.config.mapping_file_size(); ++i) {
    std::string p = resolve_path(cfg.dir, cfg.config.mapping_file(i));
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (auto& e : fs::directory_iterator(p, ec))
        if (e.is_regular_file() && e.path().extension() == ".textproto") in_dir.push_back(e.path().string());
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty())
        return make_error(cfg.where({{"mapping_file", i}}) + ": directory " + p + " holds no *.textproto mapping file");
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      return make_error(cfg.where({{"mapping_file", i}}) + ": mapping file " + p + " does not exist");
    }
  }
  return files;
}

const std::regex& point_path_re() {
  static const std::regex re(R"((\*|[0-9]+)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)");
  return re;
}

}  // namespace

Result<v1::MappingSet> load_mappings(const LoadedConfig& cfg, const std::vector<std::string>& known_adapters) {
  auto files = expand_mapping_paths(cfg);
  if (!files) return files.error();
  v1::MappingSet set;
  std::map<std::string, std::string> route_names, model_names;  // name -> where
  for (const auto& file : files.value()) {
    v1::MappingFile mf;
    TextFormat::ParseInfoTree tree;
    auto r = parse_textproto_file(file, &mf, &tree);
    if (!r) return r.error();
    auto at = [&](const std::vector<FieldRef>& p) { return location(file, v1::MappingFile::descriptor(), &tree, p); };
    for (int i = 0; i < mf.route_size(); ++i) {
      const auto& rt = mf.route(i);
      if (rt.name().empty()) return make_error(at({{"route", i}}) + ": route needs a name");
      if (auto [it, fresh] = route_names.emplace(rt.name(), at({{"route", i}, {"name"}})); !fresh)
        return make_error(at({{"route", i}, {"name"}}) + ": route \"" + rt.name() + "\" already defined at " + it->second);
      if (rt.to_adapter_size() == 0)
        return make_error(at({{"route", i}}) + ": route \"" + rt.name() + "\" needs at least one to_adapter");
      for (int k = 0; k < rt.kind_size(); ++k)
        if (rt.kind(k) == v1::RESPONSE)
          return make_error(at({{"route", i}, {"kind", k}}) + ": responses are not routed by rules (they return to the requester)");
      if (!known_adapters.empty()) {
        auto known = [&](const std::string& n) {
          return std::find(known_adapters.begin(), known_adapters.end(), n) != known_adapters.end();
        };
        for (int k = 0; k < rt.to_adapter_size(); ++k)
          if (!known(rt.to_adapter(k)))
            return make_error(at({{"route", i}, {"to_adapter", k}}) + ": no adapter named \"" + rt.to_adapter(k) +
                              "\" in the gateway configuration");
        if (!rt.from_adapter().empty() && !known(rt.from_adapter()))
          return make_error(at({{"route", i}, {"from_adapter"}}) + ": no adapter named \"" + rt.from_adapter() +
                            "\" in the gateway configuration");
      }
      *set.add_route() = rt;
    }
    std::string dir = fs::path(file).parent_path().string();
    for (int i = 0; i < mf.model_size(); ++i) {
      const auto& m = mf.model(i);
      if (m.name().empty()) return make_error(at({{"model", i}}) + ": model needs a name");
      if (auto [it, fresh] = model_names.emplace(m.name(), at({{"model", i}, {"name"}})); !fresh)
        return make_error(at({{"model", i}, {"name"}}) + ": model \"" + m.name() + "\" already defined at " + it->second);
      if (!m.thing_model_file().empty()) {
        std::error_code ec;
        auto tm = resolve_path(dir, m.thing_model_file());
        if (!fs::is_regular_file(tm, ec))
          return make_error(at({{"model", i}, {"thing_model_file"}}) + ": thing model file " + tm + " does not exist");
      }
      std::set<std::string> paths;
      for (int p = 0; p < m.point_size(); ++p) {
        const auto& pt = m.point(p);
        auto pw = at({{"model", i}, {"point", p}, {"path"}});
        if (!std::regex_match(pt.path(), point_path_re()))
          return make_error(pw + ": point path \"" + pt.path() +
                            "\" must be {localIndex|*}/{domain}/{identifier}, e.g. \"0/motion/vmd\"");
        if (!paths.insert(pt.path()).second)
          return make_error(pw + ": point \"" + pt.path() + "\" appears twice in model \"" + m.name() + "\"");
        if (pt.kind() == v1::POINT_KIND_UNSPECIFIED)
          return make_error(at({{"model", i}, {"point", p}}) + ": point \"" + pt.path() +
                            "\" needs kind: POINT_PROPERTY, POINT_SERVICE or POINT_EVENT");
        if (pt.writable() && pt.kind() != v1::POINT_PROPERTY)
          return make_error(at({{"model", i}, {"point", p}, {"writable"}}) + ": only properties can be writable");
      }
      (*set.mutable_model_dir())[m.name()] = dir;
      *set.add_model() = m;
    }
  }
  return set;
}

}  // namespace gw
