#include "treap.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "common/hash.hpp"
#include "common/key_range.hpp"
#include "kv_blocks.hpp"

namespace clossyne {
namespace {

// Below this many slots a sparse arena is not worth compacting.
constexpr std::size_t kCompactMinSlots = 1024;

// The heap chunk a block of `len` bytes takes (glibc malloc: an 8-byte header, 16-byte granules,
// 32 bytes at least); what memory_bytes() counts for a node's key+value block.
std::size_t block_bytes(std::size_t len) {
  return kv_blocks::footprint(len);
}

uint32_t checked_len(std::size_t len) {
  if (len > std::numeric_limits<uint32_t>::max())
    throw std::length_error("treap: key or value longer than 4 GiB");
  return static_cast<uint32_t>(len);
}

char* make_block(std::string_view key, std::string_view value) {
  if (key.empty() && value.empty()) return nullptr;
  char* kv = kv_blocks::allocate(key.size() + value.size());
  if (!key.empty()) std::memcpy(kv, key.data(), key.size());
  if (!value.empty()) std::memcpy(kv + key.size(), value.data(), value.size());
  return kv;
}

}  // namespace

Treap::Node& Treap::Node::operator=(Node&& o) noexcept {
  if (this != &o) {
    kv_blocks::release(kv, std::size_t{klen} + vlen);
    kv = std::exchange(o.kv, nullptr);
    klen = std::exchange(o.klen, 0);
    vlen = std::exchange(o.vlen, 0);
    left = o.left;
    right = o.right;
    size = o.size;
    prio_hi = o.prio_hi;
  }
  return *this;
}

Treap::Node::~Node() {
  kv_blocks::release(kv, std::size_t{klen} + vlen);
}

Treap::Treap(uint64_t seed) : seed_(seed) {}

std::size_t Treap::size() const {
  return size_of(root_);
}

void Treap::update(uint32_t n) {
  Node& node = nodes_[n];
  node.size = 1 + size_of(node.left) + size_of(node.right);
}

Treap::Node Treap::make_node(std::string_view key, std::string_view value, uint64_t hash) {
  Node node;
  node.klen = checked_len(key.size());
  node.vlen = checked_len(value.size());
  node.kv = make_block(key, value);
  node.prio_hi = static_cast<uint32_t>(hash >> 32);
  return node;
}

// A strict total order on nodes (keys are unique), so the shape is a function of the key set:
// higher priority (the full 64-bit key hash) first, ties by key.
bool Treap::above(uint32_t a, uint32_t b) const {
  const Node& x = nodes_[a];
  const Node& y = nodes_[b];
  if (x.prio_hi != y.prio_hi) return x.prio_hi > y.prio_hi;
  const uint64_t px = key_hash(key_of(x), seed_);  // rare: the low halves decide
  const uint64_t py = key_hash(key_of(y), seed_);
  if (px != py) return px > py;
  return compare_keys(key_of(x), key_of(y)) < 0;
}

uint32_t Treap::locate(std::string_view key) const {
  uint32_t t = root_;
  while (t != kNil) {
    const int c = compare_keys(key, key_at(t));
    if (c == 0) return t;
    t = c < 0 ? nodes_[t].left : nodes_[t].right;
  }
  return kNil;
}

uint32_t Treap::place(Node&& node) {
  payload_bytes_ += block_bytes(std::size_t{node.klen} + node.vlen);
  uint32_t n;
  if (!free_.empty()) {
    n = free_.back();
    free_.pop_back();
    nodes_[n] = std::move(node);
  } else {
    nodes_.push_back(std::move(node));
    n = static_cast<uint32_t>(nodes_.size() - 1);
  }
  index_insert(n);
  return n;
}

Treap::Node Treap::take(uint32_t n) {
  index_erase(n);
  Node node = std::move(nodes_[n]);
  payload_bytes_ -= block_bytes(std::size_t{node.klen} + node.vlen);
  free_.push_back(n);
  return node;
}

bool Treap::set(std::string_view key, std::string_view value) {
  const uint64_t hash = key_hash(key, seed_);
  if (const uint32_t n = index_find(key, hash); n != kNil) {
    Node& node = nodes_[n];
    if (value.size() == node.vlen) {  // same size: in place
      if (!value.empty()) std::memmove(node.kv + node.klen, value.data(), value.size());
      return false;
    }
    const uint32_t vlen = checked_len(value.size());
    char* kv = make_block(key, value);  // before the old block goes: `value` may point into it
    payload_bytes_ -= block_bytes(std::size_t{node.klen} + node.vlen);
    payload_bytes_ += block_bytes(std::size_t{node.klen} + vlen);
    kv_blocks::release(node.kv, std::size_t{node.klen} + node.vlen);
    node.kv = kv;
    node.vlen = vlen;
    return false;
  }
  const uint32_t n = place(make_node(key, value, hash));
  root_ = insert(root_, n);
  return true;
}

std::optional<std::string_view> Treap::find(std::string_view key) const {
  const uint32_t n = index_find(key, key_hash(key, seed_));
  if (n == kNil) return std::nullopt;
  return value_of(nodes_[n]);
}

bool Treap::erase(std::string_view key) {
  if (index_find(key, key_hash(key, seed_)) == kNil) return false;  // no walk for absent keys
  bool erased = false;
  root_ = erase(root_, key, erased);
  if (erased) compact_if_sparse();
  return erased;
}

// REQUIRES: n's key is not in the subtree t.
uint32_t Treap::insert(uint32_t t, uint32_t n) {
  if (t == kNil) return n;
  if (above(n, t)) {
    const Halves h = split(t, key_at(n));
    nodes_[n].left = h.left;
    nodes_[n].right = h.right;
    update(n);
    return n;
  }
  if (compare_keys(key_at(n), key_at(t)) < 0) {
    const uint32_t l = insert(nodes_[t].left, n);
    nodes_[t].left = l;
  } else {
    const uint32_t r = insert(nodes_[t].right, n);
    nodes_[t].right = r;
  }
  update(t);
  return t;
}

// The join of the children takes the node's place: a leaf leaves an empty slot, a node with one
// child is replaced by that child, and a node with two children by whichever child has the higher
// priority, recursively (the classic three delete cases in one rule).
uint32_t Treap::erase(uint32_t t, std::string_view key, bool& erased) {
  if (t == kNil) return kNil;
  const int c = compare_keys(key, key_at(t));
  if (c == 0) {
    erased = true;
    const uint32_t joined = join(nodes_[t].left, nodes_[t].right);
    (void)take(t);
    return joined;
  }
  if (c < 0) {
    const uint32_t l = erase(nodes_[t].left, key, erased);
    nodes_[t].left = l;
  } else {
    const uint32_t r = erase(nodes_[t].right, key, erased);
    nodes_[t].right = r;
  }
  update(t);
  return t;
}

Treap::Halves Treap::split(uint32_t t, std::string_view key) {
  if (t == kNil) return {};
  if (compare_keys(key_at(t), key) < 0) {
    const Halves h = split(nodes_[t].right, key);
    nodes_[t].right = h.left;
    update(t);
    return {t, h.right};
  }
  const Halves h = split(nodes_[t].left, key);
  nodes_[t].left = h.right;
  update(t);
  return {h.left, t};
}

// REQUIRES: every key under `left` < every key under `right`.
uint32_t Treap::join(uint32_t left, uint32_t right) {
  if (left == kNil) return right;
  if (right == kNil) return left;
  if (above(left, right)) {
    const uint32_t r = join(nodes_[left].right, right);
    nodes_[left].right = r;
    update(left);
    return left;
  }
  const uint32_t l = join(left, nodes_[right].left);
  nodes_[right].left = l;
  update(right);
  return right;
}

std::size_t Treap::rank(std::string_view key) const {
  std::size_t below = 0;
  uint32_t t = root_;
  while (t != kNil) {
    if (compare_keys(key_at(t), key) < 0) {
      below += size_of(nodes_[t].left) + 1;
      t = nodes_[t].right;
    } else {
      t = nodes_[t].left;
    }
  }
  return below;
}

std::optional<std::string_view> Treap::select(std::size_t rank) const {
  uint32_t t = root_;
  while (t != kNil) {
    const std::size_t left = size_of(nodes_[t].left);
    if (rank < left) {
      t = nodes_[t].left;
    } else if (rank == left) {
      return key_at(t);
    } else {
      rank -= left + 1;
      t = nodes_[t].right;
    }
  }
  return std::nullopt;
}

Treap::PathInfo Treap::path(std::string_view key) const {
  PathInfo info;
  uint32_t t = root_;
  while (t != kNil) {
    const int c = compare_keys(key, key_at(t));
    if (c == 0) {
      info.found = true;
      break;
    }
    info.turns.push_back(c < 0 ? 'L' : 'R');
    t = c < 0 ? nodes_[t].left : nodes_[t].right;
  }
  info.depth = static_cast<uint32_t>(info.turns.size());
  return info;
}

uint32_t Treap::max_depth() const {
  uint32_t deepest = 0;
  std::vector<std::pair<uint32_t, uint32_t>> stack;  // node, depth
  if (root_ != kNil) stack.emplace_back(root_, 0);
  while (!stack.empty()) {
    const auto [n, d] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, d);
    if (nodes_[n].left != kNil) stack.emplace_back(nodes_[n].left, d + 1);
    if (nodes_[n].right != kNil) stack.emplace_back(nodes_[n].right, d + 1);
  }
  return deepest;
}

