#include "disk_storage.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/clock.hpp"
#include "worker/log_record.hpp"
#include "worker/recovery.hpp"
#include "worker/shard_table.hpp"
#include "worker/snapshot.hpp"

namespace clossyne {
namespace {

constexpr int64_t kSyncEveryMs = 1000;
constexpr int64_t kReportEveryMs = 1000;
constexpr int64_t kCompactionRetryMs = 10000;

}  // namespace

DiskStorage::DiskStorage(DiskOptions options) : opts_(std::move(options)) {}

DiskStorage::~DiskStorage() {
  close();
}

Status DiskStorage::recover(ShardTable& table) {
  const std::string& dir = opts_.dir;
  if (Status st = ensure_dir(dir); !st.ok()) return st;
  if (Status st = lock_.acquire(dir); !st.ok()) return st;
  const int64_t start = now_ms();
  Recovered rec;
  if (Status st = recover_data_dir(dir, rec); !st.ok()) return st;
  gen_ = rec.log_gen;
  if (gen_ == 0) {
    gen_ = std::max<uint64_t>(rec.next_gen, rec.snapshot_gen);
    if (Status st = LogWriter::create(log_path(dir, gen_), log_); !st.ok())
      return Status::Error("cannot create " + log_path(dir, gen_) + ": " + st.message());
    if (Status st = sync_dir(dir); !st.ok()) return st;
  } else if (rec.log_version < kFormatVersion) {
    // An older build's segment says by its magic which records it holds: this build's go to a
    // new segment, so that no file claims a format older than what is in it.
    older_log_bytes_ = rec.log_size;
    gen_ = std::max(rec.next_gen, gen_ + 1);
    if (Status st = LogWriter::create(log_path(dir, gen_), log_); !st.ok())
      return Status::Error("cannot create " + log_path(dir, gen_) + ": " + st.message());
    if (Status st = sync_dir(dir); !st.ok()) return st;
    spdlog::info("{} has log format version {}: appending to a new segment (format {})",
                 log_path(dir, rec.log_gen), rec.log_version, kFormatVersion);
  } else if (Status st = LogWriter::open(log_path(dir, gen_), rec.log_size, log_); !st.ok()) {
    return Status::Error("cannot open " + log_path(dir, gen_) + " for writing: " + st.message());
  }
  older_log_bytes_ += rec.older_log_bytes;
  snapshot_bytes_ = rec.snapshot_bytes;
  uint64_t keys = 0;
  for (const auto& [id, shard] : rec.shards) keys += shard.tree().size();
  const std::size_t shards = rec.shards.size();
  table.restore(std::move(rec.shards));
  last_sync_ms_ = now_ms();
  spdlog::info(
      "data dir {}: recovered {} shard(s), {} key(s) from {} record(s) ({}{} log bytes) in {} ms; "
      "appending to {} (fsync {})",
      dir, shards, keys, rec.records,
      rec.snapshot_gen ? "snapshot " + std::to_string(rec.snapshot_gen) + " + " : std::string(),
      log_bytes(), now_ms() - start, log_.path(), fsync_mode_name(opts_.fsync));
  return Status::Ok();
}

void DiskStorage::record_set(uint32_t shard, std::string_view key, std::string_view value) {
  append_set_record(log_.pending(), shard, key, value);
}

void DiskStorage::record_del(uint32_t shard, std::string_view key) {
  append_del_record(log_.pending(), shard, key);
}

void DiskStorage::record_expire(uint32_t shard, std::string_view key, int64_t at) {
  append_expire_record(log_.pending(), shard, key, at);
}

void DiskStorage::record_shard(const ShardInfo& info) {
  append_shard_record(log_.pending(), info);
}

void DiskStorage::record_drop(uint32_t shard) {
  append_drop_record(log_.pending(), shard);
}

void DiskStorage::record_split(uint32_t shard, std::string_view key, const ShardInfo& left,
                               const ShardInfo& right) {
  append_split_record(log_.pending(), shard, key, left.id, left.epoch, right.id, right.epoch);
}

void DiskStorage::record_join(const ShardInfo& whole, const std::vector<uint32_t>& pieces) {
  append_join_record(log_.pending(), whole.id, whole.epoch, pieces);
}

Status DiskStorage::commit(bool force_sync) {
  const bool sync = force_sync || opts_.fsync == FsyncMode::kAlways;
  if (!failure_.empty()) {
    // Fail-stopped. A turn that wrote nothing depends on no sync (its reads stand).
    if (!log_.has_pending() && !force_sync) return Status::Ok();
    log_.discard();
    return Status::Error(failure_);
  }
  if (!log_.has_pending() && !sync) return Status::Ok();
  Status st = log_.commit(sync);
  if (st.ok()) {
    if (sync) last_sync_ms_ = now_ms();
    return st;
  }
  if (log_.sync_failed()) {
    fail_stop("fsync of " + log_.path() + " failed: " + st.message());
    return Status::Error(failure_);
  }
  report("cannot append to " + log_.path(), st);
  return st;
}

void DiskStorage::tick(int64_t now, const ShardTable& table) {
  if (!failure_.empty()) return;  // fail-stopped: the files are left as they are until restart
  if (child_ > 0) poll_child(now);
  if (opts_.fsync == FsyncMode::kEverySec && log_.unsynced() &&
      now - last_sync_ms_ >= kSyncEveryMs) {
    last_sync_ms_ = now;
    if (Status st = log_.sync(); !st.ok()) {
      fail_stop("periodic fsync of " + log_.path() + " failed: " + st.message());
      return;
    }
  }
  if (child_ <= 0 && now >= next_compaction_ms_ && !log_.has_pending() &&
      log_bytes() >= compact_threshold()) {
    if (opts_.background) {
      start_background_compaction(table, now);
    } else if (Status st = compact(table); !st.ok()) {
      if (failure_.empty()) report("compaction failed", st);
      next_compaction_ms_ = now + kCompactionRetryMs;
    }
  }
}

uint64_t DiskStorage::compact_threshold() const {
  return std::max(opts_.compact_min_bytes, 2 * snapshot_bytes_);
}

// Step 1: the current segment is made durable and closed, appends go to a new one from here, so
// the snapshot of this moment plus the new segment is the whole state.
Status DiskStorage::open_next_segment() {
  if (Status st = log_.sync(); !st.ok()) {
    if (log_.sync_failed()) fail_stop("fsync of " + log_.path() + " failed: " + st.message());
    return Status::Error("cannot fsync " + log_.path() + ": " + st.message());
  }
  const uint64_t next = gen_ + 1;
  LogWriter fresh;
  if (Status st = LogWriter::create(log_path(opts_.dir, next), fresh); !st.ok())
    return Status::Error("cannot create " + log_path(opts_.dir, next) + ": " + st.message());
  if (Status st = sync_dir(opts_.dir); !st.ok()) return st;
  older_log_bytes_ += log_.size();
  log_ = std::move(fresh);
  gen_ = next;
  last_sync_ms_ = now_ms();
  return Status::Ok();
}

// Step 3: the snapshot takes its place; only then do the files it replaces go.
Status DiskStorage::install_snapshot(uint64_t gen) {
  const std::string& dir = opts_.dir;
  if (Status st = rename_file(temp_snapshot_path(dir, gen), snapshot_path(dir, gen)); !st.ok())
    return st;
  if (Status st = sync_dir(dir); !st.ok()) return st;
  uint64_t bytes = 0;
  if (Status st = file_size(snapshot_path(dir, gen), bytes); !st.ok()) return st;
  snapshot_bytes_ = bytes;
  DirListing files;
  if (Status st = list_data_dir(dir, files); !st.ok()) return st;
  uint64_t removed_bytes = 0;
  for (const auto* group : {&files.logs, &files.snapshots}) {
    for (const auto& [g, path] : *group) {
      if (g >= gen) continue;
      uint64_t size = 0;
      if (file_size(path, size).ok()) removed_bytes += size;
      if (Status st = remove_file(path); !st.ok()) return st;
    }
  }
  // Every segment before log-<gen> is gone (or, should the removal not be durable yet, ignored by
  // recovery as older than the snapshot).
  older_log_bytes_ = 0;
  if (Status st = sync_dir(dir); !st.ok()) return st;
  spdlog::info("compaction done: {} ({} bytes) replaces {} bytes of older files",
               snapshot_path(dir, gen), bytes, removed_bytes);
  return Status::Ok();
}

Status DiskStorage::compact(const ShardTable& table, CompactStop stop) {
  if (!failure_.empty()) return Status::Error(failure_);
  if (log_.has_pending()) return Status::Error("compaction with uncommitted changes");
  if (Status st = open_next_segment(); !st.ok()) return st;
  if (stop == CompactStop::kAfterNewSegment) return Status::Ok();
  const uint64_t gen = gen_;
  if (Status st = write_snapshot(temp_snapshot_path(opts_.dir, gen), table, nullptr); !st.ok()) {
    (void)remove_file(temp_snapshot_path(opts_.dir, gen));
    return st;
  }
  if (stop == CompactStop::kAfterTempSnapshot) return Status::Ok();
  if (stop == CompactStop::kAfterRename) {
    if (Status st = rename_file(temp_snapshot_path(opts_.dir, gen), snapshot_path(opts_.dir, gen));
        !st.ok())
      return st;
    return sync_dir(opts_.dir);
  }
  return install_snapshot(gen);
}

void DiskStorage::start_background_compaction(const ShardTable& table, int64_t now) {
  spdlog::info("compaction: log is {} bytes (threshold {}); writing a snapshot in the background",
               log_bytes(), compact_threshold());
  if (Status st = open_next_segment(); !st.ok()) {
    if (failure_.empty()) report("compaction failed", st);
    next_compaction_ms_ = now + kCompactionRetryMs;
    return;
  }
  const uint64_t gen = gen_;
  const std::string tmp = temp_snapshot_path(opts_.dir, gen);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child: only reads its copy of the shards and writes one file. It dies with the worker
    // (so a restarted worker never races an orphan for the directory) and drops its copy of the
    // lock descriptor. It never returns into the loop: _exit skips destructors and atexit.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(3);
    ::close(lock_.fd());
    const Status st = write_snapshot(tmp, table, nullptr);
    if (!st.ok()) {
      std::fprintf(stderr, "compaction child: %s\n", st.message().c_str());
      std::fflush(stderr);
    }
    ::_exit(st.ok() ? 0 : 1);
  }
  if (pid < 0) {
    report("compaction failed", Status::Error(std::string("fork: ") + std::strerror(errno)));
    next_compaction_ms_ = now + kCompactionRetryMs;
    return;
  }
  child_ = pid;
  child_gen_ = gen;
  child_started_ms_ = now;
}

