// DiskStorage under a ShardTable: what is committed comes back after a "crash" (the storage and
// table dropped, a new pair recovering the same directory) with the same bounds, epochs, seeds
// and key paths; compaction interrupted after each step recovers the same state; damage is told
// apart from a torn tail; failed writes are undone; unwritable directories are refused.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "shard_infos.hpp"
#include "temp_dir.hpp"
#include "worker/data_dir.hpp"
#include "worker/disk_storage.hpp"
#include "worker/log_record.hpp"
#include "worker/shard_table.hpp"
#include "worker/storage.hpp"

using namespace clossyne;
using clossyne::testing::FsizeLimit;
using clossyne::testing::read_file;
using clossyne::testing::TempDir;
using clossyne::testing::write_file;

namespace {

ShardInfo shard_info(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t epoch = 1,
                     uint64_t seed = 4242) {
  return testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, seed);
}

std::vector<ShardInfo> two_shards(uint64_t epoch = 1) {
  return {shard_info(1, "", "m", epoch), shard_info(2, "m", std::nullopt, epoch)};
}

Op routed(const std::string& op, uint32_t shard, uint64_t epoch, const std::string& key,
          std::optional<std::string> value = std::nullopt) {
  static uint64_t next = 1;
  Op o;
  o.id = next++;
  o.op = op;
  o.shard = shard;
  o.epoch = epoch;
  o.key = key;
  o.value = std::move(value);
  return o;
}

uint32_t shard_of(const std::string& key) {
  return key < "m" ? 1 : 2;
}

// A storage and the table on top of it, as a worker holds them.
struct Node {
  explicit Node(const std::string& dir, uint64_t compact_min = 64ull << 20,
                FsyncMode mode = FsyncMode::kAlways, bool background = false)
      : storage([&] {
          DiskOptions o;
          o.dir = dir;
          o.fsync = mode;
          o.compact_min_bytes = compact_min;
          o.background = background;
          return o;
        }()),
        table("w1", &storage) {}
  Status open() { return storage.recover(table); }
  Reply set(const std::string& k, const std::string& v, uint64_t epoch = 1) {
    return table.execute(routed("set", shard_of(k), epoch, k, v));
  }
  Reply del(const std::string& k, uint64_t epoch = 1) {
    return table.execute(routed("del", shard_of(k), epoch, k));
  }
  std::optional<std::string> get(const std::string& k) {
    Reply r = table.execute(routed("get", shard_of(k), table.find(shard_of(k))->info().epoch, k));
    return r.value;
  }

  DiskStorage storage;
  ShardTable table;
};

// Everything that must survive: shard infos, and per key its value and path; absent keys' paths
// (where they would go) too, since the tree shape must be the same.
struct State {
  std::vector<ShardInfo> infos;
  std::map<std::string, std::string> values;
  std::map<std::string, std::string> paths;
  bool operator==(const State&) const = default;
};

State capture(const ShardTable& t, const std::vector<std::string>& probes = {}) {
  State s;
  s.infos = t.describe();
  for (ShardInfo& info : s.infos) info.bytes = 0;  // memory use depends on the tree's history
  for (const auto& [id, shard] : t.shards()) {
    shard.tree().for_each([&, id = id](std::string_view k, std::string_view v) {
      const std::string key = std::to_string(id).append("/").append(k);
      s.values[key] = std::string(v);
      s.paths[key] = shard.tree().path(k).turns;
      return true;
    });
    for (const std::string& p : probes) s.paths["probe " + p] = shard.tree().path(p).turns;
  }
  return s;
}

std::string key_n(int i) {
  std::string k(1, static_cast<char>('a' + i % 26));
  k += std::to_string(i * 7919 % 100003);
  return k;
}

// A mixed load: sets across both shards, overwrites and deletes, committed every few ops.
void load(Node& n, int count, int seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (int i = 0; i < count; ++i) {
    const std::string k = key_n(static_cast<int>(rng() % 3000));
    if (rng() % 5 == 0) {
      REQUIRE(n.del(k).ok);
    } else {
      std::string v = "v";
      v += std::to_string(i);
      REQUIRE(n.set(k, v).ok);
    }
    if (i % 7 == 0) REQUIRE(n.table.commit().ok());
  }
  REQUIRE(n.table.commit().ok());
}