int Treap::child_count(std::string_view key) const {
  const uint32_t n = locate(key);
  if (n == kNil) return -1;
  return (nodes_[n].left != kNil) + (nodes_[n].right != kNil);
}

std::size_t Treap::memory_bytes() const {
  return nodes_.capacity() * sizeof(Node) + free_.capacity() * sizeof(uint32_t) +
         index_.capacity() * sizeof(uint64_t) + payload_bytes_;
}

void Treap::range(Bound first, Bound last, std::optional<uint64_t> limit,
                  const Visitor& visit) const {
  uint64_t left = limit.value_or(UINT64_MAX);
  if (left == 0) return;
  // In-order walk from the first key >= first: the stack holds the ancestors still to visit.
  std::vector<uint32_t> stack;
  for (uint32_t t = root_; t != kNil;) {
    const bool in = !first || compare_keys(key_at(t), *first) >= 0;
    if (in) stack.push_back(t);
    t = in ? nodes_[t].left : nodes_[t].right;
  }
  while (!stack.empty()) {
    const Node& node = nodes_[stack.back()];
    stack.pop_back();
    if (last && compare_keys(key_of(node), *last) > 0) return;
    if (!visit(key_of(node), value_of(node)) || --left == 0) return;
    for (uint32_t t = node.right; t != kNil; t = nodes_[t].left) stack.push_back(t);
  }
}

