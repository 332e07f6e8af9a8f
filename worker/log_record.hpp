// LogRecord: the on-disk unit of the worker's change log and snapshots (docs/DURABILITY.md).
//
// A file starts with an 8-byte magic (kLogMagic or kSnapshotMagic) and is followed by records:
//
//   u32 payload length | u32 header check | u32 payload check | payload
//
// all little-endian. The header check is the low 32 bits of XXH3-64 of the 4 length bytes, so a
// damaged length is caught before it is trusted; the payload check is XXH3-64 (low 32 bits) of
// the payload. The payload's first byte is the record type:
//
//   1 set    u32 shard, u32 key length, key, value (the rest)
//   2 del    u32 shard, key (the rest)
//   3 shard  u32 id, u64 epoch, u64 seed, u32 lo length, lo, u8 has hi, [u32 hi length, hi],
//            [u8 flags]  (optional, written only when non-zero; bit 0: importing, bit 1: replicas
//            follow), [u32 n, n x (u32 length, worker id)]  (the replicas, when bit 1 is set;
//            format version 2 on)
//   4 drop   u32 id
//   5 end    u64 records before it (closes a snapshot; a snapshot without it is incomplete)
//   6 split  u32 shard, u32 left id, u64 left epoch, u32 right id, u64 right epoch, key (the
//            rest): the shard [lo, hi) becomes left [lo, key) and right [key, hi), same seed
//   7 join   u32 id, u64 epoch, u32 n, n x u32 piece ids (in key order): the pieces become one
//            shard [first lo, last hi) with that id and epoch (a split the broker never saw)
//   8 expire u32 shard, i64 at, key (the rest): the key's TTL is now `at` (ms since the Unix
//            epoch; 0: none). A set record removes a key's TTL, a del record removes both (format
//            version 3 on)
//
// Encoding appends to a caller's buffer; decoding gives views into the caller's bytes. Pure
// functions, safe from any thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"
#include "common/status.hpp"

namespace clossyne {

inline constexpr std::string_view kLogMagic{"CLOSLOG\x03", 8};
inline constexpr std::string_view kSnapshotMagic{"CLOSSNP\x03", 8};
inline constexpr std::size_t kMagicBytes = 8;
// The magic's last byte is the file's format version. This build writes kFormatVersion and reads
// every version from kMinFormatVersion to kFormatVersion; it refuses a file with any other version,
// naming the file, the version found and the versions it reads (docs/OPERATIONS.md, "Versions and
// upgrades"). Version 2 (0.14.0) added the replicas of a shard record; a version 1 file holds
// none of them, so it reads the same. Version 3 (0.15.0) added expire records; older files hold
// none.
inline constexpr uint8_t kFormatVersion = 3;
inline constexpr uint8_t kMinFormatVersion = 1;
static_assert(static_cast<uint8_t>(kLogMagic[kMagicBytes - 1]) == kFormatVersion);
static_assert(static_cast<uint8_t>(kSnapshotMagic[kMagicBytes - 1]) == kFormatVersion);
inline constexpr std::size_t kRecordHeaderBytes = 12;
// A length above this is damage, not data (values are bounded far below it by the envelope limit).
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;

enum class RecordType : uint8_t {
  kSet = 1,
  kDel = 2,
  kShard = 3,
  kDrop = 4,
  kEnd = 5,
  kSplit = 6,
  kJoin = 7,
  kExpire = 8,
};

// Bits of the optional flags byte of a shard record.
inline constexpr uint8_t kShardFlagImporting = 1;
inline constexpr uint8_t kShardFlagReplicas = 2;

// One decoded record. key/value view the bytes it was decoded from.
struct RecordView {
  RecordType type = RecordType::kSet;
  uint32_t shard = 0;    // set, del, drop, split
  std::string_view key;  // set, del, split (the split key)
  std::string_view value;
  ShardInfo info;      // shard (keys is always 0; replicas as recorded)
  uint64_t count = 0;  // end
  int64_t at = 0;      // expire
  // split: the pieces' ids and epochs
  uint32_t left_id = 0;
  uint64_t left_epoch = 0;
  uint32_t right_id = 0;
  uint64_t right_epoch = 0;
  // join: the new epoch (in left_epoch) and the pieces' ids
  std::vector<uint32_t> pieces;
};

void append_set_record(std::string& out, uint32_t shard, std::string_view key,
                       std::string_view value);
void append_del_record(std::string& out, uint32_t shard, std::string_view key);
void append_expire_record(std::string& out, uint32_t shard, std::string_view key, int64_t at);
void append_shard_record(std::string& out, const ShardInfo& info);
void append_drop_record(std::string& out, uint32_t shard);
void append_end_record(std::string& out, uint64_t count);
void append_split_record(std::string& out, uint32_t shard, std::string_view key, uint32_t left_id,
                         uint64_t left_epoch, uint32_t right_id, uint64_t right_epoch);
void append_join_record(std::string& out, uint32_t shard, uint64_t epoch,
                        const std::vector<uint32_t>& pieces);

// How the bytes at an offset look as a framed record.
enum class FrameCheck {
  kOk,          // a complete record whose checks match; *total is its size with the header
  kShort,       // fewer bytes than the header or the length it claims
  kBadHeader,   // the header check does not match its length (or the length is absurd)
  kBadPayload,  // the payload check does not match
};
FrameCheck check_frame(std::string_view bytes, std::size_t* total);

// REQUIRES: check_frame(frame) == kOk. An error Status when the payload is malformed.
Status decode_record(std::string_view frame, RecordView& out);

}  // namespace clossyne
