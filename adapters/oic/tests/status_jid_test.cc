#include <doctest/doctest.h>

#include "oic/codec/jid.h"
#include "oic/codec/status.h"

using namespace gw::oic;

TEST_CASE("status: table of reason phrases") {
  struct {
    int code;
    const char* line;
  } rows[] = {{200, "200 OK"},
              {201, "201 Created"},
              {202, "202 Accepted"},
              {204, "204 No Content"},
              {400, "400 Bad Request"},
              {401, "401 Unauthorized"},
              {403, "403 Forbidden"},
              {404, "404 Not Found"},
              {405, "405 Method Not Allowed"},
              {406, "406 Not Acceptable"},
              {408, "408 Request Timeout"},
              {409, "409 Conflict"},
              {415, "415 Unsupported Media Type"},
              {500, "500 Internal Server Error"},
              {501, "501 Not Implemented"},
              {502, "502 Bad Gateway"},
              {503, "503 Service Unavailable"},
              {504, "504 Gateway Timeout"}};
  for (auto& r : rows) {
    CHECK(format_status_line(r.code) == r.line);
    CHECK(is_known_status(r.code));
    auto p = parse_status_line(r.line);
    REQUIRE(p.ok());
    CHECK(p->code == r.code);
    CHECK(p->reason == reason_phrase(r.code));
  }
  CHECK_FALSE(is_known_status(418));
  CHECK(format_status_line(299) == "299");
  CHECK(reason_phrase(299).empty());
}

TEST_CASE("status: parsing is tolerant of white space, strict about the code") {
  auto p = parse_status_line("  200 OK \n");
  REQUIRE(p.ok());
  CHECK(p->code == 200);
  CHECK(p->reason == "OK");
  auto bare = parse_status_line("404");
  REQUIRE(bare.ok());
  CHECK(bare->code == 404);
  CHECK(bare->reason.empty());
  auto custom = parse_status_line("299 Something Else");
  REQUIRE(custom.ok());
  CHECK(custom->reason == "Something Else");
  for (const char* bad : {"", "OK", "20", "2000 OK", "200OK", "099 Low", "600 High", "abc OK", "200 O\x01K"}) {
    auto r = parse_status_line(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.error().message.rfind("status: ", 0) == 0);
  }
}

TEST_CASE("jid: uuid validation") {
  CHECK(is_valid_uuid("FFFFB960-BABE-46F7-BEC0-9E6234671ADC"));
  CHECK(is_valid_uuid("ffffb960-babe-46f7-bec0-9e6234671adc"));
  // The spec's printed examples are malformed (13 hex digits; an 'X'): rejected on purpose.
  CHECK_FALSE(is_valid_uuid("FFFFB960-BABE-46F7-BEC0-9E6234671ADC0"));
  CHECK_FALSE(is_valid_uuid("FXFFB960-FFFF-46F7-BABE-9E6234671ADC"));
  CHECK_FALSE(is_valid_uuid("FFFFB960BABE46F7BEC09E6234671ADC"));
  CHECK_FALSE(is_valid_uuid("FFFFB960-BABE-46F7-BEC0_9E6234671ADC"));
  CHECK_FALSE(is_valid_uuid("{FFFFB960-BABE-46F7-BEC0-9E6234671ADC}"));
  CHECK_FALSE(is_valid_uuid(""));
}

TEST_CASE("jid: build server and client JIDs") {
  auto s = make_server_jid("me", "mydomain.com", "oic.d.light", "FFFFB960-BABE-46F7-BEC0-9E6234671ADC");
  REQUIRE(s.ok());
  CHECK(s->full() == "me@mydomain.com/OIC/1.0/oic.d.light/FFFFB960-BABE-46F7-BEC0-9E6234671ADC");
  CHECK(s->bare() == "me@mydomain.com");
  CHECK(s->resource() == "OIC/1.0/oic.d.light/FFFFB960-BABE-46F7-BEC0-9E6234671ADC");
  CHECK_FALSE(s->client);

  auto c = make_client_jid("me", "mydomain.com", "AAFFB960-FFFF-46F7-BABE-9E6234671ADC");
  REQUIRE(c.ok());
  CHECK(c->full() == "me@mydomain.com/OIC/1.0/Client/AAFFB960-FFFF-46F7-BABE-9E6234671ADC");
  CHECK(c->client);

  CHECK_FALSE(make_server_jid("me", "d", "Client", "FFFFB960-BABE-46F7-BEC0-9E6234671ADC").ok());
  CHECK_FALSE(make_server_jid("me", "d", "oic.d/light", "FFFFB960-BABE-46F7-BEC0-9E6234671ADC").ok());
  CHECK_FALSE(make_server_jid("", "d", "oic.d.light", "FFFFB960-BABE-46F7-BEC0-9E6234671ADC").ok());
  CHECK_FALSE(make_server_jid("m@e", "d", "oic.d.light", "FFFFB960-BABE-46F7-BEC0-9E6234671ADC").ok());
  CHECK_FALSE(make_server_jid("me", "", "oic.d.light", "FFFFB960-BABE-46F7-BEC0-9E6234671ADC").ok());
  CHECK_FALSE(make_server_jid("me", "d", "oic.d.light", "not-a-uuid").ok());
  CHECK_FALSE(make_client_jid("me", "d/x", "FFFFB960-BABE-46F7-BEC0-9E6234671ADC").ok());
}

