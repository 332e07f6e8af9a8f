// The log's record framing, LogWriter and scan_file: round trips, torn tails cut at every byte,
// bad checksums at the tail and in the middle, and the --check-log tool.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "worker/check_log.hpp"
#include "worker/log_record.hpp"
#include "worker/shard_log.hpp"

using namespace clossyne;
using clossyne::testing::FsizeLimit;
using clossyne::testing::read_file;
using clossyne::testing::TempDir;
using clossyne::testing::write_file;

namespace {

std::string key_n(int i) {
  std::string k = "key";
  k += std::to_string(i);
  return k;
}

// Records as text, so whole sequences compare in one CHECK.
std::string show(const RecordView& r) {
  switch (r.type) {
    case RecordType::kSet:
      return "set " + std::to_string(r.shard) + " " + std::string(r.key) + "=" +
             std::string(r.value);
    case RecordType::kDel:
      return "del " + std::to_string(r.shard) + " " + std::string(r.key);
    case RecordType::kExpire:
      return "expire " + std::to_string(r.shard) + " " + std::string(r.key) + "@" +
             std::to_string(r.at);
    case RecordType::kShard:
      return "shard " + std::to_string(r.info.id) + " [" + r.info.lo + "," +
             (r.info.hi ? *r.info.hi : std::string("+inf")) + ") e" + std::to_string(r.info.epoch) +
             " s" + std::to_string(r.info.seed) + (r.info.importing ? " importing" : "");
    case RecordType::kDrop:
      return "drop " + std::to_string(r.shard);
    case RecordType::kEnd:
      return "end " + std::to_string(r.count);
    case RecordType::kSplit:
      return "split " + std::to_string(r.shard) + " at " + std::string(r.key) + " -> " +
             std::to_string(r.left_id) + "e" + std::to_string(r.left_epoch) + " " +
             std::to_string(r.right_id) + "e" + std::to_string(r.right_epoch);
    case RecordType::kJoin: {
      std::string out = "join " + std::to_string(r.shard) + "e" + std::to_string(r.left_epoch);
      for (uint32_t id : r.pieces) out += " " + std::to_string(id);
      return out;
    }
  }
  return "?";
}

std::vector<std::string> scan_all(const std::string& path, ScanResult& result) {
  std::vector<std::string> out;
  const Status st = scan_file(
      path,
      [&](const RecordView& r, uint64_t) {
        out.push_back(show(r));
        return Status::Ok();
      },
      result);
  REQUIRE(st.ok());
  return out;
}

// A log of `n` set records, one commit each; returns the offset where each record starts.
std::vector<uint64_t> write_log(const std::string& path, int n) {
  LogWriter w;
  REQUIRE(LogWriter::create(path, w).ok());
  std::vector<uint64_t> starts;
  for (int i = 0; i < n; ++i) {
    starts.push_back(w.size());
    append_set_record(w.pending(), 1, key_n(i), "value-" + std::to_string(i));
    REQUIRE(w.commit(false).ok());
  }
  return starts;
}

// Every record framed in `buf`, in order (views into `buf`); each frame must check out.
std::vector<RecordView> decode_all(std::string_view rest) {
  std::vector<RecordView> got;
  while (!rest.empty()) {
    std::size_t total = 0;
    REQUIRE(check_frame(rest, &total) == FrameCheck::kOk);
    RecordView r;
    REQUIRE(decode_record(rest.substr(0, total), r).ok());
    got.push_back(r);
    rest.remove_prefix(total);
  }
  return got;
}

}  // namespace

TEST_CASE("log record: every type round-trips through framing and decoding") {
  ShardInfo info;
  info.id = 7;
  info.lo = std::string("a\0b", 3);
  info.hi.emplace("m");
  info.epoch = 9;
  info.seed = 0xfeedfacecafebeefull;
  ShardInfo open = info;
  open.hi.reset();
  open.lo.clear();

  std::string buf;
  append_set_record(buf, 3, std::string("k\0ey", 4), std::string("v\xff", 2));
  append_set_record(buf, 3, "", "");
  append_del_record(buf, 4, "gone");
  append_shard_record(buf, info);
  append_shard_record(buf, open);
  append_drop_record(buf, 5);
  append_end_record(buf, 6);

  std::vector<RecordView> got = decode_all(buf);
  REQUIRE(got.size() == 7);
  CHECK(got[0].type == RecordType::kSet);
  CHECK_FALSE(got[3].info.importing);
  CHECK(got[0].shard == 3);
  CHECK(got[0].key == std::string_view("k\0ey", 4));
  CHECK(got[0].value == std::string_view("v\xff", 2));
  CHECK(got[1].key.empty());
  CHECK(got[1].value.empty());
  CHECK(show(got[2]) == "del 4 gone");
  CHECK(got[3].info == info);
  CHECK(got[4].info == open);
  CHECK(show(got[5]) == "drop 5");
  CHECK(show(got[6]) == "end 6");
}

