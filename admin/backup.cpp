#include "backup.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <msgpack.hpp>

#include "broker_client.hpp"
#include "common/protocol.hpp"
#include "common/version.hpp"

namespace clossyne::admin {
namespace fs = std::filesystem;
namespace op = proto::op;

namespace {

constexpr const char* kPartial = ".partial";
constexpr std::size_t kReadChunk = 1 << 20;

fs::path partial(const fs::path& p) {
  return p.string() + kPartial;
}

std::string hex64(uint64_t v) {
  return fmt::format("xxh3-64:{:016x}", v);
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status sys_error(const std::string& what, const fs::path& p) {
  return Status::Error(fmt::format("{} {}: {}", what, p.string(), std::strerror(errno)));
}

// fsync a file or a directory by path (rename durability needs the directory's too).
Status fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return sys_error("cannot open", p);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return sys_error("cannot fsync", p);
  return Status::Ok();
}

Status write_file(const fs::path& p, const std::string& text) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) return sys_error("cannot create", p);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                  std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  return ok ? Status::Ok() : sys_error("cannot write", p);
}

// The data file's size and XXH3-64, read through once.
Status hash_file(const fs::path& p, uint64_t& size, uint64_t& hash) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return sys_error("cannot open", p);
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  std::vector<char> buf(kReadChunk);
  size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    XXH3_64bits_update(st, buf.data(), got);
    size += got;
  }
  hash = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  if (in.bad()) return sys_error("cannot read", p);
  return Status::Ok();
}

}  // namespace

// ---- BackupWriter ------------------------------------------------------------------------------

BackupWriter::BackupWriter() : hash_(XXH3_createState()) {
  XXH3_64bits_reset(hash_);
}

BackupWriter::~BackupWriter() {
  if (!committed_) abandon();
  XXH3_freeState(hash_);
}

void BackupWriter::abandon() {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove(partial(dir_ / kBackupData), ec);
  fs::remove(partial(dir_ / kBackupManifest), ec);
}

Status BackupWriter::open(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error("cannot create " + dir.string() + ": " + ec.message());
  for (const char* name : {kBackupManifest, kBackupData}) {
    if (fs::exists(dir / name))
      return Status::Error(fmt::format(
          "{} already holds a backup ({} is there): choose a new directory", dir.string(), name));
  }
  dir_ = dir;
  const fs::path tmp = partial(dir / kBackupData);  // a leftover of a failed run is replaced
  file_ = std::fopen(tmp.c_str(), "wb");
  if (!file_) return sys_error("cannot create", tmp);
  return Status::Ok();
}

Status BackupWriter::add(const std::string& key, const std::string& value) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> p(buf);
  p.pack_array(2);
  p.pack_bin(static_cast<uint32_t>(key.size()));
  p.pack_bin_body(key.data(), static_cast<uint32_t>(key.size()));
  p.pack_bin(static_cast<uint32_t>(value.size()));
  p.pack_bin_body(value.data(), static_cast<uint32_t>(value.size()));
  if (std::fwrite(buf.data(), 1, buf.size(), file_) != buf.size())
    return sys_error("cannot write", partial(dir_ / kBackupData));
  XXH3_64bits_update(hash_, buf.data(), buf.size());
  file_bytes_ += buf.size();
  ++keys_;
  bytes_ += key.size() + value.size();
  return Status::Ok();
}

Status BackupWriter::commit(nlohmann::json info) {
  const fs::path data = dir_ / kBackupData;
  const bool flushed = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  if (!flushed) return sys_error("cannot write", partial(data));
  info["format"] = kBackupFormat;
  info["keys"] = keys_;
  info["bytes"] = bytes_;
  info["data_file"] = kBackupData;
  info["data_bytes"] = file_bytes_;
  info["checksum"] = hex64(XXH3_64bits_digest(hash_));
  std::error_code ec;
  fs::rename(partial(data), data, ec);
  if (ec) return Status::Error("cannot rename " + partial(data).string() + ": " + ec.message());
  const fs::path manifest = dir_ / kBackupManifest;
  if (Status st = write_file(partial(manifest), info.dump(2) + "\n"); !st.ok()) return st;
  fs::rename(partial(manifest), manifest, ec);
  if (ec) return Status::Error("cannot rename " + partial(manifest).string() + ": " + ec.message());
  committed_ = true;
  return fsync_path(dir_);
}

// ---- BackupReader ------------------------------------------------------------------------------

struct BackupReader::Stream {
  std::ifstream in;
  msgpack::unpacker unpacker;
};

BackupReader::BackupReader() = default;
BackupReader::~BackupReader() = default;

Status BackupReader::open(const fs::path& dir) {
  try {
    return open_checked(dir);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type
    return Status::Error((dir / kBackupManifest).string() + " is damaged: " + e.what());
  }
}

