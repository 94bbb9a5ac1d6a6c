#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "journal.h"
#include "test_util.h"

namespace {
gw::Journal::Options opts(const std::string& dir, uint64_t seg = 4096, uint64_t max = 1u << 20) {
  gw::Journal::Options o;
  o.dir = dir;
  o.segment_bytes = seg;
  o.max_bytes = max;
  o.fsync = gw::Journal::Fsync::kBatch;
  return o;
}
std::vector<std::pair<uint64_t, std::string>> all(const gw::Journal& j, uint64_t after = 0) {
  std::vector<std::pair<uint64_t, std::string>> out;
  REQUIRE(j.scan(after, [&](const gw::Journal::Record& r) {
              out.emplace_back(r.seq, std::string(r.stream) + ":" + std::string(r.payload));
              return true;
            }).ok());
  return out;
}
std::string last_segment(const std::string& dir) {
  std::string last;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind("seg-", 0) == 0 && e.path().string() > last) last = e.path().string();
  return last;
}
}  // namespace

TEST_CASE("journal keeps order across segments and reopen") {
  gwtest::TempDir t;
  {
    auto j = gw::Journal::open(opts(t.path()));
    REQUIRE(j.ok());
    j.value()->add_cursor("upstream");  // a consumer that has acked nothing keeps everything
    for (int i = 1; i <= 300; ++i) {
      auto s = j.value()->append("cam" + std::to_string(i % 3), "event-" + std::to_string(i));
      REQUIRE(s.ok());
      CHECK(s.value() == static_cast<uint64_t>(i));
    }
    REQUIRE(j.value()->sync().ok());
    CHECK(j.value()->durable_seq() == 300);
    CHECK(j.value()->segment_count() > 1);
  }
  gw::Journal::Recovery rec;
  auto j = gw::Journal::open(opts(t.path()), &rec);
  REQUIRE(j.ok());
  CHECK(rec.records == 300);
  CHECK(rec.detail.empty());
  auto recs = all(*j.value());
  REQUIRE(recs.size() == 300);
  for (size_t i = 0; i < recs.size(); ++i) CHECK(recs[i].first == i + 1);
  CHECK(recs[41].second == "cam0:event-42");
  CHECK(j.value()->append("cam1", "next").value() == 301);
}

TEST_CASE("a torn tail is truncated and reported; every complete record survives") {
  gwtest::TempDir t;
  {
    auto j = gw::Journal::open(opts(t.path(), 1u << 20));
    for (int i = 1; i <= 10; ++i) REQUIRE(j.value()->append("s", std::string(50, char('a' + i))).ok());
  }
  auto seg = last_segment(t.path());
  auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 20);  // crash mid-write of record 10
  gw::Journal::Recovery rec;
  auto j = gw::Journal::open(opts(t.path(), 1u << 20), &rec);
  REQUIRE(j.ok());
  CHECK(rec.records == 9);
  CHECK(rec.torn_bytes > 0);
  CHECK(rec.detail.find("torn record") != std::string::npos);
  CHECK(all(*j.value()).size() == 9);
  CHECK(j.value()->append("s", "after").value() == 10);  // the torn seq is reused: it was never acknowledged
  j.value().reset();
  auto again = gw::Journal::open(opts(t.path(), 1u << 20), &rec);
  CHECK(rec.detail.empty());
  CHECK(all(*again.value()).size() == 10);
}

TEST_CASE("a corrupted byte stops recovery at that record with a checksum error") {
  gwtest::TempDir t;
  {
    auto j = gw::Journal::open(opts(t.path(), 1u << 20));
    for (int i = 1; i <= 5; ++i) REQUIRE(j.value()->append("s", "payload-" + std::to_string(i)).ok());
  }
  auto seg = last_segment(t.path());
  std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(8 + 3 * (18 + 1 + 9) + 20);  // inside record 4's payload
  f.put('X');
  f.close();
  gw::Journal::Recovery rec;
  auto j = gw::Journal::open(opts(t.path(), 1u << 20), &rec);
  REQUIRE(j.ok());
  CHECK(rec.records == 3);
  CHECK(rec.detail.find("checksum mismatch") != std::string::npos);
}

