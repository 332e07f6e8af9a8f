// Treap: the ordered map inside one shard. Keys and values are binary-safe byte strings, ordered by
// unsigned bytes (clossyne::compare_keys). A node's priority is key_hash(key, seed), ties broken by
// key, so the shape depends only on the key set and the seed: a shard rebuilt from the same keys
// has the same key paths. Expected depth is O(log n) under any insertion order, as long as the seed
// stays secret (it is 64 CSPRNG bits, never sent to clients); with a known seed crafted keys could
// force any shape, which costs time but never stack (see below).
//
// Each node is one "tree-node actor" of the design: an operation visits the nodes on its key path
// one at a time. Nodes live in a per-treap arena (a vector with a free list, 32-bit child indices),
// and every node carries the size of its subtree, which gives ranks and counts in O(log n).
//
// Memory: a node is 32 bytes in the arena plus one heap block holding its key bytes then its value
// bytes (exactly klen + vlen), so a 16-byte key with a 32-byte value costs 32 + 64 (one malloc
// chunk) + ~8-16 bytes of hash index. Keys and values are handed out as string_views into that
// block, valid until the next mutation of the treap.
//
// Stack use: every operation is a loop (walks down the tree relinking as it goes, or keeps a work
// list on the heap), so a deep shape costs time, never stack: no recursion anywhere.
//
// Not thread-safe: a treap belongs to one worker's event loop. Movable, not copyable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"

namespace clossyne {

class Treap {
 public:
  // The turns from the root to a key's node, or to the empty slot where it would be inserted.
  struct PathInfo {
    std::string turns;   // "L"/"R" per edge, e.g. "LRRL"
    uint32_t depth = 0;  // == turns.size()
    bool found = false;
  };
  using Bound = std::optional<std::string_view>;  // nullopt: from the start / to the end
  // Return false to stop the scan early.
  // The views are valid during the call only.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;

  explicit Treap(uint64_t seed);
  // TEST ONLY: a treap whose priorities ignore the seed and fall as keys rise (a smaller key is
  // always above a larger one), so keys inserted in ascending order form a list of depth n - 1:
  // the worst shape crafted keys could force if they knew the seed. Split and join keep the mode.
  static Treap list_shaped_for_tests(uint64_t seed = 0);
  Treap(Treap&&) noexcept = default;
  Treap& operator=(Treap&&) noexcept = default;
  Treap(const Treap&) = delete;
  Treap& operator=(const Treap&) = delete;

  uint64_t seed() const { return seed_; }
  std::size_t size() const;
  bool empty() const { return size() == 0; }

  // Inserts or overwrites; returns true when the key was new.
  bool set(std::string_view key, std::string_view value);
  // The value, or nullopt when absent. The view is valid until the next mutation.
  std::optional<std::string_view> find(std::string_view key) const;
  // Replaces the key's node with the join of its children; returns false when absent.
  bool erase(std::string_view key);

  // Keys in [first, last] (both inclusive, either open) in key order, at most `limit` of them
  // (nullopt: unlimited; 0: none).
  void range(Bound first, Bound last, std::optional<uint64_t> limit, const Visitor& visit) const;
  std::vector<KV> range(Bound first, Bound last,
                        std::optional<uint64_t> limit = std::nullopt) const;
  void for_each(const Visitor& visit) const {
    range(std::nullopt, std::nullopt, std::nullopt, visit);
  }

  // Number of keys strictly less than `key`.
  std::size_t rank(std::string_view key) const;
  // The key at 0-based `rank` in key order (select by subtree sizes, O(log n)), or nullopt when
  // rank >= size(). The view is valid until the next mutation.
  std::optional<std::string_view> select(std::size_t rank) const;
  PathInfo path(std::string_view key) const;
  // Height in edges: 0 for a single node (and for an empty treap).
  uint32_t max_depth() const;

  // Keeps keys < key here and returns a treap (same seed) with keys >= key.
  Treap split(std::string_view key);
  // Appends `right`. REQUIRES: same seed, and every key of `right` > every key of this.
  void join(Treap&& right);

