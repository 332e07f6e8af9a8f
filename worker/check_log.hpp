// check_log: the `clossyne-worker --check-log FILE [--fix]` tool (as redis-check-aof). Reads one
// log segment or snapshot, reports how many records are valid and the first bad byte offset, and
// whether the damage is a torn tail (a crash mid-write: the worker cuts it off by itself) or
// corruption (valid records follow: the worker refuses to start). With fix, truncates the file at
// the first bad record, saying how many bytes and records that drops; a snapshot then gets a new
// end record so it is usable (without the dropped keys).
#pragma once
#include <ostream>
#include <string>

namespace clossyne {

// Writes the report to `out`. Returns the exit code: 0 sound (or fixed), 1 damaged, 2 unreadable.
int check_log_file(const std::string& path, bool fix, std::ostream& out);

}  // namespace clossyne
