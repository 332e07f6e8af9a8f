#include "data_sync.hpp"

#include <unistd.h>

#include <atomic>

namespace clossyne {
namespace {

struct Injected {
  std::atomic<int> count{0};
  std::atomic<int> err{EIO};
};

Injected& injected(SyncTarget target) {
  static Injected slots[2];
  return slots[target == SyncTarget::kLog ? 0 : 1];
}

}  // namespace

int data_sync(int fd, SyncTarget target) {
  Injected& inj = injected(target);
  int left = inj.count.load(std::memory_order_relaxed);
  while (left > 0) {
    if (inj.count.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
      errno = inj.err.load(std::memory_order_relaxed);
      return -1;
    }
  }
  return ::fdatasync(fd);
}

void inject_sync_failures(SyncTarget target, int count, int err) {
  Injected& inj = injected(target);
  inj.err.store(err, std::memory_order_relaxed);
  inj.count.store(count, std::memory_order_relaxed);
}

int pending_sync_failures(SyncTarget target) {
  return injected(target).count.load(std::memory_order_relaxed);
}

}  // namespace clossyne
