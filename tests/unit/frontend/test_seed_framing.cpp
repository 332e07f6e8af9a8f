// Framing of the Clossyne (seed) dialect: a line ending ends a request however its bytes were
// split; a request with no line ending ends only after a pause in the client's sending (a short
// one for a small request read in one piece); a SET whose value is over --max-value-bytes is
// refused whole, its bytes dropped as they arrive. Times are given to the parser explicitly.
#include <catch2/catch.hpp>

#include "frontend/seed_dialect.hpp"
#include "parse_helpers.hpp"

using namespace clossyne::frontend;
using namespace clossyne::frontend::testing;

namespace {

constexpr int64_t kT0 = 1'000'000'000;  // an arbitrary "now" in steady µs

SeedFraming framing() {
  SeedFraming f;
  f.pause_us = 50'000;
  f.small_pause_us = 250;
  f.small_bytes = 256;
  return f;
}

// The last bytes were read at `last`, and the socket was last found empty at `now`.
InputTiming quiet(int64_t last, int64_t now, bool one_read = false) {
  InputTiming t;
  t.last_input_us = last;
  t.drained = true;
  t.one_read = one_read;
  t.drained_us = now;
  return t;
}

std::string value_of(std::size_t n) {
  std::string v(n, 'x');
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return v;
}

}  // namespace

