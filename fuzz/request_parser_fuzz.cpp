// libFuzzer target for the frontend's request parser: RESP2 multibulk, inline commands and the
// Clossyne seed dialect, as a connection feeds it. The first input byte picks where the rest is
// split into two reads (the first ends with bytes still coming, the second with a long pause).
// The same bytes are also parsed in one read, and both runs must agree.
// Invariants (abort on violation):
//   - a parse never consumes more than it was given;
//   - every call either returns a request (having consumed bytes, or ending a refused seed
//     request), needs more input, or fails;
//   - a request has at least one argument; a seed request exactly two;
//   - split and whole parses give the same requests and the same error.
// Built and run by fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/glob_match.hpp"
#include "frontend/request_parser.hpp"

using namespace clossyne::frontend;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

struct Outcome {
  std::vector<Request> requests;
  std::string error;
};

ParserLimits small_limits() {
  ParserLimits l;
  l.max_multibulk = 1024;
  l.max_bulk = 1u << 20;
  l.max_query_bytes = 4u << 20;
  return l;
}

class Feeder {
 public:
  explicit Feeder(ParserLimits limits) : parser_(limits) {}

  void feed(std::string_view bytes, bool burst_end) {
    buf_.append(bytes);
    while (out_.error.empty()) {
      Request req;
      const std::string_view rest = std::string_view(buf_).substr(off_);
      InputTiming timing;  // burst_end: the client paused longer than any seed pause
      timing.drained = burst_end;
      timing.drained_us = int64_t{1} << 40;
      const ParseResult r = parser_.parse(rest, timing, req);
      check(r.consumed <= rest.size(), "consumed more than given");
      off_ += r.consumed;
      if (r.status == ParseStatus::kError) {
        check(!r.error.empty(), "an error without text");
        out_.error = r.error;
      } else if (r.status == ParseStatus::kRequest) {
        // (A refused seed request whose last bytes were dropped earlier ends on a pause alone.)
        check(r.consumed > 0 || !req.refused.empty(), "a request without progress");
        check(!req.args.empty(), "a request without arguments");
        check(req.dialect != Dialect::kSeed || req.args.size() == 2, "a seed request shape");
        if (req.args.size() >= 2) (void)glob_match(req.args[0], req.args[1], req.args.size() > 2);
        out_.requests.push_back(std::move(req));
      } else {
        return;
      }
    }
  }

  const Outcome& outcome() const { return out_; }

 private:
  RequestParser parser_;
  std::string buf_;
  std::size_t off_ = 0;
  Outcome out_;
};

bool same(const Outcome& a, const Outcome& b) {
  if (a.error != b.error || a.requests.size() != b.requests.size()) return false;
  for (std::size_t i = 0; i < a.requests.size(); ++i) {
    const Request& x = a.requests[i];
    const Request& y = b.requests[i];
    if (x.dialect != y.dialect || x.args != y.args || x.eol != y.eol || x.refused != y.refused)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);

  Feeder split_feed(small_limits());
  split_feed.feed(input.substr(0, split), /*burst_end=*/false);
  split_feed.feed(input.substr(split), /*burst_end=*/true);

  Feeder whole(small_limits());
  whole.feed(input, /*burst_end=*/true);
  check(same(split_feed.outcome(), whole.outcome()), "split and whole parses differ");
  return 0;
}