std::vector<KV> Treap::range(Bound first, Bound last, std::optional<uint64_t> limit) const {
  std::vector<KV> out;
  range(first, last, limit, [&out](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  });
  return out;
}

// The cut itself is O(log n). Nodes then change arenas: the smaller half moves (its strings are
// moved, not copied), so the cost is O(log n + min(k, n - k)) pointer moves.
Treap Treap::split(std::string_view key) {
  const Halves h = split(root_, key);
  Treap right(seed_);
  if (size_of(h.right) <= size_of(h.left)) {
    root_ = h.left;
    right.root_ = right.adopt(*this, h.right);
  } else {
    swap_storage(right);  // `right` keeps the big arena; the left half moves out of it
    right.root_ = h.right;
    root_ = adopt(right, h.left);
  }
  compact_if_sparse();
  right.compact_if_sparse();
  return right;
}

// As split: the merge is O(log n), and the smaller treap's nodes move into the larger one's arena.
void Treap::join(Treap&& right) {
  const bool right_is_bigger = right.size() > size();
  if (right_is_bigger) swap_storage(right);  // now `right` holds the left part
  const uint32_t moved = adopt(right, right.root_);
  root_ = right_is_bigger ? join(moved, root_) : join(root_, moved);
  right = Treap(seed_);
}

void Treap::swap_storage(Treap& other) {
  std::swap(root_, other.root_);
  nodes_.swap(other.nodes_);
  free_.swap(other.free_);
  index_.swap(other.index_);
  std::swap(index_used_, other.index_used_);
  std::swap(payload_bytes_, other.payload_bytes_);
}

// Copies the subtree n of `from` into this arena (same shape) and frees it there.
// REQUIRES: &from != this.
uint32_t Treap::adopt(Treap& from, uint32_t n) {
  if (n == kNil) return kNil;
  const uint32_t l = adopt(from, from.nodes_[n].left);
  const uint32_t r = adopt(from, from.nodes_[n].right);
  Node node = from.take(n);
  node.left = l;
  node.right = r;
  return place(std::move(node));
}

// Keeps the arena at most half empty, so memory follows the key count after deletes and splits.
void Treap::compact_if_sparse() {
  if (root_ == kNil) {
    *this = Treap(seed_);
    return;
  }
  if (nodes_.size() < kCompactMinSlots || free_.size() * 2 <= nodes_.size()) return;
  Treap fresh(seed_);
  fresh.nodes_.reserve(size());
  fresh.root_ = fresh.adopt(*this, root_);
  *this = std::move(fresh);
}

std::string Treap::check_invariants() const {
  std::string why;
  if (root_ != kNil) check(root_, nullptr, nullptr, why);
  if (why.empty() && nodes_.size() - free_.size() != size()) why = "arena count != root size";
  return why;
}

// lo and hi are exclusive bounds inherited from the ancestors (nullptr: none).
bool Treap::check(uint32_t n, const std::string_view* lo, const std::string_view* hi,
                  std::string& why) const {
  const Node& node = nodes_[n];
  const std::string_view k = key_of(node);
  const std::string at = " at key '" + escape_key(k) + "'";
  if ((lo && compare_keys(k, *lo) <= 0) || (hi && compare_keys(k, *hi) >= 0))
    why = "order broken" + at;
  else if (node.prio_hi != static_cast<uint32_t>(key_hash(k, seed_) >> 32))
    why = "priority is not the key hash" + at;
  else if ((node.left != kNil && above(node.left, n)) ||
           (node.right != kNil && above(node.right, n)))
    why = "heap order broken" + at;
  else if (node.size != 1 + size_of(node.left) + size_of(node.right))
    why = "subtree size wrong" + at;
  if (!why.empty()) return false;
  return (node.left == kNil || check(node.left, lo, &k, why)) &&
         (node.right == kNil || check(node.right, &k, hi, why));
}

}  // namespace clossyne
