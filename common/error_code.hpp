// ErrorCode: what kind of failure an error reply or Status carries, for the processes that act on
// it (the broker re-routes on kStaleEpoch and kNotHeld). The text stays for people; code decides.
// On the wire (docs/PROTOCOL.md) an error reply carries "code": one of the names below.
#pragma once
#include <cstdint>
#include <string_view>

namespace clossyne {

enum class ErrorCode : uint8_t {
  kNone = 0,     // not an error
  kOther,        // an error with no more specific code (bad request, wrong type, ...)
  kStaleEpoch,   // a worker holds the shard at another epoch than the sub-op names
  kNotHeld,      // a worker does not hold (or does not serve) the shard the sub-op names
  kUnavailable,  // the shard has no live owner (dead, not registered yet, or lost)
  kTimeout,      // no answer in time; a write may or may not have been applied
  kBusy,         // too much in flight; retry later
  kRefused,      // a write refused by a worker that cannot persist it
  kNotReady,     // the cluster has no shard map yet
  kBadRequest,   // the envelope or its arguments are malformed
  kReplicaGap,   // a replicated write's seq is not the next one: this member missed a write
};

std::string_view error_code_name(ErrorCode code);
// Unknown names (a newer peer) read as kOther.
ErrorCode error_code_from_name(std::string_view name);

}  // namespace clossyne