TEST_CASE("log record: importing shards and splits round-trip") {
  ShardInfo info;
  info.id = 12;
  info.lo = "k";
  info.epoch = 4;
  info.seed = 77;
  info.importing = true;
  ShardInfo plain = info;
  plain.importing = false;

  std::string buf;
  append_shard_record(buf, info);
  append_shard_record(buf, plain);
  append_split_record(buf, 12, std::string("m\0n", 3), 20, 5, 21, 6);
  append_join_record(buf, 12, 4, {20, 21});
  std::string plain_only;
  append_shard_record(plain_only, plain);

  std::vector<RecordView> got = decode_all(buf);
  REQUIRE(got.size() == 4);
  CHECK(show(got[3]) == "join 12e4 20 21");
  CHECK(got[0].info == info);
  CHECK(got[1].info == plain);
  CHECK(show(got[0]) == "shard 12 [k,+inf) e4 s77 importing");
  CHECK(got[2].type == RecordType::kSplit);
  CHECK(got[2].shard == 12);
  CHECK(got[2].key == std::string_view("m\0n", 3));
  CHECK(show(got[2]).substr(show(got[2]).find(" -> ")) == " -> 20e5 21e6");
  // An ordinary shard's record has no flags byte: the same bytes as before flags existed.
  CHECK(buf.find(plain_only) != std::string::npos);
}

TEST_CASE("log record: damaged bytes are caught") {
  std::string buf;
  append_set_record(buf, 1, "key", "value");
  std::size_t total = 0;
  CHECK(check_frame(buf.substr(0, buf.size() - 1), &total) == FrameCheck::kShort);
  CHECK(check_frame(buf.substr(0, 5), &total) == FrameCheck::kShort);
  for (std::size_t i = 0; i < buf.size(); ++i) {
    std::string bad = buf;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    const FrameCheck c = check_frame(bad, &total);
    INFO("flipped byte " << i);
    CHECK(c != FrameCheck::kOk);
  }
}

TEST_CASE("log writer and scan: round trip") {
  TempDir dir;
  const std::string path = dir / "log-1.log";
  LogWriter w;
  REQUIRE(LogWriter::create(path, w).ok());
  append_set_record(w.pending(), 1, "a", "1");
  append_set_record(w.pending(), 2, "b", "2");
  REQUIRE(w.commit(true).ok());  // one write, one sync for both
  append_del_record(w.pending(), 1, "a");
  append_drop_record(w.pending(), 2);
  REQUIRE(w.commit(false).ok());
  CHECK(w.unsynced());
  REQUIRE(w.sync().ok());
  CHECK_FALSE(w.unsynced());
  const uint64_t size = w.size();
  w.close();

  ScanResult r;
  const auto recs = scan_all(path, r);
  CHECK(recs == std::vector<std::string>{"set 1 a=1", "set 2 b=2", "del 1 a", "drop 2"});
  CHECK(r.kind == ScanResult::Kind::kLog);
  CHECK(r.outcome == ScanResult::Outcome::kClean);
  CHECK(r.records == 4);
  CHECK(r.file_size == size);
  CHECK(r.good_end == size);

  // Reopened for appending, it continues where it ended.
  REQUIRE(LogWriter::open(path, size, w).ok());
  append_set_record(w.pending(), 1, "c", "3");
  REQUIRE(w.commit(true).ok());
  CHECK(scan_all(path, r).back() == "set 1 c=3");
}

TEST_CASE("scan: a log cut at every byte of its last record keeps all earlier records") {
  TempDir dir;
  const std::string path = dir / "log-1.log";
  const auto starts = write_log(path, 5);
  const std::string whole = read_file(path);
  const uint64_t last = starts.back();
  const std::string cut_path = dir / "cut.log";
  for (uint64_t cut = last; cut < whole.size(); ++cut) {
    write_file(cut_path, whole.substr(0, cut));
    ScanResult r;
    const auto recs = scan_all(cut_path, r);
    INFO("cut at " << cut);
    CHECK(recs.size() == 4);
    CHECK(r.good_end == last);
    CHECK(r.outcome ==
          (cut == last ? ScanResult::Outcome::kClean : ScanResult::Outcome::kTornTail));
    if (cut > last) CHECK(r.bad_offset == last);
  }
  // A file cut inside its magic is a torn tail at offset 0.
  for (uint64_t cut = 0; cut < kMagicBytes; ++cut) {
    write_file(cut_path, whole.substr(0, cut));
    ScanResult r;
    CHECK(scan_all(cut_path, r).empty());
    CHECK(r.outcome == ScanResult::Outcome::kTornTail);
    CHECK(r.good_end == 0);
  }
}

