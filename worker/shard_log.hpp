// The worker's change log on disk: LogWriter appends framed records (worker/log_record.hpp) to one
// log segment, and scan_file reads a segment or a snapshot back, telling a torn tail from damage
// in the middle.
//
// LogWriter batches records in memory and commit() writes them with one pwrite (and one fdatasync
// when asked): that is the group commit. A commit is all or nothing: when the write or the sync
// fails, the file is truncated back to where it was and the error names the cause (strerror), so
// a later commit never lands after a half-written record. A failed write may be retried by the
// next commit; a failed fdatasync is final (sync_failed(): after it, the kernel may have dropped
// pages it could not write and report success on the next sync, so nothing written before it can
// be trusted to be durable): every later commit and sync fails with its error. Not thread-safe;
// one owner.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "worker/log_record.hpp"

namespace clossyne {

class LogWriter {
 public:
  LogWriter() = default;
  ~LogWriter();
  LogWriter(LogWriter&& other) noexcept;
  LogWriter& operator=(LogWriter&& other) noexcept;
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // A new, empty segment holding only the magic, synced (the caller syncs the directory).
  static Status create(const std::string& path, LogWriter& out);
  // An existing segment; appends at `size` (anything past it is cut off).
  static Status open(const std::string& path, uint64_t size, LogWriter& out);

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // Records not yet committed; append with the append_*_record functions.
  std::string& pending() { return pending_; }
  bool has_pending() const { return !pending_.empty(); }
  // Drops the records not yet committed.
  void discard() { pending_.clear(); }

  // Writes the pending records (then fdatasyncs when `sync`). The pending buffer is empty after,
  // whatever the outcome. On failure the message is strerror of the cause.
  Status commit(bool sync);
  // fdatasyncs what was written since the last sync. Once a sync has failed (here or in commit),
  // it and every commit fail at once with that sync's error, without touching the file.
  Status sync();
  bool sync_failed() const { return !sync_error_.empty(); }
  bool unsynced() const { return unsynced_; }
  // Bytes committed to the file (magic included).
  uint64_t size() const { return size_; }
  void close();

 private:
  int fd_ = -1;
  std::string path_;
  std::string pending_;
  uint64_t size_ = 0;
  bool unsynced_ = false;
  std::string sync_error_;       // strerror of the failed fdatasync; empty while none failed
  bool needs_truncate_ = false;  // a failed write may have left bytes past size_
};

// What scan_file found in a file.
struct ScanResult {
  enum class Kind { kUnknown, kLog, kSnapshot };
  enum class Outcome {
    kClean,     // every byte belongs to a valid record
    kTornTail,  // a bad or short record with no valid record after it: a crash mid-write
    kCorrupt,   // a bad record followed by valid ones: damage, not a crash
  };
  Kind kind = Kind::kUnknown;
  uint8_t version = 0;  // the format version its magic names (0: shorter than the magic)
  Outcome outcome = Outcome::kClean;
  uint64_t file_size = 0;
  uint64_t records = 0;   // valid records before the first bad one
  uint64_t good_end = 0;  // offset just past them (== file_size when clean)
  uint64_t bad_offset = 0;
  std::string why;             // what is wrong at bad_offset
  uint64_t records_after = 0;  // kCorrupt: valid records found after bad_offset (at least)
  bool has_end = false;        // an end record was seen (it must be the last record)
  uint64_t end_count = 0;
};

// Called for each valid record in order with its offset; an error stops the scan and is returned.
using RecordVisitor = std::function<Status(const RecordView& record, uint64_t offset)>;

// Reads `path` (mmap). An error Status only when the file cannot be read or is not a Clossyne log
// or snapshot (wrong magic); damage is reported in `out`, and the visitor sees the records before
// it. A file shorter than the magic whose bytes are a prefix of it is a torn tail at offset 0.
Status scan_file(const std::string& path, const RecordVisitor& visit, ScanResult& out);

// "clean", "torn tail" or "corrupt", for messages.
std::string_view outcome_name(ScanResult::Outcome outcome);

}  // namespace clossyne
