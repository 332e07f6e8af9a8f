#include "recovery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "worker/data_dir.hpp"
#include "worker/log_record.hpp"
#include "worker/shard_log.hpp"

namespace clossyne {
namespace {

std::string check_hint(const std::string& path) {
  std::string out = "inspect it with `clossyne-worker --check-log ";
  out += path;
  out +=
      "`; adding --fix truncates it at that offset, dropping what follows (see "
      "docs/DURABILITY.md)";
  return out;
}

std::string damage(const std::string& path, const ScanResult& r) {
  std::string out = "corrupt record in ";
  out += path;
  out += " at byte offset ";
  out += std::to_string(r.bad_offset);
  out += " (";
  out += r.why;
  if (r.records_after > 0) {
    out += "; ";
    out += std::to_string(r.records_after);
    out += " valid records follow it";
  }
  out += "): refusing to start; ";
  out += check_hint(path);
  return out;
}

// Applies records to the shards being rebuilt.
class Replayer {
 public:
  explicit Replayer(std::map<uint32_t, Shard>& shards) : shards_(shards) {}

  Status apply(const RecordView& r) {
    switch (r.type) {
      case RecordType::kShard:
        if (auto it = shards_.find(r.info.id); it != shards_.end()) {
          it->second.reassign(r.info);
        } else {
          shards_.emplace(r.info.id, Shard(r.info));
        }
        break;
      case RecordType::kDrop:
        shards_.erase(r.shard);
        break;
      case RecordType::kSet:
      case RecordType::kDel: {
        auto it = shards_.find(r.shard);
        if (it == shards_.end()) {
          ++orphans_;
          break;
        }
        const std::string value(r.value);
        it->second.restore(r.key, r.type == RecordType::kSet ? &value : nullptr);
        break;
      }
      case RecordType::kExpire: {
        auto it = shards_.find(r.shard);
        if (it == shards_.end()) {
          ++orphans_;
          break;
        }
        it->second.restore_expiry(r.key, r.at == 0 ? std::nullopt : std::optional<int64_t>(r.at));
        break;
      }
      case RecordType::kSplit: {
        auto it = shards_.find(r.shard);
        if (it == shards_.end()) {
          ++orphans_;
          break;
        }
        // The same cut as when it was made: same keys, same seed, so the same tree shapes.
        auto pieces = it->second.cut(r.key, r.left_id, r.left_epoch, r.right_id, r.right_epoch);
        shards_.erase(it);
        shards_.erase(r.left_id);
        shards_.erase(r.right_id);
        shards_.emplace(r.left_id, std::move(pieces.first));
        shards_.emplace(r.right_id, std::move(pieces.second));
        break;
      }
      case RecordType::kJoin: {
        std::vector<Shard> pieces;
        for (uint32_t id : r.pieces) {
          if (auto it = shards_.find(id); it != shards_.end()) {
            pieces.push_back(std::move(it->second));
            shards_.erase(it);
          }
        }
        if (pieces.empty()) {
          ++orphans_;
          break;
        }
        ShardInfo info = pieces.front().info();
        info.id = r.shard;
        info.epoch = r.left_epoch;
        info.hi = pieces.back().info().hi;
        Shard whole = std::move(pieces.front());
        for (std::size_t i = 1; i < pieces.size(); ++i) {
          ShardInfo span = info;
          span.hi = pieces[i].info().hi;
          whole = Shard::join(std::move(whole), std::move(pieces[i]), span);
        }
        whole.reassign(info);
        shards_.insert_or_assign(r.shard, std::move(whole));
        break;
      }
      case RecordType::kEnd:
        break;
    }
    return Status::Ok();
  }
  uint64_t orphans() const { return orphans_; }