TEST_CASE("scan: a bad checksum at the tail is torn, in the middle it is corruption") {
  TempDir dir;
  const std::string path = dir / "log-1.log";
  const auto starts = write_log(path, 5);
  const std::string whole = read_file(path);

  SECTION("tail") {
    std::string bad = whole;
    bad[bad.size() - 2] ^= 0x01;  // the last record's value
    write_file(path, bad);
    ScanResult r;
    CHECK(scan_all(path, r).size() == 4);
    CHECK(r.outcome == ScanResult::Outcome::kTornTail);
    CHECK(r.bad_offset == starts[4]);
    CHECK(r.why == "bad record checksum");
  }
  SECTION("zeros at the tail (a file extended but never written) are torn too") {
    write_file(path, whole + std::string(100, '\0'));
    ScanResult r;
    CHECK(scan_all(path, r).size() == 5);
    CHECK(r.outcome == ScanResult::Outcome::kTornTail);
    CHECK(r.bad_offset == whole.size());
  }
  SECTION("middle: payload") {
    std::string bad = whole;
    bad[starts[2] + kRecordHeaderBytes + 2] ^= 0x01;
    write_file(path, bad);
    ScanResult r;
    CHECK(scan_all(path, r).size() == 2);
    CHECK(r.outcome == ScanResult::Outcome::kCorrupt);
    CHECK(r.bad_offset == starts[2]);
    CHECK(r.records_after == 2);
  }
  SECTION("middle: length") {
    std::string bad = whole;
    bad[starts[1]] ^= 0x10;  // a length that would swallow the records after it
    write_file(path, bad);
    ScanResult r;
    CHECK(scan_all(path, r).size() == 1);
    CHECK(r.outcome == ScanResult::Outcome::kCorrupt);
    CHECK(r.bad_offset == starts[1]);
    CHECK(r.why == "bad record header checksum");
    CHECK(r.records_after == 3);
  }
  SECTION("wrong magic is an error") {
    std::string bad = whole;
    bad[0] = 'X';
    write_file(path, bad);
    ScanResult r;
    const Status st = scan_file(path, nullptr, r);
    CHECK_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("bad magic"));
  }
}

TEST_CASE("check_log: reports the first bad offset and --fix truncates there") {
  TempDir dir;
  const std::string path = dir / "log-1.log";
  const auto starts = write_log(path, 6);
  std::string bad = read_file(path);
  bad[starts[3] + kRecordHeaderBytes + 1] ^= 0x01;
  write_file(path, bad);

  std::ostringstream report;
  CHECK(check_log_file(path, false, report) == 1);
  CHECK_THAT(report.str(), Catch::Contains("byte offset " + std::to_string(starts[3])));
  CHECK_THAT(report.str(), Catch::Contains("CORRUPT"));
  CHECK(read_file(path) == bad);  // untouched without --fix

  std::ostringstream fixed;
  CHECK(check_log_file(path, true, fixed) == 0);
  CHECK_THAT(fixed.str(), Catch::Contains("dropped " + std::to_string(bad.size() - starts[3])));
  CHECK_THAT(fixed.str(), Catch::Contains("2 valid record(s) after it"));
  ScanResult r;
  CHECK(scan_all(path, r).size() == 3);
  CHECK(r.outcome == ScanResult::Outcome::kClean);

  std::ostringstream clean;
  CHECK(check_log_file(path, false, clean) == 0);
  CHECK_THAT(clean.str(), Catch::Contains("OK"));

  std::ostringstream missing;
  CHECK(check_log_file(dir / "nope.log", false, missing) == 2);
}

TEST_CASE("log writer: a failed write leaves the file as it was, and later commits work") {
  TempDir dir;
  const std::string path = dir / "log-1.log";
  LogWriter w;
  REQUIRE(LogWriter::create(path, w).ok());
  append_set_record(w.pending(), 1, "a", "1");
  REQUIRE(w.commit(true).ok());
  const uint64_t size = w.size();
  {
    FsizeLimit limit(size + 20);  // room for part of the next commit only
    append_set_record(w.pending(), 1, "b", std::string(100, 'x'));
    const Status st = w.commit(true);
    CHECK_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("too large"));
    CHECK_FALSE(w.has_pending());
  }
  CHECK(w.size() == size);
  CHECK(read_file(path).size() == size);
  append_set_record(w.pending(), 1, "c", "3");
  REQUIRE(w.commit(true).ok());
  ScanResult r;
  CHECK(scan_all(path, r) == std::vector<std::string>{"set 1 a=1", "set 1 c=3"});
  CHECK(r.outcome == ScanResult::Outcome::kClean);
}
