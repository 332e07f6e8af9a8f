// Envelope: the msgpack messages every Clossyne process exchanges (see docs/PROTOCOL.md).
// An Op is a request (client -> broker, broker -> worker, worker control); a Reply answers one.
// A batch is an Op whose `batch` holds sub-ops, answered by a Reply whose `replies` are in order.
// Plain value types; encode/decode are pure functions, safe from any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "status.hpp"

namespace clossyne {

using KV = std::pair<std::string, std::string>;
// A key's expiry: absolute milliseconds since the Unix epoch (moves and catch-ups carry them).
using KeyExpiry = std::pair<std::string, int64_t>;

// A shard as the broker and workers describe it to each other.
struct ShardInfo {
  uint32_t id = 0;
  std::string lo;                 // "" is -inf
  std::optional<std::string> hi;  // none is +inf
  uint64_t epoch = 0;
  uint64_t seed = 0;   // treap priority seed: same keys + same seed -> same shape
  uint64_t keys = 0;   // informational: keys in the shard, as last reported
  uint64_t bytes = 0;  // informational: memory the shard uses, as last reported
  std::string owner;   // in status replies
  // Being copied in by a move: not yet the shard's home. A worker never reports an importing shard
  // as its own, so a crash mid-move cannot make a partial copy win over the original.
  bool importing = false;
  bool busy = false;  // in status replies: a split or move of it is under way
  // Replicated shards (--replicas N > 1): the in-sync set, primary first. Recorded by every member
  // before a configuration (whose version is the epoch) takes effect. Empty: not replicated, the
  // holder is the only member.
  std::vector<std::string> replicas;
  std::string joining;  // in status replies: a new member catching up (copying from the primary)
  // In status replies: the change under way ("split", "move", "catch-up", "reconfigure", "merge";
  // "" none) and, for a move or catch-up, the keys copied so far (of `keys`).
  std::string change;
  uint64_t copied = 0;
  bool operator==(const ShardInfo&) const = default;
};

// A worker as the broker sees it (status replies).
struct WorkerInfo {
  std::string id;
  bool alive = false;
  uint64_t keys = 0;
  uint32_t shards = 0;
  bool draining = false;
  // As the worker last reported them (register, heartbeats): the memory its shards'
  // trees use (the sum of their `bytes`), its resident set size, and its durability: persistent
  // when it has a --data-dir, fsync the --fsync mode then ("always", "everysec", "no").
  uint64_t bytes = 0;
  uint64_t rss = 0;
  bool persistent = false;
  std::string fsync{};
  // The broker's own view: sub-operations this worker answered per second (the last few
  // seconds), and how long ago its last message came.
  uint64_t ops_per_sec = 0;
  uint64_t heartbeat_age_ms = 0;
  bool operator==(const WorkerInfo&) const = default;
};

struct Op {
  int version = 1;
  uint64_t id = 0;
  std::string op;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::optional<std::string> end;
  std::optional<uint64_t> limit;
  std::vector<std::string> keys;
  std::vector<KV> pairs;
  std::vector<Op> batch;  // "ops"
  // A batch whose replies may come in several envelopes, each op's as soon as it is ready (so one
  // slow shard does not hold back the others). Each envelope but the last is marked `partial`.
  bool stream = false;
  std::optional<uint32_t> shard;
  uint64_t epoch = 0;
  std::string worker;
  std::vector<ShardInfo> shards;
  // assign: the cluster's id, and copies this worker must delete: {id, epoch} names exactly the
  // copy the broker knows superseded (a worker holding another epoch keeps its copy).
  std::string cluster;
  std::vector<ShardInfo> drops;
  bool force = false;  // recreate: the operator said data may be lost ("force")
  // Writes to a replicated shard: 1, 2, 3, ... per shard and epoch, so a member that missed one
  // (a message lost with a dropped connection) refuses the next instead of diverging.
  std::optional<uint64_t> seq;
  // String and key commands (common/keyed_ops.hpp): the command's words after the key, as Redis
  // takes them ("set" keeps its value in `value`; these are its options).
  std::vector<std::string> args;
  // The broker's clock (ms since the Unix epoch) when it sent the op: every member of a replicated
  // shard decides expiry and relative TTLs on the same time. Absent: the worker's own clock.
  std::optional<int64_t> now;
  // import: the expiry of those `pairs` keys that have one.
  std::vector<KeyExpiry> expires;
};

struct WhereInfo {
  uint32_t shard = 0;
  std::string owner;
  std::string path;  // "<shard>:LRRL"; the turns the key takes (or would take) from the shard root
  uint32_t depth = 0;
  bool found = false;
  std::vector<std::string> members;  // a replicated shard's members, primary first (the broker's)
  bool operator==(const WhereInfo&) const = default;
};

struct Reply {
  uint64_t id = 0;
  bool ok = true;
  std::string error;
  ErrorCode code = ErrorCode::kNone;  // set on every error reply ("code" on the wire)
  bool has_value = false;             // "value" present (it may be nil)
  std::optional<std::string> value;   // nil when the key is absent
  std::optional<int64_t> n;
  std::optional<std::vector<std::optional<std::string>>> values;  // mget
  std::optional<std::vector<KV>> items;                           // rng
  std::vector<KeyExpiry> expires;  // rng: the expiry of those `items` keys that have one
  std::optional<WhereInfo> where;
  bool is_batch = false;
  bool partial = false;  // a streamed batch's replies continue in a later envelope
  std::vector<Reply> replies;
  // Worker -> broker traffic is all Replies: results carry `replies`; control messages (register,
  // heartbeat) carry `op`, `worker` and `shards`.
  std::string op;
  std::string worker;
  std::vector<ShardInfo> shards;
  std::vector<WorkerInfo> workers;  // status replies
  // register: the cluster this worker belongs to ("" if none yet) and its handoff tombstones:
  // {id, epoch, owner} = "shard id was handed to owner, who holds it at epoch".
  std::string cluster;
  std::vector<ShardInfo> handoffs;
  bool ephemeral = false;  // register: no --data-dir, so a restart has lost every shard
  std::string zone;  // register: the worker's --zone label ("" none); replicas spread over zones
  // register and heartbeat: the worker's resident set size, and its --fsync mode when it has a
  // --data-dir ("" without one)
  std::optional<uint64_t> rss;
  std::string fsync{};

  static Reply Ok(uint64_t id) {
    Reply r;
    r.id = id;
    return r;
  }
  static Reply Error(uint64_t id, std::string msg, ErrorCode code = ErrorCode::kOther) {
    Reply r;
    r.id = id;
    r.ok = false;
    r.error = std::move(msg);
    r.code = code == ErrorCode::kNone ? ErrorCode::kOther : code;
    return r;
  }
  static Reply Error(uint64_t id, const Status& st) { return Error(id, st.message(), st.code()); }
};

// An error reply without a "code" (an older or hand-written peer) gets kOther; an ok one kNone.
inline void normalize_error_code(Reply& r) {
  if (r.ok) {
    r.code = ErrorCode::kNone;
  } else if (r.code == ErrorCode::kNone) {
    r.code = ErrorCode::kOther;
  }
}

std::string encode(const Op& op);
std::string encode(const Reply& reply);

// Decoding never throws: a body that is not valid msgpack, not a map, or has a field of the wrong
// type gives an error Status. `id` is filled as soon as it is read so the sender can still be
// answered.
Status decode(std::string_view body, Op& out);
Status decode(std::string_view body, Reply& out);

}  // namespace clossyne
