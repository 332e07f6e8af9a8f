// Commands that span shards (RENAME, RENAMENX, COPY, MSETNX, MSET over shards) in the broker's loop
// with fake workers: the broker holds every shard involved (ascending shard id) while it runs the
// steps (reads, then writes: the destination before the source goes), so other ops on those shards
// wait; nothing is written when a read fails; a worker that dies mid-way gives an error and the
// shards serve again; two commands taking the same shards in opposite key order both finish.
#include <catch2/catch.hpp>
#include <map>

#include "broker_harness.hpp"

using namespace clossyne;
using namespace clossyne::testing;

namespace {

// w1 holds shard `low_id` ["", "m") at epoch 3, w2 shard `high_id` ["m", +inf) at epoch 7.
struct TwoShards {
  explicit TwoShards(BrokerHarness& harness, uint32_t low_id = 1, uint32_t high_id = 2)
      : h(harness), w1(h.worker("w1")), w2(h.worker("w2")) {
    w1.register_with({shard(low_id, "", "m", 3)}, "c1");
    REQUIRE(h.expect_assign(w1));
    w2.register_with({shard(high_id, "m", std::nullopt, 7)}, "c1");
    REQUIRE(h.expect_assign(w2));
  }
  BrokerHarness& h;
  FakeWorker& w1;
  FakeWorker& w2;
};

Op two_keys(const std::string& name, const std::string& src, const std::string& dst) {
  Op o;
  o.op = name;
  o.keys = {src, dst};
  return o;
}

Op pairs_op(const std::string& name, std::vector<KV> pairs) {
  Op o;
  o.op = name;
  o.pairs = std::move(pairs);
  return o;
}

Reply value_reply(const Op& sub, std::optional<std::string> value, int64_t expiry) {
  Reply r;
  r.id = sub.id;
  r.has_value = true;
  r.value = std::move(value);
  r.n = expiry;
  return r;
}

Reply n_reply(const Op& sub, int64_t n) {
  Reply r;
  r.id = sub.id;
  r.n = n;
  return r;
}

bool is_sub(const Received& r, const std::string& name) {
  return r.in_batch && r.op.op == name;
}

// A tiny key-value store behind the fake workers: it answers every sub-op they got, in the order
// it reads them, and records "<worker> <op> <key>" for each.
struct Store {
  std::map<std::string, std::pair<std::string, int64_t>> kv;  // value, expiry
  std::vector<std::string> trace;

  // Answers what the workers got so far; returns how many sub-ops.
  int serve(BrokerHarness& h, const std::vector<FakeWorker*>& workers) {
    h.pump(2);
    int n = 0;
    for (FakeWorker* w : workers) {
      for (auto& r : w->log) {
        if (!r.in_batch || r.taken) continue;
        r.taken = true;
        ++n;
        w->send(answer(*w, r.op));
      }
    }
    return n;
  }

  Reply answer(const FakeWorker& w, const Op& o) {
    const std::string k = o.key.value_or(o.keys.empty() ? "" : o.keys[0]);
    trace.push_back(w.id() + " " + o.op + " " + k);
    Reply r;
    r.id = o.id;
    auto it = kv.find(k);
    if (o.op == "xget" || o.op == "get") {
      r.has_value = true;
      r.n = 0;
      if (it != kv.end()) {
        r.value = it->second.first;
        r.n = it->second.second;
      }
    } else if (o.op == "xset") {
      kv[k] = {o.value.value_or(""), std::stoll(o.args.at(0))};
    } else if (o.op == "set") {
      kv[k] = {o.value.value_or(""), 0};
    } else if (o.op == "del") {
      r.n = static_cast<int64_t>(kv.erase(k));
    } else if (o.op == "exists") {
      r.n = it != kv.end();
    }
    return r;
  }
};

}  // namespace

