#include "error_code.hpp"

#include <array>
#include <utility>

namespace clossyne {
namespace {
constexpr std::array<std::pair<ErrorCode, std::string_view>, 11> kNames{{
    {ErrorCode::kNone, "none"},
    {ErrorCode::kOther, "error"},
    {ErrorCode::kStaleEpoch, "stale_epoch"},
    {ErrorCode::kNotHeld, "not_held"},
    {ErrorCode::kUnavailable, "unavailable"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kBusy, "busy"},
    {ErrorCode::kRefused, "refused"},
    {ErrorCode::kNotReady, "not_ready"},
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kReplicaGap, "replica_gap"},
}};
}  // namespace

std::string_view error_code_name(ErrorCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "error";
}

ErrorCode error_code_from_name(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return ErrorCode::kOther;
}

}  // namespace clossyne
