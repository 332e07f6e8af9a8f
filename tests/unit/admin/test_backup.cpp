// Logical backups (admin/backup.cpp) without a broker: the files round-trip binary pairs, a
// damaged or half-written backup is refused, and paging reads every key exactly once.
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "admin/backup.hpp"

using namespace clossyne;
using namespace clossyne::admin;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("clossyne-backup-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

const std::vector<KV> kPairs = {{"", "empty key"},
                                {"a", ""},
                                {"b\r\n", std::string("v\r\n\0x", 5)},
                                {std::string("c\0d", 3), std::string(70000, '\xff')}};

void write_backup(const fs::path& dir, const std::vector<KV>& pairs) {
  BackupWriter w;
  REQUIRE(w.open(dir).ok());
  for (const auto& [k, v] : pairs) REQUIRE(w.add(k, v).ok());
  REQUIRE(w.commit({{"cluster", "c1"}}).ok());
}

std::vector<KV> read_all(const fs::path& dir) {
  BackupReader r;
  Status st = r.open(dir);
  INFO(st.message());
  REQUIRE(st.ok());
  std::vector<KV> out;
  for (;;) {
    std::optional<KV> kv;
    REQUIRE(r.next(kv).ok());
    if (!kv) break;
    out.push_back(*kv);
  }
  return out;
}

}  // namespace

TEST_CASE("backup files round-trip binary pairs in order, with a manifest") {
  TempDir d;
  write_backup(d.path, kPairs);
  CHECK(read_all(d.path) == kPairs);
  BackupReader r;
  REQUIRE(r.open(d.path).ok());
  CHECK(r.manifest()["keys"] == 4);
  CHECK(r.manifest()["cluster"] == "c1");
  CHECK(r.manifest()["format"] == kBackupFormat);
  CHECK(r.manifest()["checksum"].get<std::string>().rfind("xxh3-64:", 0) == 0);
  CHECK_FALSE(fs::exists(d.path / (std::string(kBackupData) + ".partial")));
}

TEST_CASE("a directory holding a backup is refused, an unfinished backup leaves nothing") {
  TempDir d;
  write_backup(d.path, kPairs);
  BackupWriter again;
  Status st = again.open(d.path);
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("already holds a backup") != std::string::npos);

  TempDir half;
  {
    BackupWriter w;
    REQUIRE(w.open(half.path).ok());
    REQUIRE(w.add("k", "v").ok());
  }  // never committed
  CHECK(fs::is_empty(half.path));
  BackupReader r;
  Status refused = r.open(half.path);
  CHECK_FALSE(refused.ok());
  CHECK(refused.message().find("did not finish") != std::string::npos);
}

TEST_CASE("a damaged data file or manifest is refused before any pair is read") {
  TempDir d;
  write_backup(d.path, kPairs);
  const fs::path data = d.path / kBackupData;
  SECTION("a flipped byte") {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x5a');
  }
  SECTION("a truncated file") {
    fs::resize_file(data, fs::file_size(data) - 1);
  }
  SECTION("a manifest of another format") {
    std::ofstream(d.path / kBackupManifest) << R"({"format": 99, "keys": 4})";
  }
  BackupReader r;
  Status st = r.open(d.path);
  CHECK_FALSE(st.ok());
  INFO(st.message());
  const bool said = st.message().find("damaged") != std::string::npos ||
                    st.message().find("format 99") != std::string::npos;
  CHECK(said);
}

TEST_CASE("paged copying reads every key once, in order, whatever the pages and bounds") {
  std::map<std::string, std::string> store;
  for (int i = 0; i < 57; ++i) store[fmt::format("k{}", 1000 + i)] = fmt::format("v{}", i);
  store[""] = "smallest";
  store[std::string("k1010\0", 6)] = "just after k1010";
  const uint64_t page = GENERATE(1u, 2u, 7u, 1000u);
  const std::vector<std::string> bounds =
      GENERATE(std::vector<std::string>{}, std::vector<std::string>{"k1010", "k1030", "k1030"},
               std::vector<std::string>{"a", "k1056", "zz"});
  INFO("page " << page << ", " << bounds.size() << " bounds");
  int reads = 0;
  PageReader read = [&](const std::string& from, const std::optional<std::string>& end,
                        uint64_t limit, std::vector<KV>& items) {
    ++reads;
    items.clear();
    for (auto it = store.lower_bound(from); it != store.end() && items.size() < limit; ++it) {
      if (end && it->first > *end) break;
      items.emplace_back(it->first, it->second);
    }
    return Status::Ok();
  };
  TempDir d;
  BackupWriter w;
  REQUIRE(w.open(d.path).ok());
  REQUIRE(copy_all(read, bounds, page, w).ok());
  REQUIRE(w.commit({}).ok());
  const std::vector<KV> want(store.begin(), store.end());
  CHECK(read_all(d.path) == want);
  CHECK(reads <= static_cast<int>(store.size() / page + bounds.size() + 2));
}

TEST_CASE("a failed page read fails the copy") {
  PageReader read = [](const std::string&, const std::optional<std::string>&, uint64_t,
                       std::vector<KV>&) {
    return Status::Error("ERR shard unavailable: shard 2 owner w2 is down");
  };
  TempDir d;
  BackupWriter w;
  REQUIRE(w.open(d.path).ok());
  Status st = copy_all(read, {}, 10, w);
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("shard unavailable") != std::string::npos);
}
