// `clossyne-admin status --watch`: the status table (or JSON) again every interval, until Ctrl-C
// or `count` redraws. On a terminal the screen is cleared before each redraw, so the table stays
// in place; otherwise each table follows the last, headed by the time it was taken.
#pragma once
#include <chrono>
#include <cstdio>

#include "broker_client.hpp"

namespace clossyne::admin {

struct WatchOptions {
  bool json = false;
  bool tty = false;
  int count = 0;  // 0: until interrupted
  std::chrono::milliseconds interval{1000};
};

// Returns the exit code: 0, or 1 after an error (printed) when the broker does not answer.
int watch_status(BrokerClient& client, const WatchOptions& opts, std::FILE* out);

}  // namespace clossyne::admin
