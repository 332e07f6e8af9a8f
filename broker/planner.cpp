#include "planner.hpp"

#include <algorithm>
#include <iterator>

#include "common/keyed_ops.hpp"
#include "common/protocol.hpp"
#include "transaction.hpp"

namespace clossyne::broker {
namespace {

namespace op = proto::op;

Part single(const ShardMap& map, std::string_view name, std::string key) {
  Part p;
  p.shard = map.find(key);
  p.op.op = std::string(name);
  p.op.key = std::move(key);
  return p;
}

Reply error(const Op& o, const std::string& msg) {
  return Reply::Error(o.id, "ERR " + msg);
}

// Keys of a multi-key op: "keys", or a lone "key" (taken out of the op).
std::vector<std::string> take_keys(Op& o) {
  if (!o.keys.empty()) return std::move(o.keys);
  if (o.key) return {std::move(*o.key)};
  return {};
}

void plan_keys(Op& o, const ShardMap& map, std::string_view sub_op, Plan& p) {
  auto keys = take_keys(o);
  if (keys.empty()) {  // nothing to do: answered as for zero keys
    Reply r;
    r.id = o.id;
    if (o.op == op::kMget) {
      r.values.emplace();
    } else {
      r.n = 0;
    }
    p.immediate = r;
    return;
  }
  for (auto& k : keys) p.parts.push_back(single(map, sub_op, std::move(k)));
}

void plan_rng(const Op& o, const ShardMap& map, Plan& p) {
  const std::size_t before = p.parts.size();
  for (std::size_t i : map.overlapping(o.key, o.end)) {
    Part part;
    part.shard = i;
    part.op.op = std::string(op::kRng);
    part.op.key = o.key;
    part.op.end = o.end;
    part.op.limit = o.limit;
    p.parts.push_back(std::move(part));
  }
  if (p.parts.size() == before || (o.key && o.end && compare_keys(*o.key, *o.end) > 0)) {
    p.parts.erase(p.parts.begin() + static_cast<std::ptrdiff_t>(before), p.parts.end());
    Reply r;
    r.id = o.id;
    r.items.emplace();
    p.immediate = r;
  }
}

}  // namespace

Plan plan(const Op& o, const ShardMap& map) {
  Op copy = o;
  Plan p;
  plan_into(copy, map, p);
  return p;
}

void plan_into(Op& o, const ShardMap& map, Plan& p) {
  p.immediate.reset();
  const std::string& name = o.op;
  if (name == op::kPing) {
    Reply r;
    r.id = o.id;
    p.immediate = r;
  } else if (name == op::kSet) {
    if (!o.key || !o.value) {
      p.immediate = error(o, "set needs 'key' and 'value'");
    } else {
      p.parts.push_back(single(map, op::kSet, std::move(*o.key)));
      p.parts.back().op.value = std::move(o.value);
      p.parts.back().op.args = std::move(o.args);  // SET's options (NX, EX, GET, ...)
    }
  } else if (name == op::kGet || name == op::kWhere) {
    if (!o.key) {
      p.immediate = error(o, "missing field 'key'");
    } else {
      p.parts.push_back(single(map, name, std::move(*o.key)));
    }
  } else if (name == op::kDel || name == op::kExists) {
    plan_keys(o, map, name, p);
  } else if (name == op::kMget) {
    plan_keys(o, map, op::kGet, p);
  } else if (name == op::kMset) {
    if (o.pairs.empty()) p.immediate = Reply::Ok(o.id);
    for (auto& [k, v] : o.pairs) {
      p.parts.push_back(single(map, op::kSet, std::move(k)));
      p.parts.back().op.value = std::move(v);
    }
  } else if (name == op::kDbsize) {
    for (std::size_t i = 0; i < map.size(); ++i) {
      Part part;
      part.shard = i;
      part.op.op = std::string(op::kCount);
      part.op.args = o.args;  // ["expires"]: count the keys with a TTL
      p.parts.push_back(std::move(part));
    }
  } else if (name == op::kRng) {
    plan_rng(o, map, p);
  } else if (find_keyed_op(name) != nullptr) {  // string and key commands: the worker runs them
    if (!o.key) {
      p.immediate = error(o, "missing field 'key'");
    } else {
      p.parts.push_back(single(map, name, std::move(*o.key)));
      p.parts.back().op.value = std::move(o.value);
      p.parts.back().op.args = std::move(o.args);
    }
  } else {
    p.immediate = error(o, "unknown op '" + name + "'");
  }
}

std::vector<Part> replan(const Op& sub, const KeyRange& old_range, const ShardMap& map) {
  std::vector<Part> out;
  if (sub.op != op::kRng && sub.op != op::kCount) {
    Part p;
    p.shard = map.find(sub.key.value_or(""));
    p.op = sub;
    out.push_back(std::move(p));
    return out;
  }
  for (std::size_t i : map.overlapping(old_range.lo, std::nullopt)) {
    const ShardInfo& s = map.at(i).info;
    if (old_range.hi && compare_keys(s.lo, *old_range.hi) >= 0) break;
    if (sub.op == op::kRng && sub.end && compare_keys(s.lo, *sub.end) > 0) break;
    if (sub.op == op::kRng && sub.key && s.hi && compare_keys(*sub.key, *s.hi) >= 0) continue;
    Part p;
    p.shard = i;
    p.op = sub;
    out.push_back(std::move(p));
  }
  return out;
}

namespace {
// Ops whose only part's reply is already the op's reply (a single key's get/set/del/...).
bool passes_through(std::string_view name) {
  return find_keyed_op(name) != nullptr || is_span_op(name);  // a transaction answers as one part
}
}  // namespace

OpMerge::OpMerge(const Op& op, std::size_t parts)
    : op_(op.op), limit_(op.limit), id_(op.id), total_(parts), missing_(parts) {}

std::size_t OpMerge::add_part() {
  ++missing_;
  if (!parts_.empty()) parts_.emplace_back();
  return total_++;
}

std::optional<Reply> OpMerge::add(std::size_t part, Reply reply) {
  if (part >= total_ || missing_ == 0) return std::nullopt;
  if (total_ == 1 && passes_through(op_)) {  // nothing to combine: no copy kept
    missing_ = 0;
    reply.id = id_;
    if (!reply.ok) return Reply::Error(id_, std::move(reply.error), reply.code);
    return reply;
  }
  if (parts_.empty()) parts_.resize(total_);
  parts_[part] = std::move(reply);
  if (--missing_ > 0) return std::nullopt;
  return combine();
}

Reply OpMerge::combine() {
  const uint64_t id = id_;
  for (auto& p : parts_) {
    if (!p.ok) return Reply::Error(id, p.error, p.code);
  }
  Reply r;
  r.id = id;
  if (op_ == op::kGet) {
    r.has_value = true;
    r.value = std::move(parts_[0].value);
  } else if (op_ == op::kWhere) {
    // emplace, not assignment: r.where is empty (and gcc 12 warns falsely on the assignment)
    if (parts_[0].where) r.where.emplace(std::move(*parts_[0].where));
  } else if (op_ == op::kDel || op_ == op::kExists || op_ == op::kDbsize) {
    int64_t n = 0;
    for (const auto& p : parts_) n += p.n.value_or(0);
    r.n = n;
  } else if (op_ == op::kMget) {
    r.values.emplace();
    for (auto& p : parts_) r.values->push_back(std::move(p.value));
  } else if (op_ == op::kRng) {
    r.items.emplace();
    for (auto& p : parts_) {
      if (p.items) std::move(p.items->begin(), p.items->end(), std::back_inserter(*r.items));
    }
    // Parts come in shard order, hence key order, unless a split re-planned one of them.
    auto by_key = [](const KV& a, const KV& b) { return compare_keys(a.first, b.first) < 0; };
    if (!std::is_sorted(r.items->begin(), r.items->end(), by_key))
      std::sort(r.items->begin(), r.items->end(), by_key);
    if (limit_ && r.items->size() > *limit_) r.items->resize(*limit_);
  }
  return r;
}

}  // namespace clossyne::broker