TEST_CASE(
    "spanning: RENAME across two shards reads the source, writes the destination, then deletes "
    "the source, holding both shards until done") {
  BrokerHarness h;
  TwoShards c(h);
  const uint64_t rename = h.send(two_keys("rename", "a", "z"));
  auto xget = h.expect_sub(c.w1, "xget");
  REQUIRE(xget);
  CHECK(xget->key == "a");
  CHECK(xget->shard == 1u);
  CHECK(xget->epoch == 3);
  // Ops on either shard wait for the RENAME.
  const uint64_t get_a = h.send(BrokerHarness::get_op("a"));
  const uint64_t get_z = h.send(BrokerHarness::get_op("z"));
  const uint64_t set_b = h.send(BrokerHarness::set_op("b", "1"));
  c.w1.send(value_reply(*xget, "v", 1234567));
  auto xset = h.expect_sub(c.w2, "xset");
  REQUIRE(xset);
  CHECK(xset->key == "z");
  CHECK(xset->value == "v");
  CHECK(xset->args == std::vector<std::string>{"1234567"});  // the TTL goes with the value
  CHECK(xset->epoch == 7);
  // The source is deleted only once the destination has it.
  CHECK(h.quiet(
      c.w1, [](const Received& r) { return is_sub(r, "del"); }, 100));
  c.w2.ok(*xset);
  auto del = h.expect_sub(c.w1, "del");
  REQUIRE(del);
  CHECK(del->key == "a");
  CHECK_FALSE(h.answered(get_a));
  CHECK_FALSE(h.answered(get_z));
  CHECK_FALSE(h.answered(set_b));
  CHECK(h.quiet(
      c.w1, [](const Received& r) { return is_sub(r, "get") || is_sub(r, "set"); }, 50));
  CHECK(h.quiet(
      c.w2, [](const Received& r) { return is_sub(r, "get"); }, 0));
  c.w1.send(n_reply(*del, 1));
  auto r = h.reply(rename);
  REQUIRE(r);
  INFO(r->error);
  CHECK(r->ok);
  CHECK_FALSE(r->n.has_value());
  // Now what waited goes on.
  c.w1.serve_from_now();
  c.w2.serve_from_now();
  for (uint64_t id : {get_a, get_z, set_b}) {
    auto got = h.reply(id);
    REQUIRE(got);
    CHECK(got->ok);
  }
}

TEST_CASE("spanning: RENAME, RENAMENX and COPY answers as Redis") {
  BrokerHarness h;
  TwoShards c(h);
  Store store;
  const std::vector<FakeWorker*> ws{&c.w1, &c.w2};
  auto call = [&](Op o) {
    const uint64_t id = h.send(std::move(o));
    for (int i = 0; i < 400 && !h.answered(id); ++i) store.serve(h, ws);
    auto r = h.reply(id, 0);
    REQUIRE(r);
    return *r;
  };
  Reply r = call(two_keys("rename", "a", "z"));
  CHECK(r.error == "ERR no such key");
  r = call(two_keys("renamenx", "a", "z"));
  CHECK(r.error == "ERR no such key");
  CHECK(call(two_keys("copy", "a", "z")).n == 0);
  store.kv["a"] = {"va", 99};
  store.kv["z"] = {"vz", 0};
  CHECK(call(two_keys("renamenx", "a", "z")).n == 0);
  CHECK(call(two_keys("copy", "a", "z")).n == 0);
  CHECK(store.kv["z"].first == "vz");
  Op replace = two_keys("copy", "a", "z");
  replace.args = {"replace"};
  CHECK(call(replace).n == 1);
  CHECK(store.kv["z"] == std::make_pair(std::string("va"), int64_t{99}));
  CHECK(store.kv.count("a") == 1);
  CHECK(call(two_keys("copy", "a", "a")).error ==
        "ERR source and destination objects are the same");
  CHECK(call(two_keys("rename", "a", "a")).ok);
  CHECK(call(two_keys("renamenx", "a", "a")).n == 0);
  store.kv.erase("z");
  CHECK(call(two_keys("renamenx", "a", "z")).n == 1);
  CHECK(store.kv.count("a") == 0);
  CHECK(store.kv["z"] == std::make_pair(std::string("va"), int64_t{99}));
  CHECK(call(two_keys("rename", "z", "b")).ok);  // onto the other shard again
  CHECK(store.kv["b"].first == "va");
  Op bad = two_keys("copy", "b", "c");
  bad.args = {"nope"};
  CHECK(call(bad).error == "ERR syntax error");
  Op one;
  one.op = "rename";
  one.keys = {"b"};
  CHECK(call(one).error == "ERR wrong number of arguments for 'rename' command");
}

