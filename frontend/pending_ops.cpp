#include "pending_ops.hpp"

namespace clossyne::frontend {

void PendingOps::add_group(uint64_t group, std::vector<uint64_t> members, int64_t deadline) {
  groups_[group] = std::move(members);
  deadlines_.emplace_back(deadline, group);
}

std::optional<Ticket> PendingOps::take(uint64_t op_id) {
  Ticket* t = ops_.find(op_id);
  if (t == nullptr) return std::nullopt;
  const Ticket out = *t;
  ops_.erase(op_id);
  return out;
}

std::vector<uint64_t> PendingOps::take_group(uint64_t group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return {};
  std::vector<uint64_t> ids = std::move(it->second);
  groups_.erase(it);
  return ids;
}

std::vector<uint64_t> PendingOps::expired_groups(int64_t now) {
  std::vector<uint64_t> out;
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    const uint64_t group = deadlines_.front().second;
    deadlines_.pop_front();
    if (groups_.count(group) != 0) out.push_back(group);
  }
  return out;
}

}  // namespace clossyne::frontend
