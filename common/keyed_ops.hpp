// The single-key string and key commands as envelope ops (docs/PROTOCOL.md, "String and key
// commands"): the op is the Redis command's name in lower case, `key` its key and `args` the words
// after the key as Redis takes them (only "set" keeps its value in `value`, its options in `args`).
// The worker runs each one atomically on the key's shard (read-modify-write there, never at the
// broker or frontend) and answers as Redis would: `n` for an integer, `value` (maybe nil) for a
// bulk string, neither for +OK, an error text worded as Redis words it.
//
// The broker routes them by key; `write` ones change data (they go to every member of a
// replicated shard and are refused by a worker whose disk failed). One table for every process.
#pragma once
#include <array>
#include <string_view>

namespace clossyne {

struct KeyedOp {
  std::string_view name;
  bool write;
};

inline constexpr std::array<KeyedOp, 36> kKeyedOps = {{
    // The original ops first: every op's lookup (routing, replication, a worker's write check)
    // scans this table, and these are nearly all of the traffic.
    {"get", false},
    {"set", true},  // with NX|XX, GET, EX|PX|EXAT|PXAT|KEEPTTL in args
    {"del", true},
    {"exists", false},
    {"where", false},
    // strings
    {"setnx", true},
    {"setex", true},
    {"psetex", true},
    {"getset", true},
    {"getdel", true},
    {"getex", true},
    {"incr", true},
    {"decr", true},
    {"incrby", true},
    {"decrby", true},
    {"incrbyfloat", true},
    {"append", true},
    {"setrange", true},
    {"setbit", true},
    {"strlen", false},
    {"getrange", false},
    {"substr", false},
    {"getbit", false},
    {"bitcount", false},
    // expiry
    {"expire", true},
    {"pexpire", true},
    {"expireat", true},
    {"pexpireat", true},
    {"persist", true},
    {"ttl", false},
    {"pttl", false},
    {"expiretime", false},
    {"pexpiretime", false},
    {"type", false},  // n = 1 when the key exists
    // Internal steps of the commands that span keys (RENAME, COPY, MSETNX), sent by the broker:
    // "xget" answers value (nil when absent) and n = the key's expiry (ms since the epoch, 0:
    // none); "xset" sets value with args[0] = that expiry ("0": none), replacing any TTL.
    {"xget", false},
    {"xset", true},
}};

// nullptr when `name` is not a single-key op.
constexpr const KeyedOp* find_keyed_op(std::string_view name) {
  for (const KeyedOp& k : kKeyedOps) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// Ops that change what a worker stores: the keyed writes above and the structural ones. A worker
// refuses them once its disk failed, and turns their replies into errors when a commit fails.
constexpr bool changes_data(std::string_view name) {
  const KeyedOp* k = find_keyed_op(name);
  if (k != nullptr) return k->write;
  return name == "import" || name == "split" || name == "merge" || name == "sync";
}

}  // namespace clossyne
