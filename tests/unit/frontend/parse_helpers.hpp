// Test helpers: drive a RequestParser the way a Connection does (a growing buffer, consumed
// bytes dropped), either with the whole input at once or one byte at a time.
#pragma once
#include <string>
#include <vector>

#include "frontend/request_parser.hpp"

namespace clossyne::frontend::testing {

struct Parsed {
  std::vector<Request> requests;
  bool error = false;
  std::string error_text;
  std::size_t leftover = 0;  // unconsumed bytes at the end
};

class Feeder {
 public:
  explicit Feeder(ParserLimits limits = {}, SeedFraming framing = {}) : parser_(limits, framing) {}

  // Appends `bytes` and parses every complete request. burst_end: the client then paused for
  // longer than any seed pause (an unterminated seed request is complete); otherwise more bytes
  // are still waiting in the socket.
  void feed(std::string_view bytes, bool burst_end) {
    InputTiming t;
    t.drained = burst_end;
    t.last_input_us = 0;
    t.drained_us = int64_t{1} << 40;
    feed(bytes, t);
  }

  // Appends `bytes` and parses every complete request with the given arrival facts.
  void feed(std::string_view bytes, const InputTiming& timing) {
    buf_.append(bytes);
    while (!out_.error) {
      Request req;
      ParseResult r = parser_.parse(std::string_view(buf_).substr(off_), timing, req);
      off_ += r.consumed;
      if (r.status == ParseStatus::kError) {
        out_.error = true;
        out_.error_text = r.error;
      } else if (r.status == ParseStatus::kRequest) {
        out_.requests.push_back(std::move(req));
      } else {
        break;
      }
    }
    out_.leftover = buf_.size() - off_;
  }

  const Parsed& result() const { return out_; }
  const RequestParser& parser() const { return parser_; }

 private:
  RequestParser parser_;
  std::string buf_;
  std::size_t off_ = 0;
  Parsed out_;
};

inline Parsed parse_all(std::string_view input, bool burst_end = true, ParserLimits limits = {}) {
  Feeder f(limits);
  f.feed(input, burst_end);
  return f.result();
}

// One byte per read; the burst ends only after the last byte (as if the client paused there).
inline Parsed parse_bytewise(std::string_view input, ParserLimits limits = {}) {
  Feeder f(limits);
  for (std::size_t i = 0; i < input.size(); ++i) f.feed(input.substr(i, 1), i + 1 == input.size());
  return f.result();
}

inline std::vector<std::string> args(std::initializer_list<std::string> a) {
  return a;
}

}  // namespace clossyne::frontend::testing
