// RespParser: incremental parser of one RESP2 multibulk request (`*<n>\r\n` then n `$<len>\r\n`
// bulks). It keeps its state between calls, so input may arrive split at any byte: every call
// consumes what it can (partial bulk data is copied into the argument being built) and reports
// how much. It never throws and never allocates more than has arrived, plus a bounded reserve.
// Not thread-safe; one parser per connection.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace clossyne::frontend {

enum class ParseStatus { kRequest, kNeedMore, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  std::size_t consumed = 0;  // bytes of the input the parser has taken, whatever the status
  std::string error;         // kError: "Protocol error: ..." (without the "ERR " prefix)
};

struct ParserLimits {
  std::size_t max_multibulk = 1024 * 1024;            // arguments in one request
  std::size_t max_bulk = 512u * 1024 * 1024;          // bytes in one argument (--max-value-bytes)
  std::size_t max_query_bytes = 1024u * 1024 * 1024;  // bytes buffered for one client (declared
                                                      // request size, or unparsed input)
};

class RespParser {
 public:
  explicit RespParser(ParserLimits limits) : limits_(limits) {}

  // True between the `*` of a request and its last bulk.
  bool in_progress() const { return state_ != State::kCount; }

  // REQUIRES: when !in_progress(), input starts with '*'.
  // kRequest: `args` holds the complete request and the parser is reset. A multibulk count <= 0
  // is an empty request: it is consumed and reported as kRequest with no args (callers skip it).
  ParseResult feed(std::string_view input, std::vector<std::string>& args);

 private:
  enum class State { kCount, kBulkLen, kBulkData, kBulkCrlf };

  bool step(std::string_view in, std::size_t& pos, ParseResult& r);
  bool read_count(std::string_view in, std::size_t& pos, ParseResult& r);
  bool read_bulk_len(std::string_view in, std::size_t& pos, ParseResult& r);
  bool read_bulk_data(std::string_view in, std::size_t& pos);
  bool read_bulk_crlf(std::string_view in, std::size_t& pos, ParseResult& r);
  void finish(ParseResult& r);

  ParserLimits limits_;
  State state_ = State::kCount;
  long long remaining_args_ = 0;
  std::size_t remaining_bytes_ = 0;
  std::size_t request_bytes_ = 0;  // bulk bytes declared so far by the current request
  std::vector<std::string> args_;
};

// Parses a strict decimal integer (optional '-', digits, no spaces or '+'), as Redis's string2ll.
bool parse_int64(std::string_view s, long long& out);

}  // namespace clossyne::frontend
