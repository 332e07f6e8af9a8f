// Replicated shards (--replicas N > 1): primary-backup with the broker as configuration manager,
// after PacificA (docs/ARCHITECTURE.md, "Replicated shards").
// - A shard's configuration is its members (a primary and in-sync followers, info.replicas) at a
//   version that is the shard's epoch. Every change bumps the epoch and takes effect only once
//   every member of the new configuration has recorded it durably (assign, then a confirming
//   sync): until then the shard's ops wait and no write is acknowledged.
// - Writes go to every member in the broker's order with a per-epoch seq (a member that missed
//   one refuses the next); a write is acknowledged when every member answered it. Reads go to
//   the primary.
// - A member that fails (dies, refuses, misses a write, does not answer in time) leaves the
//   configuration; a failed primary is replaced by a follower that answered every write sent to
//   it. A new member catches up by a chunked copy from the primary (the move machinery) and
//   joins with a new configuration.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "broker.hpp"
#include "common/clock.hpp"
#include "common/keyed_ops.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;
namespace {

bool is_write(std::string_view name) {
  const KeyedOp* k = find_keyed_op(name);
  return k != nullptr && k->write;
}

// Errors that say the member, not the op, is at fault: it no longer follows the configuration.
bool member_fault(const Reply& r) {
  switch (r.code) {
    case ErrorCode::kStaleEpoch:
    case ErrorCode::kNotHeld:
    case ErrorCode::kReplicaGap:
    case ErrorCode::kRefused:
    case ErrorCode::kTimeout:
    case ErrorCode::kUnavailable:
      return true;
    default:
      return false;
  }
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

// The best worker to add to `shard`: alive, not draining, not a member; a zone no member is in
// first, then the fewest shards it is a member of.
std::optional<std::string> Broker::choose_member(const ShardEntry& shard) const {
  std::set<std::string> zones;
  for (const auto& m : shard.info.replicas) {
    if (auto z = registry_.zone(m); !z.empty()) zones.insert(z);
  }
  std::map<std::string, std::size_t> load;
  for (const auto& w : registry_.alive_ids()) {
    if (!registry_.draining(w) && !shard.has_member(w)) load[w] = 0;
  }
  for (const auto& e : map_.entries()) {
    for (const auto& m : e.info.replicas) {
      if (auto it = load.find(m); it != load.end()) ++it->second;
    }
    if (!e.replicated()) {
      if (auto it = load.find(e.owner); it != load.end()) ++it->second;
    }
  }
  std::optional<std::string> best;
  auto rank = [&](const std::string& w) {
    const std::string z = registry_.zone(w);
    return std::make_pair(!z.empty() && zones.count(z) > 0, load[w]);
  };
  for (const auto& [w, n] : load) {
    if (!best || rank(w) < rank(*best)) best = w;
  }
  return best;
}

// A fresh shard: followers on other workers, up to --replicas members in all.
void Broker::place_members(ShardEntry& shard) {
  if (config_.replicas <= 1) return;
  shard.set_members(shard.owner, {});
  while (shard.info.replicas.size() < static_cast<std::size_t>(config_.replicas)) {
    auto w = choose_member(shard);
    if (!w) break;
    std::vector<std::string> followers = shard.followers;
    followers.push_back(*w);
    shard.set_members(shard.owner, std::move(followers));
  }
  // Nothing was written yet: whichever members record it, no acknowledged write depends on it.
  shard.confirmed_epoch = shard.info.epoch;
  shard.confirmed_replicas = shard.info.replicas;
}

// A write to a replicated shard takes the next seq and goes to the followers too (dispatch() sends
// it to the primary); every member is then waited for.
void Broker::replicate_write(ShardEntry& shard, PartRef& ref, Op& op) {
  if (!is_write(op.op)) return;
  op.seq = ++shard.seq;
  ref.replicated = true;
  ref.waiting = shard.info.replicas;
  ref.result.reset();
  for (const auto& f : shard.followers) enqueue(f, op);
}

void Broker::on_member_reply(const std::string& worker, uint64_t sub_id, Reply reply) {
  PartRef* ref = parts_.find(sub_id);
  if (ref == nullptr) return;
  auto it = std::find(ref->waiting.begin(), ref->waiting.end(), worker);
  if (it == ref->waiting.end()) return;  // not a member (any more), or answered already
  ref->waiting.erase(it);
  const bool primary = worker == ref->worker;
  const uint32_t shard_id = ref->shard_id;
  if (!reply.ok && member_fault(reply)) {
    if (primary) {
      ref->result = Reply::Error(
          0,
          fmt::format("ERR the primary of shard {} failed: {} (the op may have been applied)",
                      shard_id, reply.error),
          ErrorCode::kUnavailable);
    }
    if (auto idx = map_.by_id(shard_id)) member_failed(map_.at(*idx), worker, reply.error);
  } else if (primary) {
    ref->result = std::move(reply);
  }
  finish_replicated(sub_id);
}

// A replicated write every member answered: an error goes back at once; a success once the
// shard's configuration is recorded (a member that left must be out of it first).
void Broker::finish_replicated(uint64_t sub_id) {
  PartRef* ref = parts_.find(sub_id);
  if (ref == nullptr || !ref->waiting.empty()) return;
  if (!ref->result) {
    ref->result = Reply::Error(
        0,
        fmt::format("ERR the primary of shard {} failed (the op may have been applied)",
                    ref->shard_id),
        ErrorCode::kUnavailable);
  }
  auto idx = map_.by_id(ref->shard_id);
  if (ref->result->ok && idx &&
      (map_.at(*idx).busy == ShardBusy::kReconfiguring || map_.at(*idx).unrecorded)) {
    auto& deferred = map_.at(*idx).deferred;
    if (std::find(deferred.begin(), deferred.end(), sub_id) == deferred.end())
      deferred.push_back(sub_id);
    return;
  }
  Reply r = std::move(*ref->result);
  ref->result.reset();
  complete_part(sub_id, std::move(r));
}

// The shard's replicated writes no longer wait for `worker`; one it was the primary of and has not
// answered fails. Returns every replicated write of the shard (those may now be answered).
std::vector<uint64_t> Broker::stop_waiting_for(const ShardEntry& shard, const std::string& worker,
                                               const std::string& why) {
  std::vector<uint64_t> writes;
  parts_.for_each([&](uint64_t sub_id, const PartRef& ref) {
    if (ref.shard_id == shard.info.id && ref.replicated) writes.push_back(sub_id);
  });
  for (uint64_t sub_id : writes) {
    PartRef* ref = parts_.find(sub_id);
    std::erase(ref->waiting, worker);
    if (ref->worker == worker && !ref->result) {
      ref->result = Reply::Error(
          0,
          fmt::format("ERR the primary of shard {} failed: {} (the op may have been applied)",
                      shard.info.id, why),
          ErrorCode::kUnavailable);
    }
  }
  return writes;
}

// `worker` no longer follows `shard`'s configuration: a new one without it, with a follower that
// answered every write as primary if it was the primary. No such follower: the shard waits for
// its members to register again.
void Broker::member_failed(ShardEntry& shard, const std::string& worker, const std::string& why) {
  if (!shard.replicated() || !shard.has_member(worker)) return;
  const std::vector<uint64_t> answered = stop_waiting_for(shard, worker, why);
  if (shard.busy == ShardBusy::kSplitting) {  // the split's end decides the pieces' members
    split_member_gone(shard, worker);
    for (uint64_t sub_id : answered) finish_replicated(sub_id);
    return;
  }
  if (shard.busy == ShardBusy::kMerging) {  // the merge's end decides the merged shard's members
    // Writes that waited only for it wait on (either shard) for a configuration without it; the
    // merge's end may replace the shards, so they are deferred before it.
    const uint32_t left = shard.move.merge_left ? shard.move.merge_left : shard.info.id;
    mark_merge_unrecorded(shard);
    for (uint64_t sub_id : answered) finish_replicated(sub_id);
    if (auto i = map_.by_id(left); i && map_.at(*i).busy == ShardBusy::kMerging)
      merge_member_gone(map_.at(*i), worker);
    return;
  }
  shard.departed[worker] = now_ms();
  std::vector<std::string> followers = shard.followers;
  std::erase(followers, worker);
  std::string primary = shard.owner;
  if (worker == shard.owner) {
    primary.clear();
    // Writes it has not answered yet may still be on their way: its confirmation of the new
    // configuration, which comes after them, tells (on_confirm).
    for (const auto& f : followers) {
      if (registry_.alive(f)) {
        primary = f;
        break;
      }
    }
    std::erase(followers, primary);
  }
  if (primary.empty()) {
    spdlog::error(
        "broker: shard {} lost its last in-sync member ({} failed: {}): unavailable until its "
        "members register again",
        shard.info.id, worker, why);
    shard.owner.clear();
    shard.followers.clear();
    shard.busy = ShardBusy::kNone;
    shard.move = Migration{};
    shard.reporters.clear();
    shard.info.epoch = shard.confirmed_epoch;
    shard.info.replicas = shard.confirmed_replicas;
    // No write waiting here can be acknowledged: no member of a recorded configuration is known
    // to have it. Late answers change nothing (nobody is waited for).
    std::vector<uint64_t> unsure = std::exchange(shard.deferred, {});
    unsure.insert(unsure.end(), answered.begin(), answered.end());
    for (uint64_t sub_id : unsure) {
      if (PartRef* ref = parts_.find(sub_id)) {
        ref->waiting.clear();
        ref->result.reset();
      }
      finish_replicated(sub_id);
    }
  } else {
    reconfigure(shard, primary, std::move(followers), worker + " failed: " + why);
  }
  for (uint64_t sub_id : answered) finish_replicated(sub_id);
  if (shard.owner.empty()) release_held(shard);  // fails them: nobody serves the shard
}

// A follower still owing an answer to a write sent to it missed that write (replies come in the
// order the ops were sent), or has not applied it yet.
bool Broker::misses_writes(const ShardEntry& shard, const std::string& worker) const {
  bool owes = false;
  parts_.for_each([&](uint64_t, const PartRef& ref) {
    if (ref.shard_id == shard.info.id && ref.replicated &&
        std::find(ref.waiting.begin(), ref.waiting.end(), worker) != ref.waiting.end())
      owes = true;
  });
  return owes;
}

// Records a new configuration on its members: the shard's ops wait until all have confirmed.
void Broker::reconfigure(ShardEntry& shard, std::string primary, std::vector<std::string> followers,
                         const std::string& why) {
  // A member joining is abandoned; what waits on the shard waits on for the new configuration.
  if (shard.busy == ShardBusy::kMoving || shard.busy == ShardBusy::kSplitting)
    abort_change(shard, why, true, false);
  shard.info.epoch += 1;
  shard.seq = 0;
  shard.set_members(std::move(primary), std::move(followers));
  shard.busy = ShardBusy::kReconfiguring;
  shard.move = Migration{};
  shard.move.deadline_ms = now_ms() + config_.op_timeout_ms;
  shard.move.confirming.insert(shard.info.replicas.begin(), shard.info.replicas.end());
  spdlog::info("broker: shard {} configuration epoch {}: primary {}, followers {} ({})",
               shard.info.id, shard.info.epoch, shard.owner, join_names(shard.followers), why);
  for (const auto& m : shard.info.replicas) {
    send_assign(m);  // sends what was dispatched before it first: members apply it at the old epoch
    Op confirm;
    confirm.op = std::string(op::kSync);
    confirm.shard = shard.info.id;
    confirm.epoch = shard.info.epoch;
    const uint64_t id = send_internal(m, InternalKind::kConfirm, shard.info.id, confirm);
    internal_[id].epoch = shard.info.epoch;
  }
}

void Broker::on_confirm(const InternalRef& ref, const Reply& reply) {
  auto idx = map_.by_id(ref.shard_id);
  if (!idx) return;
  ShardEntry& shard = map_.at(*idx);
  if (shard.busy != ShardBusy::kReconfiguring || shard.info.epoch != ref.epoch ||
      !shard.move.confirming.count(ref.worker))
    return;  // an older configuration's
  if (!reply.ok || misses_writes(shard, ref.worker)) {
    member_failed(
        shard, ref.worker,
        reply.ok ? "it missed a write" : "it did not record the configuration: " + reply.error);
    return;
  }
  shard.move.confirming.erase(ref.worker);
  if (shard.move.confirming.empty()) end_reconfigure(shard);
}

// The configuration is in effect: acknowledge what waited for it, then serve.
void Broker::end_reconfigure(ShardEntry& shard) {
  shard.busy = ShardBusy::kNone;
  shard.move = Migration{};
  shard.confirmed_epoch = shard.info.epoch;
  shard.confirmed_replicas = shard.info.replicas;
  shard.unrecorded = false;
  if (!shard.drop_worker.empty()) {  // a moved member's copy: the new configuration has the keys
    const std::string w = std::exchange(shard.drop_worker, {});
    if (!shard.has_member(w)) {
      ShardInfo copy = shard.info;
      copy.epoch = shard.drop_epoch;
      drop_later(w, copy);
      if (registry_.alive(w)) send_assign(w);
    }
  }
  for (uint64_t sub_id : std::exchange(shard.deferred, {})) finish_replicated(sub_id);
  release_held(shard);
}

// Shards with fewer members than --replicas get a new one, copied from the primary.
void Broker::replicate_more() {
  if (config_.replicas <= 1 || !map_.complete()) return;
  int joining = 0;
  for (const auto& s : map_.entries()) joining += s.busy == ShardBusy::kMoving && s.move.join;
  const int64_t now = now_ms();
  for (auto& shard : map_.entries()) {
    if (joining >= std::max(4, config_.balance.max_moves)) return;
    if (shard.locked_by != 0) continue;  // a transaction's steps were sent for this epoch
    if (!shard.replicated() && !shard.gap() && shard.busy == ShardBusy::kNone &&
        registry_.alive(shard.owner)) {
      // A shard of a cluster that ran with --replicas 1: its owner records it as replicated
      // (one member) first; members join it on a later turn.
      reconfigure(shard, shard.owner, {}, "--replicas " + std::to_string(config_.replicas));
      continue;
    }
    if (!shard.replicated() || shard.busy != ShardBusy::kNone || shard.owner.empty() ||
        !registry_.alive(shard.owner) ||
        shard.info.replicas.size() >= static_cast<std::size_t>(config_.replicas))
      continue;
    if (auto w = next_member(shard, now)) {
      shard.departed.erase(*w);
      start_join(shard, *w);
      ++joining;
    }
  }
}

// A member that left and is back comes back first (its disk may be empty: it gets a full copy
// either way). While one that left is away for less than --replica-timeout, no other worker is
// chosen: a restart should not move the shard's copies around.
std::optional<std::string> Broker::next_member(ShardEntry& shard, int64_t now) {
  bool waiting = false;
  for (auto it = shard.departed.begin(); it != shard.departed.end();) {
    const auto& [w, since] = *it;
    if (registry_.alive(w) && !registry_.draining(w) && !shard.has_member(w)) return w;
    if (now - since < config_.replica_timeout_ms) {
      waiting = waiting || !registry_.alive(w);
      ++it;
    } else {
      it = shard.departed.erase(it);  // away too long: replaced by another worker
    }
  }
  if (waiting) return std::nullopt;
  return choose_member(shard);
}

std::string Broker::start_join(ShardEntry& shard, const std::string& to) {
  shard.busy = ShardBusy::kMoving;
  shard.move = Migration{};
  shard.move.to = to;
  shard.move.join = true;
  send_assign(to);  // the importing copy, at the next epoch
  request_export(shard);
  spdlog::info("broker: shard {} ({} keys): {} joins as a follower, copying from {}", shard.info.id,
               shard.info.keys, to, shard.owner);
  return fmt::format("copying shard {} from {} to {}", shard.info.id, shard.owner, to);
}

// The new member's copy is synced: it joins the configuration (at the import's epoch).
void Broker::finish_join(uint32_t shard_id) {
  ShardEntry& shard = map_.at(*map_.by_id(shard_id));
  std::vector<std::string> followers = shard.followers;
  std::string primary = shard.owner;
  const std::string to = shard.move.to;
  const std::string replacing = shard.move.replacing;
  std::string why = fmt::format("{} caught up, {} keys copied", to, shard.move.copied);
  if (!replacing.empty() && shard.has_member(replacing)) {
    why += ", replacing " + replacing;
    std::erase(followers, replacing);
    if (replacing == primary) {
      primary = to;  // moving the primary's copy moves the primary
    } else {
      followers.push_back(to);
    }
    shard.drop_worker = replacing;
    shard.drop_epoch = shard.info.epoch;
  } else {
    followers.push_back(to);
  }
  shard.busy = ShardBusy::kNone;  // the copy is done, not abandoned: it is at the new epoch
  shard.move = Migration{};
  reconfigure(shard, std::move(primary), std::move(followers), why);
}

// After a broker restart (or once a shard lost every member): a replicated copy is served once
// every member of its configuration has registered, since one that has not might hold a later
// configuration without the others. A registered member that did not report this copy holds no
// later one either (that would have superseded it): a wiped disk, an older copy, or a member
// removed for cause. It is left out and gets a new copy later. The configuration is then recorded
// again at a new epoch, which restarts the write seqs.
void Broker::adopt_members(ShardEntry& shard) {
  std::vector<std::string> holders;
  for (const auto& m : shard.info.replicas) {
    if (!registry_.alive(m)) {
      shard.owner.clear();
      return;
    }
    if (shard.reporters.count(m)) holders.push_back(m);
  }
  if (holders.empty()) {
    spdlog::error("broker: every member of shard {} registered without it: its data is lost",
                  shard.info.id);
    return;
  }
  std::string primary = holders.front();
  holders.erase(holders.begin());
  shard.reporters.clear();
  reconfigure(shard, std::move(primary), std::move(holders), "its members registered");
}

}  // namespace clossyne::broker
