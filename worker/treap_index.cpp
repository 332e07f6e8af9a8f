// The treap's hash index (see treap.hpp): node slots by key hash, for O(1) point lookups.
// Linear probing with backward-shift deletion, so there are no tombstones to clean up. A slot's
// home is computed from its tag (the high half of the key hash), so the index never reads a node
// except to compare keys on a tag match.
#include "treap.hpp"

namespace clossyne {
namespace {

constexpr std::size_t kMinIndexSlots = 16;

uint64_t slot_of(uint32_t tag, uint32_t n) {
  return (uint64_t{tag} << 32) | (n + 1ull);
}
uint32_t node_of(uint64_t slot) {
  return static_cast<uint32_t>(slot & 0xffffffffu) - 1;
}
uint32_t tag_of(uint64_t hash_or_slot) {
  return static_cast<uint32_t>(hash_or_slot >> 32);
}

}  // namespace

uint32_t Treap::index_find(std::string_view key, uint64_t hash) const {
  if (index_.empty()) return kNil;
  const std::size_t mask = index_.size() - 1;
  const uint32_t tag = tag_of(hash);
  for (std::size_t i = tag & mask;; i = (i + 1) & mask) {
    const uint64_t slot = index_[i];
    if (slot == 0) return kNil;
    if (tag_of(slot) == tag && key_at(node_of(slot)) == key) return node_of(slot);
  }
}

void Treap::prefetch(uint64_t hash, int step) const {
  if (index_.empty()) return;
  const std::size_t mask = index_.size() - 1;
  const uint32_t tag = tag_of(hash);
  if (step == 0) return __builtin_prefetch(&index_[tag & mask]);
  // The first slot of the probe run with the key's tag (a few slots at most, usually the home
  // slot): its node is almost surely the key's.
  constexpr int kMaxProbes = 8;
  std::size_t i = tag & mask;
  for (int probe = 0; probe < kMaxProbes && index_[i] != 0; ++probe, i = (i + 1) & mask) {
    if (tag_of(index_[i]) != tag) continue;
    const Node& node = nodes_[node_of(index_[i])];
    if (step == 1) return __builtin_prefetch(&node);
    if (node.kv != nullptr) __builtin_prefetch(node.kv);
    return;
  }
}

void Treap::index_insert(uint32_t n) {
  if ((index_used_ + 1) * 4 > index_.size() * 3) index_grow();  // load <= 3/4
  const uint32_t tag = nodes_[n].prio_hi;
  const std::size_t mask = index_.size() - 1;
  std::size_t i = tag & mask;
  while (index_[i] != 0) i = (i + 1) & mask;
  index_[i] = slot_of(tag, n);
  ++index_used_;
}

void Treap::index_erase(uint32_t n) {
  const std::size_t mask = index_.size() - 1;
  std::size_t i = nodes_[n].prio_hi & mask;
  while (node_of(index_[i]) != n) i = (i + 1) & mask;  // REQUIRES: n is indexed
  // Backward shift: move later entries of the probe run into the hole when their home allows.
  for (std::size_t j = (i + 1) & mask; index_[j] != 0; j = (j + 1) & mask) {
    const std::size_t home = tag_of(index_[j]) & mask;
    const bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = 0;
  --index_used_;
}

void Treap::index_grow() {
  std::vector<uint64_t> old;
  old.swap(index_);
  index_.assign(std::max(kMinIndexSlots, old.size() * 2), 0);
  const std::size_t mask = index_.size() - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    std::size_t i = tag_of(slot) & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = slot;
  }
}

}  // namespace clossyne
