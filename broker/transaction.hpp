// Commands that span shards (MSET over several shards, MSETNX, RENAME, RENAMENX, COPY) run as a
// broker-side transaction: it takes the barrier of every shard its keys live on, in ascending shard
// id (one global order: no deadlock), runs its steps on the owners (reads first, then writes) and
// releases the shards. Nobody sees half of one. docs/ARCHITECTURE.md, "Commands that span shards".
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"

namespace clossyne::broker {

// The op of a marker a transaction leaves in a busy shard's held queue: when release_held() reaches
// it the shard's barrier goes to the transaction (never sent to a worker).
inline constexpr std::string_view kTxnLock = "txn-lock";

// Ops run as transactions ("mset" only when its keys are on more than one shard).
constexpr bool is_span_op(std::string_view name) {
  return name == "msetnx" || name == "rename" || name == "renamenx" || name == "copy" ||
         name == "mset";
}

struct Transaction {
  uint64_t request = 0;  // the client request and its op the result goes to
  uint32_t op_index = 0;
  Op op;                         // the client's op
  std::vector<uint32_t> shards;  // ids of the shards to take, ascending: the global order
  std::size_t locked = 0;        // shards[0, locked) are held by this transaction
  uint64_t marker = 0;           // part id of its marker waiting at shards[locked] (0: none)
  int restarts = 0;              // a shard it waited for split or moved: it took them all again
  int64_t deadline_ms = 0;       // for taking the shards
  int stage = 0;                 // the steps last sent (transaction.cpp: kTaking, kReading, ...)
  std::size_t pending = 0;       // steps of that stage not answered yet
  std::vector<Op> steps;         // that stage's steps, kept to send again
  std::vector<Reply> replies;    // per step of that stage
  int retries = 0;               // steps sent again (transaction.cpp, kMaxRetries)
  bool wrote = false;            // a write step was sent: failing now may leave part of it
  bool parked = false;           // waits for a held shard's configuration change to end
};

}  // namespace clossyne::broker
