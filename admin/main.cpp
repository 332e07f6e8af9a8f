// clossyne-admin: the operator CLI. Shows the cluster and steers it through the broker.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "backup.hpp"
#include "broker_client.hpp"
#include "common/clock.hpp"
#include "common/protocol.hpp"
#include "common/version.hpp"
#include "progress.hpp"
#include "status_view.hpp"
#include "status_watch.hpp"

using namespace clossyne;
namespace op = clossyne::proto::op;

namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "clossyne-admin: %s\n", msg.c_str());
  return 1;
}

// Polls status until `done` holds (or the wait runs out), showing each reply to `seen` (progress).
// Returns true when it held.
template <typename Pred>
bool wait_for(admin::BrokerClient& client, int wait_s, Pred done,
              const std::function<void(const Reply&)>& seen = nullptr) {
  int64_t deadline = now_ms() + wait_s * 1000;
  while (now_ms() < deadline) {
    Op st;
    st.op = std::string(op::kStatus);
    Reply r;
    if (!client.call(st, r).ok()) continue;
    if (seen) seen(r);
    if (done(r)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

const WorkerInfo* find_worker(const Reply& r, const std::string& id) {
  for (const auto& w : r.workers)
    if (w.id == id) return &w;
  return nullptr;
}
const ShardInfo* find_shard(const Reply& r, uint32_t id) {
  for (const auto& s : r.shards)
    if (s.id == id) return &s;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::string broker = "tcp://127.0.0.1:4298";
  int timeout_ms = 5000, wait_s = 60;
  bool json = false, no_wait = false;
  std::string worker, key;
  uint32_t shard = 0;
  CLI::App app{"clossyne-admin: show and steer a Clossyne cluster"};
  app.add_option("--broker", broker, "the broker's client endpoint")->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "wait this long for each reply")
      ->capture_default_str();
  app.add_option("--wait", wait_s, "seconds to wait for drain/split/merge/move to complete")
      ->capture_default_str();
  app.add_flag("--no-wait", no_wait, "return once the broker has started the change");
  std::string cluster_keys = clossyne::cluster_keys_from_env();
  app.add_option("--cluster-keys", cluster_keys,
                 "directory made by `keygen` (env CLOSSYNE_CLUSTER_KEYS): talk to the broker over "
                 "CurveZMQ with DIR/admin.key and DIR/broker.pub");
  std::string keys_out;
  std::vector<std::string> key_workers;
  auto* keygen = app.add_subcommand(
      "keygen",
      "make a cluster's CurveZMQ keys in a new directory (see docs/SECURITY.md); no broker needed");
  keygen
      ->add_option("--out", keys_out,
                   "directory to write (existing key files are never "
                   "overwritten)")
      ->required();
  keygen->add_option("--worker", key_workers,
                     "also make a key pair of its own for the worker with this id (repeatable); "
                     "the others share worker.key");
  bool keep_existing = false;
  keygen->add_flag("--keep-existing", keep_existing,
                   "when DIR already holds a whole cluster's keys, keep them and succeed (for "
                   "a compose service that makes the keys once)");
  app.require_subcommand(1);
  auto* status = app.add_subcommand("status", "workers and shards");
  status->add_flag("--json", json, "machine-readable output (see docs/ADMIN.md)");
  admin::WatchOptions watch;
  bool watching = false;
  status->add_flag("--watch", watching, "redraw every second until Ctrl-C");
  status->add_option("--count", watch.count, "with --watch: stop after N redraws");
  auto* drain = app.add_subcommand("drain", "move every shard off a worker; it takes no new ones");
  drain->add_option("worker", worker, "worker id")->required();
  auto* undrain = app.add_subcommand("undrain", "let a drained worker take shards again");
  undrain->add_option("worker", worker, "worker id")->required();
  auto* split = app.add_subcommand("split", "split a shard at KEY (default: its median key)");
  split->add_option("shard", shard, "shard id")->required();
  split->add_option("key", key, "split key");
  uint32_t other_shard = 0;
  auto* merge = app.add_subcommand(
      "merge", "join two adjacent shards into one (moving one to the other's owner first)");
  merge->add_option("shard", shard, "shard id")->required();
  merge->add_option("other", other_shard, "the adjacent shard's id")->required();
  auto* move = app.add_subcommand("move", "move a shard to a worker");
  move->add_option("shard", shard, "shard id")->required();
  move->add_option("worker", worker, "target worker id")->required();
  uint32_t lost_shard = 0;
  std::string lost_key;
  bool data_is_lost = false;
  auto* recreate = app.add_subcommand(
      "recreate",
      "DATA LOSS: replace an unavailable range (its owner lost its disk) by a new, empty shard");
  auto* recreate_shard = recreate->add_option("--shard", lost_shard,
                                              "the unavailable shard's id (as status shows it)");
  auto* recreate_key = recreate->add_option("--key", lost_key, "a key in the unavailable range");
  recreate_shard->excludes(recreate_key);
  recreate_key->excludes(recreate_shard);
  recreate->add_flag("--i-know-data-is-lost", data_is_lost,
                     "required: every key the range held is lost for good");
  auto* forget = app.add_subcommand(
      "forget", "remove a stopped worker that owns no shard for good (it leaves status)");
  forget->add_option("worker", worker, "worker id")->required();
  std::string dir;
  uint64_t page_keys = 1000;
  admin::RestoreOptions restore_opts;
  auto* backup = app.add_subcommand(
      "backup", "read every key and value, in key order, into a new backup directory DIR");
  backup->add_option("dir", dir, "backup directory (created if missing; not one holding a backup)")
      ->required();
  backup->add_option("--page-keys", page_keys, "keys per range read (memory use: one page)")
      ->capture_default_str();
  auto* restore = app.add_subcommand("restore", "write every pair of the backup in DIR back");
  restore->add_option("dir", dir, "backup directory")->required();
  restore->add_option("--batch-keys", restore_opts.batch_keys, "keys per MSET")
      ->capture_default_str();
  restore->add_option("--from", restore_opts.from,
                      "restore only keys >= KEY (with --before: one shard's range [lo, hi))");
  restore->add_option("--before", restore_opts.before, "restore only keys < KEY");
  restore->add_flag("--force", restore_opts.force,
                    "restore into a cluster that holds keys (the backup's keys are overwritten)");
  app.set_version_flag("--version", clossyne::version_line("clossyne-admin"));
  CLI11_PARSE(app, argc, argv);

  if (keygen->parsed()) {
    if (keep_existing && clossyne::cluster_keys_present(keys_out)) {
      std::printf("cluster keys already in %s: kept\n", keys_out.c_str());
      return 0;
    }
    if (Status st = clossyne::write_cluster_keys(keys_out, key_workers); !st.ok())
      return fail(st.message());
    std::printf("cluster keys written to %s (start every process with --cluster-keys %s)\n",
                keys_out.c_str(), keys_out.c_str());
    return 0;
  }
  std::optional<clossyne::CurveClientKeys> curve;
  if (!cluster_keys.empty()) {
    curve.emplace();
    if (Status st = clossyne::load_client_keys(cluster_keys, clossyne::BusRole::kAdmin, *curve);
        !st.ok())
      return fail("--cluster-keys: " + st.message());
  }
  admin::BrokerClient client(broker, std::chrono::milliseconds(timeout_ms),
                             curve ? &*curve : nullptr);
  Op req;
  Reply reply;
  if (status->parsed() && watching) {
    watch.json = json;
    watch.tty = ::isatty(STDOUT_FILENO) != 0;
    return admin::watch_status(client, watch, stdout);
  }
  if (status->parsed()) {
    req.op = std::string(op::kStatus);
    if (Status st = client.call(req, reply); !st.ok()) return fail(st.message());
    std::fputs((json ? admin::status_json(reply) : admin::status_table(reply)).c_str(), stdout);
    return 0;
  }
  if (backup->parsed() || restore->parsed()) {
    std::string summary;
    Status st = backup->parsed() ? admin::run_backup(client, dir, page_keys, summary)
                                 : admin::run_restore(client, dir, restore_opts, summary);
    if (!st.ok()) return fail(st.message());
    std::printf("%s\n", summary.c_str());
    return 0;
  }
  if (recreate->parsed()) {
    if (recreate_shard->count() == 0 && recreate_key->count() == 0)
      return fail("recreate: name the range with --shard ID or --key KEY");
    if (!data_is_lost)
      return fail(
          "recreate: refused. It replaces the range by a new EMPTY shard: every key the range "
          "held is lost for good. Only do this when the owner's disk is really gone; then run it "
          "again with --i-know-data-is-lost");
    req.op = std::string(op::kRecreate);
    if (recreate_shard->count() > 0) req.shard = lost_shard;
    if (recreate_key->count() > 0) req.key = lost_key;
    req.force = true;
    if (Status st = client.call(req, reply); !st.ok()) return fail(st.message());
    if (!reply.ok) return fail(reply.error);
    std::printf("%s\n", reply.value.value_or("ok").c_str());
    return 0;
  }
  if (drain->parsed() || undrain->parsed() || forget->parsed()) {
    req.op = std::string(drain->parsed()    ? op::kDrain
                         : forget->parsed() ? op::kForget
                                            : op::kUndrain);
    req.worker = worker;
  } else {
    req.op = std::string(split->parsed() ? op::kSplit : merge->parsed() ? op::kMerge : op::kMove);
    req.shard = shard;
    if (split->parsed() && !key.empty()) req.key = key;
    if (merge->parsed()) req.args = {std::to_string(other_shard)};
    if (move->parsed()) req.worker = worker;
  }
  if (Status st = client.call(req, reply); !st.ok()) return fail(st.message());
  if (!reply.ok) return fail(reply.error);
  std::printf("%s\n", reply.value.value_or("ok").c_str());
  if (no_wait || undrain->parsed() || forget->parsed()) return 0;
  bool ok = true;
  // Keys moved of the total on stderr: a bar on a terminal, plain lines otherwise.
  std::optional<admin::ChangeProgress> progress;
  if (drain->parsed() || move->parsed())
    progress.emplace(worker, move->parsed() ? std::optional<uint32_t>(shard) : std::nullopt, stderr,
                     ::isatty(STDERR_FILENO) != 0, now_ms());
  const auto seen = [&](const Reply& r) {
    if (progress) progress->seen(r, now_ms());
  };
  if (drain->parsed()) {
    ok = wait_for(
        client, wait_s,
        [&](const Reply& r) {
          const WorkerInfo* w = find_worker(r, worker);
          return w && w->shards == 0;
        },
        seen);
  } else if (split->parsed() || merge->parsed()) {  // the shard(s) give way to new ones
    ok = wait_for(client, wait_s, [&](const Reply& r) {
      return !find_shard(r, shard) && (split->parsed() || !find_shard(r, other_shard));
    });
  } else {
    bool abandoned = false;  // the broker gave the move up (a side died or restarted): say so now
    ok = wait_for(
        client, wait_s,
        [&](const Reply& r) {
          const ShardInfo* s = find_shard(r, shard);
          abandoned = s && !s->busy && s->owner != worker;
          return s && (s->owner == worker || abandoned);
        },
        seen);
    if (progress) progress->finish(ok && !abandoned, now_ms());
    if (ok && abandoned)
      return fail(
          "the move was abandoned (a worker died or restarted); the shard stays on its "
          "owner: see the broker's log, then try again");
  }
  if (progress && drain->parsed()) progress->finish(ok, now_ms());
  if (!ok) return fail("the change did not complete within " + std::to_string(wait_s) + " s");
  std::printf("done\n");
  return 0;
}