 private:
  std::map<uint32_t, Shard>& shards_;
  uint64_t orphans_ = 0;
};

}  // namespace

Status recover_data_dir(const std::string& dir, Recovered& out) {
  out = Recovered{};
  DirListing files;
  if (Status st = list_data_dir(dir, files); !st.ok()) return st;
  bool dir_changed = false;
  for (const std::string& tmp : files.temps) {
    spdlog::info("removing unfinished snapshot {} (an interrupted compaction)", tmp);
    if (Status st = remove_file(tmp); !st.ok()) return st;
    dir_changed = true;
  }

  Replayer replay(out.shards);
  auto visit = [&](const RecordView& r, uint64_t) { return replay.apply(r); };

  if (!files.snapshots.empty()) {
    const auto& [gen, path] = *files.snapshots.rbegin();
    ScanResult r;
    if (Status st = scan_file(path, visit, r); !st.ok()) return st;
    if (r.kind != ScanResult::Kind::kSnapshot)
      return Status::Error(path + " is not a snapshot (it has a log's header)");
    if (r.outcome != ScanResult::Outcome::kClean) return Status::Error(damage(path, r));
    if (!r.has_end || r.end_count + 1 != r.records)
      return Status::Error("snapshot " + path +
                           " is incomplete (no valid end record): " + check_hint(path));
    out.snapshot_gen = gen;
    out.snapshot_bytes = r.file_size;
    out.records += r.records;
    out.next_gen = gen + 1;
  }

  std::vector<std::pair<uint64_t, std::string>> logs;
  std::vector<std::string> obsolete;
  for (const auto& [gen, path] : files.logs) {
    if (out.snapshot_gen != 0 && gen < out.snapshot_gen) {
      obsolete.push_back(path);
    } else {
      logs.emplace_back(gen, path);
    }
  }
  for (const auto& [gen, path] : files.snapshots) {
    if (gen < out.snapshot_gen) obsolete.push_back(path);
  }
  if (!logs.empty() && out.snapshot_gen != 0 && logs.front().first != out.snapshot_gen)
    return Status::Error("log segment " + log_path(dir, out.snapshot_gen) + " is missing (" +
                         snapshot_path(dir, out.snapshot_gen) + " needs it): refusing to start");
  for (std::size_t i = 1; i < logs.size(); ++i) {
    if (logs[i].first != logs[i - 1].first + 1)
      return Status::Error("log segment " + log_path(dir, logs[i - 1].first + 1) +
                           " is missing: refusing to start");
  }

  for (std::size_t i = 0; i < logs.size(); ++i) {
    const auto& [gen, path] = logs[i];
    const bool last = i + 1 == logs.size();
    ScanResult r;
    if (Status st = scan_file(path, visit, r); !st.ok()) return st;
    if (r.kind != ScanResult::Kind::kLog)
      return Status::Error(path + " is not a log (it has a snapshot's header)");
    out.records += r.records;
    out.next_gen = std::max(out.next_gen, gen + 1);
    uint64_t size = r.file_size;
    uint8_t version = r.version;
    if (r.outcome == ScanResult::Outcome::kCorrupt) return Status::Error(damage(path, r));
    if (r.outcome == ScanResult::Outcome::kTornTail) {
      if (!last)
        return Status::Error(damage(path, r) +
                             " (a torn record is only expected in the last "
                             "segment)");
      spdlog::warn(
          "{}: torn record at byte offset {} ({}): cutting off the last {} bytes (a write "
          "interrupted by a crash; it was never acknowledged)",
          path, r.bad_offset, r.why, r.file_size - r.good_end);
      size = r.good_end;
      if (size < kMagicBytes) {
        // Not even the header made it: start the segment afresh.
        LogWriter fresh;
        if (Status st = LogWriter::create(path, fresh); !st.ok())
          return Status::Error("cannot rewrite " + path + ": " + st.message());
        size = kMagicBytes;
        version = kFormatVersion;
      } else {
        LogWriter cut;
        if (Status st = LogWriter::open(path, size, cut); !st.ok())
          return Status::Error("cannot truncate " + path + ": " + st.message());
        if (Status st = cut.sync(); !st.ok())
          return Status::Error("cannot sync " + path + ": " + st.message());
      }
      dir_changed = true;
    }
    if (last) {
      out.log_gen = gen;
      out.log_size = size;
      out.log_version = version;
    } else {
      out.older_log_bytes += size;
    }
  }
  if (replay.orphans() > 0)
    spdlog::warn("{}: {} logged changes named shards that did not exist; they were skipped", dir,
                 replay.orphans());

  for (const std::string& path : obsolete) {
    spdlog::info("removing {} (superseded by {})", path, snapshot_path(dir, out.snapshot_gen));
    if (Status st = remove_file(path); !st.ok()) return st;
    dir_changed = true;
  }
  if (dir_changed) return sync_dir(dir);
  return Status::Ok();
}

}  // namespace clossyne
