#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "gw/status.h"
#include "test_util.h"

using gw::v1::Status;

TEST_CASE("every status has a row and maps back from oneM2M, CoAP and HTTP") {
  const auto* desc = gw::v1::Status_descriptor();
  for (int i = 0; i < desc->value_count(); ++i) {
    auto s = static_cast<Status>(desc->value(i)->number());
    const auto& info = gw::status_info(s);
    CHECK(info.status == s);
  }
  CHECK(gw::status_from_onem2m(4004) == gw::v1::NOT_FOUND);
  CHECK(gw::status_from_onem2m(4103) == gw::v1::FORBIDDEN);
  CHECK(gw::status_from_onem2m(2001) == gw::v1::CREATED);
  CHECK(gw::status_from_coap(205) == gw::v1::OK);
  CHECK(gw::status_from_coap(404) == gw::v1::NOT_FOUND);
  CHECK(gw::status_from_http(415) == gw::v1::UNSUPPORTED_MEDIA);
  CHECK(gw::status_from_osap(5) == gw::v1::NOT_FOUND);
  CHECK(gw::status_from_osap(10) == gw::v1::UNAUTHORIZED);
  CHECK(gw::status_line(gw::v1::NOT_FOUND) == "404 Not Found");
  CHECK(gw::status_line(gw::v1::OK) == "200 OK");
}

TEST_CASE("the table written in envelope.proto is the table in code") {
  std::ifstream in(gwtest::source_dir() + "/gateway/proto/gw/v1/envelope.proto");
  REQUIRE(in.good());
  std::string line;
  // e.g. "//   NOT_FOUND             4004         4.04   "404 Not Found"               5 no such device"
  std::regex row(R"(^//\s+([A-Z_]+)\s+(\d{4})\s+(\d)\.(\d\d)\s+"(\d{3}) ([^"]+)\"\s+(-|\d+).*$)");
  int rows = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    Status s = gw::v1::STATUS_UNSPECIFIED;
    REQUIRE_MESSAGE(gw::v1::Status_Parse(m[1].str(), &s), m[1].str());
    const auto& info = gw::status_info(s);
    INFO(line);
    CHECK(info.onem2m_rsc == std::stoi(m[2]));
    CHECK(info.coap == std::stoi(m[3]) * 100 + std::stoi(m[4]));
    CHECK(info.http == std::stoi(m[5]));
    CHECK(std::string(info.http_reason) == m[6].str());
    CHECK(info.osap == (m[7] == "-" ? -1 : std::stoi(m[7])));
    ++rows;
  }
  CHECK(rows == gw::v1::Status_descriptor()->value_count() - 1);  // all but STATUS_UNSPECIFIED
}

TEST_CASE("reverse mappings agree with the table for every row's own code") {
  const auto* desc = gw::v1::Status_descriptor();
  for (int i = 0; i < desc->value_count(); ++i) {
    auto s = static_cast<Status>(desc->value(i)->number());
    if (s == gw::v1::STATUS_UNSPECIFIED) continue;
    const auto& info = gw::status_info(s);
    INFO(gw::v1::Status_Name(s));
    // The status found for a row's code maps back to that same code (codes shared by several
    // statuses resolve to one of them, consistently).
    CHECK(gw::status_info(gw::status_from_onem2m(info.onem2m_rsc)).onem2m_rsc == info.onem2m_rsc);
    CHECK(gw::status_info(gw::status_from_coap(info.coap)).coap == info.coap);
    CHECK(gw::status_info(gw::status_from_http(info.http)).http == info.http);
  }
  CHECK(gw::status_from_onem2m(5000) == gw::v1::INTERNAL_ERROR);
  CHECK(gw::status_from_onem2m(1001) == gw::v1::ACCEPTED);
  CHECK(gw::status_from_onem2m(2999) == gw::v1::OK);
  CHECK(gw::status_from_coap(431) == gw::v1::BAD_REQUEST);
  CHECK(gw::status_from_http(599) == gw::v1::INTERNAL_ERROR);
  CHECK(gw::status_from_http(502) == gw::v1::DEVICE_ERROR);
}
