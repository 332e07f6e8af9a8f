// A failed fsync of the log is never retried (docs/DURABILITY.md, "When the disk fails"): the
// storage fail-stops. Injected fdatasync failures (worker/data_sync.hpp) check, on a ShardTable
// over a DiskStorage and on the whole worker loop against a fake broker, with --fsync always and
// everysec: the failed turn's writes are answered with errors, a read after them in that turn does
// not see them, every later write is refused, reads and heartbeats go on, and a restarted storage
// (a new one recovering the same directory) holds exactly what was acknowledged. A failed write
// (a full disk) is still retried, and a failed snapshot is abandoned with the log kept.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/envelope.hpp"
#include "shard_infos.hpp"
#include "temp_dir.hpp"
#include "worker/data_dir.hpp"
#include "worker/data_sync.hpp"
#include "worker/disk_storage.hpp"
#include "worker/shard_table.hpp"
#include "worker/worker.hpp"

using namespace clossyne;
using clossyne::testing::FsizeLimit;
using clossyne::testing::read_file;
using clossyne::testing::TempDir;

namespace {

constexpr int kWaitMs = 4000;

ShardInfo shard_info(uint32_t id, std::string lo, std::optional<std::string> hi,
                     uint64_t epoch = 1) {
  return testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, 77);
}

std::vector<ShardInfo> two_shards() {
  return {shard_info(1, "", "m"), shard_info(2, "m", std::nullopt)};
}

uint32_t shard_of(const std::string& key) {
  return key < "m" ? 1 : 2;
}

Op routed(uint64_t id, const std::string& op, const std::string& key,
          std::optional<std::string> value = std::nullopt) {
  Op o;
  o.id = id;
  o.op = op;
  o.shard = shard_of(key);
  o.epoch = 1;
  o.key = key;
  o.value = std::move(value);
  return o;
}

// The next `count` fdatasyncs of `target` fail with EIO; none after the scope.
class InjectedSyncFailures {
 public:
  InjectedSyncFailures(SyncTarget target, int count) : target_(target) {
    inject_sync_failures(target, count, EIO);
  }
  ~InjectedSyncFailures() { inject_sync_failures(target_, 0); }
  InjectedSyncFailures(const InjectedSyncFailures&) = delete;
  InjectedSyncFailures& operator=(const InjectedSyncFailures&) = delete;

 private:
  SyncTarget target_;
};

DiskOptions disk_options(const std::string& dir, FsyncMode mode) {
  DiskOptions o;
  o.dir = dir;
  o.fsync = mode;
  o.background = false;
  return o;
}

// A storage and the table on top of it, as a worker holds them.
struct Node {
  Node(const std::string& dir, FsyncMode mode)
      : storage(disk_options(dir, mode)), table("w1", &storage) {}
  Status open() { return storage.recover(table); }
  // Opens the directory and assigns the two test shards.
  void open_with_shards() {
    REQUIRE(open().ok());
    REQUIRE(table.assign(two_shards()).ok());
  }
  // A write acknowledged the way the worker loop does it: applied, then committed.
  void acked(const std::string& k, const std::string& v) {
    REQUIRE(set(k, v).ok);
    REQUIRE(table.commit().ok());
  }
  Reply set(const std::string& k, const std::string& v) {
    return table.execute(routed(next_id++, "set", k, v));
  }
  Reply del(const std::string& k) { return table.execute(routed(next_id++, "del", k)); }
  std::optional<std::string> get(const std::string& k) {
    Reply r = table.execute(routed(next_id++, "get", k));
    REQUIRE(r.ok);
    return r.value;
  }

  DiskStorage storage;
  ShardTable table;
  uint64_t next_id = 1;
};

// Every key of a recovered directory, as shard/key -> value.
std::map<std::string, std::string> recovered(const std::string& dir) {
  Node again(dir, FsyncMode::kAlways);
  const Status st = again.open();
  INFO(st.message());
  REQUIRE(st.ok());
  std::map<std::string, std::string> out;
  for (const auto& [id, shard] : again.table.shards()) {
    shard.tree().for_each([&out](std::string_view k, std::string_view v) {
      out.emplace(std::string(k), std::string(v));
      return true;
    });
  }
  return out;
}

}  // namespace