Status BackupReader::open_checked(const fs::path& dir) {
  dir_ = dir;
  const fs::path mpath = dir / kBackupManifest;
  std::ifstream m(mpath);
  if (!m)
    return Status::Error(fmt::format("{}: no {} (not a backup, or a backup that did not finish)",
                                     dir.string(), kBackupManifest));
  manifest_ = nlohmann::json::parse(m, nullptr, false);
  if (manifest_.is_discarded() || !manifest_.is_object())
    return Status::Error(mpath.string() + " is not valid JSON: the backup is damaged");
  const auto format = manifest_.value("format", 0);
  if (format != kBackupFormat)
    return Status::Error(
        fmt::format("{}: backup format {}, this clossyne-admin ({}) reads format {}",
                    mpath.string(), format, version(), kBackupFormat));
  for (const char* field : {"checksum", "data_bytes", "keys"}) {
    if (!manifest_.contains(field))
      return Status::Error(
          fmt::format("{}: no '{}': the backup is damaged", mpath.string(), field));
  }
  const fs::path data = dir / kBackupData;
  uint64_t size = 0, hash = 0;
  if (Status st = hash_file(data, size, hash); !st.ok()) return st;
  const auto want_size = manifest_["data_bytes"].get<uint64_t>();
  if (size != want_size)
    return Status::Error(
        fmt::format("{} is damaged: {} bytes, the manifest says {}: refusing to restore from it",
                    data.string(), size, want_size));
  const auto want_hash = manifest_["checksum"].get<std::string>();
  if (hex64(hash) != want_hash)
    return Status::Error(
        fmt::format("{} is damaged: checksum {}, the manifest says {}: refusing to restore from it",
                    data.string(), hex64(hash), want_hash));
  stream_ = std::make_unique<Stream>();
  stream_->in.open(data, std::ios::binary);
  if (!stream_->in) return sys_error("cannot open", data);
  return Status::Ok();
}

Status BackupReader::next(std::optional<KV>& out) {
  try {
    return next_checked(out);
  } catch (const msgpack::unpack_error& e) {  // cannot happen past the checksum, unless a bug
    return Status::Error((dir_ / kBackupData).string() + " is damaged: " + e.what());
  }
}

Status BackupReader::next_checked(std::optional<KV>& out) {
  out.reset();
  const fs::path data = dir_ / kBackupData;
  msgpack::object_handle oh;
  while (!stream_->unpacker.next(oh)) {
    if (!stream_->in) {
      if (stream_->unpacker.nonparsed_size() > 0)
        return Status::Error(data.string() + " ends in the middle of a pair: damaged");
      const auto want = manifest_["keys"].get<uint64_t>();
      if (read_ != want)
        return Status::Error(
            fmt::format("{} holds {} pairs, the manifest says {}", data.string(), read_, want));
      return Status::Ok();
    }
    stream_->unpacker.reserve_buffer(kReadChunk);
    stream_->in.read(stream_->unpacker.buffer(), static_cast<std::streamsize>(kReadChunk));
    stream_->unpacker.buffer_consumed(static_cast<std::size_t>(stream_->in.gcount()));
  }
  const msgpack::object& o = oh.get();
  auto bytes = [](const msgpack::object& x, std::string& s) {
    if (x.type == msgpack::type::BIN) {
      s.assign(x.via.bin.ptr, x.via.bin.size);
    } else if (x.type == msgpack::type::STR) {
      s.assign(x.via.str.ptr, x.via.str.size);
    } else {
      return false;
    }
    return true;
  };
  KV kv;
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 2 ||
      !bytes(o.via.array.ptr[0], kv.first) || !bytes(o.via.array.ptr[1], kv.second))
    return Status::Error(
        fmt::format("{}: item {} is not a [key, value] pair: damaged", data.string(), read_ + 1));
  ++read_;
  out = std::move(kv);
  return Status::Ok();
}

// ---- copying through the broker ----------------------------------------------------------------

Status copy_all(const PageReader& read, std::vector<std::string> bounds, uint64_t page_keys,
                BackupWriter& writer) {
  std::sort(bounds.begin(), bounds.end());
  std::string cursor;  // "" is the smallest key
  for (;;) {
    // The page ends at the first bound after the cursor (inclusive: the next page starts just
    // past it), or at +inf.
    auto b = std::upper_bound(bounds.begin(), bounds.end(), cursor);
    std::optional<std::string> end;
    if (b != bounds.end()) end = *b;
    std::vector<KV> items;
    if (Status st = read(cursor, end, page_keys, items); !st.ok()) return st;
    for (const auto& [k, v] : items) {
      if (Status st = writer.add(k, v); !st.ok()) return st;
    }
    if (items.size() >= page_keys) {
      cursor = items.back().first + '\0';  // the smallest key after the last one read
    } else if (end) {
      cursor = *end + '\0';
    } else {
      return Status::Ok();
    }
  }
}

