#include "shard.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "common/clock.hpp"
#include "common/key_range.hpp"
#include "common/keyed_ops.hpp"
#include "common/protocol.hpp"
#include "worker/storage.hpp"
#include "worker/string_commands.hpp"
#include "worker/undo_log.hpp"

namespace clossyne {
namespace {

// The keys of `tree` inside `info`'s range [lo, hi).
Treap in_range(Treap tree, const ShardInfo& info) {
  Treap inside = tree.split(info.lo);
  if (info.hi) inside.split(*info.hi);  // what it returns (keys >= hi) is dropped
  return inside;
}

}  // namespace

// One row per sub-op: the fields it needs are checked in apply(), never by the handler.
struct Shard::Command {
  std::string_view name;
  bool needs_key;
  bool needs_value;
  Handler run;
};

const Shard::Command* Shard::find_command(std::string_view op) {
  namespace o = proto::op;
  static constexpr std::array<Command, 7> kCommands{{
      {o::kSet, true, true, &Shard::run_set},
      {o::kGet, true, false, &Shard::run_get},
      {o::kDel, true, false, &Shard::run_del},
      {o::kExists, true, false, &Shard::run_exists},
      {o::kRng, false, false, &Shard::run_rng},
      {o::kCount, false, false, &Shard::run_count},
      {o::kWhere, true, false, &Shard::run_where},
  }};
  for (const Command& c : kCommands) {
    if (c.name == op) return &c;
  }
  return nullptr;
}

bool Shard::knows(std::string_view op) {
  return find_command(op) != nullptr || is_string_command(op);
}

// What a string command sees of its key: the shard's value and TTL, through the recorded doors.
class ShardKeyAccess final : public KeyAccess {
 public:
  ShardKeyAccess(Shard& shard, std::string_view key) : shard_(shard), key_(key) {}
  std::optional<std::string_view> get() override { return shard_.find_live(key_); }
  std::optional<int64_t> expiry() override {
    if (!shard_.find_live(key_)) return std::nullopt;
    return shard_.expiry_.get(key_);
  }
  void put(std::string_view value, bool keep_ttl) override {
    const std::string copy(value);  // `value` may view the node being replaced
    shard_.mutate(key_, &copy, keep_ttl);
  }
  void set_expiry(std::optional<int64_t> at) override { shard_.set_ttl(key_, at); }
  bool erase() override {
    const bool live = shard_.find_live(key_).has_value();
    shard_.mutate(key_, nullptr);
    return live;
  }