TEST_CASE("fsync failure (always): the turn is refused and undone, every later write too") {
  TempDir dir;
  {
    Node n(dir.path(), FsyncMode::kAlways);
    n.open_with_shards();
    REQUIRE(n.set("a", "old").ok);
    n.acked("p", "kept");
    CHECK(n.storage.write_refusal().empty());
    uint64_t size_before = 0;
    REQUIRE(file_size(log_path(dir.path(), 1), size_before).ok());

    {
      InjectedSyncFailures fail(SyncTarget::kLog, 1);
      REQUIRE(n.set("a", "refused").ok);
      REQUIRE(n.set("c", "refused-too").ok);
      REQUIRE(n.del("p").n == 1);
      const Status st = n.table.commit();
      REQUIRE_FALSE(st.ok());
      CHECK_THAT(st.message(), Catch::Contains("fsync of") &&
                                   Catch::Contains("Input/output error") &&
                                   Catch::Contains("writes refused until restart"));
      CHECK(pending_sync_failures(SyncTarget::kLog) == 0);  // the failing sync happened
    }
    // The turn is undone in memory and cut off the file.
    CHECK(n.get("a") == "old");
    CHECK_FALSE(n.get("c").has_value());
    CHECK(n.get("p") == "kept");
    uint64_t size_after = 0;
    REQUIRE(file_size(log_path(dir.path(), 1), size_after).ok());
    CHECK(size_after == size_before);
    CHECK(read_file(log_path(dir.path(), 1)).find("refused") == std::string::npos);

    // Fail-stopped: the fsync now "works" again, but nothing is retried or taken.
    const std::string refusal = n.storage.write_refusal();
    CHECK_THAT(refusal, Catch::StartsWith("ERR persistence failure: fsync of ") &&
                            Catch::EndsWith("(writes refused until restart)"));
    for (const Op& op : {routed(90, "set", "b", "later"), routed(91, "del", "a"),
                         routed(92, "set", "x", "later")}) {
      const Reply r = n.table.execute(op);
      CHECK_FALSE(r.ok);
      CHECK(r.error == refusal);
      CHECK(r.id == op.id);
    }
    Op sync = routed(93, "sync", "a");
    CHECK(n.table.execute(sync).error == refusal);
    Op split = routed(94, "split", "a");
    split.key.reset();
    split.shards = {shard_info(5, "", "g", 2), shard_info(6, "g", "m", 2)};
    CHECK(n.table.execute(split).error == refusal);
    CHECK_FALSE(n.table.has_uncommitted());  // nothing was applied
    CHECK(n.table.commit().ok());            // a turn of reads depends on no sync
    CHECK_FALSE(n.table.commit(true).ok());  // anything that needs a sync fails
    // An assignment that changes something cannot be persisted either: nothing changes.
    CHECK_FALSE(n.table.assign({shard_info(1, "", "m"), shard_info(2, "m", std::nullopt, 3)}).ok());
    CHECK(n.table.find(2)->info().epoch == 1);
    // Reads go on.
    CHECK(n.get("a") == "old");
    CHECK(n.get("p") == "kept");
    CHECK_FALSE(n.get("b").has_value());
    REQUIRE(file_size(log_path(dir.path(), 1), size_after).ok());
    CHECK(size_after == size_before);  // the file is left alone
  }
  // A restart recovers what was acknowledged, and takes writes again.
  CHECK(recovered(dir.path()) == std::map<std::string, std::string>{{"a", "old"}, {"p", "kept"}});
  Node again(dir.path(), FsyncMode::kAlways);
  REQUIRE(again.open().ok());
  CHECK(again.storage.write_refusal().empty());
  REQUIRE(again.set("b", "after restart").ok);
  REQUIRE(again.table.commit().ok());
}

