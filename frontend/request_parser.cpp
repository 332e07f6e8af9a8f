#include "request_parser.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include "inline_split.hpp"

namespace clossyne::frontend {
namespace {

constexpr std::array<std::string_view, 4> kSeedVerbs = {"SET", "GET", "DEL", "RNG"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

ParseResult request_result(std::size_t consumed) {
  return ParseResult{ParseStatus::kRequest, consumed, {}};
}

ParseResult error_result(std::string msg) {
  return ParseResult{ParseStatus::kError, 0, std::move(msg)};
}

}  // namespace

bool is_seed_request(std::string_view line) {
  if (iequals(line, "EXT")) return true;
  if (line.size() < 4 || line[3] != ':') return false;
  for (auto verb : kSeedVerbs) {
    if (iequals(line.substr(0, 3), verb)) return true;
  }
  return false;
}

Request make_seed_request(std::string_view line, Eol eol) {
  Request r;
  r.dialect = Dialect::kSeed;
  r.eol = eol;
  std::string verb(line.substr(0, 3));
  for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  r.args.push_back(std::move(verb));
  r.args.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  return r;
}

int64_t seed_quiet_needed_us(const SeedFraming& f, std::size_t bytes, bool one_read,
                             bool lines_seen) {
  if (one_read && !lines_seen && bytes <= f.small_bytes)
    return std::min(f.small_pause_us, f.pause_us);
  return f.pause_us;
}

int64_t steady_now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

ParseResult RequestParser::parse(std::string_view input, const InputTiming& timing, Request& out) {
  seed_deadline_us_ = 0;
  if (discarding_) return parse_discarding(input, timing, out);
  std::size_t skipped = 0;  // empty requests consumed before the one we return
  while (skipped < input.size()) {
    const std::string_view in = input.substr(skipped);
    ParseResult r;
    if (resp_.in_progress() || in.front() == '*') {
      out.dialect = Dialect::kResp;
      out.eol = Eol::kNone;
      r = resp_.feed(in, out.args);
    } else {
      r = parse_line(in, timing, out);
    }
    if (r.consumed > 0) scanned_ = 0;
    if (r.status == ParseStatus::kRequest && out.args.empty()) {
      skipped += r.consumed;
      continue;
    }
    r.consumed += skipped;
    return r;
  }
  return ParseResult{ParseStatus::kNeedMore, skipped, {}};
}

ParseResult RequestParser::parse_line(std::string_view in, const InputTiming& timing,
                                      Request& out) {
  const std::size_t nl = in.find('\n', scanned_);
  if (nl == std::string_view::npos) return parse_unterminated(in, timing, out);
  std::string_view line = in.substr(0, nl);
  Eol eol = Eol::kLf;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
    eol = Eol::kCrLf;
  }
  if (is_seed_request(line)) return finish_seed(line, eol, nl + 1, out);
  if (line.size() > kMaxInlineBytes) return error_result("Protocol error: too big inline request");
  auto args = split_inline_args(line);
  if (!args) return error_result("Protocol error: unbalanced quotes in request");
  out.dialect = Dialect::kInline;
  out.eol = eol;
  out.args = std::move(*args);
  return request_result(nl + 1);
}

ParseResult RequestParser::parse_unterminated(std::string_view in, const InputTiming& timing,
                                              Request& out) {
  scanned_ = in.size();
  if (!is_seed_request(in)) {
    if (in.size() > kMaxInlineBytes) return error_result("Protocol error: too big inline request");
    return ParseResult{};
  }
  // (A CR at the end may be the start of a CRLF: it is not counted against the limit yet.)
  if (too_large(in.ends_with('\r') ? in.substr(0, in.size() - 1) : in)) {
    // Refused whole: drop its bytes as they come (nothing of it is buffered or run) up to its end.
    discarding_ = true;
    discarded_cr_ = false;
    refused_verb_ = make_seed_request(in.substr(0, 3), Eol::kNone).args[0];
    return parse_discarding(in, timing, out);
  }
  // The seed client waits for its answer without sending a line ending: a pause ends it.
  if (pause_passed(in.size(), timing)) return finish_seed(in, Eol::kNone, in.size(), out);
  return ParseResult{};
}

ParseResult RequestParser::parse_discarding(std::string_view in, const InputTiming& timing,
                                            Request& out) {
  const std::size_t nl = in.find('\n');
  if (nl == std::string_view::npos) {
    if (!in.empty()) discarded_cr_ = in.back() == '\r';
    if (!pause_passed(std::numeric_limits<std::size_t>::max(), timing))
      return ParseResult{ParseStatus::kNeedMore, in.size(), {}};
    make_refused(Eol::kNone, out);
    return request_result(in.size());
  }
  const bool cr = nl > 0 ? in[nl - 1] == '\r' : discarded_cr_;
  make_refused(cr ? Eol::kCrLf : Eol::kLf, out);
  return request_result(nl + 1);
}

void RequestParser::make_refused(Eol eol, Request& out) {
  discarding_ = false;
  if (eol != Eol::kNone) seed_lines_seen_ = true;
  out = Request{};
  out.dialect = Dialect::kSeed;
  out.eol = eol;
  out.args = {refused_verb_, std::string()};
  out.refused = "value larger than max-value-bytes (" + std::to_string(limits_.max_bulk) +
                " bytes): refused, nothing stored";
}

ParseResult RequestParser::finish_seed(std::string_view line, Eol eol, std::size_t consumed,
                                       Request& out) {
  if (too_large(line)) {
    refused_verb_ = make_seed_request(line.substr(0, 3), Eol::kNone).args[0];
    make_refused(eol, out);
    return request_result(consumed);
  }
  if (eol != Eol::kNone) seed_lines_seen_ = true;
  out = make_seed_request(line, eol);
  return request_result(consumed);
}

bool RequestParser::pause_passed(std::size_t bytes, const InputTiming& timing) {
  if (timing.eof) return true;
  if (!timing.drained) return false;  // more bytes wait in the socket: the caller reads them
  const int64_t need = seed_quiet_needed_us(framing_, bytes, timing.one_read, seed_lines_seen_);
  if (timing.drained_us - timing.last_input_us >= need) return true;
  seed_deadline_us_ = timing.last_input_us + need;
  return false;
}

bool RequestParser::too_large(std::string_view head) const {
  if (head.size() > limits_.max_bulk + kMaxInlineBytes) return true;
  if (head.size() <= limits_.max_bulk + 4 || !iequals(head.substr(0, 3), "SET")) return false;
  // SET:key value — the value is everything after the first space.
  const std::size_t sp = head.find(' ', 4);
  return sp != std::string_view::npos && head.size() - sp - 1 > limits_.max_bulk;
}

}  // namespace clossyne::frontend