State recover_state(const std::string& dir, const std::vector<std::string>& probes = {}) {
  Node again(dir);
  const Status st = again.open();
  INFO(st.message());
  REQUIRE(st.ok());
  return capture(again.table, probes);
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("fsync modes parse") {
  CHECK(parse_fsync_mode("always") == FsyncMode::kAlways);
  CHECK(parse_fsync_mode("everysec") == FsyncMode::kEverySec);
  CHECK(parse_fsync_mode("no") == FsyncMode::kNo);
  CHECK_FALSE(parse_fsync_mode("sometimes").has_value());
  CHECK_FALSE(parse_fsync_mode("").has_value());
  for (FsyncMode m : {FsyncMode::kAlways, FsyncMode::kEverySec, FsyncMode::kNo})
    CHECK(parse_fsync_mode(fsync_mode_name(m)) == m);
}

TEST_CASE("disk storage: committed changes and shard metadata come back after a crash") {
  TempDir dir;
  State before;
  std::vector<std::string> probes = {"", "a", "m", "zzz", "q5"};
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    CHECK(n.table.size() == 0);
    REQUIRE(n.table.assign(two_shards()).ok());
    load(n, 3000, 1);
    // New bounds and epoch for shard 2, as after a split or move.
    REQUIRE(n.table.assign({shard_info(1, "", "m", 1), shard_info(2, "m", std::nullopt, 5)}).ok());
    REQUIRE(n.set("zebra", "stripes", 5).ok);
    REQUIRE(n.table.commit().ok());
    before = capture(n.table, probes);
    // Not committed: a crash loses it (it was never acknowledged).
    REQUIRE(n.set("apple", "uncommitted").ok);
  }  // the destructor stands in for the crash; it cannot commit what the table did not
  const State after = recover_state(dir.path(), probes);
  CHECK(after.infos == before.infos);
  CHECK(after.values == before.values);
  CHECK(after.paths == before.paths);
  CHECK(before.values.size() > 1000);
  CHECK(after.infos[1].epoch == 5);
  CHECK(after.infos[0].seed == 4242);
}

TEST_CASE("disk storage: a dropped shard stays dropped, a re-created one starts empty") {
  TempDir dir;
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign(two_shards()).ok());
    REQUIRE(n.set("b", "1").ok);
    REQUIRE(n.set("x", "2").ok);
    REQUIRE(n.table.commit().ok());
    REQUIRE(n.table.assign({shard_info(1, "", "m")}, {shard_info(2, "m", std::nullopt)}).ok());
  }
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.size() == 1);
    CHECK(n.get("b") == "1");
    REQUIRE(n.table.assign(two_shards()).ok());
    CHECK(n.table.find(2)->tree().size() == 0);
  }
  Node n(dir.path());
  REQUIRE(n.open().ok());
  CHECK(n.table.size() == 2);
  CHECK(n.table.find(2)->tree().size() == 0);
}

TEST_CASE("disk storage: compaction interrupted after each step recovers the same state") {
  using Stop = DiskStorage::CompactStop;
  const auto [stop, name] = GENERATE(table<Stop, const char*>({
      {Stop::kAfterNewSegment, "new segment created, still empty"},
      {Stop::kAfterTempSnapshot, "temp snapshot written, not renamed"},
      {Stop::kAfterRename, "snapshot renamed, old log not yet deleted"},
      {Stop::kNone, "completed"},
  }));
  INFO(name);
  TempDir dir;
  State before;
  State before_more;
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign(two_shards()).ok());
    load(n, 2000, 2);
    before = capture(n.table);
    REQUIRE(n.storage.compact(n.table, stop).ok());
  }
  CHECK(recover_state(dir.path()) == before);
  // The crashed compaction's leftovers are cleaned up or used, and the worker goes on: more
  // writes, a full compaction, another crash.
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    load(n, 500, 3);
    before_more = capture(n.table);
    REQUIRE(n.storage.compact(n.table).ok());
    load(n, 100, 4);
    before_more = capture(n.table);
  }
  CHECK(recover_state(dir.path()) == before_more);
  const auto files = files_in(dir.path());
  CHECK(std::count_if(files.begin(), files.end(), [](const std::string& f) {
          return f.find(".tmp") != std::string::npos;
        }) == 0);
  CHECK(std::count_if(files.begin(), files.end(),
                      [](const std::string& f) { return f.rfind("snapshot-", 0) == 0; }) == 1);
  CHECK(std::count_if(files.begin(), files.end(),
                      [](const std::string& f) { return f.rfind("log-", 0) == 0; }) == 1);
}

TEST_CASE("disk storage: background compaction (fork) replaces the log with a snapshot") {
  TempDir dir;
  State before;
  {
    Node n(dir.path(), 64 << 10, FsyncMode::kEverySec, true);
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign(two_shards()).ok());
    load(n, 4000, 5);
    CHECK(n.storage.log_bytes() >= n.storage.compact_threshold());
    n.storage.tick(now_ms(), n.table);
    REQUIRE(n.storage.compacting());
    load(n, 200, 6);  // the loop goes on while the child writes
    const int64_t deadline = now_ms() + 10000;
    while (n.storage.compacting() && now_ms() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      n.storage.tick(now_ms(), n.table);
    }
    REQUIRE_FALSE(n.storage.compacting());
    CHECK(n.storage.log_bytes() < n.storage.compact_threshold());
    before = capture(n.table);
  }
  CHECK(recover_state(dir.path()) == before);
  const auto files = files_in(dir.path());
  CHECK(files ==
        std::vector<std::string>{"LOCK", "log-0000000002.log", "snapshot-0000000002.snap"});
}