TEST_CASE("jid: parse") {
  auto s = parse_oic_jid("me@mydomain.com/OIC/1.0/oic.d.camera/FFFFB960-BABE-46F7-BEC0-9E6234671ADC");
  REQUIRE(s.ok());
  CHECK(s->user == "me");
  CHECK(s->domain == "mydomain.com");
  CHECK(s->version == "1.0");
  CHECK(is_supported_version(s.value()));
  CHECK(s->device_type == "oic.d.camera");
  CHECK(s->uuid == "FFFFB960-BABE-46F7-BEC0-9E6234671ADC");
  CHECK_FALSE(s->client);

  auto c = parse_oic_jid("me@mydomain.com/OIC/1.0/Client/ffffb960-ffff-46f7-babe-9e6234671adc");
  REQUIRE(c.ok());
  CHECK(c->client);
  CHECK(c->device_type == "Client");

  auto v2 = parse_oic_jid("me@d/OIC/2.1/oic.d.camera/FFFFB960-BABE-46F7-BEC0-9E6234671ADC");
  REQUIRE(v2.ok());
  CHECK(v2->version == "2.1");
  CHECK_FALSE(is_supported_version(v2.value()));

  auto a = parse_oic_jid("Me@MyDomain.com/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC");
  REQUIRE(a.ok());
  CHECK(a->same_as(c.value()));  // bare JID and UUID compare case-insensitively
  auto other = parse_oic_jid("me@mydomain.com/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADD");
  REQUIRE(other.ok());
  CHECK_FALSE(a->same_as(other.value()));  // different UUID
  auto srv = parse_oic_jid("me@mydomain.com/OIC/1.0/oic.d.x/FFFFB960-FFFF-46F7-BABE-9E6234671ADC");
  REQUIRE(srv.ok());
  CHECK_FALSE(a->same_as(srv.value()));  // client vs server
  auto b = parse_oic_jid("me@mydomain.com/OIC/1.0/Client/ffffb960-FFFF-46f7-babe-9e6234671ADC");
  REQUIRE(b.ok());
  CHECK(a->same_as(b.value()));

  for (const char* bad : {
           "me@mydomain.com",                                                          // bare
           "mydomain.com/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC",         // no user
           "me@mydomain.com/oic/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC",      // case of OIC
           "me@mydomain.com/OIC/1/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC",        // version
           "me@mydomain.com/OIC/1.0/Client",                                           // 3 segments
           "me@mydomain.com/OIC/1.0/a/b/FFFFB960-FFFF-46F7-BABE-9E6234671ADC",         // 5 segments
           "me@mydomain.com/OIC/1.0//FFFFB960-FFFF-46F7-BABE-9E6234671ADC",            // empty type
           "me@mydomain.com/OIC/1.0/oic.d.light/FFFFB960-BABE-46F7-BEC0-9E6234671ADC0",  // spec example
           "me@mydomain.com/OIC/1.0/Client/FXFFB960-FFFF-46F7-BABE-9E6234671ADC1",     // spec example
           "me@mydomain.com/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC/",     // trailing /
           "me@my domain.com/OIC/1.0/Client/FFFFB960-FFFF-46F7-BABE-9E6234671ADC",     // space
       }) {
    auto r = parse_oic_jid(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.error().message.rfind("jid: ", 0) == 0);
  }
}

TEST_CASE("jid: build then parse round trip") {
  auto s = make_server_jid("gw", "example.org", "oic.d.camera", "0685B960-736F-46F7-BEC0-9E6CBD671ADC");
  REQUIRE(s.ok());
  auto p = parse_oic_jid(s->full());
  REQUIRE(p.ok());
  CHECK(p->full() == s->full());
  CHECK(p->same_as(s.value()));
}