TEST_CASE("spanning: MSETNX writes nothing when one key exists, every key when none does") {
  BrokerHarness h;
  TwoShards c(h);
  const uint64_t first = h.send(pairs_op("msetnx", {{"a", "1"}, {"z", "2"}}));
  auto ea = h.expect_sub(c.w1, "exists");
  auto ez = h.expect_sub(c.w2, "exists");
  REQUIRE(ea);
  REQUIRE(ez);
  CHECK(ea->key == "a");
  CHECK(ez->key == "z");
  c.w1.send(n_reply(*ea, 0));
  c.w2.send(n_reply(*ez, 1));  // z exists
  auto r = h.reply(first);
  REQUIRE(r);
  CHECK(r->n == 0);
  auto any_set = [](const Received& x) { return is_sub(x, "set") || is_sub(x, "xset"); };
  CHECK(h.quiet(c.w1, any_set, 100));
  CHECK(h.quiet(c.w2, any_set, 0));

  const uint64_t second = h.send(pairs_op("msetnx", {{"a", "1"}, {"z", "2"}}));
  ea = h.expect_sub(c.w1, "exists");
  ez = h.expect_sub(c.w2, "exists");
  REQUIRE(ea);
  REQUIRE(ez);
  c.w1.send(n_reply(*ea, 0));
  c.w2.send(n_reply(*ez, 0));
  auto sa = h.expect_sub(c.w1, "set");
  auto sz = h.expect_sub(c.w2, "set");
  REQUIRE(sa);
  REQUIRE(sz);
  CHECK(sa->value == "1");
  CHECK(sz->value == "2");
  c.w1.ok(*sa);
  h.pump(50);
  CHECK_FALSE(h.answered(second));
  c.w2.ok(*sz);
  r = h.reply(second);
  REQUIRE(r);
  CHECK(r->n == 1);
}

TEST_CASE("spanning: an MSET over two shards holds both until every key is written") {
  BrokerHarness h;
  TwoShards c(h);
  const uint64_t mset = h.send(pairs_op("mset", {{"a", "1"}, {"z", "2"}}));
  auto sa = h.expect_sub(c.w1, "set");
  auto sz = h.expect_sub(c.w2, "set");
  REQUIRE(sa);
  REQUIRE(sz);
  c.w1.ok(*sa);
  // A reader of both keys must not see a = 1 with the old z.
  const uint64_t get_a = h.send(BrokerHarness::get_op("a"));
  h.pump(100);
  CHECK_FALSE(h.answered(get_a));
  CHECK(h.quiet(
      c.w1, [](const Received& r) { return is_sub(r, "get"); }, 0));
  c.w2.ok(*sz);
  auto r = h.reply(mset);
  REQUIRE(r);
  CHECK(r->ok);
  auto get = h.expect_sub(c.w1, "get");
  REQUIRE(get);
  c.w1.send(c.w1.serve(*get));
  REQUIRE(h.reply(get_a));
}

