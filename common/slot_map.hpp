// SlotMap: values addressed by 64-bit ids (the broker's parts in flight, the frontend's pending
// ops). An id is (generation << 32 | slot); a slot's generation moves on each time the slot is
// reused, so a late reply carrying an old id finds nothing. Insert, find and erase are O(1) with no
// hashing, and no allocation once the table has grown to the peak number in flight (a hash map
// allocated a node per op). Ids are never 0 and have bit 63 clear. Not thread-safe.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace clossyne {

template <typename T>
class SlotMap {
 public:
  uint64_t insert(T value) {
    uint32_t index = 0;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
      slots_.back().generation = first_generation_;
    }
    Slot& s = slots_[index];
    s.generation = next_generation(s.generation);
    s.live = true;
    s.value = std::move(value);
    ++live_;
    return (uint64_t{s.generation} << 32) | index;
  }

  // The live value with this id, or nullptr. Valid until the next insert.
  T* find(uint64_t id) {
    const uint32_t index = static_cast<uint32_t>(id);
    if (index >= slots_.size()) return nullptr;
    Slot& s = slots_[index];
    if (!s.live || s.generation != static_cast<uint32_t>(id >> 32)) return nullptr;
    return &s.value;
  }

  // Frees the slot (and whatever the value held). REQUIRES: find(id) != nullptr.
  void erase(uint64_t id) {
    const uint32_t index = static_cast<uint32_t>(id);
    Slot& s = slots_[index];
    s.live = false;
    s.value = T();
    free_.push_back(index);
    --live_;
  }

  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  std::size_t capacity() const { return slots_.size(); }

  // Calls fn(id, value) for every live value. fn must not insert or erase.
  template <typename Fn>
  void for_each(Fn fn) const {
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].live) fn((uint64_t{slots_[i].generation} << 32) | i, slots_[i].value);
    }
  }

  // Returns the table's memory once nothing is live (after a burst). Ids handed out before stay
  // dead: new slots start past every generation used so far.
  void release() {
    if (live_ != 0) return;
    for (const Slot& s : slots_) first_generation_ = std::max(first_generation_, s.generation);
    slots_ = {};
    free_ = {};
  }

 private:
  static constexpr uint32_t kGenerationMask = 0x7fffffffu;  // keeps bit 63 of ids clear
  static uint32_t next_generation(uint32_t g) {
    g = (g + 1) & kGenerationMask;
    return g == 0 ? 1 : g;
  }

  struct Slot {
    uint32_t generation = 0;
    bool live = false;
    T value{};
  };
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::size_t live_ = 0;
  uint32_t first_generation_ = 0;
};

}  // namespace clossyne
