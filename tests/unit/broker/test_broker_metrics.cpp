// BrokerMetrics: op names interned with a bound on their number, errors by code, the per-worker
// rate over full seconds, and the names of shard changes.
#include <catch2/catch.hpp>

#include "broker/metrics.hpp"

using namespace clossyne;
using namespace clossyne::broker;

TEST_CASE("op names are interned and counted, errors by code") {
  BrokerMetrics m;
  const uint16_t get = m.kind("get");
  CHECK(m.kind("set") != get);
  CHECK(m.kind("get") == get);
  m.op_done(get, ErrorCode::kNone, 100);
  m.op_done(get, ErrorCode::kUnavailable, 300);
  m.op_refused("set", ErrorCode::kNotReady);
  CHECK(m.ops()[get].done == 2);
  CHECK(m.ops()[get].errors.at(ErrorCode::kUnavailable) == 1);
  CHECK(m.ops()[m.kind("set")].errors.at(ErrorCode::kNotReady) == 1);
  CHECK(m.latency().count() == 2);  // refusals have no latency
}

TEST_CASE("past the bound, new op names share the label other") {
  BrokerMetrics m;
  for (std::size_t i = 0; i < BrokerMetrics::kMaxOpKinds + 10; ++i)
    m.kind("op" + std::to_string(i));
  CHECK(m.kinds().size() == BrokerMetrics::kMaxOpKinds + 1);
  CHECK(m.kinds().back() == "other");
  CHECK(m.kind("yet-another") == m.kind("other"));
}

TEST_CASE("a worker's rate is the mean of its last full seconds") {
  BrokerMetrics m;
  for (int s = 10; s < 13; ++s) {
    for (int i = 0; i < 30; ++i) m.part_answered("w1", s * 1000 + i);
  }
  for (int i = 0; i < 500; ++i) m.part_answered("w1", 13000 + i);  // the current second: not yet
  CHECK(m.ops_per_sec("w1", 13500) == 30);
  CHECK(m.ops_per_sec("w1", 20000) == 0);  // nothing lately
  CHECK(m.ops_per_sec("w2", 13500) == 0);
  CHECK(m.workers().at("w1").answered == 590);
}

TEST_CASE("shard changes are named as status shows them") {
  ShardEntry e;
  CHECK(change_name(e).empty());
  e.busy = ShardBusy::kSplitting;
  CHECK(change_name(e) == "split");
  e.busy = ShardBusy::kMoving;
  CHECK(change_name(e) == "move");
  e.move.join = true;
  CHECK(change_name(e) == "catch-up");
  e.busy = ShardBusy::kReconfiguring;
  CHECK(change_name(e) == "reconfigure");
  e.busy = ShardBusy::kMerging;
  CHECK(change_name(e) == "merge");
}
