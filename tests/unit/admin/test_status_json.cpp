// The status JSON's additions for --http and the cluster page (common/status_json): the broker's
// rates and heartbeat ages, a shard's change with its progress, readiness; and that they travel in
// the status reply envelope (what clossyne-admin renders is what the broker's /status.json
// renders).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/status_json.hpp"

using namespace clossyne;

namespace {
Reply busy_status() {
  Reply r;
  r.n = 1;
  WorkerInfo w;
  w.id = "w1";
  w.alive = true;
  w.ops_per_sec = 1520;
  w.heartbeat_age_ms = 412;
  r.workers.push_back(w);
  ShardInfo moving;
  moving.id = 8;
  moving.owner = "w1";
  moving.keys = 5000;
  moving.busy = true;
  moving.change = "move";
  moving.copied = 2000;
  ShardInfo splitting = moving;
  splitting.id = 9;
  splitting.change = "split";
  splitting.copied = 0;
  ShardInfo idle = moving;
  idle.id = 10;
  idle.busy = false;
  idle.change.clear();
  idle.copied = 0;
  r.shards = {moving, splitting, idle};
  return r;
}
}  // namespace

TEST_CASE("status JSON has rates, heartbeat ages, changes with progress and readiness") {
  auto j = nlohmann::json::parse(status_json(busy_status()));
  CHECK(j["ready"] == true);
  CHECK(j["workers"][0]["ops_per_sec"] == 1520);
  CHECK(j["workers"][0]["heartbeat_age_ms"] == 412);
  CHECK(j["shards"][0]["change"] == nlohmann::json({{"kind", "move"}, {"copied", 2000}}));
  CHECK(j["shards"][1]["change"] == nlohmann::json({{"kind", "split"}}));
  CHECK(j["shards"][2]["change"].is_null());
  Reply not_ready;
  not_ready.n = 0;
  CHECK(nlohmann::json::parse(status_json(not_ready))["ready"] == false);
}

TEST_CASE("the status additions survive the envelope, so admin and /status.json agree") {
  const Reply sent = busy_status();
  Reply got;
  REQUIRE(decode(encode(sent), got).ok());
  CHECK(got.workers == sent.workers);
  CHECK(got.shards == sent.shards);
  CHECK(status_json(got) == status_json(sent));
}
