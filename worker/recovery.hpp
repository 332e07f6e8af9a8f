// Recovery: rebuilds a worker's shards from its data directory at start-up (docs/DURABILITY.md).
//
// The newest snapshot-<S>.snap is loaded, then log-<S>.log, log-<S+1>.log, ... are replayed in
// order (with no snapshot, every log from the oldest). A torn record at the very end of the last
// log (a crash in the middle of a write) is cut off with a warning. Any other damage -- a bad
// record with valid records after it, a damaged snapshot, a torn record in an earlier segment, a
// missing segment -- is an error naming the file and byte offset and pointing to
// `clossyne-worker --check-log`. Leftovers of an interrupted compaction (snapshot temp files,
// segments and snapshots older than the newest snapshot) are removed.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "common/status.hpp"
#include "worker/shard.hpp"

namespace clossyne {

struct Recovered {
  std::map<uint32_t, Shard> shards;
  uint64_t snapshot_gen = 0;  // 0: no snapshot
  uint64_t snapshot_bytes = 0;
  uint64_t log_gen = 0;          // the segment to append to; 0: none exists, create one
  uint64_t log_size = 0;         // its length after recovery (where appends go)
  uint8_t log_version = 0;       // its format version (older than kFormatVersion: do not append)
  uint64_t older_log_bytes = 0;  // bytes of the segments before it, on top of the snapshot
  uint64_t records = 0;          // records replayed (snapshot and logs)
  uint64_t next_gen = 1;         // a generation no file uses yet
};

// REQUIRES: `dir` exists and this process holds its lock.
Status recover_data_dir(const std::string& dir, Recovered& out);

}  // namespace clossyne
