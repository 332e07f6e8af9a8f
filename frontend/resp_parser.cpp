#include "resp_parser.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace clossyne::frontend {
namespace {

// Header lines (`*<n>`, `$<len>`) are tiny; a longer one without CRLF is garbage (Redis: 64 KiB).
constexpr std::size_t kMaxHeaderLine = 64 * 1024;
// Never trust a declared length for allocation beyond this; the rest grows as bytes arrive.
constexpr std::size_t kMaxReserveBytes = 1024 * 1024;
constexpr std::size_t kMaxReserveArgs = 1024;

ParseResult error(std::string msg) {
  ParseResult r;
  r.status = ParseStatus::kError;
  r.error = std::move(msg);
  return r;
}

enum class Header { kComplete, kIncomplete, kBadEnd };

// Finds the header line starting at `pos` (after its type byte). A line must end with CRLF: a
// bare LF is an error at once rather than a wait for a CR that will not come.
Header header_line(std::string_view in, std::size_t pos, std::string_view& line,
                   std::size_t& next) {
  const std::size_t lf = in.find('\n', pos);
  if (lf == std::string_view::npos) return Header::kIncomplete;
  if (lf == pos || in[lf - 1] != '\r') return Header::kBadEnd;
  line = in.substr(pos + 1, lf - pos - 2);
  next = lf + 1;
  return Header::kComplete;
}

}  // namespace

bool parse_int64(std::string_view s, long long& out) {
  if (s.empty() || s.size() > 20 || s.front() == '+') return false;
  if (s.size() > 1 && s[0] == '0') return false;  // no leading zeros, as string2ll
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

ParseResult RespParser::feed(std::string_view input, std::vector<std::string>& args) {
  ParseResult r;
  std::size_t pos = 0;
  while (pos < input.size() && step(input, pos, r)) {
  }
  if (r.status == ParseStatus::kError) {
    *this = RespParser(limits_);
    return r;
  }
  if (r.status == ParseStatus::kRequest) {
    args.swap(args_);  // both vectors keep their capacity: no allocation per request
    args_.clear();
  }
  r.consumed = pos;
  return r;
}

bool RespParser::step(std::string_view in, std::size_t& pos, ParseResult& r) {
  switch (state_) {
    case State::kCount:
      return read_count(in, pos, r);
    case State::kBulkLen:
      return read_bulk_len(in, pos, r);
    case State::kBulkData:
      return read_bulk_data(in, pos);
    case State::kBulkCrlf:
      return read_bulk_crlf(in, pos, r);
  }
  return false;
}

bool RespParser::read_count(std::string_view in, std::size_t& pos, ParseResult& r) {
  std::string_view line;
  std::size_t next = 0;
  const Header h = header_line(in, pos, line, next);
  if (h == Header::kIncomplete) {
    if (in.size() - pos > kMaxHeaderLine) r = error("Protocol error: too big mbulk count string");
    return false;
  }
  long long n = 0;
  if (h == Header::kBadEnd || !parse_int64(line, n) ||
      n > static_cast<long long>(limits_.max_multibulk)) {
    r = error("Protocol error: invalid multibulk length");
    return false;
  }
  pos = next;
  args_.clear();
  request_bytes_ = 0;
  if (n <= 0) {  // `*0` and `*-1` are empty requests, skipped as Redis does
    finish(r);
    return false;
  }
  args_.reserve(std::min<std::size_t>(static_cast<std::size_t>(n), kMaxReserveArgs));
  remaining_args_ = n;
  state_ = State::kBulkLen;
  return true;
}

bool RespParser::read_bulk_len(std::string_view in, std::size_t& pos, ParseResult& r) {
  if (in[pos] != '$') {
    r = error(std::string("Protocol error: expected '$', got '") + in[pos] + "'");
    return false;
  }
  std::string_view line;
  std::size_t next = 0;
  const Header h = header_line(in, pos, line, next);
  if (h == Header::kIncomplete) {
    if (in.size() - pos > kMaxHeaderLine) r = error("Protocol error: too big bulk count string");
    return false;
  }
  long long len = 0;
  if (h == Header::kBadEnd || !parse_int64(line, len) || len < 0 ||
      static_cast<unsigned long long>(len) > limits_.max_bulk) {
    r = error("Protocol error: invalid bulk length");
    return false;
  }
  // The whole request, as declared so far, must fit the client's query buffer limit.
  request_bytes_ += static_cast<std::size_t>(len);
  if (request_bytes_ > limits_.max_query_bytes) {
    r = error("Protocol error: request exceeds the client query buffer limit");
    return false;
  }
  pos = next;
  remaining_bytes_ = static_cast<std::size_t>(len);
  args_.emplace_back().reserve(std::min(remaining_bytes_, kMaxReserveBytes));
  state_ = State::kBulkData;
  return true;
}

bool RespParser::read_bulk_data(std::string_view in, std::size_t& pos) {
  const std::size_t take = std::min(remaining_bytes_, in.size() - pos);
  args_.back().append(in.data() + pos, take);
  pos += take;
  remaining_bytes_ -= take;
  if (remaining_bytes_ > 0) return false;
  state_ = State::kBulkCrlf;
  return true;
}

bool RespParser::read_bulk_crlf(std::string_view in, std::size_t& pos, ParseResult& r) {
  if (in.size() - pos < 2) {
    if (in[pos] == '\r') return false;  // the '\n' is still on its way
    r = error("Protocol error: expected '\\r\\n' after bulk data");
    return false;
  }
  if (in[pos] != '\r' || in[pos + 1] != '\n') {
    r = error("Protocol error: expected '\\r\\n' after bulk data");
    return false;
  }
  pos += 2;
  if (--remaining_args_ > 0) {
    state_ = State::kBulkLen;
    return true;
  }
  finish(r);
  return false;
}

void RespParser::finish(ParseResult& r) {
  state_ = State::kCount;
  r.status = ParseStatus::kRequest;
}

}  // namespace clossyne::frontend