TEST_CASE(
    "spanning: concurrent RENAMEs a to z and z to a, whose keys take the shards in opposite "
    "orders, all finish one after another") {
  BrokerHarness h;
  TwoShards c(h, 2, 1);  // "a" on shard 2, "z" on shard 1: the lock order is not the key order
  Store store;
  store.kv["a"] = {"v", 0};
  std::vector<uint64_t> ids;
  const int kRenames = 20;
  for (int i = 0; i < kRenames; ++i) {
    ids.push_back(h.send(i % 2 == 0 ? two_keys("rename", "a", "z") : two_keys("rename", "z", "a")));
  }
  // A plain op waits its turn too (between two RENAMEs: it reaches shard 2 before the second).
  const uint64_t get = h.send(BrokerHarness::get_op("a"));
  std::map<uint64_t, Reply> replies;
  const int64_t deadline = now_ms() + kWaitMs;
  while (replies.size() < ids.size() && now_ms() < deadline) {
    store.serve(h, {&c.w1, &c.w2});
    for (uint64_t id : ids) {
      if (!replies.count(id) && h.answered(id)) replies[id] = *h.reply(id, 0);
    }
  }
  REQUIRE(replies.size() == ids.size());
  for (auto& [id, r] : replies) {
    INFO(r.error);
    CHECK(r.ok);  // none found its source missing: none ran before the previous one finished
  }
  CHECK(store.kv.count("a") == 1);
  CHECK(store.kv.count("z") == 0);
  // Each RENAME's steps ran back to back, never interleaved with another's.
  std::erase_if(store.trace,
                [](const std::string& t) { return t.find(" get ") != std::string::npos; });
  REQUIRE(store.trace.size() == 3 * kRenames);
  for (int i = 0; i < kRenames; ++i) {
    const std::string src = i % 2 == 0 ? "a" : "z", dst = i % 2 == 0 ? "z" : "a";
    const std::string on_src = src == "a" ? "w1" : "w2", on_dst = dst == "a" ? "w1" : "w2";
    CHECK(store.trace[3 * i] == on_src + " xget " + src);
    CHECK(store.trace[3 * i + 1] == on_dst + " xset " + dst);
    CHECK(store.trace[3 * i + 2] == on_src + " del " + src);
  }
  for (int i = 0; i < 100 && !h.answered(get); ++i) store.serve(h, {&c.w1, &c.w2});
  auto g = h.reply(get, 0);
  REQUIRE(g);
  CHECK(g->ok);
}

TEST_CASE("spanning: a worker that dies in the middle of a RENAME fails it and frees the shards") {
  const int phase = GENERATE(0, 1, 2);  // w1 dies at the read, w2 at the write, w1 at the delete
  INFO("phase " << phase);
  broker::BrokerConfig cfg;
  cfg.liveness_ms = 600;
  BrokerHarness h(cfg);
  TwoShards c(h);
  FakeWorker& dying = phase == 1 ? c.w2 : c.w1;
  FakeWorker& living = phase == 1 ? c.w1 : c.w2;
  const uint64_t rename = h.send(two_keys("rename", "a", "z"));
  auto xget = h.expect_sub(c.w1, "xget");
  REQUIRE(xget);
  const uint64_t get_living = h.send(BrokerHarness::get_op(phase == 1 ? "a" : "z"));
  if (phase > 0) {
    c.w1.send(value_reply(*xget, "v", 0));
    auto xset = h.expect_sub(c.w2, "xset");
    REQUIRE(xset);
    if (phase > 1) {
      c.w2.ok(*xset);
      REQUIRE(h.expect_sub(c.w1, "del"));
    }
  }
  dying.heartbeats = false;  // and it answers nothing more
  auto r = h.reply(rename, kWaitMs);
  REQUIRE(r);
  INFO(r->error);
  CHECK_FALSE(r->ok);
  CHECK(r->code == ErrorCode::kUnavailable);
  if (phase == 0) {
    // Nothing was written: the failed read stopped it.
    CHECK(h.quiet(
        c.w2, [](const Received& x) { return is_sub(x, "xset"); }, 50));
  } else if (phase == 1) {
    CHECK(r->error.find("the source is unchanged") != std::string::npos);
    CHECK(h.quiet(
        c.w1, [](const Received& x) { return is_sub(x, "del"); }, 50));
  } else {
    CHECK(r->error.find("the source may still exist") != std::string::npos);
  }
  // The living worker's shard serves again: the op that waited, and new ones.
  living.serve_from_now();
  auto got = h.reply(get_living);
  REQUIRE(got);
  CHECK(got->ok);
  CHECK(h.get(phase == 1 ? "b" : "y").ok);
}