TEST_CASE("the pause needed depends on size, on one-piece arrival and on the connection's past") {
  const SeedFraming f = framing();
  CHECK(seed_quiet_needed_us(f, 20, true, false) == 250);
  CHECK(seed_quiet_needed_us(f, 256, true, false) == 250);
  CHECK(seed_quiet_needed_us(f, 257, true, false) == 50'000);  // not small
  CHECK(seed_quiet_needed_us(f, 20, false, false) == 50'000);  // split across reads
  CHECK(seed_quiet_needed_us(f, 20, true, true) == 50'000);    // a line-ending client
  SeedFraming never_small = f;
  never_small.small_bytes = 0;
  CHECK(seed_quiet_needed_us(never_small, 1, true, false) == 50'000);
  SeedFraming odd = f;
  odd.small_pause_us = 90'000;  // never longer than the pause itself
  CHECK(seed_quiet_needed_us(odd, 1, true, false) == 50'000);
}

TEST_CASE("a line ending frames a seed request however it is split and however long the gaps") {
  // The case: 70 KB with '\n', in two bursts 20 ms apart (the first 29,992 bytes).
  const std::string value = value_of(70 * 1024);
  const std::string req = "SET:big:70k " + value + "\n";
  Feeder f({}, framing());
  int64_t t = kT0;
  f.feed(req.substr(0, 29'992), quiet(t, t + 20'000 - 1, true));
  CHECK(f.result().requests.empty());
  CHECK(f.parser().seed_deadline_us() == t + 50'000);  // the pause has not passed
  t += 20'000;
  f.feed(req.substr(29'992), quiet(t, t));
  REQUIRE(f.result().requests.size() == 1);
  const Request& r = f.result().requests[0];
  CHECK(r.args == args({"SET", "big:70k " + value}));
  CHECK(r.eol == Eol::kLf);
  CHECK(r.refused.empty());
  CHECK(f.result().leftover == 0);
  CHECK(f.parser().seed_deadline_us() == 0);

  // Any split with gaps under the pause, CRLF ending: whole. (The first piece is over
  // small_bytes: a small first piece is the case below.)
  for (std::size_t piece : {1u, 7u, 1000u, 65536u}) {
    const std::string v = value_of(100 * 1000 + piece);
    const std::string crlf = "set:k " + v + "\r\n";
    Feeder g({}, framing());
    int64_t now = kT0;
    g.feed(crlf.substr(0, 300), quiet(now, now + 49'999, true));
    for (std::size_t off = 300; off < crlf.size(); off += piece) {
      now += 49'999;
      g.feed(crlf.substr(off, piece), quiet(now, now + 49'999));
    }
    REQUIRE(g.result().requests.size() == 1);
    CHECK(g.result().requests[0].args[1].size() == v.size() + 2);
    CHECK(g.result().requests[0].args[1] == "k " + v);
    CHECK(g.result().requests[0].eol == Eol::kCrLf);
  }
}

TEST_CASE("the documented limit: a small first piece, then a pause over the short one") {
  // Up to small_bytes read in one piece and followed by more than small_pause_us of quiet is a
  // whole small request (the seed client's case); a sender that pauses inside such a short
  // request is cut there. A piece over small_bytes never is (above).
  Feeder f({}, framing());
  f.feed("SET:k part", quiet(kT0, kT0 + 3000, true));
  REQUIRE(f.result().requests.size() == 1);
  CHECK(f.result().requests[0].args == args({"SET", "k part"}));
  Feeder g({}, framing());
  g.feed("SET:k part", quiet(kT0, kT0 + 200, true));  // under the short pause: not yet
  g.feed("ial\n", quiet(kT0 + 220, kT0 + 220));
  REQUIRE(g.result().requests.size() == 1);
  CHECK(g.result().requests[0].args == args({"SET", "k partial"}));
}

TEST_CASE("an unterminated seed request is complete only after the pause, then whole") {
  for (std::size_t size : {1024u, 64u * 1024, 1024u * 1024, 16u * 1024 * 1024}) {
    const std::string value = value_of(size);
    const std::string req = "SET:v " + value;
    Feeder f({}, framing());
    int64_t t = kT0;
    bool first = true;
    // 64 KB reads with gaps just under the pause (a slow sender) do not end it.
    for (std::size_t off = 0; off < req.size(); off += 65536, t += 49'999) {
      f.feed(req.substr(off, 65536), quiet(t, t + 49'999, first));
      first = false;
      REQUIRE(f.result().requests.empty());
      CHECK(f.parser().seed_deadline_us() == t + 50'000);
    }
    t -= 49'999;  // the time of the last read
    // Not yet: one microsecond short.
    f.feed("", quiet(t, t + 49'999));
    CHECK(f.result().requests.empty());
    f.feed("", quiet(t, t + 50'000));
    REQUIRE(f.result().requests.size() == 1);
    const Request& r = f.result().requests[0];
    CHECK(r.args[0] == "SET");
    CHECK(r.args[1].size() == value.size() + 2);
    CHECK(r.args[1] == "v " + value);
    CHECK(r.eol == Eol::kNone);
    CHECK(f.result().leftover == 0);
  }
}

TEST_CASE("a small request read in one piece completes after the short pause") {
  Feeder f({}, framing());
  f.feed("SET:k small value", quiet(kT0, kT0 + 10, true));
  CHECK(f.result().requests.empty());
  CHECK(f.parser().seed_deadline_us() == kT0 + 250);
  f.feed("", quiet(kT0, kT0 + 250, true));
  REQUIRE(f.result().requests.size() == 1);
  CHECK(f.result().requests[0].args == args({"SET", "k small value"}));
  // Another request on the same connection: also quick.
  f.feed("GET:k", quiet(kT0 + 1000, kT0 + 1250, true));
  REQUIRE(f.result().requests.size() == 2);
  CHECK(f.result().requests[1].args == args({"GET", "k"}));
}

TEST_CASE("a small request split across reads waits the full pause") {
  Feeder f({}, framing());
  f.feed("SET:k sm", quiet(kT0, kT0 + 100, true));
  CHECK(f.parser().seed_deadline_us() == kT0 + 250);
  f.feed("all value", quiet(kT0 + 200, kT0 + 200 + 250, false));
  CHECK(f.result().requests.empty());
  CHECK(f.parser().seed_deadline_us() == kT0 + 200 + 50'000);
  f.feed("", quiet(kT0 + 200, kT0 + 200 + 50'000, false));
  REQUIRE(f.result().requests.size() == 1);
  CHECK(f.result().requests[0].args == args({"SET", "k small value"}));
}

TEST_CASE("after a line-terminated seed request, unterminated ones wait the full pause") {
  Feeder f({}, framing());
  f.feed("SET:a 1\nSET:b 2", quiet(kT0, kT0 + 300, true));
  REQUIRE(f.result().requests.size() == 1);
  CHECK(f.parser().seed_deadline_us() == kT0 + 50'000);
  f.feed("", quiet(kT0, kT0 + 50'000, true));
  REQUIRE(f.result().requests.size() == 2);
  CHECK(f.result().requests[1].args == args({"SET", "b 2"}));
}

TEST_CASE("quiet counts only up to the last read that found the socket empty") {
  // Parsed again much later without a new read (e.g. after backpressure): bytes may be waiting
  // unread, so nothing more is proven than at that read.
  Feeder f({}, framing());
  f.feed("SET:k v", quiet(kT0, kT0 + 5, true));
  f.feed("", quiet(kT0, kT0 + 5, true));
  CHECK(f.result().requests.empty());
  CHECK(f.parser().seed_deadline_us() == kT0 + 250);
}

TEST_CASE("bytes still in the socket or the peer's end decide without a clock") {
  Feeder f({}, framing());
  InputTiming busy = quiet(kT0, kT0 + 10'000'000, true);
  busy.drained = false;  // the read stopped at its per-turn cap: more is waiting
  f.feed("SET:k v", busy);
  CHECK(f.result().requests.empty());
  CHECK(f.parser().seed_deadline_us() == 0);
  InputTiming eof = quiet(kT0, kT0, false);
  eof.eof = true;
  f.feed("", eof);
  REQUIRE(f.result().requests.size() == 1);
  CHECK(f.result().requests[0].args == args({"SET", "k v"}));
}

TEST_CASE("RESP and inline framing do not wait for pauses") {
  Feeder f({}, framing());
  f.feed("*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n", quiet(kT0, kT0, true));
  REQUIRE(f.result().requests.size() == 2);
  CHECK(f.parser().seed_deadline_us() == 0);
  f.feed("GET k", quiet(kT0, kT0 + 10'000'000, true));  // inline needs its line ending
  CHECK(f.result().requests.size() == 2);
  CHECK(f.parser().seed_deadline_us() == 0);
}

TEST_CASE("an oversize unterminated SET is dropped as it arrives and refused whole") {
  ParserLimits limits;
  limits.max_bulk = 1000;
  Feeder f(limits, framing());
  const std::string req = "SET:k " + value_of(5000);
  int64_t t = kT0;
  for (std::size_t off = 0; off < req.size(); off += 700, t += 3000) {
    f.feed(req.substr(off, 700), quiet(t, t + 2999, off == 0));
    CHECK(f.result().requests.empty());
  }
  CHECK(f.result().leftover == 0);  // nothing of it is kept
  t -= 3000;
  f.feed("", quiet(t, t + 50'000));
  REQUIRE(f.result().requests.size() == 1);
  Request r = f.result().requests[0];
  CHECK(r.dialect == Dialect::kSeed);
  CHECK(r.eol == Eol::kNone);
  CHECK(r.refused == "value larger than max-value-bytes (1000 bytes): refused, nothing stored");
  Action a = handle_seed_request(r);
  CHECK(a.kind == Action::Kind::kLocal);
  CHECK(a.bytes == "-ERR value larger than max-value-bytes (1000 bytes): refused, nothing stored");
  // The connection goes on.
  f.feed("GET:k\n", quiet(t + 60'000, t + 60'000));
  REQUIRE(f.result().requests.size() == 2);
  CHECK(f.result().requests[1].args == args({"GET", "k"}));
  CHECK(f.result().requests[1].refused.empty());
  CHECK_FALSE(f.result().error);
}

TEST_CASE("an oversize SET ended by a line ending is refused up to it, the next request stands") {
  ParserLimits limits;
  limits.max_bulk = 1000;
  Feeder f(limits, framing());
  f.feed("SET:k " + value_of(3000), quiet(kT0, kT0 + 10, true));
  f.feed(value_of(10) + "\r\nSET:k ok\n", quiet(kT0 + 20, kT0 + 20));
  REQUIRE(f.result().requests.size() == 2);
  CHECK_FALSE(f.result().requests[0].refused.empty());
  CHECK(f.result().requests[0].eol == Eol::kCrLf);
  Request refused = f.result().requests[0];
  CHECK(handle_seed_request(refused).bytes.ends_with("nothing stored\r\n"));
  CHECK(f.result().requests[1].args == args({"SET", "k ok"}));

  // A CRLF split between two reads while dropping still reads as CRLF.
  Feeder c(limits, framing());
  c.feed("SET:k " + value_of(3000) + "\r", quiet(kT0, kT0 + 10, true));
  c.feed("\nGET:k\r\n", quiet(kT0 + 20, kT0 + 20));
  REQUIRE(c.result().requests.size() == 2);
  CHECK(c.result().requests[0].eol == Eol::kCrLf);
  CHECK_FALSE(c.result().requests[0].refused.empty());
  CHECK(c.result().requests[1].args == args({"GET", "k"}));

  // Whole in one buffer with its line ending: refused at once. Exactly the limit: accepted.
  Feeder g(limits, framing());
  g.feed("SET:k " + value_of(1001) + "\nSET:k " + value_of(1000) + "\n", quiet(kT0, kT0, true));
  REQUIRE(g.result().requests.size() == 2);
  CHECK_FALSE(g.result().requests[0].refused.empty());
  CHECK(g.result().requests[1].refused.empty());
  CHECK(g.result().requests[1].args[1] == "k " + value_of(1000));
  // Unterminated, exactly the limit: accepted whole after the pause.
  Feeder h(limits, framing());
  h.feed("SET:k " + value_of(1000), quiet(kT0, kT0 + 50'000, true));
  REQUIRE(h.result().requests.size() == 1);
  CHECK(h.result().requests[0].refused.empty());
  CHECK(h.result().requests[0].args[1] == "k " + value_of(1000));
}
