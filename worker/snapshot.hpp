// Snapshot: every shard of a ShardTable written as one file of framed records (the log's format,
// worker/log_record.hpp, after kSnapshotMagic): per shard a "shard" record then one "set" per key
// in key order and one "expire" per key with a TTL, all closed by an "end" record with the record
// count. A snapshot without its end record is incomplete and never used. Replaying it gives the
// same shards: same bounds, epoch, seed and keys, and so (the treap's shape being a function of
// keys and seed) the same key paths.
//
// write_snapshot only reads the table; it is what a forked compaction child runs, so it logs
// nothing and touches no shared state.
#pragma once
#include <cstdint>
#include <string>

#include "common/status.hpp"

namespace clossyne {

class ShardTable;

// Creates (or truncates) `path`, writes the snapshot and fdatasyncs it. The caller renames it into
// place and syncs the directory. *bytes gets the file size. After an error (a failed write or
// fdatasync) the file is worthless: the caller removes it and never renames it into place; a later
// compaction writes a new one from scratch, so a failed snapshot sync is never "retried".
Status write_snapshot(const std::string& path, const ShardTable& table, uint64_t* bytes);

}  // namespace clossyne