 private:
  Shard& shard_;
  std::string_view key_;
};

Shard::Shard(const ShardInfo& info) : info_(info), tree_(info.seed) {}

Shard::Shard(const ShardInfo& info, Treap&& tree) : info_(info), tree_(std::move(tree)) {
  info_.seed = tree_.seed();
}

std::pair<Shard, Shard> Shard::cut(std::string_view key, uint32_t left_id, uint64_t left_epoch,
                                   uint32_t right_id, uint64_t right_epoch) {
  // Each piece keeps this shard's seed and one side of its bounds; counts are filled in later.
  auto piece = [this](uint32_t id, uint64_t epoch) {
    ShardInfo p = info_;
    p.id = id;
    p.epoch = epoch;
    p.keys = 0;
    p.bytes = 0;
    p.importing = false;
    return p;
  };
  ShardInfo left = piece(left_id, left_epoch);
  left.hi.emplace(key);
  ShardInfo right = piece(right_id, right_epoch);
  right.lo.assign(key);
  Treap upper = tree_.split(key);
  std::pair<Shard, Shard> out{Shard(left, std::move(tree_)), Shard(right, std::move(upper))};
  out.second.expiry_ = expiry_.cut(key);
  out.first.expiry_ = std::move(expiry_);
  expiry_ = ExpiryTable();
  tree_ = Treap(info_.seed);
  out.first.attach(storage_, undo_);
  out.second.attach(storage_, undo_);
  return out;
}

Shard Shard::join(Shard&& left, Shard&& right, const ShardInfo& whole) {
  // Only each piece's keys inside its own range: a key hidden by narrowed bounds is no live value.
  Treap l = in_range(std::move(left.tree_), left.info_);
  Treap r = in_range(std::move(right.tree_), right.info_);
  const bool ordered =
      l.empty() || r.empty() || compare_keys(*l.select(l.size() - 1), *r.select(0)) < 0;
  if (ordered && l.seed() == r.seed()) {
    l.join(std::move(r));  // O(log n) (the smaller side's nodes change arenas)
  } else {
    // Not two halves of one cut (another seed, overlapping ranges): key by key.
    r.for_each([&l](std::string_view k, std::string_view v) {
      l.set(k, v);
      return true;
    });
  }
  Shard out(whole, std::move(l));
  out.expiry_ = std::move(left.expiry_);
  out.expiry_.merge(std::move(right.expiry_));
  out.attach(left.storage_, left.undo_);
  return out;
}

std::optional<std::string> Shard::median() const {
  const uint64_t n = count();
  if (n < 2) return std::nullopt;
  const std::optional<std::string_view> key = tree_.select(tree_.rank(info_.lo) + n / 2);
  if (!key) return std::nullopt;
  return std::string(*key);
}

Reply Shard::import(const Op& sub) {
  for (const auto& [key, value] : sub.pairs) {
    if (!contains(key))
      return Reply::Error(sub.id, "ERR import: key '" + escape_key(key) + "' outside shard " +
                                      std::to_string(info_.id));
  }
  for (const auto& [key, value] : sub.pairs) mutate(key, &value);
  for (const auto& [key, at] : sub.expires) {  // TTLs of the keys just written
    if (tree_.find(key)) set_ttl(key, at);
  }
  Reply reply;
  reply.id = sub.id;
  reply.n = static_cast<int64_t>(sub.pairs.size());
  return reply;
}

ShardInfo Shard::describe() const {
  ShardInfo out = info_;
  out.keys = count();
  out.bytes = tree_.memory_bytes();
  return out;
}

void Shard::reassign(const ShardInfo& info) {
  const uint64_t seed = info_.seed;
  if (info.epoch != info_.epoch) last_seq_ = 0;  // a new configuration numbers its writes anew
  info_ = info;
  if (tree_.empty()) {
    tree_ = Treap(info.seed);
  } else if (info.seed != seed) {
    // The tree's shape (and so every key path) is built on the old seed; keep it.
    spdlog::warn("shard {}: keeping seed {} (asked for {}) as it holds keys", info_.id, seed,
                 info.seed);
    info_.seed = seed;
  }
  if (const uint64_t hidden = tree_.size() - count(); hidden > 0)
    spdlog::warn("shard {}: {} keys lie outside the new bounds and are hidden", info_.id, hidden);
}

ShardInfo Shard::effective(const ShardInfo& wanted) const {
  ShardInfo out = wanted;
  out.keys = 0;
  if (!tree_.empty()) out.seed = info_.seed;
  return out;
}

void Shard::restore(std::string_view key, const std::string* value) {
  expiry_.erase(key);
  if (value) {
    tree_.set(key, *value);
  } else {
    tree_.erase(key);
  }
}

void Shard::restore_expiry(std::string_view key, std::optional<int64_t> at) {
  if (at && tree_.find(key)) {
    expiry_.set(key, *at);
  } else {
    expiry_.erase(key);
  }
}

std::size_t Shard::expire_due(int64_t now, std::size_t limit) {
  if (expiry_.empty()) return 0;
  const std::vector<std::string> keys = expiry_.due(now, limit);
  for (const auto& key : keys) mutate(key, nullptr);
  return keys.size();
}

bool Shard::expired(std::string_view key) const {
  const std::optional<int64_t> at = expiry_.get(key);
  return at && *at <= now_;
}

std::optional<std::string_view> Shard::find_live(std::string_view key) const {
  std::optional<std::string_view> v = tree_.find(key);
  if (v && expired(key)) return std::nullopt;
  return v;
}

bool Shard::contains(std::string_view key) const {
  // As KeyRange::contains, without copying the bounds into a KeyRange on every op.
  return compare_keys(key, info_.lo) >= 0 && (!info_.hi || compare_keys(key, *info_.hi) < 0);
}

uint64_t Shard::count() const {
  const std::size_t end = info_.hi ? tree_.rank(*info_.hi) : tree_.size();
  return end - tree_.rank(info_.lo);
}

Reply Shard::apply(const Op& sub, const std::string& worker_id) {
  now_ = sub.now ? *sub.now : wall_ms();
  const Command* cmd = find_command(sub.op);
  // The string commands, and SET with options; a plain SET (and GET, DEL, ...) stays on the fast
  // path without looking in their table.
  if ((cmd == nullptr || !sub.args.empty()) && is_string_command(sub.op)) return run_keyed(sub);
  if (!cmd) return Reply::Error(sub.id, "ERR unknown op '" + sub.op + "'");
  if (cmd->needs_key && !sub.key) return Reply::Error(sub.id, "ERR missing field 'key'");
  if (cmd->needs_value && !sub.value) return Reply::Error(sub.id, "ERR missing field 'value'");
  if (cmd->needs_key && !contains(*sub.key))
    return Reply::Error(sub.id, "ERR key outside shard " + std::to_string(info_.id));
  Reply reply = (this->*cmd->run)(sub, worker_id);
  reply.id = sub.id;
  return reply;
}

// The change is recorded before it is applied; the loop commits the records before it answers,
// and on a failed commit the undo log puts the old value back.
bool Shard::mutate(std::string_view key, const std::string* value, bool keep_ttl) {
  const std::optional<int64_t> ttl = expiry_.get(key);
  if (storage_ && undo_ && storage_->persistent()) {
    const std::optional<std::string_view> before = tree_.find(key);
    if (!value && !before) return false;  // deleting an absent key changes nothing
    undo_->remember(info_.id, key, before, ttl);
    if (value) {
      storage_->record_set(info_.id, key, *value);
      // A replayed set removes the TTL: one that stays is recorded again after it.
      if (keep_ttl && ttl) storage_->record_expire(info_.id, key, *ttl);
    } else {
      storage_->record_del(info_.id, key);
    }
  }
  if (ttl && !(value && keep_ttl)) expiry_.erase(key);
  return value ? tree_.set(key, *value) : tree_.erase(key);
}

void Shard::set_ttl(std::string_view key, std::optional<int64_t> at) {
  const std::optional<int64_t> ttl = expiry_.get(key);
  if (ttl == at) return;
  if (storage_ && undo_ && storage_->persistent()) {
    undo_->remember(info_.id, key, tree_.find(key), ttl);
    storage_->record_expire(info_.id, key, at.value_or(0));
  }
  if (at) {
    expiry_.set(key, *at);
  } else {
    expiry_.erase(key);
  }
}

Reply Shard::run_keyed(const Op& sub) {
  if (!sub.key) return Reply::Error(sub.id, "ERR missing field 'key'");
  const std::string& key = *sub.key;
  if (!contains(key))
    return Reply::Error(sub.id, "ERR key outside shard " + std::to_string(info_.id));
  // A write removes an expired key first (recorded as a delete), then acts on no key.
  if (const KeyedOp* k = find_keyed_op(sub.op); k && k->write && expired(key)) mutate(key, nullptr);
  ShardKeyAccess access(*this, key);
  Reply reply = run_string_command(sub.op, sub.value, sub.args, now_, access);
  reply.id = sub.id;
  return reply;
}

Reply Shard::run_set(const Op& sub, const std::string&) {
  mutate(*sub.key, &*sub.value);
  return Reply{};
}

Reply Shard::run_get(const Op& sub, const std::string&) {
  Reply reply;
  reply.has_value = true;
  if (const auto v = find_live(*sub.key)) reply.value.emplace(*v);
  return reply;
}

Reply Shard::run_del(const Op& sub, const std::string&) {
  Reply reply;
  const bool live = find_live(*sub.key).has_value();
  reply.n = mutate(*sub.key, nullptr) && live ? 1 : 0;  // an expired key is deleted, not counted
  return reply;
}

Reply Shard::run_exists(const Op& sub, const std::string&) {
  Reply reply;
  reply.n = find_live(*sub.key) ? 1 : 0;
  return reply;
}

// Inclusive [key, end] clipped to the shard's [lo, hi).
Reply Shard::run_rng(const Op& sub, const std::string&) {
  std::string_view first = info_.lo;
  if (sub.key && compare_keys(*sub.key, first) > 0) first = *sub.key;
  Treap::Bound last;
  if (sub.end) last = *sub.end;
  Reply reply;
  reply.items.emplace();
  if (expiry_.empty()) {  // no TTLs: the tree's own limit
    tree_.range(first, last, sub.limit, [&](std::string_view k, std::string_view v) {
      if (info_.hi && compare_keys(k, *info_.hi) >= 0) return false;
      reply.items->emplace_back(k, v);
      return true;
    });
    return reply;
  }
  tree_.range(first, last, std::nullopt, [&](std::string_view k, std::string_view v) {
    if (info_.hi && compare_keys(k, *info_.hi) >= 0) return false;
    if (sub.limit && reply.items->size() >= *sub.limit) return false;
    if (!expired(k)) reply.items->emplace_back(k, v);
    return true;
  });
  add_expires(reply);
  return reply;
}

// The live keys (expired ones not yet removed are not counted); args ["expires"]: those with a TTL.
Reply Shard::run_count(const Op& sub, const std::string&) {
  const uint64_t due = expiry_.empty() ? 0 : expiry_.count_due(now_, info_.lo, info_.hi);
  const bool ttls = !sub.args.empty() && sub.args[0] == "expires";
  const uint64_t total = ttls ? expiry_.count_in(info_.lo, info_.hi) : count();
  Reply reply;
  reply.n = static_cast<int64_t>(total - due);
  return reply;
}

// The TTLs of the keys in reply.items (a move or a catch-up copies them with the keys).
void Shard::add_expires(Reply& reply) const {
  for (const auto& [key, value] : *reply.items) {
    if (const std::optional<int64_t> at = expiry_.get(key)) reply.expires.emplace_back(key, *at);
  }
}

Reply Shard::run_where(const Op& sub, const std::string& worker_id) {
  const Treap::PathInfo p = tree_.path(*sub.key);
  const bool found = p.found && !expired(*sub.key);
  Reply reply;
  reply.where = WhereInfo{info_.id, worker_id, std::to_string(info_.id) + ":" + p.turns,
                          p.depth,  found,     {}};  // members: the broker adds them
  return reply;
}

}  // namespace clossyne
