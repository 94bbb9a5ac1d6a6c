#include "journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "log.h"

namespace gw {
namespace fs = std::filesystem;

namespace {
constexpr char kMagic[8] = {'G', 'W', 'J', 'R', 'N', 'L', '0', '1'};
constexpr size_t kHeader = 4 + 4 + 8 + 2;  // length, crc, seq, stream_len
constexpr uint32_t kMaxRecord = 16u << 20;

void put_u16(std::string& s, uint16_t v) {
  s.push_back(char(v & 0xff));
  s.push_back(char(v >> 8));
}
void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
uint64_t get_le(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

Result<std::string> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("journal: cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string segment_name(uint64_t first_seq) {
  char b[40];
  std::snprintf(b, sizeof b, "seg-%016llx.log", static_cast<unsigned long long>(first_seq));
  return b;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

// CRC-32C (Castagnoli), bitwise-table implementation: small and portable. (No Debian library in
// our dependency set exposes crc32c; zlib's crc32 is a different polynomial.)
uint32_t Journal::crc32c(uint32_t crc, const void* data, size_t len) {
  static uint32_t table[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)init;
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

Journal::ParsedSegment Journal::parse_segment(std::string_view img) {
  ParsedSegment out;
  if (img.size() < sizeof kMagic || std::memcmp(img.data(), kMagic, sizeof kMagic) != 0) {
    out.error = img.size() < sizeof kMagic ? "segment shorter than its header" : "bad segment magic";
    return out;
  }
  size_t pos = sizeof kMagic;
  out.valid_bytes = pos;
  uint64_t prev_seq = 0;
  while (pos < img.size()) {
    if (img.size() - pos < kHeader) {
      out.error = "torn record header at offset " + std::to_string(pos);
      break;
    }
    const char* h = img.data() + pos;
    uint32_t len = static_cast<uint32_t>(get_le(h, 4));
    uint32_t crc = static_cast<uint32_t>(get_le(h + 4, 4));
    uint64_t seq = get_le(h + 8, 8);
    uint16_t stream_len = static_cast<uint16_t>(get_le(h + 16, 2));
    if (len > kMaxRecord || stream_len > len) {
      out.error = "corrupt record length at offset " + std::to_string(pos);
      break;
    }
    if (img.size() - pos - kHeader < len) {
      out.error = "torn record at offset " + std::to_string(pos) + " (" + std::to_string(len) + " bytes announced, " +
                  std::to_string(img.size() - pos - kHeader) + " present)";
      break;
    }
    uint32_t c = crc32c(0, h + 8, 10);
    c = crc32c(c, h + kHeader, len);
    if (c != crc) {
      out.error = "checksum mismatch at offset " + std::to_string(pos) + " (seq " + std::to_string(seq) + ")";
      break;
    }
    if (prev_seq != 0 && seq != prev_seq + 1) {
      out.error = "sequence jumps from " + std::to_string(prev_seq) + " to " + std::to_string(seq);
      break;
    }
    prev_seq = seq;
    out.records.push_back(Record{seq, std::string_view(h + kHeader, stream_len),
                                 std::string_view(h + kHeader + stream_len, len - stream_len)});
    pos += kHeader + len;
    out.valid_bytes = pos;
  }
  return out;
}

Result<std::unique_ptr<Journal>> Journal::open(const Options& opts, Recovery* recovery) {
  std::unique_ptr<Journal> j(new Journal());
  j->opts_ = opts;
  Recovery rec;
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec) return make_error("journal: cannot create " + opts.dir + ": " + ec.message());
  ::chmod(opts.dir.c_str(), 0700);

  std::vector<std::pair<uint64_t, std::string>> files;
  for (auto& e : fs::directory_iterator(opts.dir, ec)) {
    auto name = e.path().filename().string();
    unsigned long long first = 0;
    if (std::sscanf(name.c_str(), "seg-%16llx.log", &first) == 1 && name.size() == 24)
      files.emplace_back(first, e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i < files.size(); ++i) {
    auto img = read_all(files[i].second);
    if (!img) return img.error();
    auto parsed = parse_segment(img.value());
    bool last = i + 1 == files.size();
    Segment s{files[i].first, files[i].first - 1, parsed.valid_bytes, files[i].second};
    if (!parsed.records.empty()) {
      s.first_seq = parsed.records.front().seq;
      s.last_seq = parsed.records.back().seq;
    }
    if (!parsed.error.empty()) {
      uint64_t cut = img->size() - parsed.valid_bytes;
      rec.detail += files[i].second + ": " + parsed.error + "; " + std::to_string(cut) + " bytes " +
                    (last ? "truncated" : "ignored") + "\n";
      if (last) {
        rec.torn_bytes += cut;
        if (parsed.valid_bytes < sizeof kMagic) {
          // Not even a header: rewrite it so the segment can be appended to.
          std::ofstream(files[i].second, std::ios::binary | std::ios::trunc).write(kMagic, sizeof kMagic);
          s.bytes = sizeof kMagic;
        } else if (::truncate(files[i].second.c_str(), static_cast<off_t>(parsed.valid_bytes)) != 0) {
          return make_error("journal: cannot truncate " + files[i].second + ": " + std::strerror(errno));
        }
      } else {
        rec.dropped_segments_tail_bytes += cut;
      }
    }
    if (!j->segments_.empty() && s.last_seq >= s.first_seq && s.first_seq <= j->segments_.back().last_seq) {
      rec.detail += files[i].second + ": overlaps the previous segment; ignored\n";
      continue;
    }
    rec.records += parsed.records.size();
    j->total_bytes_ += s.bytes;
    if (s.last_seq >= s.first_seq) j->next_seq_ = std::max(j->next_seq_, s.last_seq + 1);
    j->segments_.push_back(s);
  }
  rec.segments = j->segments_.size();

  // Cursors.
  std::ifstream cin(opts.dir + "/cursors");
  std::string name;
  unsigned long long seq = 0;
  while (cin >> name >> seq) j->cursors_[name] = seq;
  // A fresh or emptied journal continues after the highest acknowledged sequence.
  for (auto& [n, s] : j->cursors_) j->next_seq_ = std::max<uint64_t>(j->next_seq_, s + 1);

  if (j->segments_.empty()) {
    auto r = j->open_new_segment();
    if (!r) return r.error();
  } else {
    j->fd_ = ::open(j->segments_.back().path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (j->fd_ < 0) return make_error("journal: cannot open " + j->segments_.back().path + ": " + std::strerror(errno));
  }
  j->durable_seq_ = j->next_seq_ - 1;
  if (!rec.detail.empty())
    GW_LOG(Warn, "journal", "recovered " << rec.records << " records from " << opts.dir << " with problems: " << rec.detail);
  else
    GW_LOG(Info, "journal", "opened " << opts.dir << ": " << rec.records << " records in " << rec.segments << " segments");
  if (recovery) *recovery = rec;
  return j;
}

Journal::~Journal() {
  (void)flush_cursors();
  (void)sync_retired();
  if (fd_ >= 0) {
    if (opts_.fsync != Fsync::kNone) ::fsync(fd_);
    ::close(fd_);
  }
}

Result<void> Journal::open_new_segment() {
  const bool batch = opts_.fsync == Fsync::kBatch;
  if (fd_ >= 0) {
    if (batch) {
      retired_fds_.push_back(fd_);  // synced by the next sync job or sync(), off this path
    } else {
      if (opts_.fsync != Fsync::kNone) ::fsync(fd_);
      ::close(fd_);
    }
    fd_ = -1;
  }
  std::string path = opts_.dir + "/" + segment_name(next_seq_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return make_error("journal: cannot create " + path + ": " + std::strerror(errno));
  if (::write(fd_, kMagic, sizeof kMagic) != static_cast<ssize_t>(sizeof kMagic))
    return make_error("journal: cannot write " + path + ": " + std::strerror(errno));
  if (batch)
    dir_dirty_ = true;
  else if (opts_.fsync != Fsync::kNone)
    fsync_dir(opts_.dir);
  segments_.push_back(Segment{next_seq_, next_seq_ - 1, sizeof kMagic, path});
  total_bytes_ += sizeof kMagic;
  release_acked();
  return {};
}

Result<uint64_t> Journal::append(std::string_view stream, std::string_view payload) {
  if (stream.size() > 0xffff) return make_error("journal: stream name longer than 65535 bytes");
  if (stream.size() + payload.size() > kMaxRecord) return make_error("journal: record larger than 16 MiB");
  if (segments_.back().bytes >= opts_.segment_bytes) {
    auto r = open_new_segment();
    if (!r) return r.error();
  }
  uint64_t seq = next_seq_;
  std::string rec;
  rec.reserve(kHeader + stream.size() + payload.size());
  put_u32(rec, static_cast<uint32_t>(stream.size() + payload.size()));
  put_u32(rec, 0);  // crc, filled below
  put_u64(rec, seq);
  put_u16(rec, static_cast<uint16_t>(stream.size()));
  rec.append(stream);
  rec.append(payload);
  uint32_t crc = crc32c(0, rec.data() + 8, rec.size() - 8);
  for (int i = 0; i < 4; ++i) rec[4 + i] = char((crc >> (8 * i)) & 0xff);
  size_t off = 0;
  while (off < rec.size()) {
    ssize_t n = ::write(fd_, rec.data() + off, rec.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(std::string("journal: write failed: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  ++next_seq_;
  auto& seg = segments_.back();
  seg.last_seq = seq;
  seg.bytes += rec.size();
  total_bytes_ += rec.size();
  if (opts_.fsync == Fsync::kAlways) {
    auto r = sync();
    if (!r) return r.error();
  }
  enforce_budget();
  return seq;
}

// Syncs and closes the closed segments' descriptors, then the directory if asked: "" or the first
// failure. Used on the loop (sync()) and on the durability thread (run_sync).
std::string Journal::sync_closed(std::vector<int>& fds, bool dir, const std::string& path) {
  std::string error;
  for (int fd : fds) {
    if (::fdatasync(fd) != 0 && error.empty()) error = std::string("journal: fsync failed: ") + std::strerror(errno);
    ::close(fd);
  }
  fds.clear();
  if (dir) fsync_dir(path);
  return error;
}

Result<void> Journal::sync_retired() {
  std::string error = sync_closed(retired_fds_, dir_dirty_, opts_.dir);
  dir_dirty_ = false;
  if (!error.empty()) return make_error(error);
  return {};
}

Result<void> Journal::sync() {
  if (auto r = sync_retired(); !r) return r;
  if (opts_.fsync != Fsync::kNone && fd_ >= 0 && ::fdatasync(fd_) != 0)
    return make_error(std::string("journal: fsync failed: ") + std::strerror(errno));
  durable_seq_ = next_seq_ - 1;
  return {};
}

Result<void> Journal::scan(uint64_t after, const std::function<bool(const Record&)>& fn) const {
  for (const auto& s : segments_) {
    if (s.last_seq < s.first_seq || s.last_seq <= after) continue;
    auto img = read_all(s.path);
    if (!img) return img.error();
    auto parsed = parse_segment(img.value());
    for (const auto& r : parsed.records)
      if (r.seq > after && !fn(r)) return {};
  }
  return {};
}

void Journal::add_cursor(const std::string& name) {
  if (cursors_.emplace(name, segments_.empty() ? 0 : segments_.front().first_seq - 1).second) (void)write_cursors();
}

uint64_t Journal::cursor(const std::string& name) const {
  auto it = cursors_.find(name);
  return it == cursors_.end() ? 0 : it->second;
}

Result<void> Journal::ack(const std::string& name, uint64_t seq) {
  auto it = cursors_.find(name);
  if (it == cursors_.end()) return make_error("journal: no cursor " + name);
  if (seq <= it->second) return {};
  it->second = std::min(seq, next_seq_ - 1);
  cursors_dirty_ = true;
  if (opts_.fsync == Fsync::kAlways) return flush_cursors();
  return {};
}

Result<void> Journal::flush_cursors() {
  if (!cursors_dirty_) return {};
  auto r = write_cursors();
  if (!r) return r;
  cursors_dirty_ = false;
  release_acked();
  return {};
}

std::string Journal::cursors_text() const {
  std::string text;
  for (auto& [n, seq] : cursors_) text += n + ' ' + std::to_string(seq) + '\n';
  return text;
}

Result<void> Journal::write_cursors_file(const std::string& dir, const std::string& text, const char* tmp_name,
                                         bool fsync) {
  std::string tmp = dir + "/" + tmp_name;
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) return make_error("journal: cannot write " + tmp);
  }
  if (fsync) {
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  if (::rename(tmp.c_str(), (dir + "/cursors").c_str()) != 0)
    return make_error(std::string("journal: cannot replace cursors: ") + std::strerror(errno));
  return {};
}

Result<void> Journal::write_cursors() {
  return write_cursors_file(opts_.dir, cursors_text(), "cursors.tmp", opts_.fsync != Fsync::kNone);
}

Journal::SyncJob Journal::begin_sync() {
  SyncJob job;
  job.dir = opts_.dir;
  job.fsync = opts_.fsync != Fsync::kNone;
  job.upto = next_seq_ - 1;
  if (job.fsync && fd_ >= 0 && job.upto > durable_seq_) job.fd = ::dup(fd_);
  job.retired.swap(retired_fds_);
  job.sync_dir = dir_dirty_;
  dir_dirty_ = false;
  if (cursors_dirty_) {
    job.write_cursors = true;
    job.cursors = cursors_;
    job.cursors_text = cursors_text();
    cursors_dirty_ = false;  // set again by end_sync if the write fails
  }
  return job;
}

void Journal::run_sync(SyncJob& job) {
  // Closed segments first: their records precede the open segment's.
  job.records_error = sync_closed(job.retired, job.sync_dir, job.dir);
  if (job.fd >= 0) {
    if (::fdatasync(job.fd) != 0 && job.records_error.empty())
      job.records_error = std::string("journal: fsync failed: ") + std::strerror(errno);
    ::close(job.fd);
    job.fd = -1;
  }
  if (job.write_cursors) {
    // Its own temporary name: the loop may replace the file at the same time (budget eviction).
    auto r = write_cursors_file(job.dir, job.cursors_text, "cursors.sync.tmp", job.fsync);
    if (!r) job.cursors_error = r.error().message;
  }
}

void Journal::end_sync(const SyncJob& job) {
  if (job.records_error.empty()) durable_seq_ = std::max(durable_seq_, job.upto);
  if (!job.write_cursors) return;
  if (!job.cursors_error.empty()) {
    cursors_dirty_ = true;  // the next group commit tries again
    return;
  }
  release_acked(job.cursors);
}

void Journal::release_acked() { release_acked(cursors_); }

void Journal::release_acked(const std::map<std::string, uint64_t>& persisted) {
  // With no consumer registered nobody will ever replay: every closed segment can go.
  uint64_t min_acked = UINT64_MAX;
  for (auto& [n, s] : persisted) min_acked = std::min(min_acked, s);
  // Never delete the segment being written.
  while (segments_.size() > 1 && segments_.front().last_seq <= min_acked) {
    total_bytes_ -= segments_.front().bytes;
    ::unlink(segments_.front().path.c_str());
    segments_.erase(segments_.begin());
  }
}

void Journal::enforce_budget() {
  while (total_bytes_ > opts_.max_bytes && segments_.size() > 1) {
    const auto& s = segments_.front();
    uint64_t lost = s.last_seq >= s.first_seq ? s.last_seq - s.first_seq + 1 : 0;
    uint64_t unacked = 0;
    for (uint64_t q = s.first_seq; q <= s.last_seq && lost; ++q) {
      bool acked_by_all = true;
      for (auto& [n, c] : cursors_) acked_by_all = acked_by_all && c >= q;
      if (!acked_by_all || cursors_.empty()) ++unacked;
    }
    evicted_ += unacked;
    GW_LOG(Warn, "journal", "disk budget " << opts_.max_bytes << " bytes exceeded: evicting segment " << s.path << " ("
                                          << unacked << " undelivered records, seq " << s.first_seq << ".."
                                          << s.last_seq << "); " << evicted_ << " evicted so far");
    total_bytes_ -= s.bytes;
    ::unlink(s.path.c_str());
    // Cursors that pointed into the evicted range move past it.
    for (auto& [n, c] : cursors_) c = std::max(c, s.last_seq);
    segments_.erase(segments_.begin());
    (void)write_cursors();
  }
}

}  // namespace gw