TEST_CASE("fsync failure (everysec): the periodic fsync fails, later writes are refused") {
  TempDir dir;
  {
    Node n(dir.path(), FsyncMode::kEverySec);
    n.open_with_shards();
    REQUIRE(n.set("a", "acked-1").ok);
    REQUIRE(n.table.commit().ok());            // written, acknowledged, not yet fsynced
    n.storage.tick(now_ms() + 1500, n.table);  // fsynced
    n.acked("b", "acked-2");
    {
      InjectedSyncFailures fail(SyncTarget::kLog, 1);
      n.storage.tick(now_ms() + 3000, n.table);  // the periodic fsync fails
      CHECK(pending_sync_failures(SyncTarget::kLog) == 0);
    }
    const std::string refusal = n.storage.write_refusal();
    CHECK_THAT(refusal, Catch::Contains("periodic fsync of") &&
                            Catch::Contains("Input/output error") &&
                            Catch::EndsWith("(writes refused until restart)"));
    const Reply r = n.set("c", "refused");
    CHECK_FALSE(r.ok);
    CHECK(r.error == refusal);
    CHECK_FALSE(n.table.has_uncommitted());
    CHECK_FALSE(n.get("c").has_value());
    // Reads serve what was acknowledged.
    CHECK(n.get("a") == "acked-1");
    CHECK(n.get("b") == "acked-2");
    // No later fsync is tried (it could report a success that means nothing).
    InjectedSyncFailures watch(SyncTarget::kLog, 1);
    n.storage.tick(now_ms() + 6000, n.table);
    CHECK(pending_sync_failures(SyncTarget::kLog) == 1);
    CHECK_FALSE(n.table.commit(true).ok());
    CHECK(pending_sync_failures(SyncTarget::kLog) == 1);
  }
  // The injected failure lost nothing on disk: the restart finds every acknowledged write.
  CHECK(recovered(dir.path()) ==
        std::map<std::string, std::string>{{"a", "acked-1"}, {"b", "acked-2"}});
}

TEST_CASE("fsync failure (everysec): a sync op's forced fsync fails its turn") {
  TempDir dir;
  {
    Node n(dir.path(), FsyncMode::kEverySec);
    n.open_with_shards();
    n.acked("a", "acked");
    InjectedSyncFailures fail(SyncTarget::kLog, 1);
    REQUIRE(n.set("a", "refused").ok);
    REQUIRE(n.table.execute(routed(50, "sync", "a")).ok);
    REQUIRE_FALSE(n.table.commit().ok());
    CHECK_FALSE(n.storage.write_refusal().empty());
    CHECK(n.get("a") == "acked");
    CHECK_FALSE(n.set("z", "refused").ok);
  }
  CHECK(recovered(dir.path()) == std::map<std::string, std::string>{{"a", "acked"}});
}

TEST_CASE("fsync failure: the fsync before a compaction fail-stops too") {
  TempDir dir;
  Node n(dir.path(), FsyncMode::kEverySec);
  n.open_with_shards();
  n.acked("a", "acked");
  {
    InjectedSyncFailures fail(SyncTarget::kLog, 1);
    CHECK_FALSE(n.storage.compact(n.table).ok());
  }
  CHECK(n.storage.generation() == 1);  // no new segment
  CHECK_FALSE(n.storage.write_refusal().empty());
  CHECK_FALSE(n.set("b", "refused").ok);
  CHECK(n.get("a") == "acked");
}

TEST_CASE("a failed write of the log (full disk) is still retried, it does not fail-stop") {
  TempDir dir;
  {
    Node n(dir.path(), FsyncMode::kAlways);
    n.open_with_shards();
    n.acked("a", "old");
    uint64_t size = 0;
    REQUIRE(file_size(log_path(dir.path(), 1), size).ok());
    {
      FsizeLimit limit(size + 10);
      REQUIRE(n.set("a", "too big for the disk").ok);
      const Status st = n.table.commit();
      REQUIRE_FALSE(st.ok());
      CHECK_THAT(st.message(), Catch::Contains("too large"));
      CHECK(n.storage.write_refusal().empty());
      CHECK(n.get("a") == "old");
      REQUIRE(n.set("b", "also too big").ok);  // still taken, and refused at commit
      CHECK_FALSE(n.table.commit().ok());
      CHECK_FALSE(n.get("b").has_value());
    }
    REQUIRE(n.set("a", "room again").ok);  // the next turn tries again and succeeds
    REQUIRE(n.table.commit().ok());
    CHECK(n.storage.write_refusal().empty());
  }
  CHECK(recovered(dir.path()) == std::map<std::string, std::string>{{"a", "room again"}});
}

