// DataDir: the files of one worker's data directory and the few file-system steps that make
// changing them crash-safe (see docs/DURABILITY.md for the layout):
//
//   LOCK                      flock'ed while a worker uses the directory
//   log-<gen>.log             change log segments, replayed in generation order
//   snapshot-<gen>.snap       every shard as of the start of log-<gen>.log
//   snapshot-<gen>.snap.tmp   a snapshot being written; never read, removed at start
//
// Generations are zero-padded decimal so names sort as numbers. Functions return Status with the
// path and strerror on failure; none throws.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace clossyne {

struct DirListing {
  std::map<uint64_t, std::string> logs;       // generation -> path
  std::map<uint64_t, std::string> snapshots;  // generation -> path
  std::vector<std::string> temps;             // unfinished snapshots
};

std::string log_path(const std::string& dir, uint64_t gen);
std::string snapshot_path(const std::string& dir, uint64_t gen);
std::string temp_snapshot_path(const std::string& dir, uint64_t gen);

// Creates the directory (and parents) when missing.
Status ensure_dir(const std::string& dir);
Status list_data_dir(const std::string& dir, DirListing& out);
// fsyncs the directory, so creations, renames and removals in it are durable.
Status sync_dir(const std::string& dir);
Status remove_file(const std::string& path);
Status rename_file(const std::string& from, const std::string& to);
Status file_size(const std::string& path, uint64_t& out);

// An exclusive flock on DIR/LOCK, held until destruction: two workers on one directory would
// interleave their logs.
class DirLock {
 public:
  DirLock() = default;
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  Status acquire(const std::string& dir);
  // The descriptor, so a forked child can close its copy.
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace clossyne
