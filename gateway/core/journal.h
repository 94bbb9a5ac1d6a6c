// Durable store-and-forward journal (issue 8): what the gateway has acknowledged to a device but
// not yet delivered upstream. Append-only segment files in one directory:
//
//   seg-<first seq, 16 hex>.log   "GWJRNL01" then records
//   record  = u32 length (of stream+payload) | u32 crc32c(seq ‖ stream_len ‖ stream ‖ payload)
//             | u64 seq | u16 stream_len | stream | payload                 (little endian)
//   cursors = "cursors" file: "<name> <seq>\n" per consumer, replaced atomically (rename)
//
// One global sequence keeps per-device (and global) order. Records are delivered at-least-once:
// a consumer acks a sequence after its upstream confirmed it; a segment is deleted once every
// registered cursor has passed it. Durability: append() writes; sync() fsyncs. With fsync policy
// ALWAYS every append is fsynced before it returns; BATCH leaves it to the caller's group-commit
// timer (sync() before acknowledging a batch to devices); NONE never fsyncs (tests).
// Disk budget: when the journal's files exceed max_bytes, the oldest segments are deleted whole,
// unacked records included, counted in evicted() and logged.
// Recovery on open: every complete record is kept; a torn or corrupt tail of the last segment is
// truncated and reported; a corrupt record inside an older segment ends that segment (reported).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gw/result.h"

namespace gw {

class Journal {
 public:
  enum class Fsync { kAlways, kBatch, kNone };
  struct Options {
    std::string dir;
    uint64_t segment_bytes = 4u << 20;
    uint64_t max_bytes = 256u << 20;
    Fsync fsync = Fsync::kBatch;
  };
  struct Recovery {
    uint64_t records = 0;        // complete records found
    uint64_t segments = 0;
    uint64_t torn_bytes = 0;     // bytes cut from the tail of the last segment
    uint64_t dropped_segments_tail_bytes = 0;  // bytes ignored after corruption in older segments
    std::string detail;          // one line per problem, empty when clean
  };
  struct Record {
    uint64_t seq;
    std::string_view stream;
    std::string_view payload;
  };

  static Result<std::unique_ptr<Journal>> open(const Options& opts, Recovery* recovery = nullptr);
  ~Journal();

  Result<uint64_t> append(std::string_view stream, std::string_view payload);
  // fdatasync of the closed segments not yet synced and of the open segment (records only;
  // cursors: flush_cursors())
  Result<void> sync();
  uint64_t last_seq() const { return next_seq_ - 1; }
  uint64_t durable_seq() const { return durable_seq_; }

  // Visits records with seq > after, in order, until fn returns false.
  Result<void> scan(uint64_t after, const std::function<bool(const Record&)>& fn) const;

  // Consumers: register once (persisted); ack moves the cursor forward. With fsync ALWAYS the
  // cursors file is replaced (and fsynced) at once; otherwise the move is persisted by the next
  // flush_cursors() (the caller's group commit) or on close — one file replacement per
  // batch instead of per record. A crash before that replays the acked records again
  // (at-least-once, never a loss). Whole segments are freed only once every persisted cursor has
  // passed them.
  void add_cursor(const std::string& name);
  uint64_t cursor(const std::string& name) const;
  Result<void> ack(const std::string& name, uint64_t seq);
  Result<void> flush_cursors();

  // Group commit off the event loop (the host's durability thread does the waiting, so fsync
  // latency never stalls the loop): begin_sync() on the loop takes what must become durable — a
  // dup of the open segment's fd and the cursors file text; run_sync() fdatasyncs and replaces
  // the cursors file on any thread, touching no Journal state; end_sync() back on the loop
  // records the outcome (durable_seq, segments freed by the persisted cursors).
  struct SyncJob {
    int fd = -1;            // dup of the open segment; -1: no records to sync
    // Segments closed since the last job (kBatch): synced and closed by run_sync, with the
    // directory when a segment was created, so that a switch costs the loop no fsync.
    std::vector<int> retired;
    bool sync_dir = false;
    uint64_t upto = 0;      // records up to this seq are durable once fd is synced
    bool write_cursors = false;
    std::string dir, cursors_text;
    std::map<std::string, uint64_t> cursors;  // what cursors_text says
    bool fsync = true;
    std::string records_error, cursors_error;  // run_sync's failures ("" = fine)
  };
  SyncJob begin_sync();
  static void run_sync(SyncJob& job);
  void end_sync(const SyncJob& job);
  bool cursors_dirty() const { return cursors_dirty_; }

  uint64_t bytes() const { return total_bytes_; }
  uint64_t evicted() const { return evicted_; }
  size_t segment_count() const { return segments_.size(); }

  // Parses one segment image; used by recovery and by the fuzz target. Never crashes.
  struct ParsedSegment {
    std::vector<Record> records;
    uint64_t valid_bytes = 0;  // prefix that holds the header and complete, valid records
    std::string error;         // why parsing stopped early ("" = clean end)
  };
  static ParsedSegment parse_segment(std::string_view image);
  static uint32_t crc32c(uint32_t crc, const void* data, size_t len);

 private:
  Result<void> sync_retired();
  static std::string sync_closed(std::vector<int>& fds, bool dir, const std::string& path);
  struct Segment {
    uint64_t first_seq;
    uint64_t last_seq;  // first_seq - 1 when empty
    uint64_t bytes;
    std::string path;
  };
  Journal() = default;
  Result<void> open_new_segment();
  Result<void> write_cursors();
  void enforce_budget();
  void release_acked();
  void release_acked(const std::map<std::string, uint64_t>& persisted);
  static Result<void> write_cursors_file(const std::string& dir, const std::string& text, const char* tmp_name,
                                         bool fsync);
  std::string cursors_text() const;

  Options opts_;
  std::vector<Segment> segments_;
  int fd_ = -1;  // current (last) segment
  std::vector<int> retired_fds_;  // kBatch: closed segments whose data the next sync job syncs
  bool dir_dirty_ = false;        // kBatch: a segment was created since the last directory sync
  uint64_t next_seq_ = 1;
  uint64_t durable_seq_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t evicted_ = 0;
  std::map<std::string, uint64_t> cursors_;
  bool cursors_dirty_ = false;  // acked moves not yet in the cursors file
};

}  // namespace gw
