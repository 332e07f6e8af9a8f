// Internals of worker/string_commands.cpp (the dispatch) and the files that hold the commands
// (set_commands, number_commands, range_commands, expiry_commands): one command's context,
// Redis's number parsing and its reply shapes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"
#include "worker/string_commands.hpp"

namespace clossyne::strcmd {

// proto-max-bulk-len's default: no string value may grow past it.
inline constexpr int64_t kMaxBulkLen = 512LL * 1024 * 1024;

struct Ctx {
  std::string_view op;
  const std::optional<std::string>& value;
  const std::vector<std::string>& args;
  int64_t now_ms;
  KeyAccess& key;
};
using Handler = Reply (*)(Ctx&);

// Redis's string2ll: optional '-', no '+', no spaces, no leading zeros, fits in int64.
bool parse_ll(std::string_view s, int64_t& out);
// Redis's string2ld: what strtold takes in full, with no leading space, not NaN, no overflow.
bool parse_ld(std::string_view s, long double& out);
// Case-insensitive compare of an option word, as Redis's strcasecmp on its C string.
bool option_is(const std::string& word, std::string_view name);

Reply integer(int64_t n);
Reply bulk(std::optional<std::string> v);
Reply ok();
Reply error(std::string text);
Reply not_integer();  // "ERR value is not an integer or out of range"
Reply syntax_error();
Reply invalid_expire(std::string_view op);  // "ERR invalid expire time in '<op>' command"

// Writes a value after a read-modify-write: an existing key keeps its TTL, a new one has none.
void write_back(KeyAccess& key, bool existed, std::string_view value);

// set_commands.cpp
Reply cmd_set(Ctx& c);
Reply cmd_setnx(Ctx& c);
Reply cmd_setex(Ctx& c);
Reply cmd_psetex(Ctx& c);
Reply cmd_getset(Ctx& c);
Reply cmd_getdel(Ctx& c);
Reply cmd_getex(Ctx& c);

// number_commands.cpp
Reply cmd_incr(Ctx& c);
Reply cmd_decr(Ctx& c);
Reply cmd_incrby(Ctx& c);
Reply cmd_decrby(Ctx& c);
Reply cmd_incrbyfloat(Ctx& c);

// range_commands.cpp
Reply cmd_append(Ctx& c);
Reply cmd_strlen(Ctx& c);
Reply cmd_getrange(Ctx& c);
Reply cmd_setrange(Ctx& c);
Reply cmd_getbit(Ctx& c);
Reply cmd_setbit(Ctx& c);
Reply cmd_bitcount(Ctx& c);

// expiry_commands.cpp
Reply cmd_expire(Ctx& c);
Reply cmd_pexpire(Ctx& c);
Reply cmd_expireat(Ctx& c);
Reply cmd_pexpireat(Ctx& c);
Reply cmd_persist(Ctx& c);
Reply cmd_ttl(Ctx& c);
Reply cmd_pttl(Ctx& c);
Reply cmd_expiretime(Ctx& c);
Reply cmd_pexpiretime(Ctx& c);
Reply cmd_type(Ctx& c);
Reply cmd_xget(Ctx& c);
Reply cmd_xset(Ctx& c);

}  // namespace clossyne::strcmd
