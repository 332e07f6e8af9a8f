// Operator commands on the client endpoint (clossyne-admin): status, drain, undrain, split, merge
// (merge.cpp), move, forget, recreate (adoption.cpp).
// Each is answered at once: a change that takes time is started, and `status` shows its progress.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "balancer.hpp"
#include "broker.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;

namespace {
Reply done(uint64_t id, const std::string& what) {
  Reply r;
  r.id = id;
  if (what.rfind("ERR", 0) == 0) return Reply::Error(id, what);
  r.has_value = true;
  r.value = what;
  return r;
}
}  // namespace

bool Broker::is_admin_op(const std::string& name) const {
  return name == op::kStatus || name == op::kDrain || name == op::kUndrain || name == op::kSplit ||
         name == op::kMerge || name == op::kMove || name == op::kRecreate || name == op::kForget;
}

Reply Broker::admin(const Op& o) {
  if (o.op == op::kStatus) return status_reply(o.id);
  if (!ready_) return Reply::Error(o.id, "ERR cluster not ready", ErrorCode::kNotReady);
  if (o.op == op::kDrain || o.op == op::kUndrain) {
    if (!registry_.known(o.worker))
      return Reply::Error(o.id, "ERR unknown worker '" + o.worker + "'");
    bool on = o.op == op::kDrain;
    registry_.set_draining(o.worker, on);
    spdlog::info("broker: worker '{}' {}", o.worker, on ? "draining" : "no longer draining");
    std::size_t shards = map_.owned_by(o.worker).size();
    return done(o.id, on ? fmt::format("draining {}: {} shard(s) to move", o.worker, shards)
                         : fmt::format("{} takes new shards again", o.worker));
  }
  if (o.op == op::kRecreate) return done(o.id, recreate(o));
  if (o.op == op::kForget) return done(o.id, forget(o.worker));
  if (!o.shard) return Reply::Error(o.id, "ERR missing field 'shard'");
  if (o.op == op::kSplit) return done(o.id, start_split(*o.shard, o.key));
  if (o.op == op::kMerge) return done(o.id, merge_command(o));
  if (o.worker.empty()) return Reply::Error(o.id, "ERR missing field 'worker'");
  return done(o.id, start_move(*o.shard, o.worker));
}

// clossyne-admin forget: a worker removed for good leaves the worker table (and `status`). Only a
// stopped worker that holds nothing the map needs: its shards, a copy being moved to it, or an
// import not yet settled may be the only copy of their keys, and a replicated shard's (recorded)
// configuration that still names it waits for it. Copies it was told to delete are
// forgotten too: should it register again it is a new worker, and its registration is adopted
// (and superseded copies dropped) by the usual rules.
std::string Broker::forget(const std::string& worker) {
  if (worker.empty()) return "ERR missing field 'worker'";
  if (!registry_.known(worker)) return "ERR unknown worker '" + worker + "'";
  if (registry_.alive(worker))
    return "ERR worker '" + worker +
           "' is alive: stop it first (drain it before, if it owns shards)";
  const std::size_t owned = map_.owned_by(worker).size();
  if (owned > 0)
    return fmt::format(
        "ERR worker '{}' still owns {} shard(s) and their data lives there: start it and drain it "
        "first (if its disk is lost for good, clossyne-admin recreate those ranges)",
        worker, owned);
  for (const auto& e : map_.entries()) {
    const auto& confirmed = e.confirmed_replicas;  // the fallback configuration waits for them
    if (e.has_member(worker) ||
        std::find(confirmed.begin(), confirmed.end(), worker) != confirmed.end())
      return fmt::format(
          "ERR worker '{}' is a member of replicated shard {}: wait until the shard's "
          "configuration leaves it out (status shows the members)",
          worker, e.info.id);
    if (e.busy == ShardBusy::kMoving && e.move.to == worker)
      return fmt::format("ERR shard {} is being moved to '{}': wait for the move to end", e.info.id,
                         worker);
  }
  if (auto it = imports_.find(worker); it != imports_.end() && !it->second.empty())
    return fmt::format(
        "ERR worker '{}' holds {} copied shard(s) not yet settled (a move it took part in was "
        "cut short): start it so the broker can settle them",
        worker, it->second.size());
  registry_.forget(worker);
  drops_.erase(worker);
  outgoing_.erase(worker);
  spdlog::info("broker: worker '{}' forgotten (removed for good)", worker);
  return "forgot " + worker;
}

// clossyne-admin merge A B: {"op": "merge", "shard": A, "args": ["B"]}.
std::string Broker::merge_command(const Op& o) {
  uint32_t other = 0;
  if (o.args.size() != 1 || o.args[0].empty() ||
      o.args[0].find_first_not_of("0123456789") != std::string::npos || o.args[0].size() > 9)
    return "ERR merge needs the other shard's id in 'args'";
  other = static_cast<uint32_t>(std::stoul(o.args[0]));
  return start_merge(*o.shard, other);
}

Reply Broker::status_reply(uint64_t id) const {
  Reply r;
  r.id = id;
  auto load = keys_per_worker(map_, registry_);
  for (const auto& [wid, state] : registry_.all()) {
    WorkerInfo w;
    w.id = wid;
    w.alive = state.alive;
    w.keys = load.count(wid) ? load.at(wid) : 0;
    const std::vector<ShardInfo> owned = map_.owned_by(wid);
    w.shards = static_cast<uint32_t>(owned.size());
    w.draining = state.draining;
    for (const auto& s : owned) w.bytes += s.bytes;  // as the heartbeats last reported them
    w.rss = state.rss;
    w.persistent = !state.fsync.empty();
    w.fsync = state.fsync;
    w.ops_per_sec = metrics_.ops_per_sec(wid, turn_ms_);
    w.heartbeat_age_ms = static_cast<uint64_t>(std::max<int64_t>(0, turn_ms_ - state.last_seen_ms));
    r.workers.push_back(w);
  }
  for (std::size_t i = 0; i < map_.size(); ++i) {
    ShardInfo s = map_.at(i).info;
    s.owner = map_.at(i).owner;
    s.busy = map_.at(i).busy != ShardBusy::kNone;
    s.change = change_name(map_.at(i));
    if (map_.at(i).busy == ShardBusy::kMoving) s.copied = map_.at(i).move.copied;
    if (map_.at(i).busy == ShardBusy::kMoving && map_.at(i).move.join)
      s.joining = map_.at(i).move.to;
    s.seed = 0;  // the trees' secret: status is unauthenticated (0 is not even encoded)
    r.shards.push_back(s);
  }
  r.n = static_cast<int64_t>(ready_);
  r.cluster = cluster_id_;  // "" until known; backups record it
  return r;
}

}  // namespace clossyne::broker
