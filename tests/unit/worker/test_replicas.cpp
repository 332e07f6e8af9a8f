// The worker side of replicated shards (issue 14): a shard's `replicas` (its in-sync set) are
// logged, snapshotted and recovered, so a restarted worker registers each shard with the list it
// last accepted; an assign that changes only them is logged and fsynced before it returns; log
// format 2 is written and format 1 still read (never appended to). Replicated writes carry `seq`:
// a gap is refused with kReplicaGap and changes nothing, the count starts over at each epoch, and
// a turn whose commit fails gives its seqs back.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "disk_node.hpp"
#include "shard_infos.hpp"
#include "temp_dir.hpp"
#include "worker/data_dir.hpp"
#include "worker/data_sync.hpp"
#include "worker/disk_storage.hpp"
#include "worker/log_record.hpp"
#include "worker/shard_log.hpp"
#include "worker/shard_table.hpp"

using namespace clossyne;
using clossyne::testing::FsizeLimit;
using clossyne::testing::read_file;
using clossyne::testing::TempDir;
using clossyne::testing::write_file;

namespace {

ShardInfo shard_info(uint32_t id, std::string lo, std::optional<std::string> hi, uint64_t epoch = 1,
                     std::vector<std::string> replicas = {}) {
  ShardInfo s = testing::make_shard_info(id, std::move(lo), std::move(hi), epoch, 4242);
  s.replicas = std::move(replicas);
  return s;
}

std::vector<ShardInfo> two_replicated(uint64_t epoch = 1) {
  return {shard_info(1, "", "m", epoch, {"w1", "w2"}),
          shard_info(2, "m", std::nullopt, epoch, {"w3", "w1"})};
}

Op write_op(const std::string& op, uint32_t shard, uint64_t epoch, const std::string& key,
            std::optional<uint64_t> seq, std::optional<std::string> value = std::nullopt) {
  static uint64_t next = 1;
  Op o;
  o.id = next++;
  o.op = op;
  o.shard = shard;
  o.epoch = epoch;
  o.key = key;
  o.value = std::move(value);
  o.seq = seq;
  return o;
}

Op set_op(const std::string& key, std::optional<uint64_t> seq, uint64_t epoch = 1) {
  return write_op("set", key < "m" ? 1 : 2, epoch, key, seq, "v-" + key);
}

bool has_key(const ShardTable& t, uint32_t shard, const std::string& key) {
  return t.find(shard)->tree().find(key).has_value();
}

// Shard infos as register reports them, without the figures that depend on the tree's history.
std::vector<ShardInfo> registered(const ShardTable& t) {
  std::vector<ShardInfo> out = t.describe_all();
  for (ShardInfo& s : out) s.bytes = 0;
  return out;
}

using Node = testing::DiskNode;

// A data directory as a 0.13.0 build leaves it: format 1 files, records without replicas.
void write_v1_dir(const std::string& dir) {
  std::string snap(kSnapshotMagic);
  append_shard_record(snap, shard_info(1, "", "m"));
  append_set_record(snap, 1, "apple", "red");
  append_end_record(snap, 2);
  snap[kMagicBytes - 1] = 1;
  write_file(snapshot_path(dir, 1), snap);
  std::string log(kLogMagic);
  append_shard_record(log, shard_info(2, "m", std::nullopt));
  append_set_record(log, 2, "zebra", "stripes");
  append_del_record(log, 1, "nothing");
  log[kMagicBytes - 1] = 1;
  write_file(log_path(dir, 1), log);
}

}  // namespace

