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

void ShardMap::create_unknown() {
  shards_.clear();
  shards_.push_back(ShardEntry{});  // id 0, [-inf, +inf), no owner
}

std::pair<std::size_t, std::size_t> ShardMap::overlap(const std::string& lo,
                                                      const std::optional<std::string>& hi) const {
  const std::size_t first = find(lo);
  std::size_t last = first;
  while (last < shards_.size() && (!hi || compare_keys(shards_[last].info.lo, *hi) < 0)) ++last;
  return {first, last};
}

std::deque<HeldOp> ShardMap::splice(std::size_t first, std::size_t last, ShardEntry entry) {
  std::deque<HeldOp> held;
  std::vector<ShardEntry> pieces;
  auto gap = [](const std::string& lo, const std::optional<std::string>& hi) {
    ShardEntry g;
    g.info.lo = lo;
    g.info.hi = hi;
    return g;
  };
  const ShardEntry& head = shards_[first];
  const ShardEntry& tail = shards_[last - 1];
  if (compare_keys(head.info.lo, entry.info.lo) < 0)
    pieces.push_back(gap(head.info.lo, entry.info.lo));
  const std::optional<std::string> tail_hi = tail.info.hi;
  const bool tail_beyond =
      entry.info.hi && (!tail_hi || compare_keys(*tail_hi, *entry.info.hi) > 0);
  const std::optional<std::string> entry_hi = entry.info.hi;
  pieces.push_back(std::move(entry));
  if (tail_beyond) pieces.push_back(gap(*entry_hi, tail_hi));
  for (std::size_t i = first; i < last; ++i) {
    for (auto& h : shards_[i].held) held.push_back(std::move(h));
  }
  shards_.erase(shards_.begin() + static_cast<std::ptrdiff_t>(first),
                shards_.begin() + static_cast<std::ptrdiff_t>(last));
  shards_.insert(shards_.begin() + static_cast<std::ptrdiff_t>(first),
                 std::make_move_iterator(pieces.begin()), std::make_move_iterator(pieces.end()));
  return held;
}

void ShardMap::merge_gaps() {
  std::vector<ShardEntry> out;
  out.reserve(shards_.size());
  for (auto& e : shards_) {
    if (e.gap() && !out.empty() && out.back().gap()) {
      out.back().info.hi = e.info.hi;
    } else {
      out.push_back(std::move(e));
    }
  }
  shards_ = std::move(out);
}

bool ShardMap::complete() const {
  return std::all_of(shards_.begin(), shards_.end(),
                     [](const ShardEntry& e) { return !e.gap() && !e.owner.empty(); });
}

uint64_t ShardMap::max_epoch() const {
  uint64_t epoch = 0;
  for (const auto& e : shards_) epoch = std::max(epoch, e.info.epoch);
  return epoch;
}

std::size_t ShardMap::find(std::string_view key) const {
  // The last shard whose lo <= key (shards cover the key space, the first has lo "").
  auto it = std::upper_bound(
      shards_.begin(), shards_.end(), key,
      [](std::string_view k, const ShardEntry& e) { return compare_keys(k, e.info.lo) < 0; });
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
  std::vector<ShardInfo> out;
  for (const auto& e : shards_) {
    // A shard being split is left out: the worker may have cut it already, and an assignment
    // naming the whole shard would make it join the pieces back. Unlisted, it is kept as it is.
    // So is a shard being merged: naming one the worker has joined already would recreate it.
    const bool changing = e.busy == ShardBusy::kSplitting || e.busy == ShardBusy::kMerging;
    if (!changing && e.has_member(worker)) out.push_back(e.info);
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
