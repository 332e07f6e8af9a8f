// DiskNode: a ShardTable on a DiskStorage in `dir` (no background compaction), as one worker's
// shards and data directory, for worker tests that write, "crash" (destroy) and recover.
#pragma once
#include <string>

#include "worker/disk_storage.hpp"
#include "worker/shard_table.hpp"

namespace clossyne::testing {

struct DiskNode {
  explicit DiskNode(const std::string& dir, FsyncMode mode = FsyncMode::kAlways)
      : storage([&] {
          DiskOptions o;
          o.dir = dir;
          o.fsync = mode;
          o.background = false;
          return o;
        }()),
        table("w1", &storage) {}
  Status open() { return storage.recover(table); }
  DiskStorage storage;
  ShardTable table;
};

}  // namespace clossyne::testing
