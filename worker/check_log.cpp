#include "check_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "worker/log_record.hpp"
#include "worker/shard_log.hpp"

namespace clossyne {
namespace {

Status truncate_and_close(const std::string& path, uint64_t size, const std::string& tail) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(std::strerror(errno));
  Status st;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) st = Status::Error(std::strerror(errno));
  if (st.ok() && !tail.empty() &&
      ::pwrite(fd, tail.data(), tail.size(), static_cast<off_t>(size)) !=
          static_cast<ssize_t>(tail.size()))
    st = Status::Error(std::strerror(errno));
  if (st.ok() && ::fsync(fd) != 0) st = Status::Error(std::strerror(errno));
  ::close(fd);
  return st;
}

}  // namespace

int check_log_file(const std::string& path, bool fix, std::ostream& out) {
  ScanResult r;
  if (Status st = scan_file(path, nullptr, r); !st.ok()) {
    out << "error: " << st.message() << "\n";
    return 2;
  }
  const bool snapshot = r.kind == ScanResult::Kind::kSnapshot;
  out << path << ": Clossyne " << (snapshot ? "snapshot" : "log") << ", " << r.file_size
      << " bytes\n";
  out << "  " << r.records << " valid record(s), up to byte offset " << r.good_end << "\n";
  const bool missing_end = snapshot && !r.has_end;
  if (r.outcome == ScanResult::Outcome::kClean && !missing_end) {
    out << "  OK: no damage found\n";
    return 0;
  }
  if (r.outcome == ScanResult::Outcome::kTornTail) {
    out << "  first bad record at byte offset " << r.bad_offset << ": " << r.why << "\n"
        << "  torn tail: no valid record follows it (a write cut short by a crash; the worker "
           "cuts it off by itself at start-up)\n";
  } else if (r.outcome == ScanResult::Outcome::kCorrupt) {
    out << "  first bad record at byte offset " << r.bad_offset << ": " << r.why << "\n"
        << "  CORRUPT: at least " << r.records_after
        << " valid record(s) follow it; the worker refuses to start on this file\n";
  }
  if (missing_end)
    out << "  the snapshot has no end record (incomplete); the worker will not use it\n";
  if (!fix) {
    out << "  run again with --fix to truncate the file at byte offset " << r.good_end
        << " (dropping " << r.file_size - r.good_end << " bytes";
    if (r.records_after > 0) out << ", including " << r.records_after << " valid record(s)";
    out << ")\n";
    return 1;
  }
  std::string tail;
  if (snapshot && !r.has_end) append_end_record(tail, r.records);
  if (Status st = truncate_and_close(path, r.good_end, tail); !st.ok()) {
    out << "error: cannot fix " << path << ": " << st.message() << "\n";
    return 2;
  }
  out << "  fixed: truncated at byte offset " << r.good_end << ", dropped "
      << r.file_size - r.good_end << " bytes";
  if (r.outcome != ScanResult::Outcome::kClean)
    out << " (the bad record and " << r.records_after << " valid record(s) after it)";
  out << "\n";
  if (!tail.empty())
    out << "  appended an end record: the snapshot now holds the " << r.records
        << " record(s) before the damage; keys after it are lost\n";
  return 0;
}

}  // namespace clossyne
