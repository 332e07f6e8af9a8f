// Wire constants of the Clossyne envelope protocol, in one place (as Majordomo's mdp.h).
// docs/PROTOCOL.md says the same in prose; change both together.
#pragma once
#include <cstdint>
#include <string_view>

namespace clossyne::proto {

inline constexpr int kVersion = 1;

// Field names of an envelope (a msgpack map with string keys).
namespace f {
inline constexpr std::string_view kV = "v";
inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kOp = "op";
inline constexpr std::string_view kKey = "key";
inline constexpr std::string_view kValue = "value";
inline constexpr std::string_view kEnd = "end";
inline constexpr std::string_view kLimit = "limit";
inline constexpr std::string_view kKeys = "keys";
inline constexpr std::string_view kPairs = "pairs";
inline constexpr std::string_view kOps = "ops";
inline constexpr std::string_view kShard = "shard";
inline constexpr std::string_view kEpoch = "epoch";
inline constexpr std::string_view kWorker = "worker";
inline constexpr std::string_view kShards = "shards";
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kError = "error";
inline constexpr std::string_view kCode = "code";  // an error reply's kind (common/error_code.hpp)
inline constexpr std::string_view kN = "n";
inline constexpr std::string_view kValues = "values";
inline constexpr std::string_view kItems = "items";
inline constexpr std::string_view kWhere = "where";
inline constexpr std::string_view kReplies = "replies";
inline constexpr std::string_view kStream = "stream";
inline constexpr std::string_view kPartial = "partial";
inline constexpr std::string_view kCluster = "cluster";  // register, assign: the cluster's id
inline constexpr std::string_view kDrops = "drops";      // assign: copies to delete (epoch-checked)
inline constexpr std::string_view kHandoffs =
    "handoffs";  // register: shards handed off (tombstones)
}  // namespace f

// Client operations (client -> broker), also used broker -> worker with "shard"/"epoch".
namespace op {
inline constexpr std::string_view kSet = "set";
inline constexpr std::string_view kGet = "get";
inline constexpr std::string_view kDel = "del";
inline constexpr std::string_view kExists = "exists";
inline constexpr std::string_view kRng = "rng";
inline constexpr std::string_view kMget = "mget";
inline constexpr std::string_view kMset = "mset";
inline constexpr std::string_view kDbsize = "dbsize";
inline constexpr std::string_view kWhere = "where";
inline constexpr std::string_view kPing = "ping";
inline constexpr std::string_view kBatch = "batch";
// Worker <-> broker control.
inline constexpr std::string_view kRegister = "register";    // worker -> broker: id + shards held
inline constexpr std::string_view kHeartbeat = "heartbeat";  // both ways
inline constexpr std::string_view kAssign = "assign";        // broker -> worker: the shards it owns
inline constexpr std::string_view kReregister = "reregister";  // broker -> unknown worker
inline constexpr std::string_view kCount = "count";            // broker -> worker: keys in a shard
// Structural changes (broker -> worker), see docs/PROTOCOL.md.
inline constexpr std::string_view kSplit = "split";      // split a shard at a key (or its median)
inline constexpr std::string_view kMerge = "merge";      // join two adjacent shards into a new one
inline constexpr std::string_view kImport = "import";    // pairs copied into an importing shard
inline constexpr std::string_view kSync = "sync";        // make a shard durable, then answer
inline constexpr std::string_view kHandoff = "handoff";  // a move's source gives its shard up
// Operator commands (client -> broker), used by clossyne-admin.
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kDrain = "drain";
inline constexpr std::string_view kUndrain = "undrain";
inline constexpr std::string_view kMove = "move";
inline constexpr std::string_view kRecreate =
    "recreate";  // declare a range's data lost: new empty shard
inline constexpr std::string_view kForget = "forget";  // remove a stopped, empty worker
}  // namespace op

// Limits that protect every process from a hostile or broken peer.
inline constexpr std::size_t kMaxEnvelopeBytes = 600u * 1024 * 1024;
inline constexpr std::size_t kMaxBatchOps = 100000;

// Liveness (Paranoid Pirate): heartbeat every second, dead after three missed.
inline constexpr int kHeartbeatMs = 1000;
inline constexpr int kLivenessMs = 3 * kHeartbeatMs + 500;

}  // namespace clossyne::proto
