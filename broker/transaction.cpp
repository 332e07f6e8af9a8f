// Commands that span shards, run by the broker as transactions (transaction.hpp): take every
// shard's barrier in ascending shard id, run the steps in stages (reads, then writes; RENAME writes
// the destination before it deletes the source), release the shards. A stage goes out only when
// the previous one has answered in full, so a failed read leaves nothing written.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;
namespace {

enum Stage : int { kTaking = 0, kReading, kWriting, kDeleting };

// A shard changed under a transaction that waited for it this many times: it gives up.
constexpr int kMaxRestarts = 8;
// Steps that failed for their worker's sake are sent again this many times in all (the shard's new
// primary, a restarted owner). Safe: every step is idempotent while the transaction holds the
// shard.
constexpr int kMaxRetries = 4;

bool retryable(const Reply& r) {
  return r.code == ErrorCode::kUnavailable || r.code == ErrorCode::kTimeout ||
         r.code == ErrorCode::kStaleEpoch || r.code == ErrorCode::kNotHeld;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> keys_of(const Op& o) {
  if (o.op == op::kMset || o.op == "msetnx") {
    std::vector<std::string> keys;
    keys.reserve(o.pairs.size());
    for (const auto& [k, v] : o.pairs) keys.push_back(k);
    return keys;
  }
  return o.keys;
}

Op step(std::string_view name, const std::string& key) {
  Op s;
  s.op = std::string(name);
  s.key = key;
  return s;
}

Reply count(int64_t n) {
  Reply r;
  r.n = n;
  return r;
}

// The error of a failed step, with what may have been applied when writes had been sent.
Reply failure(const Transaction& t, const Reply& failed) {
  std::string why = failed.error;
  const std::string& name = t.op.op;
  if (t.stage == kWriting && (name == op::kMset || name == "msetnx")) {
    const auto ok =
        std::count_if(t.replies.begin(), t.replies.end(), [](const Reply& r) { return r.ok; });
    why += fmt::format(
        " ({} partly applied: {} of {} keys were written; the others may or may not have been)",
        name, ok, t.replies.size());
  } else if (t.stage == kWriting) {
    why += " (the source is unchanged; the destination may or may not have been written)";
  } else if (t.stage == kDeleting) {
    why += " (the value was written to the destination; the source may still exist)";
  }
  return Reply::Error(0, std::move(why), failed.code);
}

}  // namespace

bool Broker::runs_as_txn(const Op& o) const {
  if (!is_span_op(o.op)) return false;
  if (o.op != op::kMset) return true;
  // An MSET on one shard goes as its parts: one worker applies them in a row.
  if (o.pairs.size() < 2) return false;
  const std::size_t first = map_.find(o.pairs.front().first);
  return std::any_of(o.pairs.begin() + 1, o.pairs.end(),
                     [&](const KV& kv) { return map_.find(kv.first) != first; });
}

void Broker::start_txn(uint64_t req, uint32_t op_index, Op o) {
  const std::string& name = o.op;
  std::string bad;
  if (name == "rename" || name == "renamenx" || name == "copy") {
    if (o.keys.size() != 2)
      bad = fmt::format("ERR wrong number of arguments for '{}' command", name);
    for (const auto& a : o.args) {
      if (name != "copy" || lower(a) != "replace") bad = "ERR syntax error";
    }
    if (bad.empty() && name == "copy" && o.keys[0] == o.keys[1])
      bad = "ERR source and destination objects are the same";
  } else if (o.pairs.empty()) {
    bad = fmt::format("ERR wrong number of arguments for '{}' command", name);
  }
  if (!bad.empty()) {
    complete_op_part(req, op_index, 0, Reply::Error(0, bad, ErrorCode::kBadRequest));
    return;
  }
  const uint64_t id = next_txn_++;
  Transaction& t = txns_[id];
  t.request = req;
  t.op_index = op_index;
  t.op = std::move(o);
  t.deadline_ms = turn_ms_ + config_.op_timeout_ms;
  plan_locks(t);
  lock_next(id);
}

// The shards of the transaction's keys in the global order: ascending id.
void Broker::plan_locks(Transaction& t) {
  t.shards.clear();
  for (const auto& k : keys_of(t.op)) t.shards.push_back(map_.at(map_.find(k)).info.id);
  std::sort(t.shards.begin(), t.shards.end());
  t.shards.erase(std::unique(t.shards.begin(), t.shards.end()), t.shards.end());
  t.locked = 0;
  t.stage = kTaking;
  t.replies.clear();
}

// Takes the next shards in order: a free one at once; a held one by a marker at the end of its
// queue (grant_lock when release_held reaches it). Holding lower ids while waiting for a higher one
// cannot close a cycle: every other transaction waits the same way, upwards.
void Broker::lock_next(uint64_t txn) {
  auto it = txns_.find(txn);
  if (it == txns_.end()) return;
  Transaction& t = it->second;
  while (t.locked < t.shards.size()) {
    auto idx = map_.by_id(t.shards[t.locked]);
    if (!idx) {  // replaced since it was planned
      restart_txn(txn);
      return;
    }
    ShardEntry& shard = map_.at(*idx);
    if (shard.owner.empty() || !registry_.alive(shard.owner)) {
      finish_txn(txn, Reply::Error(0, unavailable(shard), ErrorCode::kUnavailable));
      return;
    }
    if (shard.holding()) {
      PartRef marker;
      marker.txn = txn;
      marker.shard_id = shard.info.id;
      marker.deadline_ms = t.deadline_ms;  // expire_parts fails it (and so the transaction)
      t.marker = parts_.insert(std::move(marker));
      Op m;
      m.op = std::string(kTxnLock);
      shard.held.push_back(HeldOp{t.marker, std::move(m)});
      return;
    }
    shard.locked_by = txn;
    ++t.locked;
  }
  advance_txn(txn);
}

// Removes a marker; the transaction it stood for when that transaction still waits on it.
std::optional<uint64_t> Broker::take_marker(uint64_t marker) {
  const PartRef* ref = parts_.find(marker);
  if (ref == nullptr) return std::nullopt;
  const uint64_t txn = ref->txn;
  parts_.erase(marker);
  auto it = txns_.find(txn);
  if (it == txns_.end() || it->second.marker != marker) return std::nullopt;
  it->second.marker = 0;
  return txn;
}

void Broker::grant_lock(ShardEntry& shard, uint64_t marker) {
  const std::optional<uint64_t> txn = take_marker(marker);
  if (!txn) return;
  shard.locked_by = *txn;
  ++txns_.at(*txn).locked;
  lock_next(*txn);
}

// The shard a transaction waited for split or was replaced: it lets go of what it holds (nothing
// was sent yet) and takes the shards of its keys again.
void Broker::marker_moved(uint64_t marker) {
  if (const std::optional<uint64_t> txn = take_marker(marker)) restart_txn(*txn);
}

void Broker::restart_txn(uint64_t txn) {
  auto it = txns_.find(txn);
  if (it == txns_.end()) return;
  Transaction& t = it->second;
  unlock_all(txn, t);
  if (++t.restarts > kMaxRestarts || turn_ms_ > t.deadline_ms) {
    finish_txn(txn, Reply::Error(0, "ERR busy: the shards of this command kept changing, retry",
                                 ErrorCode::kBusy));
    return;
  }
  spdlog::debug("broker: transaction {} ({}) takes its shards again", txn, t.op.op);
  plan_locks(t);
  lock_next(txn);
}

void Broker::unlock_all(uint64_t txn, Transaction& t) {
  if (t.marker != 0) {
    if (const PartRef* m = parts_.find(t.marker)) {
      if (auto idx = map_.by_id(m->shard_id)) {
        std::erase_if(map_.at(*idx).held,
                      [marker = t.marker](const HeldOp& h) { return h.sub_id == marker; });
      }
      parts_.erase(t.marker);
    }
    t.marker = 0;
  }
  const std::vector<uint32_t> held(t.shards.begin(),
                                   t.shards.begin() + static_cast<std::ptrdiff_t>(t.locked));
  t.locked = 0;
  for (uint32_t id : held) {
    auto idx = map_.by_id(id);
    if (!idx || map_.at(*idx).locked_by != txn) continue;
    map_.at(*idx).locked_by = 0;
    release_held(map_.at(*idx));
  }
}

// Sends the next stage once every shard is held and the last stage has answered in full; decides
// from the replies.
void Broker::advance_txn(uint64_t txn) {
  auto it = txns_.find(txn);
  if (it == txns_.end()) return;
  Transaction& t = it->second;
  if (t.pending > 0 || t.marker != 0 || t.locked < t.shards.size()) return;
  std::vector<uint32_t> failed;
  for (uint32_t i = 0; i < t.replies.size(); ++i) {
    if (!t.replies[i].ok) failed.push_back(i);
  }
  if (!failed.empty()) {
    const bool again = std::all_of(failed.begin(), failed.end(),
                                   [&](uint32_t i) { return retryable(t.replies[i]); });
    if (!again || t.retries >= kMaxRetries)
      return finish_txn(txn, failure(t, t.replies[failed[0]]));
    return send_stage(txn, t, t.stage, {}, failed);
  }
  const std::string name = t.op.op;
  const bool mset = name == op::kMset || name == "msetnx";
  std::vector<Op> steps;
  int next = 0;
  if (t.stage == kTaking && name == op::kMset) {
    next = kWriting;
  } else if (t.stage == kTaking && name == "msetnx") {
    next = kReading;
    for (const auto& [k, v] : t.op.pairs) steps.push_back(step(op::kExists, k));
  } else if (t.stage == kTaking) {
    next = kReading;
    steps.push_back(step("xget", t.op.keys[0]));
    if (name != "rename") steps.push_back(step(op::kExists, t.op.keys[1]));
  } else if (t.stage == kReading && name == "msetnx") {
    for (const Reply& r : t.replies) {
      if (r.n.value_or(0) > 0) return finish_txn(txn, count(0));
    }
    next = kWriting;
  } else if (t.stage == kReading) {
    const Reply& src = t.replies[0];
    if (!src.value) {
      return finish_txn(txn, name == "copy" ? count(0) : Reply::Error(0, "ERR no such key"));
    }
    if (t.op.keys[0] == t.op.keys[1]) return finish_txn(txn, name == "rename" ? Reply() : count(0));
    const bool replace = !t.op.args.empty();  // COPY ... REPLACE (checked at the start)
    if (name != "rename" && !replace && t.replies[1].n.value_or(0) > 0)
      return finish_txn(txn, count(0));
    next = kWriting;
    Op x = step("xset", t.op.keys[1]);
    x.value = src.value;
    x.args = {std::to_string(src.n.value_or(0))};
    steps.push_back(std::move(x));
  } else if (t.stage == kWriting && (mset || name == "copy")) {
    return finish_txn(txn, name == op::kMset ? Reply() : count(1));
  } else if (t.stage == kWriting) {
    next = kDeleting;  // the destination has the value: the source goes
    steps.push_back(step(op::kDel, t.op.keys[0]));
  } else {
    return finish_txn(txn, name == "rename" ? Reply() : count(1));
  }
  if (next == kWriting && mset) {
    for (const auto& [k, v] : t.op.pairs) {
      Op s = step(op::kSet, k);
      s.value = v;
      steps.push_back(std::move(s));
    }
  }
  send_stage(txn, t, next, std::move(steps), {});
}

// Sends one stage's steps (or, `again`, those of the current stage that failed) to the owners of
// the shards this transaction holds, past their barrier. A shard that is changing (a new
// configuration being recorded) or changed: before any write the transaction starts again; after
// one it waits for the change to end (resume_txn), and then makes the decision that led here again.
void Broker::send_stage(uint64_t txn, Transaction& t, int next, std::vector<Op> steps,
                        const std::vector<uint32_t>& again) {
  const std::vector<Op>& check = again.empty() ? steps : t.steps;
  for (std::size_t j = 0; j < (again.empty() ? check.size() : again.size()); ++j) {
    const Op& s = check[again.empty() ? j : again[j]];
    ShardEntry& shard = map_.at(map_.find(*s.key));
    std::optional<Reply> fail;
    if (shard.owner.empty() || !registry_.alive(shard.owner)) {
      fail = Reply::Error(0, unavailable(shard), ErrorCode::kUnavailable);
    } else if (shard.locked_by == txn && shard.busy == ShardBusy::kNone) {
      continue;
    } else if (!t.wrote) {
      restart_txn(txn);
      return;
    } else if (shard.locked_by == txn) {
      t.parked = true;
      return;
    } else {
      fail = Reply::Error(0, fmt::format("ERR shard {} changed under the command", shard.info.id),
                          ErrorCode::kUnavailable);
    }
    if (t.wrote) {
      t.stage = next;  // what was written is what the stages before this one wrote
      fail = failure(t, *fail);
    }
    return finish_txn(txn, std::move(*fail));
  }
  std::vector<uint32_t> send = again;
  if (!again.empty()) {
    ++t.retries;
    spdlog::info("broker: {} sends {} step(s) again after '{}'", t.op.op, again.size(),
                 t.replies[again[0]].error);
  } else {
    t.stage = next;
    t.wrote = t.wrote || next != kReading;
    t.steps = std::move(steps);
    t.replies.assign(t.steps.size(), Reply());
    for (uint32_t i = 0; i < t.steps.size(); ++i) send.push_back(i);
  }
  t.pending = send.size();
  for (uint32_t i : send) {
    ShardEntry& shard = map_.at(map_.find(*t.steps[i].key));
    PartRef ref;
    ref.txn = txn;
    ref.part_index = i;
    ref.is_del = t.steps[i].op == op::kDel;
    ref.deadline_ms = turn_ms_ + config_.op_timeout_ms;
    ref.shard_id = shard.info.id;
    const uint64_t sub_id = parts_.insert(std::move(ref));
    dispatch(shard, sub_id, t.steps[i]);  // kept: it may be sent again
  }
}

void Broker::on_txn_reply(uint64_t txn, uint64_t sub_id, uint32_t step, Reply&& reply) {
  auto it = txns_.find(txn);
  if (it == txns_.end()) return;
  Transaction& t = it->second;
  if (sub_id == t.marker) {  // it waited too long, or the shard's owner is gone
    t.marker = 0;
    finish_txn(txn, std::move(reply));
    return;
  }
  if (step < t.replies.size()) t.replies[step] = std::move(reply);
  if (t.pending > 0 && --t.pending == 0) advance_txn(txn);
}

void Broker::finish_txn(uint64_t txn, Reply reply) {
  auto it = txns_.find(txn);
  if (it == txns_.end()) return;
  Transaction t = std::move(it->second);
  txns_.erase(it);
  unlock_all(txn, t);
  complete_op_part(t.request, t.op_index, 0, std::move(reply));
}

// release_held() of a shard a transaction holds: a transaction that waited for the shard's new
// configuration goes on.
void Broker::resume_txn(ShardEntry& shard) {
  if (shard.locked_by == 0 || shard.busy != ShardBusy::kNone) return;
  auto it = txns_.find(shard.locked_by);
  if (it == txns_.end() || !it->second.parked) return;
  it->second.parked = false;
  advance_txn(shard.locked_by);
}

}  // namespace clossyne::broker