TEST_CASE("replicas: a shard record keeps them through encoding and decoding") {
  ShardInfo info = shard_info(9, "a", "q", 7, {"w2", "w1", std::string("w\0\xff", 3)});
  info.importing = GENERATE(false, true);
  std::string bytes;
  append_shard_record(bytes, info);
  std::size_t total = 0;
  REQUIRE(check_frame(bytes, &total) == FrameCheck::kOk);
  CHECK(total == bytes.size());
  RecordView rec;
  REQUIRE(decode_record(bytes, rec).ok());
  CHECK(rec.type == RecordType::kShard);
  CHECK(rec.info == info);

  SECTION("a record without replicas is a format 1 record, byte for byte") {
    ShardInfo plain = info;
    plain.replicas.clear();
    std::string with_none;
    append_shard_record(with_none, plain);
    // id, epoch, seed, lo, has hi, hi, and a flags byte only for importing.
    const std::size_t v1_payload =
        1 + 4 + 8 + 8 + (4 + 1) + 1 + (4 + 1) + (plain.importing ? 1 : 0);
    CHECK(with_none.size() == kRecordHeaderBytes + v1_payload);
    REQUIRE(decode_record(with_none, rec).ok());
    CHECK(rec.info.replicas.empty());
    CHECK(rec.info == plain);
  }
}

TEST_CASE("replicas: recovered from the log, the last accepted list wins") {
  TempDir dir;
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign(two_replicated()).ok());
    REQUIRE(n.table.execute(set_op("apple", 1)).ok);
    REQUIRE(n.table.commit().ok());
    // Only the replicas change (a follower left the in-sync set): still recorded.
    REQUIRE(n.table.assign({shard_info(1, "", "m", 1, {"w1"}), two_replicated()[1]}).ok());
  }  // a crash: nothing is closed
  Node n(dir.path());
  REQUIRE(n.open().ok());
  const std::vector<ShardInfo> got = registered(n.table);
  REQUIRE(got.size() == 2);
  CHECK(got[0].replicas == std::vector<std::string>{"w1"});
  CHECK(got[1].replicas == std::vector<std::string>{"w3", "w1"});
  CHECK(got[0].keys == 1);
  CHECK(n.table.describe() == n.table.describe_all());  // heartbeats carry them too
}

TEST_CASE("replicas: recovered from a snapshot") {
  TempDir dir;
  std::vector<ShardInfo> before;
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign(two_replicated(3)).ok());
    REQUIRE(n.table.execute(set_op("apple", 1, 3)).ok);
    REQUIRE(n.table.execute(set_op("zebra", 1, 3)).ok);
    REQUIRE(n.table.commit().ok());
    before = registered(n.table);
    REQUIRE(n.storage.compact(n.table).ok());
  }
  // Everything is in the snapshot now: the log after it holds no record.
  REQUIRE(read_file(log_path(dir.path(), 2)).size() == kMagicBytes);
  REQUIRE_FALSE(read_file(snapshot_path(dir.path(), 2)).empty());
  Node n(dir.path());
  REQUIRE(n.open().ok());
  CHECK(registered(n.table) == before);
  CHECK(before[0].replicas == std::vector<std::string>{"w1", "w2"});
}

TEST_CASE("format 1: a data dir of the previous build recovers and is never appended to") {
  TempDir dir;
  write_v1_dir(dir.path());
  const std::string v1_log = read_file(log_path(dir.path(), 1));
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.size() == 2);
    CHECK(n.table.find(1)->tree().find("apple") == "red");
    CHECK(n.table.find(2)->tree().find("zebra") == "stripes");
    CHECK(n.table.find(1)->info().replicas.empty());
    // This build's records go to a new segment in its own format.
    CHECK(n.storage.generation() == 2);
    REQUIRE(n.table.assign(two_replicated(2)).ok());
    REQUIRE(n.table.execute(set_op("banana", std::nullopt, 2)).ok);
    REQUIRE(n.table.commit().ok());
  }
  CHECK(read_file(log_path(dir.path(), 1)) == v1_log);
  const std::string v2_log = read_file(log_path(dir.path(), 2));
  REQUIRE(v2_log.size() > kMagicBytes);
  CHECK(static_cast<uint8_t>(v2_log[kMagicBytes - 1]) == kFormatVersion);
  CHECK(kFormatVersion >= 2);
  CHECK(kMinFormatVersion == 1);

  Node n(dir.path());
  REQUIRE(n.open().ok());
  CHECK(n.storage.generation() == 2);  // its own segment is appended to again
  CHECK(n.table.find(1)->tree().find("banana") == "v-banana");
  CHECK(n.table.find(2)->tree().find("zebra") == "stripes");
  CHECK(n.table.find(2)->info().replicas == std::vector<std::string>{"w3", "w1"});
  CHECK(n.table.find(2)->info().epoch == 2);
}