  // Starts loading, without waiting, what a lookup of the key with this key_hash will read: step 0
  // its index slot, step 1 its node, step 2 its key+value block. Running step k for a batch of
  // keys before step k+1 overlaps their cache misses (a lone lookup takes them one by one).
  void prefetch(uint64_t hash, int step) const;

  // Approximate heap bytes held: the arena and index at their capacity, plus each node's key+value
  // block as the heap chunk malloc gives it (see block_bytes in treap.cpp).
  std::size_t memory_bytes() const;

  // Debug accessors for tests: children of a key's node (-1 when absent), and a full check of
  // order, heap priority and subtree sizes (empty string when sound, else what is wrong).
  int child_count(std::string_view key) const;
  std::string check_invariants() const;

 private:
  static constexpr uint32_t kNil = 0xffffffffu;
  // 32 bytes. The priority is key_hash(key, seed_); only its high half is kept (it decides almost
  // every comparison and is the index tag); on a tie of high halves the full hashes are recomputed.
  struct Node {
    char* kv = nullptr;  // key bytes, then value bytes (kv_blocks); null when both are empty
    uint32_t klen = 0;
    uint32_t vlen = 0;
    uint32_t left = kNil;
    uint32_t right = kNil;
    uint32_t size = 1;
    uint32_t prio_hi = 0;  // key_hash(key, seed_) >> 32

    // Owns `kv`, whose size is klen + vlen: move-only.
    Node() = default;
    Node(Node&& o) noexcept { *this = std::move(o); }
    Node& operator=(Node&& o) noexcept;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node();
  };
  static_assert(sizeof(void*) != 8 || sizeof(Node) == 32);
  static std::string_view key_of(const Node& n) { return {n.kv, n.klen}; }
  static std::string_view value_of(const Node& n) { return {n.kv + n.klen, n.vlen}; }
  static Node make_node(std::string_view key, std::string_view value, uint64_t hash);
  std::string_view key_at(uint32_t n) const { return key_of(nodes_[n]); }
  struct Halves {
    uint32_t left = kNil;
    uint32_t right = kNil;
  };

  uint32_t size_of(uint32_t n) const { return n == kNil ? 0 : nodes_[n].size; }
  uint64_t hash_of(std::string_view key) const;  // the priority and index hash
  Treap empty_like() const;                      // same seed and mode, no keys
  void update(uint32_t n);
  bool above(uint32_t a, uint32_t b) const;
  uint32_t locate(std::string_view key) const;
  uint32_t place(Node&& node);  // into a free slot or a new one
  Node take(uint32_t n);        // moves the node out and frees its slot

  void insert(uint32_t n);
  Halves split(uint32_t t, std::string_view key);
  uint32_t join(uint32_t left, uint32_t right);

  uint32_t adopt(Treap& from, uint32_t n);
  void swap_storage(Treap& other);
  void compact_if_sparse();

  // Point lookups (get, set of an existing key, delete of an absent one) go through a hash index
  // of the nodes instead of walking ~2 log2(n) nodes: O(1) expected, flat as the shard grows.
  // Open addressing, linear probing; a slot holds (hash >> 32) << 32 | (node + 1), 0 = empty, and
  // its home is (hash >> 32) & mask, so probing, deletion and growth never read the nodes.
  // Maintained by place() and take(), through which every node enters and leaves the arena.
  uint32_t index_find(std::string_view key, uint64_t hash) const;
  void index_insert(uint32_t n);
  void index_erase(uint32_t n);
  void index_grow();
  std::vector<uint64_t> index_;
  std::size_t index_used_ = 0;

  uint64_t seed_;
  bool list_shaped_ = false;  // list_shaped_for_tests
  uint32_t root_ = kNil;
  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  std::size_t payload_bytes_ = 0;  // block_bytes() of the live nodes' key+value blocks
};

}  // namespace clossyne