namespace {

Status call_ok(BrokerClient& client, Op op, Reply& reply) {
  const std::string name = op.op;
  if (Status st = client.call(std::move(op), reply); !st.ok()) return st;
  if (!reply.ok) return Status::Error(name + ": " + reply.error);
  return Status::Ok();
}

}  // namespace

Status run_backup(BrokerClient& client, const fs::path& dir, uint64_t page_keys,
                  std::string& summary) {
  if (page_keys == 0) return Status::Error("--page-keys must be at least 1");
  Op st;
  st.op = std::string(op::kStatus);
  Reply status;
  if (Status s = call_ok(client, st, status); !s.ok()) return s;
  if (status.n && *status.n == 0) return Status::Error("cluster not ready: waiting for workers");
  std::vector<std::string> bounds;
  for (const auto& s : status.shards) {
    if (s.hi) bounds.push_back(*s.hi);
  }
  BackupWriter writer;
  if (Status s = writer.open(dir); !s.ok()) return s;
  nlohmann::json info;
  info["kind"] = "clossyne logical backup";
  info["clossyne"] = version_line("clossyne-admin");
  info["cluster"] =
      status.cluster.empty() ? nlohmann::json(nullptr) : nlohmann::json(status.cluster);
  info["started"] = utc_now();  // every write acknowledged before this is in the backup
  PageReader read = [&client](const std::string& from, const std::optional<std::string>& end,
                              uint64_t limit, std::vector<KV>& items) {
    Op rng;
    rng.op = std::string(op::kRng);
    rng.key = from;
    rng.end = end;
    rng.limit = limit;
    Reply r;
    if (Status s = call_ok(client, rng, r); !s.ok()) return s;
    items = r.items ? std::move(*r.items) : std::vector<KV>{};
    return Status::Ok();
  };
  if (Status s = copy_all(read, bounds, page_keys, writer); !s.ok())
    return Status::Error("backup failed, nothing kept: " + s.message());
  info["finished"] = utc_now();
  if (Status s = writer.commit(info); !s.ok()) return s;
  summary = fmt::format("backed up {} keys ({} bytes of keys and values) to {}", writer.keys(),
                        writer.bytes(), dir.string());
  return Status::Ok();
}

Status run_restore(BrokerClient& client, const fs::path& dir, const RestoreOptions& opts,
                   std::string& summary) {
  if (opts.batch_keys == 0) return Status::Error("--batch-keys must be at least 1");
  BackupReader reader;
  if (Status s = reader.open(dir); !s.ok()) return s;
  Op size;
  size.op = std::string(op::kDbsize);
  Reply r;
  if (Status s = call_ok(client, size, r); !s.ok()) return s;
  const int64_t present = r.n.value_or(0);
  if (present > 0 && !opts.force)
    return Status::Error(fmt::format(
        "the target cluster is not empty ({} keys): restore into an empty cluster, or add "
        "--force to write the backup's keys over it (keys not in the backup are kept)",
        present));
  constexpr std::size_t kBatchBytes = 4u << 20;  // envelopes stay small whatever the values
  uint64_t restored = 0, skipped = 0;
  Op mset;
  mset.op = std::string(op::kMset);
  std::size_t pending_bytes = 0;
  auto flush = [&]() -> Status {
    if (mset.pairs.empty()) return Status::Ok();
    Reply done;
    if (Status s = call_ok(client, mset, done); !s.ok())
      return Status::Error(fmt::format(
          "restore stopped after {} keys: {} (running it again with --force is safe: it writes the "
          "same values)",
          restored, s.message()));
    restored += mset.pairs.size();
    mset.pairs.clear();
    pending_bytes = 0;
    return Status::Ok();
  };
  for (;;) {
    std::optional<KV> kv;
    if (Status s = reader.next(kv); !s.ok()) return s;
    if (!kv) break;
    if ((opts.from && kv->first < *opts.from) || (opts.before && kv->first >= *opts.before)) {
      ++skipped;
      continue;
    }
    pending_bytes += kv->first.size() + kv->second.size();
    mset.pairs.push_back(std::move(*kv));
    if (mset.pairs.size() >= opts.batch_keys || pending_bytes >= kBatchBytes) {
      if (Status s = flush(); !s.ok()) return s;
    }
  }
  if (Status s = flush(); !s.ok()) return s;
  const auto& m = reader.manifest();
  const std::string cluster = m.contains("cluster") && m["cluster"].is_string()
                                  ? m["cluster"].get<std::string>()
                                  : "unknown";
  summary = fmt::format("restored {} keys from {} (backup of cluster {}, started {})", restored,
                        dir.string(), cluster, m.value("started", std::string("unknown")));
  if (skipped > 0)
    summary += fmt::format("; {} keys of the backup were outside the range asked for", skipped);
  return Status::Ok();
}

}  // namespace clossyne::admin