TEST_CASE("a failed snapshot fsync abandons the snapshot, the log keeps everything") {
  TempDir dir;
  {
    Node n(dir.path(), FsyncMode::kAlways);
    n.open_with_shards();
    for (int i = 0; i < 50; ++i) {
      std::string key = "k";
      key += std::to_string(i);  // not "k" + ...: GCC 12's -Wrestrict false positive
      REQUIRE(n.set(key, "v").ok);
    }
    REQUIRE(n.table.commit().ok());
    {
      InjectedSyncFailures fail(SyncTarget::kSnapshot, 1);
      const Status st = n.storage.compact(n.table);
      REQUIRE_FALSE(st.ok());
      CHECK_THAT(st.message(), Catch::Contains("Input/output error"));
    }
    CHECK(n.storage.write_refusal().empty());  // the log is sound: writes go on
    DirListing files;
    REQUIRE(list_data_dir(dir.path(), files).ok());
    CHECK(files.snapshots.empty());  // the temp file is gone, never renamed
    n.acked("after", "snapshot failure");
  }
  auto data = recovered(dir.path());
  CHECK(data.size() == 51);
  CHECK(data.at("after") == "snapshot failure");
  // A later compaction writes a new snapshot from scratch.
  Node n(dir.path(), FsyncMode::kAlways);
  REQUIRE(n.open().ok());
  REQUIRE(n.storage.compact(n.table).ok());
  DirListing files;
  REQUIRE(list_data_dir(dir.path(), files).ok());
  CHECK(files.snapshots.size() == 1);
}

// ---- The worker loop, against a ROUTER playing the broker --------------------------------------

