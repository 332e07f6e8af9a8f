// RequestParser: turns a connection's input bytes into Requests, telling the three dialects
// apart by the first bytes of each request:
//   `*`                                   RESP2 multibulk (see RespParser)
//   `SET:` `GET:` `DEL:` `RNG:` or `EXT`  the Clossyne seed dialect (case-insensitive)
//   anything else                         an inline command line, split with Redis quoting rules
// Empty inline lines and empty multibulks are skipped. Never throws. Not thread-safe; one parser
// per connection.
//
// Framing of a seed request (see SeedFraming): a line ending ends it, however its bytes were
// split across reads. The seed client sends a request with no line ending and waits for the
// answer, so a seed request with no line ending yet is complete only once the socket has been
// quiet (drained, no byte arriving) for a pause: a short one for a small request that arrived in
// one read, a long one otherwise. Until then it is buffered, and the parser says when the pause
// will have passed (seed_deadline_us) so the caller can look again then. A seed SET whose value
// is larger than --max-value-bytes is refused whole: its bytes are dropped as they arrive, up to
// its end (line ending or pause), and it comes out as one Request with `refused` set.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "request.hpp"
#include "resp_parser.hpp"

namespace clossyne::frontend {

inline constexpr std::size_t kMaxInlineBytes = 64 * 1024;

// How long the socket must be quiet before a seed request with no line ending is complete.
struct SeedFraming {
  int64_t pause_us = 50'000;      // --seed-pause-ms: any request
  int64_t small_pause_us = 250;   // --seed-small-pause-us: a small request read at once
  std::size_t small_bytes = 256;  // --seed-small-bytes: "small" is at most this many bytes
};

// The quiet needed to complete an unterminated seed request of `bytes` bytes. `one_read`: all of
// its bytes arrived in one read burst (no pause inside it was seen). `lines_seen`: this
// connection already framed a seed request by a line ending (its requests are not split on a
// short pause). Pure.
int64_t seed_quiet_needed_us(const SeedFraming& f, std::size_t bytes, bool one_read,
                             bool lines_seen);

// What the caller knows about how the unparsed input arrived (times in steady microseconds).
// The quiet proven is drained_us - last_input_us: a socket found empty at drained_us received
// nothing since the last byte was read (bytes that came later, unread, cannot be excluded).
struct InputTiming {
  int64_t last_input_us = 0;  // when the last byte was read
  bool drained = false;       // the socket was found empty after it (EAGAIN, or a short read)
  int64_t drained_us = 0;     // when it was last found empty
  bool eof = false;           // the peer finished sending: nothing more will come
  bool one_read = false;      // the unparsed input all came in the latest read burst
};

// Steady-clock microseconds (CLOCK_MONOTONIC).
int64_t steady_now_us();

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits, SeedFraming framing = {})
      : limits_(limits), framing_(framing), resp_(limits) {}

  // Parses at most one request from the start of `input` (the connection's unconsumed bytes).
  // The caller must drop `consumed` bytes whatever the status. After kError the caller answers
  // `-ERR <error>` and closes the connection.
  ParseResult parse(std::string_view input, const InputTiming& timing, Request& out);

  // After kNeedMore: when (steady µs) a buffered seed request with no line ending completes if
  // nothing more arrives; 0 when none waits. The caller parses again at that time.
  int64_t seed_deadline_us() const { return seed_deadline_us_; }
  // True while the rest of a refused seed request is being dropped: parse() must be called even
  // with no input, so that a pause can end it.
  bool discarding() const { return discarding_; }

 private:
  ParseResult parse_line(std::string_view input, const InputTiming& timing, Request& out);
  ParseResult parse_unterminated(std::string_view input, const InputTiming& timing, Request& out);
  ParseResult parse_discarding(std::string_view input, const InputTiming& timing, Request& out);
  // The Request for a refused seed request that ended with `eol`; discarding stops.
  void make_refused(Eol eol, Request& out);
  ParseResult finish_seed(std::string_view line, Eol eol, std::size_t consumed, Request& out);
  // True when the pause that completes an unterminated seed request of `bytes` has passed.
  bool pause_passed(std::size_t bytes, const InputTiming& timing);
  // True when a seed request whose first `bytes` bytes are `head` cannot be accepted.
  bool too_large(std::string_view head) const;

  ParserLimits limits_;
  SeedFraming framing_;
  RespParser resp_;
  std::size_t scanned_ = 0;  // bytes at the start of the input known to hold no '\n'
  int64_t seed_deadline_us_ = 0;
  bool seed_lines_seen_ = false;  // a seed request was framed by a line ending here
  bool discarding_ = false;       // dropping the rest of a refused seed request
  std::string refused_verb_;      // its verb (SET, GET, ...)
  bool discarded_cr_ = false;     // the last byte dropped was a CR (a CRLF may be split)
};

// True if `line` starts a seed request (SET: GET: DEL: RNG: or is EXT), case-insensitive.
bool is_seed_request(std::string_view line);

// Builds the seed Request for one line without its line ending.
Request make_seed_request(std::string_view line, Eol eol);

}  // namespace clossyne::frontend