TEST_CASE("spanning: a shard held by a RENAME is not split until the RENAME is done") {
  BrokerHarness h;
  TwoShards c(h);
  const uint64_t rename = h.send(two_keys("rename", "a", "z"));
  auto xget = h.expect_sub(c.w1, "xget");
  REQUIRE(xget);
  Op split;
  split.op = "split";
  split.shard = 1;
  split.key = "c";
  Reply refused = h.call(split);
  CHECK(refused.error.find("busy") != std::string::npos);
  c.w1.send(value_reply(*xget, std::nullopt, 0));
  auto r = h.reply(rename);
  REQUIRE(r);
  CHECK(r->error == "ERR no such key");
  Reply accepted = h.call(split);
  INFO(accepted.error);
  CHECK(accepted.ok);
}

TEST_CASE("spanning: a RENAME waiting for a shard that splits takes the pieces and finishes") {
  BrokerHarness h;
  TwoShards c(h);
  // A split of shard 1 is under way: the RENAME waits for it.
  Op split_op;
  split_op.op = "split";
  split_op.shard = 1;
  split_op.key = "c";
  REQUIRE(h.call(split_op).ok);
  auto split = h.expect_sub(c.w1, "split");
  REQUIRE(split);
  REQUIRE(split->shards.size() == 2);
  const uint64_t rename = h.send(two_keys("rename", "d", "z"));
  h.pump(100);
  CHECK(h.quiet(
      c.w1, [](const Received& r) { return is_sub(r, "xget"); }, 0));
  CHECK_FALSE(h.answered(rename));
  // The split is done: "d" is now on the second piece.
  Reply done;
  done.id = split->id;
  ShardInfo left = split->shards[0], right = split->shards[1];
  left.hi = "c";
  right.lo = "c";
  right.hi = "m";
  done.shards = {left, right};
  c.w1.held.erase(1);
  c.w1.held[left.id] = left;
  c.w1.held[right.id] = right;
  c.w1.send(done);
  auto xget = h.expect_sub(c.w1, "xget");
  REQUIRE(xget);
  CHECK(xget->shard == right.id);
  c.w1.send(value_reply(*xget, "v", 0));
  auto xset = h.expect_sub(c.w2, "xset");
  REQUIRE(xset);
  c.w2.ok(*xset);
  auto del = h.expect_sub(c.w1, "del");
  REQUIRE(del);
  CHECK(del->shard == right.id);
  c.w1.send(n_reply(*del, 1));
  auto r = h.reply(rename);
  REQUIRE(r);
  INFO(r->error);
  CHECK(r->ok);
}

