#include <doctest/doctest.h>
#include <sys/stat.h>

#include "registry.h"
#include "test_util.h"

TEST_CASE("registry persists devices and secrets across reopen, mode 0600, stable uuids") {
  gwtest::TempDir t;
  std::string path = t.file("registry.db");
  std::string uuid;
  {
    auto r = gw::Registry::open(path);
    REQUIRE(r.ok());
    gw::v1::Device d;
    d.set_adapter("osap");
    d.set_native_id("TESTSN0001");
    d.set_model("generic-ipc");
    (*d.mutable_secrets())["master_key"] = "0123456789ABCDEF";
    d.set_online(true);
    auto stored = r.value()->put(d);
    REQUIRE(stored.ok());
    uuid = stored->uuid();
    CHECK(uuid == gw::Registry::stable_uuid("osap", "TESTSN0001"));
    CHECK(uuid.size() == 36);
    CHECK(uuid[14] == '5');  // version 5
    CHECK(r.value()->get(uuid)->online());
    CHECK(r.value()->find("osap", "TESTSN0001")->uuid() == uuid);
    CHECK(r.value()->find("other", "TESTSN0001") == nullptr);
  }
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  if (::stat((path + "-wal").c_str(), &st) == 0) CHECK((st.st_mode & 0777) == 0600);
  {
    auto r = gw::Registry::open(path);
    REQUIRE(r.ok());
    const auto* d = r.value()->get(uuid);
    REQUIRE(d);
    CHECK(d->secrets().at("master_key") == "0123456789ABCDEF");
    CHECK_FALSE(d->online());  // runtime state starts offline
    CHECK(d->created_ms() > 0);
    REQUIRE(r.value()->remove(uuid).ok());
    CHECK(r.value()->get(uuid) == nullptr);
  }
  auto r = gw::Registry::open(path);
  CHECK(r.value()->size() == 0);
}

TEST_CASE("registry refuses records without identity and reports unusable paths") {
  auto r = gw::Registry::open(":memory:");
  REQUIRE(r.ok());
  gw::v1::Device d;
  CHECK_FALSE(r.value()->put(d).ok());
  CHECK_FALSE(r.value()->set_online("nope", true).ok());
  CHECK_FALSE(gw::Registry::open("/nonexistent-dir/x/registry.db").ok());
}

TEST_CASE("registry group commit: batched puts are visible at once, durable only after commit_batch") {
  gwtest::TempDir t;
  std::string path = t.file("registry.db");
  auto r = gw::Registry::open(path);
  REQUIRE(r.ok());
  auto& reg = *r.value();
  auto dev = [](const std::string& sn) {
    gw::v1::Device d;
    d.set_adapter("osap");
    d.set_native_id(sn);
    (*d.mutable_secrets())["session_key"] = "k-" + sn;
    return d;
  };
  for (int i = 0; i < 50; ++i) REQUIRE(reg.put(dev("SN" + std::to_string(i)), /*batched=*/true).ok());
  CHECK(reg.batch_open());
  CHECK(reg.size() == 50);
  CHECK(reg.find("osap", "SN7") != nullptr);
  {
    // Another reader of the same file (what a restart after a crash would see) sees nothing yet.
    auto other = gw::Registry::open(path);
    REQUIRE(other.ok());
    CHECK(other.value()->size() == 0);
  }
  REQUIRE(reg.commit_batch().ok());
  CHECK_FALSE(reg.batch_open());
  {
    auto other = gw::Registry::open(path);
    REQUIRE(other.ok());
    CHECK(other.value()->size() == 50);
    CHECK(other.value()->find("osap", "SN49")->secrets().at("session_key") == "k-SN49");
  }
  // An unbatched write commits the open batch with it.
  REQUIRE(reg.put(dev("SNA"), true).ok());
  REQUIRE(reg.put(dev("SNB")).ok());
  CHECK_FALSE(reg.batch_open());
  auto other = gw::Registry::open(path);
  REQUIRE(other.ok());
  CHECK(other.value()->size() == 52);
}