TEST_CASE("cursors free acknowledged segments and persist") {
  gwtest::TempDir t;
  {
    auto j = gw::Journal::open(opts(t.path(), 512));
    j.value()->add_cursor("onem2m");
    j.value()->add_cursor("oic");
    for (int i = 0; i < 100; ++i) REQUIRE(j.value()->append("s", std::string(40, 'x')).ok());
    size_t before = j.value()->segment_count();
    REQUIRE(j.value()->ack("onem2m", 90).ok());
    CHECK(j.value()->segment_count() == before);  // oic has not acked
    REQUIRE(j.value()->ack("oic", 50).ok());
    CHECK(j.value()->segment_count() == before);  // freed only once the cursors are persisted
    REQUIRE(j.value()->flush_cursors().ok());
    CHECK(j.value()->segment_count() < before);
    CHECK_FALSE(j.value()->ack("nobody", 1).ok());
  }
  auto j = gw::Journal::open(opts(t.path(), 512));
  CHECK(j.value()->cursor("onem2m") == 90);
  CHECK(j.value()->cursor("oic") == 50);
  auto rest = all(*j.value(), j.value()->cursor("oic"));
  CHECK(rest.front().first == 51);
  CHECK(rest.back().first == 100);
}

TEST_CASE("a cursor move not yet persisted replays the acked records after a crash (at-least-once)") {
  gwtest::TempDir t;
  gwtest::TempDir crash;
  {
    auto j = gw::Journal::open(opts(t.path(), 512));
    j.value()->add_cursor("up");
    for (int i = 0; i < 20; ++i) REQUIRE(j.value()->append("s", std::string(40, 'x')).ok());
    REQUIRE(j.value()->ack("up", 5).ok());
    REQUIRE(j.value()->flush_cursors().ok());  // group commit: cursor 5 is in the file
    REQUIRE(j.value()->ack("up", 15).ok());
    // The power fails here: copy the directory as it is on disk now.
    REQUIRE(std::system(("cp -a " + t.path() + "/. " + crash.path()).c_str()) == 0);
  }
  auto crashed = gw::Journal::open(opts(crash.path(), 512));
  CHECK(crashed.value()->cursor("up") == 5);
  auto rest = all(*crashed.value(), crashed.value()->cursor("up"));
  REQUIRE_FALSE(rest.empty());
  CHECK(rest.front().first == 6);  // 6..15 again: duplicates, nothing lost
  CHECK(rest.back().first == 20);
  auto closed = gw::Journal::open(opts(t.path(), 512));  // a clean close persisted 15
  CHECK(closed.value()->cursor("up") == 15);
}

TEST_CASE("the disk budget evicts the oldest segments and counts undelivered records") {
  gwtest::TempDir t;
  auto j = gw::Journal::open(opts(t.path(), 1024, 4096));
  j.value()->add_cursor("up");
  for (int i = 0; i < 400; ++i) REQUIRE(j.value()->append("s", std::string(30, 'y')).ok());
  CHECK(j.value()->bytes() <= 4096 + 1024);
  CHECK(j.value()->evicted() > 0);
  auto rest = all(*j.value(), j.value()->cursor("up"));
  REQUIRE_FALSE(rest.empty());
  CHECK(rest.back().first == 400);
  CHECK(j.value()->evicted() + rest.size() == 400);  // every record is either evicted (counted) or still here
}

TEST_CASE("parse_segment rejects garbage without crashing") {
  CHECK_FALSE(gw::Journal::parse_segment("").error.empty());
  CHECK_FALSE(gw::Journal::parse_segment("NOTMAGIC").error.empty());
  std::string huge = std::string("GWJRNL01") + std::string("\xff\xff\xff\x7f", 4) + std::string(14, '\0');
  CHECK(gw::Journal::parse_segment(huge).error.find("corrupt record length") != std::string::npos);
}

TEST_CASE("without consumers, closed segments are released instead of filling the budget") {
  gwtest::TempDir t;
  auto j = gw::Journal::open(opts(t.path(), 512, 1u << 20));
  for (int i = 0; i < 200; ++i) REQUIRE(j.value()->append("s", std::string(40, 'z')).ok());
  CHECK(j.value()->segment_count() <= 2);
  CHECK(j.value()->evicted() == 0);
}

