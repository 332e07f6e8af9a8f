// data_sync: the fdatasync of the worker's data files (log segments and snapshots), with a
// fault-injection point so that tests can make a sync fail as a failing disk would (EIO), which
// no real file system in a test can be made to do on demand.
//
// After a failed fdatasync Linux may have dropped the dirty pages it could not write and report
// success on the next one, so a failed sync of the log is never retried (DiskStorage stops taking
// writes); see docs/DURABILITY.md.
#pragma once
#include <cerrno>

namespace clossyne {

enum class SyncTarget : unsigned char { kLog, kSnapshot };

// ::fdatasync(fd), unless a failure is injected for `target`: then -1 with errno set, and nothing
// is synced. Thread-safe.
int data_sync(int fd, SyncTarget target);

// Tests: the next `count` data_sync calls for `target` fail with `err` (count 0: none).
// Process-wide; a forked snapshot child inherits what is left of the count.
void inject_sync_failures(SyncTarget target, int count, int err = EIO);
// How many injected failures for `target` are still to come.
int pending_sync_failures(SyncTarget target);

}  // namespace clossyne
