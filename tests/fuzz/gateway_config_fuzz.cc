// The gateway configuration, both passes (lenient then strict), must fail cleanly, never crash.
#include <cstdint>
#include <string>

#include "config.h"
#include "log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (gw::log::set_level(gw::log::Level::Off), true);
  (void)quiet;
  std::string text(reinterpret_cast<const char*>(data), size);
  gw::v1::GatewayConfig a, b;
  std::string skipped;
  (void)gw::parse_textproto_text("gw.textproto", text, &a, nullptr, /*lenient=*/true, &skipped);
  (void)gw::parse_textproto_text("gw.textproto", text, &b, nullptr, /*lenient=*/false);
  return 0;
}
