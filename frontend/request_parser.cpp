#include "request_parser.hpp"

#include <array>
#include <cctype>

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

ParseResult RequestParser::parse(std::string_view input, bool burst_end, Request& out) {
  std::size_t skipped = 0;  // empty requests consumed before the one we return
  while (skipped < input.size()) {
    const std::string_view in = input.substr(skipped);
    ParseResult r;
    if (resp_.in_progress() || in.front() == '*') {
      out.dialect = Dialect::kResp;
      out.eol = Eol::kNone;
      r = resp_.feed(in, out.args);
    } else {
      r = parse_line(in, burst_end, out);
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

ParseResult RequestParser::parse_line(std::string_view in, bool burst_end, Request& out) {
  const std::size_t nl = in.find('\n', scanned_);
  if (nl == std::string_view::npos) return parse_unterminated(in, burst_end, out);
  std::string_view line = in.substr(0, nl);
  Eol eol = Eol::kLf;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
    eol = Eol::kCrLf;
  }
  if (is_seed_request(line)) {
    out = make_seed_request(line, eol);
    return request_result(nl + 1);
  }
  if (line.size() > kMaxInlineBytes) return error_result("Protocol error: too big inline request");
  auto args = split_inline_args(line);
  if (!args) return error_result("Protocol error: unbalanced quotes in request");
  out.dialect = Dialect::kInline;
  out.eol = eol;
  out.args = std::move(*args);
  return request_result(nl + 1);
}

ParseResult RequestParser::parse_unterminated(std::string_view in, bool burst_end, Request& out) {
  scanned_ = in.size();
  if (!is_seed_request(in)) {
    if (in.size() > kMaxInlineBytes) return error_result("Protocol error: too big inline request");
    return ParseResult{};
  }
  // The seed client waits for its answer without sending a line ending: a quiet socket ends it.
  if (burst_end) {
    out = make_seed_request(in, Eol::kNone);
    return request_result(in.size());
  }
  if (in.size() > limits_.max_bulk + kMaxInlineBytes)
    return error_result("Protocol error: too big inline request");
  return ParseResult{};
}

}  // namespace clossyne::frontend