TEST_CASE("disk storage: a torn tail is cut off at recovery, damage before it is refused") {
  TempDir dir;
  State before;
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign(two_shards()).ok());
    load(n, 300, 7);
    before = capture(n.table);
  }
  const std::string log = log_path(dir.path(), 1);
  const std::string whole = read_file(log);

  SECTION("torn: half a record at the end") {
    std::string extra;
    append_set_record(extra, 1, "torn", "never acknowledged");
    write_file(log, whole + extra.substr(0, extra.size() / 2));
    CHECK(recover_state(dir.path()) == before);
    CHECK(read_file(log) == whole);  // cut back to the last whole record
  }
  SECTION("corrupt: a flipped byte in the middle names the file and the offset") {
    std::string bad = whole;
    bad[whole.size() / 2] ^= 0x01;
    write_file(log, bad);
    Node n(dir.path());
    const Status st = n.open();
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains(log));
    CHECK_THAT(st.message(), Catch::Contains("byte offset"));
    CHECK_THAT(st.message(), Catch::Contains("--check-log"));
  }
  SECTION("a damaged snapshot is refused") {
    {
      Node n(dir.path());
      REQUIRE(n.open().ok());
      REQUIRE(n.storage.compact(n.table).ok());
    }
    const std::string snap = snapshot_path(dir.path(), 2);
    std::string bad = read_file(snap);
    bad[bad.size() / 2] ^= 0x01;
    write_file(snap, bad);
    Node n(dir.path());
    const Status st = n.open();
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains(snap));
  }
}

TEST_CASE("disk storage: a failed commit undoes the turn's writes, reads go on") {
  TempDir dir;
  auto node = std::make_unique<Node>(dir.path());
  Node& n = *node;
  REQUIRE(n.open().ok());
  REQUIRE(n.table.assign(two_shards()).ok());
  REQUIRE(n.set("a", "old").ok);
  REQUIRE(n.set("b", "keep").ok);
  REQUIRE(n.table.commit().ok());
  const State before = capture(n.table, {"c", "a"});
  uint64_t size = 0;
  REQUIRE(file_size(log_path(dir.path(), 1), size).ok());
  {
    FsizeLimit limit(size + 10);
    REQUIRE(n.set("a", "new").ok);    // overwrite
    REQUIRE(n.set("c", "fresh").ok);  // insert
    REQUIRE(n.del("b").n == 1);       // delete
    const Status st = n.table.commit();
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("too large"));
    CHECK(capture(n.table, {"c", "a"}) == before);
    CHECK(n.get("a") == "old");  // reads go on
    // An assign that cannot be persisted changes nothing.
    CHECK_FALSE(n.table.assign({shard_info(1, "", "m")}, {shard_info(2, "m", std::nullopt)}).ok());
    CHECK(n.table.size() == 2);
  }
  REQUIRE(n.set("c", "later").ok);  // the disk has room again
  REQUIRE(n.table.commit().ok());
  node.reset();
  const State after = recover_state(dir.path());
  CHECK(after.values.at("1/c") == "later");
  CHECK(after.values.at("1/a") == "old");
  CHECK(after.values.at("1/b") == "keep");
}

TEST_CASE("disk storage: unwritable or busy data dirs are refused at start") {
  TempDir dir;
  SECTION("a path below a regular file") {
    write_file(dir / "file", "x");
    Node n(dir / "file/data");
    const Status st = n.open();
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("Not a directory"));
  }
  SECTION("a directory another worker holds") {
    Node first(dir.path());
    REQUIRE(first.open().ok());
    Node second(dir.path());
    const Status st = second.open();
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("in use"));
  }
  SECTION("a missing directory is created") {
    Node n(dir / "a/b/c");
    REQUIRE(n.open().ok());
    CHECK(std::filesystem::exists(log_path(dir / "a/b/c", 1)));
  }
}

TEST_CASE("disk storage: with everysec a commit writes (a process crash loses nothing)") {
  TempDir dir;
  Node n(dir.path(), 64ull << 20, FsyncMode::kEverySec);
  REQUIRE(n.open().ok());
  REQUIRE(n.table.assign(two_shards()).ok());
  REQUIRE(n.set("a", "value-one").ok);
  REQUIRE(n.table.commit().ok());
  CHECK(read_file(log_path(dir.path(), 1)).find("value-one") != std::string::npos);
  n.storage.tick(now_ms() + 1500, n.table);  // the once-a-second fsync
  REQUIRE(n.set("b", "value-two").ok);
  REQUIRE(n.table.commit().ok());
  CHECK(read_file(log_path(dir.path(), 1)).find("value-two") != std::string::npos);
}