namespace {

std::string fresh_endpoint() {
  static std::atomic<int> n{0};
  return "inproc://fsync-failure-test-" + std::to_string(n++);
}

// A Worker over a DiskStorage, run in its own thread; every wait is bounded.
class DiskHarness {
 public:
  DiskHarness(const std::string& dir, FsyncMode mode)
      : router_(ctx_, zmq::socket_type::router),
        endpoint_(fresh_endpoint()),
        worker_(ctx_, endpoint_, "w1", WorkerTiming{200, 5000},
                std::make_unique<DiskStorage>(disk_options(dir, mode))) {
    router_.set(zmq::sockopt::router_handover, 1);
    router_.set(zmq::sockopt::linger, 0);
    router_.bind(endpoint_);
    const Status st = worker_.recover();
    INFO(st.message());
    REQUIRE(st.ok());
    thread_ = std::thread([this] { worker_.run(); });
  }
  ~DiskHarness() { stop(); }
  void stop() {
    worker_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void send(const Op& op) {
    router_.send(zmq::buffer(std::string("w1")), zmq::send_flags::sndmore);
    router_.send(zmq::buffer(encode(op)), zmq::send_flags::none);
  }
  std::optional<Reply> expect(const std::function<bool(const Reply&)>& want) {
    const int64_t deadline = now_ms() + kWaitMs;
    for (int64_t now = now_ms(); now < deadline; now = now_ms()) {
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(deadline - now));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t identity, body;
      (void)router_.recv(identity);
      (void)router_.recv(body);
      Reply r;
      REQUIRE(decode(body.to_string_view(), r).ok());
      if (want(r)) return r;
    }
    return std::nullopt;
  }
  std::optional<Reply> expect_op(std::string_view op) {
    return expect([op](const Reply& r) { return r.op == op; });
  }
  std::optional<Reply> call(const Op& op) {
    send(op);
    return expect([id = op.id](const Reply& r) { return r.op.empty() && r.id == id; });
  }
  // The broker's assignment; answered by nothing, so a write is sent after it and awaited.
  void assign(std::vector<ShardInfo> shards) {
    Op op;
    op.op = "assign";
    op.shards = std::move(shards);
    send(op);
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t router_;
  std::string endpoint_;
  Worker worker_;
  std::thread thread_;
};

Op batch_of(uint64_t id, std::vector<Op> ops) {
  Op b;
  b.id = id;
  b.op = "batch";
  b.batch = std::move(ops);
  return b;
}

}  // namespace

TEST_CASE("worker, fsync always: the failed turn's writes and the reads after them fail") {
  TempDir dir;
  {
    DiskHarness h(dir.path(), FsyncMode::kAlways);
    REQUIRE(h.expect_op("register"));
    h.assign(two_shards());
    auto r = h.call(batch_of(1, {routed(11, "set", "a", "old"), routed(12, "set", "p", "kept")}));
    REQUIRE(r);
    REQUIRE(r->replies.size() == 2);
    REQUIRE(r->replies[0].ok);
    REQUIRE(r->replies[1].ok);

    InjectedSyncFailures fail(SyncTarget::kLog, 1);
    r = h.call(batch_of(
        2, {routed(21, "get", "a"), routed(22, "set", "a", "refused"), routed(23, "get", "a"),
            routed(24, "set", "c", "refused-too"), routed(25, "exists", "c")}));
    REQUIRE(r);
    REQUIRE(r->replies.size() == 5);
    CHECK(r->replies[0].ok);  // before any write of the turn: committed data
    CHECK(r->replies[0].value == "old");
    for (std::size_t i = 1; i < 5; ++i) {
      INFO("reply " << i);
      CHECK_FALSE(r->replies[i].ok);
      CHECK_THAT(r->replies[i].error, Catch::StartsWith("ERR persistence failure: fsync of") &&
                                          Catch::EndsWith("(writes refused until restart)"));
      CHECK_FALSE(r->replies[i].value.has_value());  // never the refused value
    }
    const std::string refusal = r->replies[1].error;
    CHECK(pending_sync_failures(SyncTarget::kLog) == 0);

    // Every later write is refused at once; reads see the acknowledged data.
    r = h.call(
        batch_of(3, {routed(31, "set", "b", "later"), routed(32, "get", "a"),
                     routed(33, "del", "p"), routed(34, "get", "p"), routed(35, "exists", "c")}));
    REQUIRE(r);
    REQUIRE(r->replies.size() == 5);
    CHECK(r->replies[0].error == refusal);
    CHECK(r->replies[1].value == "old");
    CHECK(r->replies[2].error == refusal);
    CHECK(r->replies[3].value == "kept");
    CHECK(r->replies[4].ok);
    CHECK(r->replies[4].n == 0);
    r = h.call(routed(41, "set", "q", "single"));
    REQUIRE(r);
    CHECK(r->error == refusal);
    // The loop keeps heartbeating, with its shards.
    auto beat = h.expect_op("heartbeat");
    REQUIRE(beat);
    CHECK(beat->shards.size() == 2);
    h.stop();
  }
  CHECK(recovered(dir.path()) == std::map<std::string, std::string>{{"a", "old"}, {"p", "kept"}});
}

TEST_CASE("worker, fsync everysec: a failed periodic fsync refuses every later write") {
  TempDir dir;
  {
    DiskHarness h(dir.path(), FsyncMode::kEverySec);
    REQUIRE(h.expect_op("register"));
    h.assign(two_shards());
    auto r = h.call(batch_of(1, {routed(11, "set", "a", "acked"), routed(12, "set", "p", "too")}));
    REQUIRE(r);
    REQUIRE(r->replies.size() == 2);
    REQUIRE(r->replies[0].ok);  // acknowledged after the write, before any fsync
    REQUIRE(r->replies[1].ok);

    InjectedSyncFailures fail(SyncTarget::kLog, 1);
    // The loop fsyncs about a second after the write; wait (bounded) until it has tried.
    const int64_t deadline = now_ms() + kWaitMs;
    while (pending_sync_failures(SyncTarget::kLog) > 0 && now_ms() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(pending_sync_failures(SyncTarget::kLog) == 0);

    r = h.call(batch_of(2, {routed(21, "set", "b", "refused"), routed(22, "get", "b"),
                            routed(23, "get", "a"), routed(24, "del", "p")}));
    REQUIRE(r);
    REQUIRE(r->replies.size() == 4);
    CHECK_FALSE(r->replies[0].ok);
    CHECK_THAT(r->replies[0].error,
               Catch::StartsWith("ERR persistence failure: periodic fsync of") &&
                   Catch::EndsWith("(writes refused until restart)"));
    CHECK(r->replies[1].ok);
    CHECK_FALSE(r->replies[1].value.has_value());
    CHECK(r->replies[2].value == "acked");
    CHECK(r->replies[3].error == r->replies[0].error);
    REQUIRE(h.expect_op("heartbeat"));
    h.stop();
  }
  CHECK(recovered(dir.path()) == std::map<std::string, std::string>{{"a", "acked"}, {"p", "too"}});
}
