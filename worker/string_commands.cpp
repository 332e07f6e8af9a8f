// The dispatch of the string and expiry commands (arity as Redis checks it) and the helpers their
// files share. The commands themselves: set_commands.cpp, number_commands.cpp,
// range_commands.cpp, expiry_commands.cpp.
#include "worker/string_commands.hpp"

#include <strings.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "worker/string_command_util.hpp"

namespace clossyne {
namespace strcmd {

bool parse_ll(std::string_view s, int64_t& out) {
  // Redis's LONG_STR_SIZE: 21 characters or more never parse.
  if (s.empty() || s.size() >= 21) return false;
  if (s == "0") {
    out = 0;
    return true;
  }
  size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative && ++i == s.size()) return false;
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const auto d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    out = static_cast<int64_t>(v);
  }
  return true;
}

bool parse_ld(std::string_view s, long double& out) {
  // Redis's MAX_LONG_DOUBLE_CHARS buffer bounds the input.
  if (s.empty() || s.size() >= 5 * 1024) return false;
  const std::string buf(s);
  if (std::isspace(static_cast<unsigned char>(buf[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const long double v = std::strtold(buf.c_str(), &end);
  if (static_cast<size_t>(end - buf.c_str()) != buf.size()) return false;  // also an inner NUL
  if (errno == ERANGE && (std::isinf(v) || v == 0.0L)) return false;
  if (errno == EINVAL || std::isnan(v)) return false;
  out = v;
  return true;
}

bool option_is(const std::string& word, std::string_view name) {
  return strcasecmp(word.c_str(), std::string(name).c_str()) == 0;
}

Reply integer(int64_t n) {
  Reply r;
  r.n = n;
  return r;
}

Reply bulk(std::optional<std::string> v) {
  Reply r;
  r.has_value = true;
  r.value = std::move(v);
  return r;
}

Reply ok() {
  return Reply{};
}

Reply error(std::string text) {
  return Reply::Error(0, std::move(text));
}

Reply not_integer() {
  return error("ERR value is not an integer or out of range");
}

Reply syntax_error() {
  return error("ERR syntax error");
}

Reply invalid_expire(std::string_view op) {
  return error("ERR invalid expire time in '" + std::string(op) + "' command");
}

void write_back(KeyAccess& key, bool existed, std::string_view value) {
  // A new key must not inherit an expired entry's TTL: keep it only for a key that was there.
  key.put(value, existed);
}

}  // namespace strcmd

namespace {

using namespace strcmd;

struct Command {
  std::string_view name;
  Handler run;
  int min_args;  // the words after the key (for "set", after its value)
  int max_args;  // -1: no limit
  bool takes_value;
};

// Redis's arities, less the command name and the key.
constexpr std::array<Command, 32> kCommands = {{
    {"set", cmd_set, 0, -1, true},
    {"setnx", cmd_setnx, 1, 1, false},
    {"setex", cmd_setex, 2, 2, false},
    {"psetex", cmd_psetex, 2, 2, false},
    {"getset", cmd_getset, 1, 1, false},
    {"getdel", cmd_getdel, 0, 0, false},
    {"getex", cmd_getex, 0, -1, false},
    {"incr", cmd_incr, 0, 0, false},
    {"decr", cmd_decr, 0, 0, false},
    {"incrby", cmd_incrby, 1, 1, false},
    {"decrby", cmd_decrby, 1, 1, false},
    {"incrbyfloat", cmd_incrbyfloat, 1, 1, false},
    {"append", cmd_append, 1, 1, false},
    {"setrange", cmd_setrange, 2, 2, false},
    {"setbit", cmd_setbit, 2, 2, false},
    {"strlen", cmd_strlen, 0, 0, false},
    {"getrange", cmd_getrange, 2, 2, false},
    {"substr", cmd_getrange, 2, 2, false},
    {"getbit", cmd_getbit, 1, 1, false},
    {"bitcount", cmd_bitcount, 0, -1, false},
    {"expire", cmd_expire, 1, -1, false},
    {"pexpire", cmd_pexpire, 1, -1, false},
    {"expireat", cmd_expireat, 1, -1, false},
    {"pexpireat", cmd_pexpireat, 1, -1, false},
    {"persist", cmd_persist, 0, 0, false},
    {"ttl", cmd_ttl, 0, 0, false},
    {"pttl", cmd_pttl, 0, 0, false},
    {"expiretime", cmd_expiretime, 0, 0, false},
    {"pexpiretime", cmd_pexpiretime, 0, 0, false},
    {"type", cmd_type, 0, 0, false},
    {"xget", cmd_xget, 0, 0, false},
    {"xset", cmd_xset, 1, 1, true},
}};

const Command* find_command(std::string_view op) {
  for (const Command& c : kCommands) {
    if (c.name == op) return &c;
  }
  return nullptr;
}

bool arity_ok(const Command& cmd, const std::optional<std::string>& value,
              const std::vector<std::string>& args) {
  const auto n = static_cast<int64_t>(args.size());
  if (cmd.takes_value && !value) return false;
  return n >= cmd.min_args && (cmd.max_args < 0 || n <= cmd.max_args);
}

}  // namespace

Reply run_string_command(std::string_view op, const std::optional<std::string>& value,
                         const std::vector<std::string>& args, int64_t now_ms, KeyAccess& key) {
  const Command* cmd = find_command(op);
  if (cmd == nullptr) return error("ERR unknown op '" + std::string(op) + "'");
  if (!arity_ok(*cmd, value, args)) {
    return error("ERR wrong number of arguments for '" + std::string(op) + "' command");
  }
  Ctx c{op, value, args, now_ms, key};
  return cmd->run(c);
}

bool is_string_command(std::string_view op) {
  return find_command(op) != nullptr;
}

}  // namespace clossyne
