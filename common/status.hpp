// Status: success or an error message, returned by value (as LevelDB's Status).
// Exceptions stay at the edges of a process; inside, functions return a Status.
#pragma once
#include <string>
#include <utility>

namespace clossyne {

class Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status Error(std::string msg) { return Status(std::move(msg)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return msg_; }

 private:
  explicit Status(std::string msg) : failed_(true), msg_(std::move(msg)) {}
  bool failed_ = false;
  std::string msg_;
};

}  // namespace clossyne
