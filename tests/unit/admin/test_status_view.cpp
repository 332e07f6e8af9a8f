#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "admin/status_view.hpp"

using namespace clossyne;

namespace {
Reply sample() {
  Reply r;
  r.n = 1;
  WorkerInfo w;
  w.id = "w1";
  w.alive = true;
  w.keys = 10234;
  w.shards = 2;
  w.bytes = 4096;
  w.rss = 1 << 20;
  w.persistent = true;
  w.fsync = "everysec";
  r.workers.push_back(w);
  WorkerInfo mem;
  mem.id = "w2";
  r.workers.push_back(mem);
  ShardInfo a;
  a.id = 7;
  a.hi = std::string("m\x01", 2);
  a.owner = "w1";
  a.epoch = 3;
  a.keys = 2011;
  ShardInfo b = a;
  b.id = 8;
  b.lo = std::string(1, 'm');
  b.hi.reset();
  r.shards = {a, b};
  return r;
}
}  // namespace

TEST_CASE("status JSON has the documented shape, open ends as null, bytes escaped") {
  auto j = nlohmann::json::parse(admin::status_json(sample()));
  REQUIRE(j["workers"].size() == 2);
  CHECK(j["workers"][0]["id"] == "w1");
  CHECK(j["workers"][0]["alive"] == true);
  CHECK(j["workers"][0]["keys"] == 10234);
  CHECK(j["workers"][0]["shards"] == 2);
  CHECK(j["workers"][0]["bytes"] == 4096);
  CHECK(j["workers"][0]["rss"] == 1 << 20);
  CHECK(j["workers"][0]["persistent"] == true);
  CHECK(j["workers"][0]["fsync"] == "everysec");
  CHECK(j["workers"][1]["persistent"] == false);
  CHECK(j["workers"][1]["fsync"].is_null());
  REQUIRE(j["shards"].size() == 2);
  CHECK(j["shards"][0]["id"] == 7);
  CHECK(j["shards"][0]["lo"].is_null());
  CHECK(j["shards"][0]["hi"] == "m\\x01");
  CHECK(j["shards"][0]["owner"] == "w1");
  CHECK(j["shards"][0]["epoch"] == 3);
  CHECK(j["shards"][0]["keys"] == 2011);
  CHECK(j["shards"][0]["bytes"] == 0);
  CHECK(j["shards"][1]["lo"] == "m");
  CHECK(j["shards"][1]["hi"].is_null());
}

TEST_CASE("status table names every worker and shard") {
  std::string t = admin::status_table(sample());
  CHECK(t.find("w1") != std::string::npos);
  CHECK(t.find("-inf") != std::string::npos);
  CHECK(t.find("+inf") != std::string::npos);
  CHECK(t.find("10234") != std::string::npos);
}
