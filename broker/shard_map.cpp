#include "shard_map.hpp"

#include <algorithm>
#include <map>

namespace clossyne::broker {
namespace {
ShardInfo make_info(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t seed) {
  ShardInfo s;
  s.id = id;
  s.lo = std::move(lo);
  s.hi = std::move(hi);
  s.epoch = 1;
  s.seed = seed;
  return s;
}
}  // namespace

void ShardMap::create(const std::vector<std::string>& split_points, uint64_t seed) {
  shards_.clear();
  std::string lo;
  uint32_t id = 1;
  for (const auto& p : split_points) {
    ShardEntry e;
    e.info = make_info(id++, lo, p, seed);
    shards_.push_back(std::move(e));
    lo = p;
  }
  ShardEntry last;
  last.info = make_info(id, lo, std::nullopt, seed);
  shards_.push_back(std::move(last));
}

std::vector<uint32_t> ShardMap::adopt(
    const std::vector<std::pair<std::string, ShardInfo>>& reported, uint64_t seed) {
  std::map<uint32_t, std::pair<std::string, ShardInfo>> best;  // id -> (owner, info)
  for (const auto& [owner, info] : reported) {
    auto it = best.find(info.id);
    if (it == best.end() || info.epoch > it->second.second.epoch) best[info.id] = {owner, info};
  }
  std::vector<std::pair<std::string, ShardInfo>> sorted;
  for (auto& [id, v] : best) sorted.push_back(v);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return compare_keys(a.second.lo, b.second.lo) < 0; });

  shards_.clear();
  std::vector<uint32_t> created;
  uint32_t fresh = 1;
  for (const auto& [o, i] : sorted) fresh = std::max(fresh, i.id + 1);
  auto add_gap = [&](const std::string& lo, const std::optional<std::string>& hi) {
    ShardEntry gap;
    gap.info = make_info(fresh, lo, hi, seed);
    created.push_back(fresh++);
    shards_.push_back(std::move(gap));
  };
  std::optional<std::string> cursor = std::string();  // nullopt once +inf is covered
  for (const auto& [owner, info] : sorted) {
    if (!cursor) break;  // everything covered; overlapping leftovers are ignored
    if (compare_keys(info.lo, *cursor) < 0) continue;  // overlaps an adopted shard: drop it
    if (compare_keys(info.lo, *cursor) > 0) add_gap(*cursor, info.lo);
    ShardEntry e;
    e.info = info;
    e.owner = owner;
    shards_.push_back(std::move(e));
    cursor = info.hi;
  }
  if (cursor) add_gap(*cursor, std::nullopt);
  return created;
}

std::size_t ShardMap::find(std::string_view key) const {
  // The last shard whose lo <= key (shards cover the key space, the first has lo "").
  auto it = std::upper_bound(shards_.begin(), shards_.end(), key,
                             [](std::string_view k, const ShardEntry& e) {
                               return compare_keys(k, e.info.lo) < 0;
                             });
  return static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, it - shards_.begin() - 1));
}

std::vector<std::size_t> ShardMap::overlapping(const std::optional<std::string>& first,
                                               const std::optional<std::string>& last) const {
  std::vector<std::size_t> out;
  std::size_t i = first ? find(*first) : 0;
  for (; i < shards_.size(); ++i) {
    if (last && compare_keys(shards_[i].info.lo, *last) > 0) break;
    out.push_back(i);
  }
  return out;
}

std::optional<std::size_t> ShardMap::by_id(uint32_t id) const {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (shards_[i].info.id == id) return i;
  }
  return std::nullopt;
}

uint32_t ShardMap::next_id() const {
  uint32_t id = 0;
  for (const auto& e : shards_) id = std::max(id, e.info.id);
  return id + 1;
}

std::deque<HeldOp> ShardMap::replace(std::size_t index, std::vector<ShardEntry> pieces) {
  std::deque<HeldOp> held = std::move(shards_[index].held);
  shards_.erase(shards_.begin() + static_cast<std::ptrdiff_t>(index));
  shards_.insert(shards_.begin() + static_cast<std::ptrdiff_t>(index),
                 std::make_move_iterator(pieces.begin()), std::make_move_iterator(pieces.end()));
  return held;
}

std::vector<ShardInfo> ShardMap::assignment_for(const std::string& worker) const {
  std::vector<ShardInfo> out = owned_by(worker);
  for (const auto& e : shards_) {
    if (e.busy == ShardBusy::kMoving && e.move.to == worker) {
      ShardInfo incoming = e.info;
      incoming.epoch = e.info.epoch + 1;
      incoming.importing = true;
      out.push_back(incoming);
    }
  }
  return out;
}

std::vector<ShardInfo> ShardMap::owned_by(const std::string& worker) const {
  std::vector<ShardInfo> out;
  for (const auto& e : shards_) {
    if (e.owner == worker) out.push_back(e.info);
  }
  return out;
}

}  // namespace clossyne::broker
