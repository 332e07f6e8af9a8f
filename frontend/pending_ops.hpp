// PendingOps: the operations submitted to the cluster and not answered yet. Each op id maps to the
// (connection, reply slot) waiting for it; op ids come from a SlotMap (no hashing or node per op).
// Sent ops travel in groups — one envelope, either a batch or a lone op whose id is also the group
// id — and a group shares one deadline. Deadlines are kept in a FIFO (the timeout is the same for
// all), so expiry is O(expired). Not thread-safe.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/slot_map.hpp"

namespace clossyne::frontend {

// Where the answer to one op goes.
struct Ticket {
  uint64_t conn = 0;
  uint64_t slot = 0;
  uint64_t job = 0;  // non-zero: the reply goes to this Job, not straight to the slot
};

class PendingOps {
 public:
  // Registers an op about to be sent; its id (unique, never 0, bit 63 clear).
  uint64_t add(Ticket ticket) { return ops_.insert(ticket); }

  // Puts sent ops in a group with one deadline. REQUIRES: deadlines passed to successive calls
  // never decrease.
  void add_group(uint64_t group, std::vector<uint64_t> members, int64_t deadline);

  // Forgets one op; nullopt if it was unknown or already answered.
  std::optional<Ticket> take(uint64_t op_id);

  // Forgets a group and returns its member ids in send order (some may be answered already);
  // empty if the group is unknown.
  std::vector<uint64_t> take_group(uint64_t group);

  // Groups whose deadline is <= now and that are still pending; they stay pending until taken.
  std::vector<uint64_t> expired_groups(int64_t now);

  std::size_t ops() const { return ops_.size(); }

 private:
  SlotMap<Ticket> ops_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> groups_;
  std::deque<std::pair<int64_t, uint64_t>> deadlines_;  // (deadline, group)
};

}  // namespace clossyne::frontend