TEST_CASE("assign: a change of replicas or epoch alone is fsynced before assign returns") {
  TempDir dir;
  // --fsync no: only a forced commit syncs, so an injected sync failure shows whether it did.
  Node n(dir.path(), FsyncMode::kNo);
  REQUIRE(n.open().ok());
  REQUIRE(n.table.assign(two_replicated()).ok());
  std::vector<ShardInfo> next = two_replicated();
  SECTION("replicas") {
    next[0].replicas = {"w2", "w1"};
  }  // the primary changed
  SECTION("epoch") {
    next[1].epoch = 2;
  }
  inject_sync_failures(SyncTarget::kLog, 1);
  REQUIRE(n.table.assign(two_replicated()).ok());  // no change: nothing to sync
  CHECK(pending_sync_failures(SyncTarget::kLog) == 1);
  const Status st = n.table.assign(next);
  inject_sync_failures(SyncTarget::kLog, 0);
  CHECK_FALSE(st.ok());  // the fsync was attempted, failed, and the assignment is not taken
  CHECK(n.table.describe_all()[0].replicas == std::vector<std::string>{"w1", "w2"});
  CHECK(n.table.describe_all()[1].epoch == 1);
}

TEST_CASE("assign: a change of replicas alone is taken in memory too") {
  ShardTable t("w1");
  REQUIRE(t.assign(two_replicated()).ok());
  REQUIRE(t.assign({shard_info(1, "", "m", 1), two_replicated()[1]}).ok());
  CHECK(t.find(1)->info().replicas.empty());  // no longer replicated
  CHECK(t.describe()[1].replicas == std::vector<std::string>{"w3", "w1"});
}

TEST_CASE("seq: replicated writes are taken in order only") {
  ShardTable t("w1");
  REQUIRE(t.assign(two_replicated(4)).ok());

  SECTION("in order: accepted, each shard counting its own") {
    for (uint64_t s = 1; s <= 3; ++s) {
      std::string key = "k";  // appended: GCC 12 warns falsely (-Wrestrict) on "k" + to_string
      key += std::to_string(s);
      CHECK(t.execute(set_op(key, s, 4)).ok);
    }
    CHECK(t.execute(write_op("del", 1, 4, "k2", 4)).n == 1);
    CHECK(t.execute(set_op("zebra", 1, 4)).ok);  // shard 2's first
    CHECK(t.find(1)->last_seq() == 4);
    CHECK(t.find(2)->last_seq() == 1);
  }
  SECTION("a gap or a repeat: refused with replica_gap, nothing changed") {
    REQUIRE(t.execute(set_op("a", 1, 4)).ok);
    for (uint64_t bad : {3ull, 1ull, 0ull}) {
      const Op op = set_op("b", bad, 4);
      const Reply r = t.execute(op);
      CHECK_FALSE(r.ok);
      CHECK(r.id == op.id);
      CHECK(r.code == ErrorCode::kReplicaGap);
      CHECK(r.error == "ERR replication gap on shard 1: expected seq 2, got " +
                           std::to_string(bad) + " (a write was missed)");
      CHECK_FALSE(has_key(t, 1, "b"));
      CHECK(t.find(1)->last_seq() == 1);
    }
    CHECK_FALSE(t.execute(write_op("del", 1, 4, "a", 5)).ok);
    CHECK(has_key(t, 1, "a"));
    CHECK(t.execute(set_op("b", 2, 4)).ok);  // the missing one still fits
    CHECK(has_key(t, 1, "b"));
  }
  SECTION("an accepted seq counts even when the write fails with an ordinary error") {
    REQUIRE(t.execute(set_op("a", 1, 4)).ok);
    Op bad = write_op("set", 1, 4, "a", 2);  // no value
    const Reply r = t.execute(bad);
    CHECK_FALSE(r.ok);
    CHECK(r.code == ErrorCode::kOther);
    CHECK(t.find(1)->last_seq() == 2);
    CHECK(t.execute(set_op("b", 3, 4)).ok);
  }
  SECTION("a refused epoch takes no seq") {
    CHECK(t.execute(set_op("a", 1, 3)).code == ErrorCode::kStaleEpoch);
    CHECK(t.find(1)->last_seq() == 0);
  }
  SECTION("a new epoch starts the count again") {
    REQUIRE(t.execute(set_op("a", 1, 4)).ok);
    REQUIRE(t.execute(set_op("b", 2, 4)).ok);
    REQUIRE(t.assign({shard_info(1, "", "m", 5, {"w1"}), two_replicated(4)[1]}).ok());
    CHECK(t.find(1)->last_seq() == 0);
    CHECK(t.execute(set_op("c", 3, 5)).code == ErrorCode::kReplicaGap);
    CHECK(t.execute(set_op("c", 1, 5)).ok);
    // The same epoch with other replicas: the count goes on.
    REQUIRE(t.assign({shard_info(1, "", "m", 5, {"w1", "w4"}), two_replicated(4)[1]}).ok());
    CHECK(t.find(1)->last_seq() == 1);
  }
  SECTION("writes without seq are not checked and take no seq, reads are never checked") {
    REQUIRE(t.execute(set_op("a", 1, 4)).ok);
    CHECK(t.execute(set_op("b", std::nullopt, 4)).ok);
    CHECK(t.execute(write_op("del", 1, 4, "a", std::nullopt)).n == 1);
    CHECK(t.execute(write_op("get", 1, 4, "b", 9)).value == "v-b");
    CHECK(t.find(1)->last_seq() == 1);
    CHECK(t.execute(set_op("c", 2, 4)).ok);
  }
}

