#include "slowlog.hpp"

#include "command_table.hpp"
#include "resp_parser.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

constexpr std::size_t kMaxArgs = 32;
constexpr std::size_t kMaxArgBytes = 128;

std::string error(std::string_view s) {
  std::string out;
  resp_error(out, s);
  return out;
}

std::string get_reply(const SlowLog& log, const std::vector<std::string>& args) {
  long long count = 10;
  if (args.size() == 3 && (!parse_int64(args[2], count) || count < -1))
    return error("count should be greater than or equal to -1");
  if (args.size() > 3) return error("wrong number of arguments for 'slowlog|get' command");
  std::size_t n = log.size();
  if (count >= 0 && static_cast<std::size_t>(count) < n) n = static_cast<std::size_t>(count);
  std::string out;
  resp_array(out, n);
  for (std::size_t i = 0; i < n; ++i) {
    const SlowLogEntry& e = log.entries()[i];
    resp_array(out, 6);
    resp_int(out, static_cast<int64_t>(e.id));
    resp_int(out, e.unix_time);
    resp_int(out, static_cast<int64_t>(e.duration_us));
    resp_array(out, e.args.size());
    for (const auto& a : e.args) resp_bulk(out, a);
    resp_bulk(out, e.addr);
    resp_bulk(out, e.name);
  }
  return out;
}

std::string help() {
  std::string out;
  const char* lines[] = {
      "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET [<count>]",
      "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
      "    Entries are made of:",
      "    id, timestamp, time in microseconds, arguments array, client IP and port,",
      "    client name",
      "LEN",
      "    Return the length of the slowlog.",
      "RESET",
      "    Reset the slowlog.",
      "HELP",
      "    Print this help."};
  resp_array(out, std::size(lines));
  for (const char* l : lines) resp_simple(out, l);
  return out;
}

// Which arguments carry a secret, as Redis 7 redacts them: AUTH's, HELLO's AUTH user and password,
// every word of ACL SETUSER after its name, CONFIG SET requirepass/masterauth's value.
// Empty (no allocation) for every other command.
std::vector<bool> secrets(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0].size() > 6) return {};
  const std::string cmd = to_lower(args[0]);
  if (cmd != "auth" && cmd != "hello" && cmd != "acl" && cmd != "config") return {};
  std::vector<bool> secret(args.size(), false);
  const std::string sub = to_lower(args[1]);
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (cmd == "auth" || (cmd == "acl" && sub == "setuser" && i >= 2)) secret[i] = true;
  }
  for (std::size_t i = 2; cmd == "hello" && i + 2 < args.size(); ++i) {
    if (to_lower(args[i]) == "auth") secret[i + 1] = secret[i + 2] = true;
  }
  for (std::size_t i = 2; cmd == "config" && sub == "set" && i + 1 < args.size(); i += 2) {
    const std::string name = to_lower(args[i]);
    if (name == "requirepass" || name == "masterauth") secret[i + 1] = true;
  }
  return secret;
}

}  // namespace

std::vector<std::string> SlowLog::cut_args(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  const std::size_t n = std::min(args.size(), kMaxArgs);
  const std::vector<bool> secret = secrets(args);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!secret.empty() && secret[i]) {
      out.emplace_back("(redacted)");
    } else if (n < args.size() && i == n - 1) {
      out.push_back("... (" + std::to_string(args.size() - n + 1) + " more arguments)");
    } else if (args[i].size() > kMaxArgBytes) {
      out.push_back(args[i].substr(0, kMaxArgBytes) + "... (" +
                    std::to_string(args[i].size() - kMaxArgBytes) + " more bytes)");
    } else {
      out.push_back(args[i]);
    }
  }
  return out;
}

void SlowLog::add(std::vector<std::string> cut, uint64_t duration_us, std::string addr,
                  std::string name, int64_t unix_time) {
  entries_.push_front(SlowLogEntry{next_id_++, unix_time, duration_us, std::move(cut),
                                   std::move(addr), std::move(name)});
  trim();
}

void SlowLog::trim() {
  while (entries_.size() > max_len) entries_.pop_back();
}

std::string slowlog_command(SlowLog& log, const std::vector<std::string>& args) {
  const std::string sub = to_lower(args[1]);
  if (sub == "get") return get_reply(log, args);
  if (args.size() > 2 && (sub == "len" || sub == "reset" || sub == "help"))
    return error("wrong number of arguments for 'slowlog|" + sub + "' command");
  if (sub == "len") {
    std::string out;
    resp_int(out, static_cast<int64_t>(log.size()));
    return out;
  }
  if (sub == "reset") {
    log.reset();
    return "+OK\r\n";
  }
  if (sub == "help") return help();
  return error("unknown subcommand '" + args[1].substr(0, 128) + "'. Try SLOWLOG HELP.");
}

}  // namespace clossyne::frontend
