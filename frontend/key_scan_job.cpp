#include "key_scan_job.hpp"

#include <algorithm>
#include <charconv>

#include "command_table.hpp"
#include "common/protocol.hpp"
#include "glob_match.hpp"
#include "resp_parser.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

std::string scan_reply(uint64_t cursor, const std::vector<std::string>& keys) {
  std::string out;
  resp_array(out, 2);
  resp_bulk(out, std::to_string(cursor));
  resp_array(out, keys.size());
  for (const auto& k : keys) resp_bulk(out, k);
  return out;
}

// KEYS: every page of the walk, one array.
class KeysJob : public Job {
 public:
  explicit KeysJob(KeyWalk walk) : walk_(std::move(walk)) {}

  JobStep start() override { return JobStep::send(walk_.page(kKeysPageSize)); }

  JobStep on_reply(const Reply& reply) override {
    if (!reply.ok) return JobStep::finish(resp_error(reply.error));
    const auto& items = reply.items ? *reply.items : std::vector<KV>{};
    for (const auto& [key, value] : items) {
      if (!walk_.matches(key)) continue;
      bytes_ += key.size() + 16;
      keys_.push_back(key);
    }
    if (bytes_ > kMaxKeysReplyBytes)
      return JobStep::finish(resp_error("KEYS reply too large; use SCAN"));
    if (items.size() < kKeysPageSize || !walk_.advance_past(items.back().first)) {
      std::string out;
      resp_array(out, keys_.size());
      for (const auto& k : keys_) resp_bulk(out, k);
      return JobStep::finish(std::move(out));
    }
    return JobStep::send(walk_.page(kKeysPageSize));
  }

 private:
  KeyWalk walk_;
  std::vector<std::string> keys_;
  std::size_t bytes_ = 0;
};

// SCAN: one page, then a cursor for where the next call resumes.
class ScanJob : public Job {
 public:
  ScanJob(KeyWalk walk, uint64_t count, CursorTable& cursors)
      : walk_(std::move(walk)), count_(count), cursors_(cursors) {}

  JobStep start() override { return JobStep::send(walk_.page(count_)); }

  JobStep on_reply(const Reply& reply) override {
    if (!reply.ok) return JobStep::finish(resp_error(reply.error));
    const auto& items = reply.items ? *reply.items : std::vector<KV>{};
    std::vector<std::string> keys;
    for (const auto& [key, value] : items) {
      if (walk_.matches(key)) keys.push_back(key);
    }
    uint64_t cursor = 0;
    if (items.size() >= count_ && walk_.advance_past(items.back().first)) {
      cursor = cursors_.put(walk_.start);
    }
    return JobStep::finish(scan_reply(cursor, keys));
  }

 private:
  KeyWalk walk_;
  uint64_t count_;
  CursorTable& cursors_;
};

struct ScanOptions {
  std::optional<std::string> pattern;
  uint64_t count = 10;
  bool strings = true;  // TYPE absent or "string": every key is a string
};

bool parse_cursor(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The options after the cursor; an error text on a bad one.
std::optional<std::string> parse_scan_options(std::vector<std::string>& args, ScanOptions& o) {
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return "syntax error";
    const std::string opt = to_lower(args[i]);
    if (opt == "match") {
      o.pattern.emplace(std::move(args[i + 1]));
    } else if (opt == "count") {
      long long n = 0;
      if (!parse_int64(args[i + 1], n)) return "value is not an integer or out of range";
      if (n < 1) return "syntax error";
      o.count = std::min<uint64_t>(static_cast<uint64_t>(n), kMaxScanCount);
    } else if (opt == "type") {
      o.strings = to_lower(args[i + 1]) == "string";
    } else {
      return "syntax error";
    }
  }
  return std::nullopt;
}

Action error_action(std::string_view msg) {
  return Action::local(resp_error(msg));
}

}  // namespace

KeyWalk KeyWalk::for_pattern(std::optional<std::string> pattern, std::string resume) {
  KeyWalk w;
  w.start = std::move(resume);
  if (pattern) {
    std::string prefix = glob_literal_prefix(*pattern);
    w.end = prefix_end(prefix);
    if (prefix > w.start) w.start = std::move(prefix);
    if (*pattern == "*") pattern.reset();  // matches everything: skip the matcher
  }
  w.pattern = std::move(pattern);
  return w;
}

Op KeyWalk::page(uint64_t limit) const {
  Op o;
  o.op = std::string(proto::op::kRng);
  o.key.emplace(start);
  if (end) o.end.emplace(*end);
  o.limit = limit;
  return o;
}

bool KeyWalk::matches(const std::string& key) const {
  return !pattern || glob_match(*pattern, key);
}

bool KeyWalk::advance_past(const std::string& last_key) {
  start = last_key;
  start.push_back('\0');  // the smallest key after last_key
  return !end || start <= *end;
}

Action build_keys(std::vector<std::string>& args) {
  return Action::start_job(
      std::make_shared<KeysJob>(KeyWalk::for_pattern(std::move(args[1]), std::string())));
}

Action build_scan(std::vector<std::string>& args, CursorTable& cursors) {
  uint64_t cursor = 0;
  if (!parse_cursor(args[1], cursor)) return error_action("invalid cursor");
  ScanOptions opts;
  if (auto err = parse_scan_options(args, opts)) return error_action(*err);
  std::string resume;
  if (cursor != 0) {
    auto key = cursors.get(cursor);
    if (!key) return error_action("invalid cursor");
    resume = std::move(*key);
  }
  if (!opts.strings) return Action::local(scan_reply(0, {}));
  KeyWalk walk = KeyWalk::for_pattern(std::move(opts.pattern), std::move(resume));
  if (walk.end && walk.start > *walk.end) return Action::local(scan_reply(0, {}));
  return Action::start_job(std::make_shared<ScanJob>(std::move(walk), opts.count, cursors));
}

}  // namespace clossyne::frontend