TEST_CASE("seq: a restarted worker expects 1 again") {
  TempDir dir;
  {
    Node n(dir.path());
    REQUIRE(n.open().ok());
    REQUIRE(n.table.assign(two_replicated()).ok());
    REQUIRE(n.table.execute(set_op("a", 1)).ok);
    REQUIRE(n.table.execute(set_op("b", 2)).ok);
    REQUIRE(n.table.commit().ok());
  }
  Node n(dir.path());
  REQUIRE(n.open().ok());
  CHECK(n.table.find(1)->last_seq() == 0);
  CHECK(n.table.execute(set_op("c", 3)).code == ErrorCode::kReplicaGap);
  CHECK(n.table.execute(set_op("c", 1)).ok);
}

TEST_CASE("seq: a turn whose commit fails gives its seqs back") {
  TempDir dir;
  Node n(dir.path());
  REQUIRE(n.open().ok());
  REQUIRE(n.table.assign(two_replicated()).ok());
  REQUIRE(n.table.execute(set_op("a", 1)).ok);
  REQUIRE(n.table.commit().ok());
  uint64_t size = 0;
  REQUIRE(file_size(log_path(dir.path(), 1), size).ok());
  {
    FsizeLimit limit(size + 10);  // the next turn's records do not fit: the write fails
    REQUIRE(n.table.execute(set_op("b", 2)).ok);
    REQUIRE(n.table.execute(set_op("c", 3)).ok);
    Op split = write_op("split", 1, 1, "b", 4);
    split.shards = {shard_info(10, "", "", 2), shard_info(11, "", "", 2)};
    REQUIRE(n.table.execute(split).ok);
    REQUIRE(n.table.execute(write_op("set", 10, 2, "a", 1, "x")).ok);
    REQUIRE(n.table.has_uncommitted());
    REQUIRE_FALSE(n.table.commit().ok());
  }
  // Shard 1 is whole again, at the seq it had before the turn: the writes the broker saw fail
  // here are not skipped over by the next one.
  REQUIRE(n.table.find(1) != nullptr);
  CHECK(n.table.find(10) == nullptr);
  CHECK(n.table.find(1)->last_seq() == 1);
  CHECK_FALSE(has_key(n.table, 1, "b"));
  CHECK(n.table.execute(set_op("d", 5)).code == ErrorCode::kReplicaGap);
  CHECK(n.table.execute(set_op("b", 2)).ok);
  REQUIRE(n.table.commit().ok());
  CHECK_FALSE(n.table.has_uncommitted());
}
