#include "snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "worker/data_sync.hpp"
#include "worker/log_record.hpp"
#include "worker/shard_table.hpp"

namespace clossyne {
namespace {

constexpr std::size_t kFlushBytes = 1 << 20;

// Buffered sequential writes to one descriptor; remembers the first error.
class FileOut {
 public:
  explicit FileOut(int fd) : fd_(fd) { buf_.reserve(kFlushBytes + 4096); }
  std::string& buf() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= kFlushBytes) flush();
  }
  void flush() {
    std::string_view rest = buf_;
    while (err_ == 0 && !rest.empty()) {
      const ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err_ = n < 0 ? errno : ENOSPC;
        break;
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    buf_.clear();
  }
  int error() const { return err_; }
  uint64_t written() const { return written_; }

 private:
  int fd_;
  std::string buf_;
  int err_ = 0;
  uint64_t written_ = 0;
};

}  // namespace

Status write_snapshot(const std::string& path, const ShardTable& table, uint64_t* bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Error("cannot create " + path + ": " + std::strerror(errno));
  FileOut out(fd);
  out.buf().append(kSnapshotMagic);
  uint64_t records = 0;
  for (const auto& [id, shard] : table.shards()) {
    ShardInfo info = shard.info();
    info.keys = 0;
    append_shard_record(out.buf(), info);
    ++records;
    shard.tree().for_each([&, id = id](std::string_view key, std::string_view value) {
      append_set_record(out.buf(), id, key, value);
      ++records;
      out.maybe_flush();
      return out.error() == 0;
    });
    // TTLs after every set (a set record removes a key's TTL when replayed).
    shard.expiry().for_each([&, id = id](std::string_view key, int64_t at) {
      append_expire_record(out.buf(), id, key, at);
      ++records;
      out.maybe_flush();
    });
  }
  append_end_record(out.buf(), records);
  out.flush();
  int err = out.error();
  if (err == 0 && data_sync(fd, SyncTarget::kSnapshot) != 0) err = errno;
  ::close(fd);
  if (err != 0) return Status::Error("cannot write " + path + ": " + std::strerror(err));
  if (bytes) *bytes = out.written();
  return Status::Ok();
}

}  // namespace clossyne
