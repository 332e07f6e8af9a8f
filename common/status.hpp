// Status: success or an error message with its code, returned by value (as LevelDB's Status).
// Exceptions stay at the edges of a process; inside, functions return a Status.
#pragma once
#include <string>
#include <utility>

#include "error_code.hpp"

namespace clossyne {

class Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status Error(std::string msg, ErrorCode code = ErrorCode::kOther) {
    return Status(std::move(msg), code);
  }

  bool ok() const { return code_ == ErrorCode::kNone; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return msg_; }

 private:
  Status(std::string msg, ErrorCode code)
      : code_(code == ErrorCode::kNone ? ErrorCode::kOther : code), msg_(std::move(msg)) {}
  ErrorCode code_ = ErrorCode::kNone;
  std::string msg_;
};

}  // namespace clossyne