void DiskStorage::poll_child(int64_t now) {
  int status = 0;
  const pid_t r = ::waitpid(child_, &status, WNOHANG);
  if (r == 0) return;
  const pid_t pid = child_;
  child_ = -1;
  if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    (void)remove_file(temp_snapshot_path(opts_.dir, child_gen_));
    report("compaction failed", Status::Error("snapshot child " + std::to_string(pid) +
                                              " failed (status " + std::to_string(status) + ")"));
    next_compaction_ms_ = now + kCompactionRetryMs;
    return;
  }
  if (Status st = install_snapshot(child_gen_); !st.ok()) {
    report("compaction failed", st);
    next_compaction_ms_ = now + kCompactionRetryMs;
    return;
  }
  spdlog::info("compaction took {} ms", now - child_started_ms_);
}

void DiskStorage::abandon_child(const char* why) {
  if (child_ <= 0) return;
  ::kill(child_, SIGKILL);
  int status = 0;
  while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
  }
  (void)remove_file(temp_snapshot_path(opts_.dir, child_gen_));
  spdlog::info("compaction abandoned {}; the log keeps everything", why);
  child_ = -1;
}

void DiskStorage::close() {
  abandon_child("at shutdown");
  if (!log_.is_open()) return;
  log_.discard();  // never committed, so never acknowledged (the table has them undone or gone)
  if (failure_.empty()) {
    if (Status st = log_.sync(); !st.ok()) report("cannot fsync " + log_.path(), st);
  }
  log_.close();
}

