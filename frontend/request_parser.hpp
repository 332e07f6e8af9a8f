// RequestParser: turns a connection's input bytes into Requests, telling the three dialects
// apart by the first bytes of each request:
//   `*`                                   RESP2 multibulk (see RespParser)
//   `SET:` `GET:` `DEL:` `RNG:` or `EXT`  the Clossyne seed dialect, one line (case-insensitive)
//   anything else                         an inline command line, split with Redis quoting rules
// The seed client sends a request with no line ending and waits for the answer, so when a read
// burst has ended (`burst_end`: the socket said EAGAIN) a buffer that starts with a seed prefix
// and holds no '\n' is one complete seed request. Empty inline lines and empty multibulks are
// skipped. Never throws. Not thread-safe; one parser per connection.
#pragma once
#include <string_view>

#include "request.hpp"
#include "resp_parser.hpp"

namespace clossyne::frontend {

inline constexpr std::size_t kMaxInlineBytes = 64 * 1024;

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits) : limits_(limits), resp_(limits) {}

  // Parses at most one request from the start of `input` (the connection's unconsumed bytes).
  // The caller must drop `consumed` bytes whatever the status. After kError the caller answers
  // `-ERR <error>` and closes the connection.
  ParseResult parse(std::string_view input, bool burst_end, Request& out);

 private:
  ParseResult parse_line(std::string_view input, bool burst_end, Request& out);
  ParseResult parse_unterminated(std::string_view input, bool burst_end, Request& out);

  ParserLimits limits_;
  RespParser resp_;
  std::size_t scanned_ = 0;  // bytes at the start of the input known to hold no '\n'
};

// True if `line` starts a seed request (SET: GET: DEL: RNG: or is EXT), case-insensitive.
bool is_seed_request(std::string_view line);

// Builds the seed Request for one line without its line ending.
Request make_seed_request(std::string_view line, Eol eol);

}  // namespace clossyne::frontend
