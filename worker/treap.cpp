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

// list_shaped_for_tests' priorities: the first 8 key bytes (zero-padded) as a big-endian number,
// complemented. A smaller key never ranks below a larger one, and a tie goes to the smaller key
// (Treap::above), so the smaller key is always above.
uint64_t list_shaped_hash(std::string_view key) {
  uint64_t be = 0;
  for (std::size_t i = 0; i < 8; ++i)
    be = be << 8 | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0u);
  return ~be;
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

Treap Treap::list_shaped_for_tests(uint64_t seed) {
  Treap t(seed);
  t.list_shaped_ = true;
  return t;
}

Treap Treap::empty_like() const {
  Treap t(seed_);
  t.list_shaped_ = list_shaped_;
  return t;
}

uint64_t Treap::hash_of(std::string_view key) const {
  if (__builtin_expect(list_shaped_, false)) return list_shaped_hash(key);
  return key_hash(key, seed_);
}

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
  const uint64_t px = hash_of(key_of(x));  // rare: the low halves decide
  const uint64_t py = hash_of(key_of(y));
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
  const uint64_t hash = hash_of(key);
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
  insert(place(make_node(key, value, hash)));
  return true;
}

std::optional<std::string_view> Treap::find(std::string_view key) const {
  const uint32_t n = index_find(key, hash_of(key));
  if (n == kNil) return std::nullopt;
  return value_of(nodes_[n]);
}

// Every tree operation below walks down from the root with a loop, relinking through a pointer to
// the link it came by and fixing subtree sizes on the way down: stack use is constant whatever the
// depth (a shape forced by crafted keys cannot overflow it), and no path is stored.

// The key's node is replaced by the join of its children: a leaf leaves an empty slot, a node
// with one child is replaced by that child, and a node with two children by whichever child has
// the higher priority, and so on down (the classic three delete cases in one rule).
bool Treap::erase(std::string_view key) {
  const uint32_t n = index_find(key, hash_of(key));
  if (n == kNil) return false;  // no walk for absent keys
  uint32_t* link = &root_;
  while (*link != n) {  // the index found the key, so it is on this path: one less below each node
    Node& t = nodes_[*link];
    --t.size;
    link = compare_keys(key, key_of(t)) < 0 ? &t.left : &t.right;
  }
  *link = join(nodes_[n].left, nodes_[n].right);
  (void)take(n);
  compact_if_sparse();
  return true;
}

// REQUIRES: n is placed but not linked, and its key is not in the tree.
void Treap::insert(uint32_t n) {
  const std::string_view key = key_at(n);
  uint32_t* link = &root_;
  while (*link != kNil && !above(n, *link)) {  // above n's place each node gains one below
    Node& t = nodes_[*link];
    ++t.size;
    link = compare_keys(key, key_of(t)) < 0 ? &t.left : &t.right;
  }
  const uint32_t below = *link;  // the subtree n takes over, cut at n's key
  const uint32_t below_size = size_of(below);
  const Halves h = split(below, key);
  Node& node = nodes_[n];
  node.left = h.left;
  node.right = h.right;
  node.size = 1 + below_size;
  *link = n;
}

// Two walks down the key path. The first counts the keys < key (a node's own size minus its path
// child's gives its other side). The second relinks the path nodes into the two halves top-down:
// a node going left keeps exactly the keys < key of its old subtree, one going right the rest.
Treap::Halves Treap::split(uint32_t t, std::string_view key) {
  uint32_t less = 0;
  for (uint32_t x = t; x != kNil;) {
    const Node& node = nodes_[x];
    if (compare_keys(key_of(node), key) < 0) {
      less += node.size - size_of(node.right);
      x = node.right;
    } else {
      x = node.left;
    }
  }
  Halves h;
  uint32_t* lo = &h.left;             // where the next node of the left half hangs
  uint32_t* hi = &h.right;            // ... and of the right half
  for (uint32_t x = t; x != kNil;) {  // invariant: `less` keys of x's old subtree are < key
    Node& node = nodes_[x];
    const uint32_t old_size = node.size;
    if (compare_keys(key_of(node), key) < 0) {
      const uint32_t next = node.right;
      *lo = x;
      lo = &node.right;
      node.size = less;
      less -= old_size - size_of(next);  // x and its left subtree
      x = next;
    } else {
      const uint32_t next = node.left;  // every key < key of x's subtree is down there
      *hi = x;
      hi = &node.left;
      node.size = old_size - less;
      x = next;
    }
  }
  *lo = kNil;
  *hi = kNil;
  return h;
}

