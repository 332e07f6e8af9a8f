#include "storage.hpp"

namespace clossyne {

std::optional<FsyncMode> parse_fsync_mode(std::string_view name) {
  if (name == "always") return FsyncMode::kAlways;
  if (name == "everysec") return FsyncMode::kEverySec;
  if (name == "no") return FsyncMode::kNo;
  return std::nullopt;
}

std::string_view fsync_mode_name(FsyncMode mode) {
  switch (mode) {
    case FsyncMode::kAlways:
      return "always";
    case FsyncMode::kEverySec:
      return "everysec";
    case FsyncMode::kNo:
      return "no";
  }
  return "?";
}

const std::string& Storage::write_refusal() const {
  static const std::string kNone;
  return kNone;
}

}  // namespace clossyne