TEST_CASE("spanning: a RENAME on a replicated shard sends its writes to every member, in order") {
  broker::BrokerConfig cfg;
  cfg.min_workers = 2;
  cfg.replicas = 2;
  cfg.op_timeout_ms = 2000;
  cfg.balance.auto_balance = false;
  BrokerHarness h(cfg);
  FakeWorker& a = h.worker("w1");
  FakeWorker& b = h.worker("w2");
  a.register_with({}, "");
  b.register_with({}, "");
  REQUIRE(h.expect_assign(a));
  REQUIRE(h.expect_assign(b));
  REQUIRE(a.held.size() == 1);
  const ShardInfo s = a.held.begin()->second;
  REQUIRE(s.replicas.size() == 2);
  FakeWorker& primary = s.replicas[0] == "w1" ? a : b;
  FakeWorker& follower = s.replicas[0] == "w1" ? b : a;
  const uint64_t rename = h.send(two_keys("rename", "k", "k2"));
  auto xget = h.expect_sub(primary, "xget");
  REQUIRE(xget);
  CHECK_FALSE(xget->seq.has_value());  // a read: the primary alone
  const uint64_t get = h.send(BrokerHarness::get_op("k2"));
  primary.send(value_reply(*xget, "v", 77));
  auto px = h.expect_sub(primary, "xset");
  auto fx = h.expect_sub(follower, "xset");
  REQUIRE(px);
  REQUIRE(fx);
  CHECK(px->id == fx->id);
  CHECK(px->seq == std::optional<uint64_t>(1));
  CHECK(fx->seq == std::optional<uint64_t>(1));
  CHECK(fx->value == "v");
  CHECK(fx->args == std::vector<std::string>{"77"});
  primary.ok(*px);
  h.pump(100);  // the follower has not answered: the source is not deleted yet
  CHECK(h.quiet(
      primary, [](const Received& r) { return is_sub(r, "del"); }, 0));
  follower.ok(*fx);
  auto pd = h.expect_sub(primary, "del");
  auto fd = h.expect_sub(follower, "del");
  REQUIRE(pd);
  REQUIRE(fd);
  CHECK(pd->key == "k");
  CHECK(fd->seq == std::optional<uint64_t>(2));
  CHECK_FALSE(h.answered(get));
  primary.send(n_reply(*pd, 1));
  follower.send(n_reply(*fd, 1));
  auto r = h.reply(rename);
  REQUIRE(r);
  INFO(r->error);
  CHECK(r->ok);
  auto g = h.expect_sub(primary, "get");
  REQUIRE(g);
  primary.send(value_reply(*g, "v", 0));
  REQUIRE(h.reply(get));
}

TEST_CASE(
    "spanning: a RENAME whose replicated shard loses its primary at the delete finishes on the new "
    "primary") {
  broker::BrokerConfig cfg;
  cfg.min_workers = 2;
  cfg.replicas = 2;
  cfg.liveness_ms = 600;
  cfg.op_timeout_ms = 2000;
  cfg.balance.auto_balance = false;
  BrokerHarness h(cfg);
  FakeWorker& a = h.worker("w1");
  FakeWorker& b = h.worker("w2");
  a.register_with({}, "");
  b.register_with({}, "");
  REQUIRE(h.expect_assign(a));
  REQUIRE(h.expect_assign(b));
  const ShardInfo s = a.held.begin()->second;
  REQUIRE(s.replicas.size() == 2);
  FakeWorker& primary = s.replicas[0] == "w1" ? a : b;
  FakeWorker& follower = s.replicas[0] == "w1" ? b : a;
  follower.auto_serve = true;
  const uint64_t rename = h.send(two_keys("rename", "k", "k2"));
  auto xget = h.expect_sub(primary, "xget");
  REQUIRE(xget);
  primary.send(value_reply(*xget, "v", 0));
  auto xset = h.expect_sub(primary, "xset");
  REQUIRE(xset);
  primary.ok(*xset);
  REQUIRE(h.expect_sub(primary, "del"));
  primary.heartbeats = false;  // dies before it answers the delete
  auto r = h.reply(rename, kWaitMs);
  REQUIRE(r);
  INFO(r->error);
  CHECK(r->ok);
  // The follower, now the primary, got the delete twice: once as a follower, once again.
  const auto dels = std::count_if(follower.log.begin(), follower.log.end(),
                                  [](const Received& x) { return is_sub(x, "del"); });
  CHECK(dels == 2);
  auto assign = h.expect_assign(follower, 0);
  REQUIRE(assign);
  REQUIRE(assign->shards.size() == 1);
  CHECK(assign->shards[0].replicas == std::vector<std::string>{follower.id()});
}