// REQUIRES: every key under `left` < every key under `right`. The higher of the two roots takes
// the whole other tree under it, so its size grows by the other's size.
uint32_t Treap::join(uint32_t left, uint32_t right) {
  uint32_t root = kNil;
  uint32_t* link = &root;
  while (left != kNil && right != kNil) {
    if (above(left, right)) {
      Node& node = nodes_[left];
      node.size += nodes_[right].size;
      *link = left;
      link = &node.right;
      left = node.right;
    } else {
      Node& node = nodes_[right];
      node.size += nodes_[left].size;
      *link = right;
      link = &node.left;
      right = node.left;
    }
  }
  *link = left != kNil ? left : right;
  return root;
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
  Treap right = empty_like();
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
  right = empty_like();
}

void Treap::swap_storage(Treap& other) {
  std::swap(root_, other.root_);
  nodes_.swap(other.nodes_);
  free_.swap(other.free_);
  index_.swap(other.index_);
  std::swap(index_used_, other.index_used_);
  std::swap(payload_bytes_, other.payload_bytes_);
}

// Moves the subtree n of `from` into this arena (same shape, same sizes), parents before children,
// with a work list on the heap (at most one pending sibling per level) instead of recursion.
// REQUIRES: &from != this.
uint32_t Treap::adopt(Treap& from, uint32_t n) {
  struct Pending {
    uint32_t from_node;
    uint32_t parent;  // in this arena; kNil for the subtree's root
    bool left;
  };
  uint32_t root = kNil;
  std::vector<Pending> todo;
  if (n != kNil) todo.push_back({n, kNil, false});
  while (!todo.empty()) {
    const Pending p = todo.back();
    todo.pop_back();
    Node node = from.take(p.from_node);
    const uint32_t l = std::exchange(node.left, kNil);
    const uint32_t r = std::exchange(node.right, kNil);
    const uint32_t m = place(std::move(node));
    if (p.parent == kNil)
      root = m;
    else
      (p.left ? nodes_[p.parent].left : nodes_[p.parent].right) = m;
    if (r != kNil) todo.push_back({r, m, false});
    if (l != kNil) todo.push_back({l, m, true});
  }
  return root;
}

// Keeps the arena at most half empty, so memory follows the key count after deletes and splits.
void Treap::compact_if_sparse() {
  if (root_ == kNil) {
    *this = empty_like();
    return;
  }
  if (nodes_.size() < kCompactMinSlots || free_.size() * 2 <= nodes_.size()) return;
  Treap fresh = empty_like();
  fresh.nodes_.reserve(size());
  fresh.root_ = fresh.adopt(*this, root_);
  *this = std::move(fresh);
}

// Depth-first with a work list on the heap. Each entry carries the nodes whose keys bound its
// subtree (exclusive, inherited from the ancestors; kNil: none).
std::string Treap::check_invariants() const {
  struct Pending {
    uint32_t n, lo, hi;
  };
  std::string why;
  std::vector<Pending> todo;
  if (root_ != kNil) todo.push_back({root_, kNil, kNil});
  while (!todo.empty() && why.empty()) {
    const auto [n, lo, hi] = todo.back();
    todo.pop_back();
    const Node& node = nodes_[n];
    const std::string_view k = key_of(node);
    if ((lo != kNil && compare_keys(k, key_at(lo)) <= 0) ||
        (hi != kNil && compare_keys(k, key_at(hi)) >= 0))
      why = "order broken";
    else if (node.prio_hi != static_cast<uint32_t>(hash_of(k) >> 32))
      why = "priority is not the key hash";
    else if ((node.left != kNil && above(node.left, n)) ||
             (node.right != kNil && above(node.right, n)))
      why = "heap order broken";
    else if (node.size != 1 + size_of(node.left) + size_of(node.right))
      why = "subtree size wrong";
    if (!why.empty()) {
      why += " at key '" + escape_key(k) + "'";
    } else {
      if (node.right != kNil) todo.push_back({node.right, n, hi});
      if (node.left != kNil) todo.push_back({node.left, lo, n});
    }
  }
  if (why.empty() && nodes_.size() - free_.size() != size()) why = "arena count != root size";
  return why;
}

}  // namespace clossyne
