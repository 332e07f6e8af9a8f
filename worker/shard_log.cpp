#include "shard_log.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/version.hpp"
#include "worker/data_sync.hpp"

namespace clossyne {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

Status write_all(int fd, std::string_view bytes, uint64_t offset) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(errno_text(errno));
    }
    if (n == 0) return Status::Error(errno_text(ENOSPC));
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

// A read-only mapping of a whole file, unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  ~Mapping() {
    if (data_) ::munmap(data_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  Status map(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error("cannot open " + path + ": " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return Status::Error("cannot stat " + path + ": " + errno_text(err));
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        size_ = 0;
        return Status::Error("cannot map " + path + ": " + errno_text(err));
      }
      data_ = p;
      ::madvise(data_, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
    return Status::Ok();
  }
  std::string_view bytes() const {
    return data_ ? std::string_view(static_cast<const char*>(data_), size_) : std::string_view();
  }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

std::string_view frame_problem(FrameCheck c) {
  switch (c) {
    case FrameCheck::kShort:
      return "record cut short";
    case FrameCheck::kBadHeader:
      return "bad record header checksum";
    case FrameCheck::kBadPayload:
      return "bad record checksum";
    case FrameCheck::kOk:
      break;
  }
  return "ok";
}

// Valid records that can be read one after another from `from`.
uint64_t count_valid_from(std::string_view bytes, std::size_t from) {
  uint64_t n = 0;
  std::size_t total = 0;
  while (from < bytes.size() && check_frame(bytes.substr(from), &total) == FrameCheck::kOk) {
    ++n;
    from += total;
  }
  return n;
}

// The first offset after `bad` where a complete, valid record starts, or 0 when there is none.
// Any such record means the damage is not a torn tail. The header check makes a false match at a
// random offset a 1 in 2^32 event, and most offsets are rejected after hashing 4 bytes.
std::size_t find_valid_after(std::string_view bytes, std::size_t bad) {
  for (std::size_t p = bad + 1; p + kRecordHeaderBytes <= bytes.size(); ++p) {
    if (check_frame(bytes.substr(p), nullptr) == FrameCheck::kOk) return p;
  }
  return 0;
}

}  // namespace

LogWriter::~LogWriter() {
  close();
}

LogWriter::LogWriter(LogWriter&& other) noexcept {
  *this = std::move(other);
}

LogWriter& LogWriter::operator=(LogWriter&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    pending_ = std::move(other.pending_);
    size_ = other.size_;
    unsynced_ = other.unsynced_;
    sync_error_ = std::move(other.sync_error_);
    needs_truncate_ = other.needs_truncate_;
  }
  return *this;
}

void LogWriter::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status LogWriter::create(const std::string& path, LogWriter& out) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Error(errno_text(errno));
  LogWriter w;
  w.fd_ = fd;
  w.path_ = path;
  if (Status st = write_all(fd, kLogMagic, 0); !st.ok()) return st;
  if (::fdatasync(fd) != 0) return Status::Error(errno_text(errno));
  w.size_ = kMagicBytes;
  out = std::move(w);
  return Status::Ok();
}

Status LogWriter::open(const std::string& path, uint64_t size, LogWriter& out) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(errno_text(errno));
  LogWriter w;
  w.fd_ = fd;
  w.path_ = path;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return Status::Error(errno_text(errno));
  w.size_ = size;
  w.unsynced_ = true;  // the truncation itself is not durable yet
  out = std::move(w);
  return Status::Ok();
}

Status LogWriter::commit(bool sync_after) {
  if (fd_ < 0) {
    pending_.clear();
    return Status::Error("log is closed");
  }
  if (sync_failed()) {
    pending_.clear();
    return Status::Error(sync_error_);
  }
  if (needs_truncate_) {
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      pending_.clear();
      return Status::Error(errno_text(errno));
    }
    needs_truncate_ = false;
  }
  if (pending_.empty()) return sync_after ? sync() : Status::Ok();

  Status st = write_all(fd_, pending_, size_);
  if (st.ok() && sync_after && data_sync(fd_, SyncTarget::kLog) != 0) {
    sync_error_ = errno_text(errno);
    st = Status::Error(sync_error_);
  }
  const uint64_t written = pending_.size();
  pending_.clear();
  if (!st.ok()) {
    // Whatever reached the file is cut off, so the next record follows the last good one (after
    // a failed write), and a restarted process does not replay records that were refused (after
    // a failed sync).
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) needs_truncate_ = true;
    return st;
  }
  size_ += written;
  unsynced_ = !sync_after;
  return Status::Ok();
}

