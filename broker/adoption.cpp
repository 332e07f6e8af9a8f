// Registrations: the broker keeps no data, so its shard map is rebuilt, and mended, from what the
// workers say they hold, whenever and in whatever order they register (docs/ARCHITECTURE.md,
// "Restarts and registration"):
// - A brand-new cluster (no registered worker knows a cluster id, holds a shard or a tombstone)
//   gets fresh shards once --min-workers have registered. Anything else is an existing cluster:
//   its map starts as one gap and is filled by what registers; a gap is unavailable, never
//   refilled with an empty shard.
// - Per range, the highest epoch wins. A copy that loses is deleted only when every range it
//   covers is owned at a higher epoch by a live worker that reported it (an epoch-checked drop).
// - An importing copy becomes the home only on the strength of its source's handoff tombstone.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "broker.hpp"
#include "common/clock.hpp"
#include "common/protocol.hpp"

namespace clossyne::broker {
namespace op = proto::op;
namespace {

std::string new_cluster_id() {
  std::random_device rd;
  const uint64_t hi = (uint64_t{rd()} << 32) | rd();
  return fmt::format("{:016x}", hi);
}

bool knows_cluster(const Reply& r) {
  return !r.cluster.empty() || !r.shards.empty() || !r.handoffs.empty();
}

}  // namespace

void Broker::on_register(const std::string& id, const Reply& r) {
  if (cluster_id_.empty()) cluster_id_ = config_.cluster_id;  // --cluster-id pins it from the start
  if (!cluster_id_.empty() && !r.cluster.empty() && r.cluster != cluster_id_) {
    spdlog::error(
        "broker: worker '{}' belongs to cluster {}, this broker serves cluster {}: refused "
        "(its data is kept; start a broker for its cluster to serve it)",
        id, r.cluster, cluster_id_);
    return;
  }
  const bool was_alive = registry_.alive(id);
  registry_.touch_alive(id, now_ms());
  spdlog::info("broker: worker '{}' registered{} holding {} shard(s), {} tombstone(s)", id,
               was_alive ? " again (it restarted or reconnected)" : "", r.shards.size(),
               r.handoffs.size());
  if (!ready_) {
    reported_[id] = r;
    start_cluster();
    return;
  }
  // A restart loses whatever the worker had in flight: fail it now, not at its deadline. The
  // registration's assignment below tells the worker what it owns.
  if (was_alive) fail_worker(id, "worker " + id + " restarted", false);
  adopt_registration(id, r);
  std::set<std::string> touched = resolve_imports();
  touched.insert(id);
  for (const auto& [w, list] : drops_) touched.insert(w);
  for (const auto& w : touched) {
    if (registry_.alive(w)) send_assign(w);
  }
}

// Before the map exists: an existing cluster is adopted at its first registration; a new one
// waits for --min-workers.
void Broker::start_cluster() {
  const bool existing = std::any_of(reported_.begin(), reported_.end(),
                                    [](const auto& kv) { return knows_cluster(kv.second); });
  const std::size_t alive = registry_.alive_ids().size();
  if (!existing && alive < static_cast<std::size_t>(config_.min_workers)) {
    spdlog::info("broker: waiting for {} more worker(s)", config_.min_workers - alive);
    return;
  }
  ready_ = true;
  if (!existing) {
    create_fresh_map();
  } else {
    for (const auto& [w, r] : reported_) {
      if (cluster_id_.empty() && !r.cluster.empty()) cluster_id_ = r.cluster;
    }
    if (cluster_id_.empty()) cluster_id_ = new_cluster_id();  // data from before cluster ids
    spdlog::info("broker: adopting existing cluster {} from {} worker(s)", cluster_id_,
                 reported_.size());
    map_.create_unknown();
    for (const auto& [w, r] : reported_) {
      if (!r.cluster.empty() && r.cluster != cluster_id_) {
        spdlog::error("broker: worker '{}' belongs to cluster {}, not {}: refused", w, r.cluster,
                      cluster_id_);
        registry_.mark_dead(w);
        continue;
      }
      adopt_registration(w, r);
    }
    resolve_imports();
  }
  for (const auto& shard : map_.entries()) {
    spdlog::info("broker: shard {} {} epoch {} keys {} -> {}", shard.info.id,
                 describe_range(shard.info.lo, shard.info.hi), shard.info.epoch, shard.info.keys,
                 shard.owner.empty() ? "(unavailable)" : shard.owner);
  }
  reported_.clear();
  const auto workers = registry_.alive_ids();
  for (const auto& w : workers) send_assign(w);
  spdlog::info("broker: ready with {} range(s) on {} worker(s){}", map_.size(), workers.size(),
               map_.complete() ? "" : "; some ranges wait for their owners");
}

void Broker::create_fresh_map() {
  if (cluster_id_.empty()) cluster_id_ = new_cluster_id();
  map_.create(config_.split_points, config_.seed);
  const auto alive = registry_.alive_ids();
  std::size_t next = 0;
  for (auto& shard : map_.entries()) {
    shard.owner = alive[next++ % alive.size()];
    place_members(shard);
  }
  spdlog::info("broker: new cluster {}: {} fresh shard(s)", cluster_id_, map_.size());
}

// Merges one worker's registration into the map.
void Broker::adopt_registration(const std::string& worker, const Reply& r) {
  for (const auto& h : r.handoffs) {
    auto it = handoffs_.find(h.id);
    if (it == handoffs_.end() || it->second.epoch < h.epoch) handoffs_[h.id] = h;
  }
  for (const auto& s : r.shards) {
    next_shard_id_ = std::max(next_shard_id_, s.id + 1);
    if (s.importing) {
      adopt_import(worker, s);
    } else {
      adopt_shard(worker, s);
    }
  }
  // Shards the map gives this worker that it no longer reports: nobody serves them now.
  for (auto& e : map_.entries()) {
    // A replicated shard waiting for its members: this one is now accounted for.
    if (e.replicated() && e.owner.empty() && e.busy == ShardBusy::kNone &&
        std::count(e.info.replicas.begin(), e.info.replicas.end(), worker)) {
      adopt_members(e);
      continue;
    }
    // A member that restarted was taken out of its shards' configurations then (fail_worker).
    if (e.replicated()) continue;
    if (e.owner != worker) continue;
    const bool held = std::any_of(r.shards.begin(), r.shards.end(), [&](const ShardInfo& s) {
      return s.id == e.info.id && s.epoch == e.info.epoch;
    });
    if (held) continue;
    if (r.ephemeral) {  // it keeps nothing on disk: the shard starts again, empty, where it was
      spdlog::warn("broker: worker '{}' keeps no data (no --data-dir): shard {} restarts empty",
                   worker, e.info.id);
      continue;
    }
    spdlog::warn("broker: worker '{}' no longer holds shard {} epoch {}: it is unavailable", worker,
                 e.info.id, e.info.epoch);
    e.owner.clear();
  }
  map_.merge_gaps();
}

// A copy `s` held by `worker` takes the ranges where it has the highest epoch.
void Broker::adopt_shard(const std::string& worker, const ShardInfo& s) {
  auto [first, last] = map_.overlap(s.lo, s.hi);
  bool newest = true;
  bool superseded = true;  // every range it covers is owned, at a higher epoch, by a live worker
  for (std::size_t i = first; i < last; ++i) {
    const ShardEntry& e = map_.at(i);
    if (e.gap()) {
      superseded = false;
      continue;
    }
    if (e.info.id == s.id && e.info.epoch == s.epoch && e.range() == KeyRange{s.lo, s.hi}) {
      if (!s.replicas.empty()) {  // served once every member has reported it
        ShardEntry& m = map_.at(i);
        m.reporters.insert(worker);
        if (worker == s.replicas.front()) m.info.keys = s.keys, m.info.bytes = s.bytes;
        if (m.owner.empty() && m.busy == ShardBusy::kNone) adopt_members(m);
        return;
      }
      if (e.owner.empty() || e.owner == worker || !registry_.alive(e.owner)) {
        map_.at(i).owner = worker;
        map_.at(i).info.keys = s.keys;
        map_.at(i).info.bytes = s.bytes;
      } else {
        spdlog::error("broker: shard {} epoch {} reported by '{}' and '{}': keeping '{}'", s.id,
                      s.epoch, e.owner, worker, e.owner);
      }
      return;
    }
    if (e.info.epoch >= s.epoch) newest = false;
    if (e.info.epoch <= s.epoch || e.owner.empty() || e.owner == worker ||
        !registry_.alive(e.owner))
      superseded = false;
  }
  if (!newest) {
    if (superseded) {
      drop_later(worker, s);
    } else {
      spdlog::warn(
          "broker: worker '{}' holds shard {} epoch {} {}, older than the map there: kept, "
          "not served",
          worker, s.id, s.epoch, describe_range(s.lo, s.hi));
    }
    return;
  }
  for (std::size_t i = first; i < last; ++i) {
    ShardEntry& e = map_.at(i);
    if (e.busy != ShardBusy::kNone) abort_change(e, "a newer copy registered", false);
    if (!e.gap()) {
      spdlog::info("broker: shard {} epoch {} on '{}' supersedes shard {} epoch {} on '{}'", s.id,
                   s.epoch, worker, e.info.id, e.info.epoch, e.owner.empty() ? "-" : e.owner);
    }
  }
  ShardEntry entry;
  entry.info = s;
  entry.info.owner.clear();
  entry.info.importing = false;
  entry.owner = worker;
  if (!s.replicas.empty()) {  // a replicated copy: its configuration, as its members recorded it
    entry.owner.clear();
    entry.reporters.insert(worker);
    entry.confirmed_epoch = s.epoch;
    entry.confirmed_replicas = s.replicas;
  }
  const KeyRange old{map_.at(first).info.lo, map_.at(last - 1).info.hi};
  reroute_held(map_.splice(first, last, std::move(entry)), old);
  if (!s.replicas.empty()) adopt_members(map_.at(*map_.by_id(s.id)));
}

// An importing copy is the home only when its source's tombstone says so (or the map already
// names it there: the move finished and the worker missed its final assignment).
void Broker::adopt_import(const std::string& worker, const ShardInfo& s) {
  if (auto idx = map_.by_id(s.id)) {
    const ShardEntry& e = map_.at(*idx);
    if (e.info.epoch == s.epoch && e.owner == worker) return;  // the assignment finishes it
    if (e.busy == ShardBusy::kMoving && e.move.to == worker && e.info.epoch + 1 == s.epoch)
      return;  // being copied right now
  }
  auto& pending = imports_[worker];
  std::erase_if(pending, [&](const ShardInfo& c) { return c.id == s.id; });
  pending.push_back(s);
}

// Decides the importing copies nobody has decided yet: adopted when a tombstone names them,
// dropped when their source (or a successor) owns the range at a lower epoch and is alive (no
// handoff happened, the source is authoritative), else kept for later.
std::set<std::string> Broker::resolve_imports() {
  std::set<std::string> touched;
  for (auto& [worker, copies] : imports_) {
    if (!registry_.alive(worker)) continue;
    std::vector<ShardInfo> keep;
    for (const auto& c : copies) {
      auto h = handoffs_.find(c.id);
      if (h != handoffs_.end() && h->second.epoch == c.epoch && h->second.owner == worker) {
        spdlog::info("broker: shard {} was handed off to '{}' at epoch {}: adopting its copy", c.id,
                     worker, c.epoch);
        ShardInfo owned = c;
        owned.importing = false;
        adopt_shard(worker, owned);
        touched.insert(worker);
        continue;
      }
      auto [first, last] = map_.overlap(c.lo, c.hi);
      bool source_live = true;
      for (std::size_t i = first; i < last; ++i) {
        const ShardEntry& e = map_.at(i);
        if (e.gap() || e.owner.empty() || e.owner == worker || !registry_.alive(e.owner) ||
            (e.busy == ShardBusy::kMoving && e.move.to == worker))
          source_live = false;
      }
      if (source_live) {
        drop_later(worker, c);
        touched.insert(worker);
      } else {
        keep.push_back(c);
      }
    }
    copies = std::move(keep);
  }
  std::erase_if(imports_, [](const auto& kv) { return kv.second.empty(); });
  map_.merge_gaps();
  return touched;
}

void Broker::drop_later(const std::string& worker, const ShardInfo& copy) {
  spdlog::info("broker: worker '{}' will delete its copy of shard {} epoch {}{}: superseded",
               worker, copy.id, copy.epoch, copy.importing ? " (an import)" : "");
  ShardInfo d;
  d.id = copy.id;
  d.epoch = copy.epoch;
  drops_[worker].push_back(d);
}

// clossyne-admin recreate: the operator declares a range's data lost. A new empty shard takes the
// unavailable range holding `key` (or shard `shard`), with an epoch above any a lost copy could
// have, so that a copy turning up later is superseded and dropped, not merged.
std::string Broker::recreate(const Op& o) {
  if (!o.force) return "ERR recreate deletes data: say so (--i-know-data-is-lost)";
  std::optional<std::size_t> idx;
  if (o.shard && *o.shard != 0) {
    idx = map_.by_id(*o.shard);
  } else if (o.key) {
    idx = map_.find(*o.key);
  }
  if (!idx) return "ERR no such shard or range";
  ShardEntry& e = map_.at(*idx);
  if (!e.gap() && !e.owner.empty() && registry_.alive(e.owner))
    return fmt::format("ERR shard {} is served by '{}': nothing to recreate", e.info.id, e.owner);
  if (e.busy != ShardBusy::kNone) abort_change(e, "recreated", false);
  const auto alive = registry_.alive_ids();
  if (alive.empty()) return "ERR no live worker to hold the new shard";
  std::map<std::string, std::size_t> load;  // shards per live worker
  for (const auto& w : alive) load[w] = 0;
  for (const auto& s : map_.entries()) {
    if (load.count(s.owner)) ++load[s.owner];
  }
  std::string owner = alive.front();
  for (const auto& [w, n] : load) {
    if (n < load[owner] && !registry_.draining(w)) owner = w;
  }
  next_shard_id_ = std::max(next_shard_id_, map_.next_id()) + (1u << 16);
  ShardEntry fresh;
  fresh.info.id = next_shard_id_++;
  fresh.info.lo = e.info.lo;
  fresh.info.hi = e.info.hi;
  fresh.info.epoch = map_.max_epoch() + (uint64_t{1} << 32);
  fresh.info.seed = config_.seed;
  fresh.owner = owner;
  const std::string what = fmt::format(
      "recreated {} as empty shard {} epoch {} on {} (the data of the old shard {} "
      "is declared lost)",
      describe_range(e.info.lo, e.info.hi), fresh.info.id, fresh.info.epoch, owner, e.info.id);
  spdlog::warn("broker: {}", what);
  const KeyRange old = e.range();
  reroute_held(map_.splice(*idx, *idx + 1, std::move(fresh)), old);
  send_assign(owner);
  return what;
}

}  // namespace clossyne::broker
