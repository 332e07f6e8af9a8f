#include "data_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace clossyne {
namespace {

Status fail(std::string_view what, const std::string& path, int err) {
  std::string msg(what);
  msg += ' ';
  msg += path;
  msg += ": ";
  msg += std::strerror(err);
  return Status::Error(std::move(msg));
}

std::string name_for(const std::string& dir, const char* prefix, uint64_t gen, const char* ext) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "/%s-%010" PRIu64 "%s", prefix, gen, ext);
  return dir + buf;
}

// "<prefix>-<digits><ext>" -> gen; false when the name does not have that form.
bool parse_name(std::string_view name, std::string_view prefix, std::string_view ext,
                uint64_t& gen) {
  if (name.size() <= prefix.size() + 1 + ext.size() || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '-' || name.substr(name.size() - ext.size()) != ext)
    return false;
  const std::string_view digits =
      name.substr(prefix.size() + 1, name.size() - prefix.size() - 1 - ext.size());
  if (digits.empty() || digits.size() > 19) return false;
  gen = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    gen = gen * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

std::string log_path(const std::string& dir, uint64_t gen) {
  return name_for(dir, "log", gen, ".log");
}

std::string snapshot_path(const std::string& dir, uint64_t gen) {
  return name_for(dir, "snapshot", gen, ".snap");
}

std::string temp_snapshot_path(const std::string& dir, uint64_t gen) {
  return name_for(dir, "snapshot", gen, ".snap.tmp");
}

Status ensure_dir(const std::string& dir) {
  if (dir.empty()) return Status::Error("empty data directory path");
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
      return fail("cannot create directory", partial, errno);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return fail("cannot stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return fail("not a directory:", dir, ENOTDIR);
  return Status::Ok();
}

Status list_data_dir(const std::string& dir, DirListing& out) {
  out = DirListing{};
  DIR* d = ::opendir(dir.c_str());
  if (!d) return fail("cannot list", dir, errno);
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    uint64_t gen = 0;
    if (parse_name(name, "log", ".log", gen)) {
      out.logs[gen] = dir + "/" + std::string(name);
    } else if (parse_name(name, "snapshot", ".snap", gen)) {
      out.snapshots[gen] = dir + "/" + std::string(name);
    } else if (parse_name(name, "snapshot", ".snap.tmp", gen)) {
      out.temps.push_back(dir + "/" + std::string(name));
    }
  }
  ::closedir(d);
  return Status::Ok();
}

Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail("cannot fsync directory", dir, err);
  return Status::Ok();
}

Status remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail("cannot remove", path, errno);
  return Status::Ok();
}

Status rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return fail("cannot rename", from, errno);
  return Status::Ok();
}

Status file_size(const std::string& path, uint64_t& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail("cannot stat", path, errno);
  out = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status DirLock::acquire(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot create", path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status::Error("data directory " + dir + " is in use by another worker (" + path +
                           " is locked)");
    return fail("cannot lock", path, err);
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return Status::Ok();
}

}  // namespace clossyne