Status LogWriter::sync() {
  if (fd_ < 0) return Status::Error("log is closed");
  if (sync_failed()) return Status::Error(sync_error_);
  if (!unsynced_) return Status::Ok();
  if (data_sync(fd_, SyncTarget::kLog) != 0) {
    sync_error_ = errno_text(errno);
    return Status::Error(sync_error_);
  }
  unsynced_ = false;
  return Status::Ok();
}

std::string_view outcome_name(ScanResult::Outcome outcome) {
  switch (outcome) {
    case ScanResult::Outcome::kClean:
      return "clean";
    case ScanResult::Outcome::kTornTail:
      return "torn tail";
    case ScanResult::Outcome::kCorrupt:
      return "corrupt";
  }
  return "?";
}

namespace {

// A file whose format version this build does not read (written by a newer build, most likely).
Status check_format_version(const std::string& path, ScanResult::Kind kind, uint8_t found) {
  if (found >= kMinFormatVersion && found <= kFormatVersion) return Status::Ok();
  const std::string what = kind == ScanResult::Kind::kLog ? "log" : "snapshot";
  std::string reads = std::to_string(kMinFormatVersion);
  if (kFormatVersion != kMinFormatVersion) reads += " to " + std::to_string(kFormatVersion);
  std::string msg = path + ": " + what + " format version " + std::to_string(found) +
                    ", but this build (clossyne " + std::string(version()) + ") reads " + what +
                    " format version " + reads + " only";
  if (found > kFormatVersion) msg += ": a newer Clossyne wrote it; run that build or a newer one";
  return Status::Error(msg);
}

}  // namespace

Status scan_file(const std::string& path, const RecordVisitor& visit, ScanResult& out) {
  out = ScanResult{};
  Mapping map;
  if (Status st = map.map(path); !st.ok()) return st;
  const std::string_view bytes = map.bytes();
  out.file_size = bytes.size();

  if (bytes.size() < kMagicBytes) {
    if (kLogMagic.substr(0, bytes.size()) == bytes) {
      out.kind = ScanResult::Kind::kLog;
    } else if (kSnapshotMagic.substr(0, bytes.size()) == bytes) {
      out.kind = ScanResult::Kind::kSnapshot;
    } else {
      return Status::Error(path + " is not a Clossyne log or snapshot (bad magic)");
    }
    out.outcome = ScanResult::Outcome::kTornTail;
    out.why = "file shorter than its header";
    return Status::Ok();
  }
  const std::string_view magic = bytes.substr(0, kMagicBytes);
  const std::string_view name = magic.substr(0, kMagicBytes - 1);
  if (name == kLogMagic.substr(0, kMagicBytes - 1)) {
    out.kind = ScanResult::Kind::kLog;
  } else if (name == kSnapshotMagic.substr(0, kMagicBytes - 1)) {
    out.kind = ScanResult::Kind::kSnapshot;
  } else {
    return Status::Error(path + " is not a Clossyne log or snapshot (bad magic)");
  }
  out.version = static_cast<uint8_t>(magic.back());
  if (Status st = check_format_version(path, out.kind, out.version); !st.ok()) return st;

  std::size_t off = kMagicBytes;
  out.good_end = off;
  while (off < bytes.size()) {
    std::size_t total = 0;
    const FrameCheck check = check_frame(bytes.substr(off), &total);
    std::string why;
    RecordView rec;
    if (check != FrameCheck::kOk) {
      why = frame_problem(check);
    } else if (Status st = decode_record(bytes.substr(off, total), rec); !st.ok()) {
      why = st.message();
    } else if (out.has_end) {
      why = "record after the end record";
    }
    if (!why.empty()) {
      out.bad_offset = off;
      out.why = std::move(why);
      if (const std::size_t next = find_valid_after(bytes, off); next != 0) {
        out.outcome = ScanResult::Outcome::kCorrupt;
        out.records_after = count_valid_from(bytes, next);
      } else if (check == FrameCheck::kOk) {
        out.outcome = ScanResult::Outcome::kCorrupt;  // a sound frame that makes no sense
      } else {
        out.outcome = ScanResult::Outcome::kTornTail;
      }
      return Status::Ok();
    }
    if (rec.type == RecordType::kEnd) {
      out.has_end = true;
      out.end_count = rec.count;
    }
    if (visit) {
      if (Status st = visit(rec, off); !st.ok()) return st;
    }
    ++out.records;
    off += total;
    out.good_end = off;
  }
  return Status::Ok();
}

}  // namespace clossyne