// Once, at error level: from here on every write is refused, nothing is synced or compacted, and
// only a restart (recovering from what is on disk) takes writes again.
void DiskStorage::fail_stop(const std::string& failure) {
  if (!failure_.empty()) return;
  failure_ = failure + " (writes refused until restart)";
  refusal_ = "ERR persistence failure: " + failure_;
  spdlog::error(
      "persistence failure: {}. The kernel may have dropped log data it could not write, so a "
      "later fsync cannot be trusted: every write is refused from now on, reads continue, and "
      "writes resume only after a restart recovers from what is on disk (docs/DURABILITY.md)",
      failure);
  abandon_child("after the failed fsync");
}

// Error level, at most once a second, with how many were not logged in between.
void DiskStorage::report(const std::string& what, const Status& st) {
  const int64_t now = now_ms();
  if (now - last_report_ms_ < kReportEveryMs) {
    ++unreported_;
    return;
  }
  if (unreported_ > 0) {
    spdlog::error("persistence failure: {}: {} (and {} more since the last report)", what,
                  st.message(), unreported_);
  } else {
    spdlog::error("persistence failure: {}: {}", what, st.message());
  }
  last_report_ms_ = now;
  unreported_ = 0;
}

Status DiskStorage::load_cluster_state(ClusterState& out) {
  return clossyne::load_cluster_state(opts_.dir, out);
}

Status DiskStorage::save_cluster_state(const ClusterState& state) {
  return clossyne::save_cluster_state(opts_.dir, state);
}

}  // namespace clossyne
