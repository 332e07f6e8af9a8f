// The build's version: CMake's project(VERSION ...) and the git commit the build was configured
// from ("unknown" outside a checkout). Every binary prints version_line() for --version and logs it
// at start (docs/OPERATIONS.md, "Versions and upgrades").
#pragma once
#include <string>
#include <string_view>

namespace clossyne {

// "0.13.0"
std::string_view version();
// `git describe --always --dirty` at configure time ("abc1234", "abc1234-dirty"), or "unknown".
std::string_view git_commit();
// "clossyne-broker 0.13.0 (git abc1234)"
std::string version_line(std::string_view program);

}  // namespace clossyne
