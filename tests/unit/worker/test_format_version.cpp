// Format versions of the worker's files (docs/OPERATIONS.md, "Versions and upgrades"): the log and
// snapshot magics end in a format version byte and DATA_DIR/cluster.json has a "format" field. A
// build reads the versions it knows and refuses any other with a message that names the file, the
// version found and the versions it reads; recovery and --check-log pass that message on.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "common/version.hpp"
#include "shard_infos.hpp"
#include "temp_dir.hpp"
#include "worker/check_log.hpp"
#include "worker/cluster_state.hpp"
#include "worker/data_dir.hpp"
#include "worker/disk_storage.hpp"
#include "worker/log_record.hpp"
#include "worker/shard_log.hpp"
#include "worker/shard_table.hpp"

using namespace clossyne;
using clossyne::testing::make_shard_info;
using clossyne::testing::read_file;
using clossyne::testing::TempDir;
using clossyne::testing::write_file;

namespace {

// A log segment (as this build writes it) holding one shard and one key.
std::string make_log(const std::string& path) {
  LogWriter w;
  REQUIRE(LogWriter::create(path, w).ok());
  append_shard_record(w.pending(), make_shard_info(1, "", std::nullopt, 1, 42));
  append_set_record(w.pending(), 1, "k", "v");
  REQUIRE(w.commit(true).ok());
  w.close();
  return read_file(path);
}

std::string with_version(std::string bytes, uint8_t version) {
  bytes[kMagicBytes - 1] = static_cast<char>(version);
  return bytes;
}

Status recover_dir(const std::string& dir) {
  DiskOptions o;
  o.dir = dir;
  o.fsync = FsyncMode::kAlways;
  DiskStorage storage(o);
  ShardTable table("w1", &storage);
  return storage.recover(table);
}

}  // namespace

TEST_CASE("format version: this build writes and reads its own version") {
  TempDir dir;
  const std::string path = log_path(dir.path(), 1);
  const std::string bytes = make_log(path);
  CHECK(static_cast<uint8_t>(bytes[kMagicBytes - 1]) == kFormatVersion);
  CHECK(kMinFormatVersion <= kFormatVersion);
  ScanResult r;
  REQUIRE(scan_file(path, nullptr, r).ok());
  CHECK(r.kind == ScanResult::Kind::kLog);
  CHECK(r.records == 2);
  CHECK(recover_dir(dir.path()).ok());
}

TEST_CASE("format version: a log from a newer build is refused, naming file and versions") {
  TempDir dir;
  const std::string path = log_path(dir.path(), 1);
  const uint8_t newer = kFormatVersion + 1;
  write_file(path, with_version(make_log(path), newer));

  ScanResult r;
  const Status st = scan_file(path, nullptr, r);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains(path));
  CHECK_THAT(st.message(), Catch::Contains("log format version " + std::to_string(newer)));
  CHECK_THAT(st.message(),
             Catch::Contains("reads log format version " + std::to_string(kMinFormatVersion)));
  CHECK_THAT(st.message(), Catch::Contains("clossyne " + std::string(version())));
  CHECK_THAT(st.message(), Catch::Contains("newer Clossyne"));
  CHECK_THAT(st.message(), !Catch::Contains("bad magic"));

  SECTION("recovery refuses to start with the same message") {
    const Status rec = recover_dir(dir.path());
    REQUIRE_FALSE(rec.ok());
    CHECK(rec.message() == st.message());
    CHECK(read_file(path)[kMagicBytes - 1] == static_cast<char>(newer));  // left untouched
  }
  SECTION("--check-log reports it and exits 2, with or without --fix") {
    for (const bool fix : {false, true}) {
      std::ostringstream out;
      CHECK(check_log_file(path, fix, out) == 2);
      CHECK_THAT(out.str(), Catch::Contains(st.message()));
    }
    CHECK(read_file(path)[kMagicBytes - 1] == static_cast<char>(newer));
  }
}

TEST_CASE("format version: a snapshot from a newer build is refused") {
  TempDir dir;
  const std::string path = snapshot_path(dir.path(), 1);
  std::string bytes(kSnapshotMagic);
  append_shard_record(bytes, make_shard_info(1, "", std::nullopt, 1, 42));
  append_end_record(bytes, 1);
  write_file(path, bytes);
  ScanResult r;
  REQUIRE(scan_file(path, nullptr, r).ok());
  CHECK(r.kind == ScanResult::Kind::kSnapshot);

  write_file(path, with_version(bytes, 200));
  const Status st = scan_file(path, nullptr, r);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains(path));
  CHECK_THAT(st.message(), Catch::Contains("snapshot format version 200"));
  CHECK_THAT(st.message(), Catch::Contains("reads snapshot format version 1 to 3 only"));
}

TEST_CASE("format version: version 0 (never written) is refused, not called newer") {
  TempDir dir;
  const std::string path = log_path(dir.path(), 1);
  write_file(path, with_version(make_log(path), 0));
  ScanResult r;
  const Status st = scan_file(path, nullptr, r);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("log format version 0"));
  CHECK_THAT(st.message(), !Catch::Contains("newer"));
}

TEST_CASE("format version: a different magic is still 'bad magic'") {
  TempDir dir;
  const std::string path = dir / "junk";
  write_file(path, "NOTCLOSS and more bytes");
  ScanResult r;
  const Status st = scan_file(path, nullptr, r);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("bad magic"));
}

TEST_CASE("cluster.json: written with a format, read without one, refused when newer") {
  TempDir dir;
  const std::string path = dir / "cluster.json";
  ClusterState state;
  state.cluster = "c1";
  state.add_handoff(3, 7, "w2");
  REQUIRE(save_cluster_state(dir.path(), state).ok());
  CHECK_THAT(read_file(path),
             Catch::Contains("\"format\": " + std::to_string(kClusterStateFormat)));
  ClusterState back;
  REQUIRE(load_cluster_state(dir.path(), back).ok());
  CHECK(back == state);

  SECTION("a file from before the field (format 1) loads") {
    write_file(path,
               R"({"cluster": "old", "handoffs": [{"shard": 4, "epoch": 2, "owner": "w1"}]})");
    REQUIRE(load_cluster_state(dir.path(), back).ok());
    CHECK(back.cluster == "old");
    REQUIRE(back.handoff(4) != nullptr);
  }
  SECTION("a newer format is refused, naming the file and the formats") {
    write_file(path, R"({"format": 2, "cluster": "new", "handoffs": []})");
    const Status st = load_cluster_state(dir.path(), back);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains(path));
    CHECK_THAT(st.message(), Catch::Contains("format 2"));
    CHECK_THAT(st.message(), Catch::Contains("reads format 1 only"));
    CHECK_THAT(st.message(), Catch::Contains("newer Clossyne"));
  }
  SECTION("format 0 is refused too") {
    write_file(path, R"({"format": 0, "cluster": "x"})");
    const Status st = load_cluster_state(dir.path(), back);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("format 0"));
  }
  SECTION("a format that is not a number is damage") {
    write_file(path, R"({"format": "two", "cluster": "x"})");
    const Status st = load_cluster_state(dir.path(), back);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("is damaged"));
  }
}
