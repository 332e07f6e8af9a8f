// The treap's hash index (see treap.hpp): node slots by key hash, for O(1) point lookups.
// Linear probing with backward-shift deletion, so there are no tombstones to clean up.
#include "treap.hpp"

namespace clossyne {
namespace {

constexpr std::size_t kMinIndexSlots = 16;

uint64_t slot_of(uint64_t hash, uint32_t n) { return (hash & 0xffffffff00000000ull) | (n + 1ull); }
uint32_t node_of(uint64_t slot) { return static_cast<uint32_t>(slot & 0xffffffffu) - 1; }
uint32_t tag_of(uint64_t hash_or_slot) { return static_cast<uint32_t>(hash_or_slot >> 32); }

}  // namespace

uint32_t Treap::index_find(std::string_view key, uint64_t hash) const {
  if (index_.empty()) return kNil;
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint64_t slot = index_[i];
    if (slot == 0) return kNil;
    if (tag_of(slot) == tag_of(hash) && nodes_[node_of(slot)].key == key) return node_of(slot);
  }
}

void Treap::index_insert(uint32_t n) {
  if ((index_used_ + 1) * 4 > index_.size() * 3) index_grow();  // load <= 3/4
  const uint64_t hash = nodes_[n].priority;
  const std::size_t mask = index_.size() - 1;
  std::size_t i = hash & mask;
  while (index_[i] != 0) i = (i + 1) & mask;
  index_[i] = slot_of(hash, n);
  ++index_used_;
}

void Treap::index_erase(uint32_t n) {
  const uint64_t hash = nodes_[n].priority;
  const std::size_t mask = index_.size() - 1;
  std::size_t i = hash & mask;
  while (node_of(index_[i]) != n) i = (i + 1) & mask;  // REQUIRES: n is indexed
  // Backward shift: move later entries of the probe run into the hole when their home allows.
  for (std::size_t j = (i + 1) & mask; index_[j] != 0; j = (j + 1) & mask) {
    const std::size_t home = nodes_[node_of(index_[j])].priority & mask;
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
    std::size_t i = nodes_[node_of(slot)].priority & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = slot;
  }
}

}  // namespace clossyne
