#include "common/version.hpp"

// In the build directory (generated/), so that only this file rebuilds when the commit changes.
#include "clossyne_version.hpp"

namespace clossyne {

std::string_view version() {
  return CLOSSYNE_VERSION;
}

std::string_view git_commit() {
  return CLOSSYNE_GIT_COMMIT;
}

std::string version_line(std::string_view program) {
  std::string line(program);
  line += ' ';
  line += version();
  line += " (git ";
  line += git_commit();
  line += ')';
  return line;
}

}  // namespace clossyne
