// Logical backups (clossyne-admin backup DIR / restore DIR, docs/OPERATIONS.md): every key/value
// read through the broker's client endpoint in key order, so a backup is portable across versions,
// hosts and cluster shapes. A backup directory holds two files:
// - data.msgpack: a msgpack stream of [key, value] arrays (bin, binary-safe), in key order;
// - manifest.json: format, versions, cluster id, start/end time, key and byte counts, and the data
//   file's size and XXH3-64 checksum. It is written last: without it there is no backup.
// Both are written under temporary names and renamed at the end, so a half-written backup is
// never mistaken for a whole one.
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/envelope.hpp"

struct XXH3_state_s;

namespace clossyne::admin {

class BrokerClient;

inline constexpr int kBackupFormat = 1;
inline constexpr const char* kBackupData = "data.msgpack";
inline constexpr const char* kBackupManifest = "manifest.json";

// Writes one backup into a directory.
class BackupWriter {
 public:
  BackupWriter();
  ~BackupWriter();  // removes the temporary files of a backup not committed
  BackupWriter(const BackupWriter&) = delete;
  BackupWriter& operator=(const BackupWriter&) = delete;

  // Creates `dir` if needed; refuses one that already holds a backup (either file).
  Status open(const std::filesystem::path& dir);
  Status add(const std::string& key, const std::string& value);
  // Flushes and fsyncs the data, renames it, then writes the manifest (`info` plus the counts and
  // checksum) the same way.
  Status commit(nlohmann::json info);
  uint64_t keys() const { return keys_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void abandon();
  std::filesystem::path dir_;
  std::FILE* file_ = nullptr;
  XXH3_state_s* hash_ = nullptr;
  uint64_t keys_ = 0, bytes_ = 0, file_bytes_ = 0;
  bool committed_ = false;
};

// Reads a backup back: open() checks the manifest and the whole data file's size and checksum
// before a single pair is handed out.
class BackupReader {
 public:
  BackupReader();
  ~BackupReader();
  BackupReader(const BackupReader&) = delete;
  BackupReader& operator=(const BackupReader&) = delete;

  Status open(const std::filesystem::path& dir);
  // The next pair in `out`, or nullopt at the end (after checking the count against the manifest).
  Status next(std::optional<KV>& out);
  const nlohmann::json& manifest() const { return manifest_; }

 private:
  struct Stream;
  Status open_checked(const std::filesystem::path& dir);
  Status next_checked(std::optional<KV>& out);
  std::filesystem::path dir_;
  nlohmann::json manifest_;
  std::unique_ptr<Stream> stream_;
  uint64_t read_ = 0;
};

// One page of a range read: up to `limit` pairs in [from, end] (end: none = +inf), in key order.
using PageReader =
    std::function<Status(const std::string& from, const std::optional<std::string>& end,
                         uint64_t limit, std::vector<KV>& items)>;

// Reads every pair with pages of at most `page_keys` into `writer`. `bounds` are hints (the
// shards' upper bounds, from status): a page never crosses one, so each touches one or two
// shards; any bounds give the same result.
Status copy_all(const PageReader& read, std::vector<std::string> bounds, uint64_t page_keys,
                BackupWriter& writer);

// The CLI's two commands, through the broker. `summary` is the line printed on success.
Status run_backup(BrokerClient& client, const std::filesystem::path& dir, uint64_t page_keys,
                  std::string& summary);
struct RestoreOptions {
  bool force = false;  // write into a cluster that holds keys
  std::size_t batch_keys = 1000;
  // Only the backup's keys in [from, before) (none: open): a range recreated empty after its
  // owner's disk was lost, say, without writing older values over the other ranges.
  std::optional<std::string> from, before;
};
Status run_restore(BrokerClient& client, const std::filesystem::path& dir,
                   const RestoreOptions& opts, std::string& summary);

}  // namespace clossyne::admin
