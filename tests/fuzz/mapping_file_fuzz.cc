// Mapping files are operator-supplied text: parsing must fail cleanly with file:line, never crash.
#include <cstdint>
#include <string>

#include "config.h"
#include "log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (gw::log::set_level(gw::log::Level::Off), true);
  (void)quiet;
  gw::v1::MappingFile mf;
  google::protobuf::TextFormat::ParseInfoTree tree;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = gw::parse_textproto_text("fuzz.textproto", text, &mf, &tree);
  if (r) {
    for (int i = 0; i < mf.model_size(); ++i)
      (void)gw::location("fuzz.textproto", gw::v1::MappingFile::descriptor(), &tree, {{"model", i}, {"point", 0}, {"path"}});
  } else if (r.error().message.rfind("fuzz.textproto", 0) != 0) {
    __builtin_trap();  // every error must name the file
  }
  return 0;
}
