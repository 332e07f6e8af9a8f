#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "admin/progress.hpp"

using namespace clossyne;
using namespace clossyne::admin;

namespace {

ShardInfo shard(uint32_t id, const std::string& owner, uint64_t keys, std::string change = "",
                uint64_t copied = 0) {
  ShardInfo s;
  s.id = id;
  s.owner = owner;
  s.keys = keys;
  s.change = std::move(change);
  s.copied = copied;
  return s;
}

std::string run_reporter(bool tty) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  ProgressReporter r(f, tty, 0);
  r.update({0, 1000}, 0);
  r.update({100, 1000}, 500);   // within a second of the last line: no new line (not a tty)
  r.update({500, 1000}, 1000);  // 500 keys/s, 1 s left
  r.finish({1000, 1000}, 2000);
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

}  // namespace

TEST_CASE("progress counts keys left on a drained worker and copied by a move") {
  Reply r;
  r.shards = {shard(1, "w1", 100), shard(2, "w1", 50, "move", 20), shard(3, "w2", 70)};
  CHECK(keys_left_on(r, "w1") == 130);
  CHECK(keys_left_on(r, "w2") == 70);
  CHECK(move_progress(r, 2, "w2").done == 20);
  CHECK(move_progress(r, 2, "w2").total == 50);
  CHECK(move_progress(r, 3, "w2").done == 70);  // there already
  CHECK(move_progress(r, 9, "w2").total == 0);
}

TEST_CASE("progress lines and bars say keys, percent, rate and time left") {
  CHECK(progress_line({250, 1000}, 0) == "250/1000 keys (25%)");
  CHECK(progress_line({250, 1000}, 50) == "250/1000 keys (25%), 50 keys/s, about 15s left");
  CHECK(progress_line({0, 0}, 0) == "0/0 keys (100%)");
  CHECK(progress_bar({5, 10}, 0, 10) == "[#####.....] 5/10 keys  50%");
  CHECK(progress_bar({5, 10}, 1, 4) == "[##..] 5/10 keys  50%  1 keys/s  ETA 5s");
  CHECK(progress_line({1, 100000}, 1).find("about 27h46m left") != std::string::npos);
}

TEST_CASE("progress reporter draws a bar on a terminal and lines elsewhere") {
  const std::string lines = run_reporter(false);
  CHECK(lines ==
        "progress: 0/1000 keys (0%)\n"
        "progress: 500/1000 keys (50%), 500 keys/s, about 1s left\n"
        "progress: 1000/1000 keys (100%), 500 keys/s\n");
  const std::string bar = run_reporter(true);
  CHECK(bar.find('\r') == 0);
  CHECK(bar.find("\n") == bar.size() - 1);  // one line, ended once
  CHECK(bar.find("[###############...............] 500/1000 keys  50%") != std::string::npos);
  CHECK(bar.find("1000/1000 keys 100%") != std::string::npos);
}

TEST_CASE("progress reporter does not repeat the last state when it finishes") {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  ProgressReporter r(f, false, 0);
  r.update({10, 10}, 1000);
  r.finish({10, 10}, 1100);
  std::fclose(f);
  const std::string out(buf, len);
  std::free(buf);
  CHECK(out == "progress: 10/10 keys (100%), 10 keys/s\n");
}
