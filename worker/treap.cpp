#include "treap.hpp"

#include <algorithm>
#include <utility>

#include "common/hash.hpp"
#include "common/key_range.hpp"

namespace clossyne {
namespace {

// Below this many slots a sparse arena is not worth compacting.
constexpr std::size_t kCompactMinSlots = 1024;

}  // namespace

Treap::Treap(uint64_t seed) : seed_(seed) {}

std::size_t Treap::size() const {
  return size_of(root_);
}

void Treap::update(uint32_t n) {
  Node& node = nodes_[n];
  node.size = 1 + size_of(node.left) + size_of(node.right);
}

// A strict total order on nodes (keys are unique), so the shape is a function of the key set.
bool Treap::above(uint32_t a, uint32_t b) const {
  const Node& x = nodes_[a];
  const Node& y = nodes_[b];
  if (x.priority != y.priority) return x.priority > y.priority;
  return compare_keys(x.key, y.key) < 0;
}

uint32_t Treap::locate(std::string_view key) const {
  uint32_t t = root_;
  while (t != kNil) {
    const int c = compare_keys(key, nodes_[t].key);
    if (c == 0) return t;
    t = c < 0 ? nodes_[t].left : nodes_[t].right;
  }
  return kNil;
}

uint32_t Treap::place(Node&& node) {
  payload_bytes_ += node.key.size() + node.value.size();
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
  nodes_[n] = Node{};  // drop any storage the moved-from strings kept
  payload_bytes_ -= node.key.size() + node.value.size();
  free_.push_back(n);
  return node;
}

bool Treap::set(std::string_view key, std::string_view value) {
  const uint64_t hash = key_hash(key, seed_);
  if (const uint32_t n = index_find(key, hash); n != kNil) {
    std::string& old = nodes_[n].value;
    payload_bytes_ = payload_bytes_ - old.size() + value.size();
    old.assign(value);
    return false;
  }
  Node node;
  node.key.assign(key);
  node.value.assign(value);
  node.priority = hash;
  const uint32_t n = place(std::move(node));
  root_ = insert(root_, n);
  return true;
}

const std::string* Treap::find(std::string_view key) const {
  const uint32_t n = index_find(key, key_hash(key, seed_));
  return n == kNil ? nullptr : &nodes_[n].value;
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
    const Halves h = split(t, nodes_[n].key);
    nodes_[n].left = h.left;
    nodes_[n].right = h.right;
    update(n);
    return n;
  }
  if (compare_keys(nodes_[n].key, nodes_[t].key) < 0) {
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
  const int c = compare_keys(key, nodes_[t].key);
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
  if (compare_keys(nodes_[t].key, key) < 0) {
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
    if (compare_keys(nodes_[t].key, key) < 0) {
      below += size_of(nodes_[t].left) + 1;
      t = nodes_[t].right;
    } else {
      t = nodes_[t].left;
    }
  }
  return below;
}

const std::string* Treap::select(std::size_t rank) const {
  uint32_t t = root_;
  while (t != kNil) {
    const std::size_t left = size_of(nodes_[t].left);
    if (rank < left) {
      t = nodes_[t].left;
    } else if (rank == left) {
      return &nodes_[t].key;
    } else {
      rank -= left + 1;
      t = nodes_[t].right;
    }
  }
  return nullptr;
}

Treap::PathInfo Treap::path(std::string_view key) const {
  PathInfo info;
  uint32_t t = root_;
  while (t != kNil) {
    const int c = compare_keys(key, nodes_[t].key);
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
    const bool in = !first || compare_keys(nodes_[t].key, *first) >= 0;
    if (in) stack.push_back(t);
    t = in ? nodes_[t].left : nodes_[t].right;
  }
  while (!stack.empty()) {
    const Node& node = nodes_[stack.back()];
    stack.pop_back();
    if (last && compare_keys(node.key, *last) > 0) return;
    if (!visit(node.key, node.value) || --left == 0) return;
    for (uint32_t t = node.right; t != kNil; t = nodes_[t].left) stack.push_back(t);
  }
}

std::vector<KV> Treap::range(Bound first, Bound last, std::optional<uint64_t> limit) const {
  std::vector<KV> out;
  range(first, last, limit, [&out](const std::string& k, const std::string& v) {
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
bool Treap::check(uint32_t n, const std::string* lo, const std::string* hi,
                  std::string& why) const {
  const Node& node = nodes_[n];
  const std::string at = " at key '" + escape_key(node.key) + "'";
  if ((lo && compare_keys(node.key, *lo) <= 0) || (hi && compare_keys(node.key, *hi) >= 0))
    why = "order broken" + at;
  else if (node.priority != key_hash(node.key, seed_))
    why = "priority is not the key hash" + at;
  else if ((node.left != kNil && above(node.left, n)) ||
           (node.right != kNil && above(node.right, n)))
    why = "heap order broken" + at;
  else if (node.size != 1 + size_of(node.left) + size_of(node.right))
    why = "subtree size wrong" + at;
  if (!why.empty()) return false;
  return (node.left == kNil || check(node.left, lo, &node.key, why)) &&
         (node.right == kNil || check(node.right, &node.key, hi, why));
}

}  // namespace clossyne