TEST_CASE("off-loop group commit: a sync job covers what was there at begin_sync, cursors as snapshotted") {
  gwtest::TempDir t;
  auto opened = gw::Journal::open(opts(t.path(), 512));
  REQUIRE(opened.ok());
  auto& j = *opened.value();
  j.add_cursor("onem2m");
  for (int i = 0; i < 30; ++i) REQUIRE(j.append("s", std::string(40, 'x')).ok());
  REQUIRE(j.ack("onem2m", 20).ok());
  size_t segments = j.segment_count();

  auto job = j.begin_sync();
  CHECK(job.fd >= 0);
  CHECK(job.upto == 30);
  CHECK(job.write_cursors);
  CHECK_FALSE(j.cursors_dirty());
  // While the job is out (on the durability thread), the loop goes on appending and acking.
  REQUIRE(j.append("s", "later").ok());
  REQUIRE(j.ack("onem2m", 25).ok());
  CHECK(j.cursors_dirty());
  CHECK(j.durable_seq() < 30);
  CHECK(j.segment_count() == segments);  // nothing freed before the cursors file says so

  gw::Journal::run_sync(job);  // what the durability thread does
  CHECK(job.records_error.empty());
  CHECK(job.cursors_error.empty());
  CHECK(job.fd == -1);
  std::ifstream f(t.path() + "/cursors");
  std::string name;
  uint64_t seq = 0;
  f >> name >> seq;
  CHECK(name == "onem2m");
  CHECK(seq == 20);  // the snapshot, not the later ack

  j.end_sync(job);
  CHECK(j.durable_seq() == 30);  // not 31: "later" came after begin_sync
  CHECK(j.segment_count() < segments);  // freed up to the persisted cursor 20
  CHECK(j.cursors_dirty());  // the ack to 25 still waits for the next group

  // A failed job changes nothing durable, and the cursors are written again next time.
  auto failed = j.begin_sync();
  CHECK(failed.upto == 31);
  failed.records_error = "journal: fsync failed: injected";
  failed.cursors_error = "journal: cannot replace cursors: injected";
  if (failed.fd >= 0) ::close(failed.fd);
  failed.fd = -1;
  for (int fd : failed.retired) ::close(fd);
  failed.retired.clear();
  j.end_sync(failed);
  CHECK(j.durable_seq() == 30);
  CHECK(j.cursors_dirty());
  auto again = j.begin_sync();
  gw::Journal::run_sync(again);
  j.end_sync(again);
  CHECK(j.durable_seq() == 31);
  CHECK(j.cursor("onem2m") == 25);
}

TEST_CASE("a segment switch leaves the closed segment's sync to the next sync job (kBatch)") {
  gwtest::TempDir t;
  auto opened = gw::Journal::open(opts(t.path(), 256));
  REQUIRE(opened.ok());
  auto& j = *opened.value();
  j.add_cursor("c");
  auto first = j.begin_sync();  // the new journal's first segment: its directory entry
  CHECK(first.sync_dir);
  gw::Journal::run_sync(first);
  j.end_sync(first);
  for (int i = 0; i < 20; ++i) REQUIRE(j.append("s", std::string(60, 'a' + i)).ok());
  size_t segments = j.segment_count();
  REQUIRE(segments >= 4);
  auto job = j.begin_sync();
  CHECK(job.retired.size() == segments - 1);  // every closed segment, still open for its sync
  CHECK(job.sync_dir);
  CHECK(job.fd >= 0);
  CHECK(job.upto == 20);
  auto none = j.begin_sync();  // handed over once
  CHECK(none.retired.empty());
  CHECK_FALSE(none.sync_dir);
  gw::Journal::run_sync(job);
  CHECK(job.retired.empty());
  CHECK(job.records_error.empty());
  j.end_sync(job);
  CHECK(j.durable_seq() == 20);
  // sync() (FSYNC_ALWAYS / shutdown paths) covers closed segments too.
  for (int i = 0; i < 10; ++i) REQUIRE(j.append("s", std::string(60, 'z')).ok());
  REQUIRE(j.sync().ok());
  CHECK(j.durable_seq() == 30);
  CHECK(j.begin_sync().retired.empty());
  CHECK(all(j).size() == 30);
}
