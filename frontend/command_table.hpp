// The command table: every RESP/inline command the frontend knows, with its Redis-style arity
// (positive = exactly that many words including the name, negative = at least -arity), an upper
// bound where Redis's own handler has one, the handler kind, and what COMMAND and COMMAND DOCS
// report (flags, key positions, group, arguments, summary). Arity is checked here, in one place;
// handlers never count their own arguments. Errors are worded as Redis 7 words them.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clossyne::frontend {

enum class Handler : uint8_t {
  // answered by the frontend itself
  kPing,
  kEcho,
  kQuit,
  kCommand,
  kSelect,
  kClient,
  kConfig,
  kTime,
  kHello,
  // forwarded to the cluster as one operation
  kSet,
  kGet,
  kDel,
  kExists,
  kMget,
  kMset,
  kDbsize,
  kRng,
  kWhere,
  kType,
  // jobs: several cluster round trips (see job.hpp)
  kKeys,
  kScan,
  kInfo,
  kFlushdb,
};

// `args` describes the arguments for COMMAND DOCS, ';'-separated, each `[?][+][TOKEN=]name[:type]`
// ('?' optional, '+' may repeat, type "string" unless given).
struct CommandSpec {
  std::string_view name;  // lower case, as Redis reports it in errors
  int arity;
  int max_words;  // 0: no upper bound
  bool pairs;     // the words after the name come in pairs (MSET)
  Handler handler;
  std::string_view flags;  // COMMAND flags, space-separated
  int first_key, last_key, key_step;
  std::string_view group;
  std::string_view args;
  std::string_view summary;
};

inline constexpr std::array<CommandSpec, 25> kCommandTable = {{
    {"ping", -1, 2, false, Handler::kPing, "fast", 0, 0, 0, "connection", "?message",
     "Returns PONG, or the message"},
    {"echo", 2, 0, false, Handler::kEcho, "fast", 0, 0, 0, "connection", "message",
     "Returns the message"},
    {"quit", -1, 0, false, Handler::kQuit, "fast", 0, 0, 0, "connection", "",
     "Closes the connection"},
    {"command", -1, 0, false, Handler::kCommand, "loading stale", 0, 0, 0, "server",
     "?subcommand;?+arg", "Describes the commands (COUNT, INFO, DOCS, LIST)"},
    {"select", 2, 0, false, Handler::kSelect, "loading stale fast", 0, 0, 0, "connection",
     "index:integer", "Selects database 0 (the only one)"},
    {"client", -2, 0, false, Handler::kClient, "loading stale", 0, 0, 0, "connection",
     "subcommand;?+arg", "SETNAME, GETNAME, ID, INFO, LIST of this connection"},
    {"config", -2, 0, false, Handler::kConfig, "admin loading stale", 0, 0, 0, "server",
     "subcommand;?+arg", "CONFIG GET pattern: the frontend's settings"},
    {"time", 1, 0, false, Handler::kTime, "loading stale fast", 0, 0, 0, "server", "",
     "Returns the server time"},
    {"set", -3, 0, false, Handler::kSet, "write denyoom", 1, 1, 1, "string", "key:key;value",
     "Sets the value of a key"},
    {"get", 2, 0, false, Handler::kGet, "readonly fast", 1, 1, 1, "string", "key:key",
     "Returns the value of a key, or nil"},
    {"del", -2, 0, false, Handler::kDel, "write", 1, -1, 1, "generic", "+key:key",
     "Deletes keys; returns how many existed"},
    {"unlink", -2, 0, false, Handler::kDel, "write fast", 1, -1, 1, "generic", "+key:key",
     "Deletes keys (same as DEL)"},
    {"exists", -2, 0, false, Handler::kExists, "readonly fast", 1, -1, 1, "generic", "+key:key",
     "Counts the keys that exist"},
    {"mget", -2, 0, false, Handler::kMget, "readonly fast", 1, -1, 1, "string", "+key:key",
     "Returns the values of keys"},
    {"mset", -3, 0, true, Handler::kMset, "write denyoom", 1, -1, 2, "string", "+key value",
     "Sets several keys"},
    {"dbsize", 1, 0, false, Handler::kDbsize, "readonly fast", 0, 0, 0, "server", "",
     "Returns the number of keys in the cluster"},
    {"rng", -3, 5, false, Handler::kRng, "readonly", 1, 2, 1, "generic",
     "first:key;last:key;?LIMIT=count:integer", "Key-value pairs from first to last, inclusive"},
    {"where", 2, 0, false, Handler::kWhere, "readonly fast", 1, 1, 1, "generic", "key:key",
     "Shard, owner and tree path of a key"},
    {"type", 2, 0, false, Handler::kType, "readonly fast", 1, 1, 1, "generic", "key:key",
     "Returns string, or none when the key is absent"},
    {"keys", 2, 0, false, Handler::kKeys, "readonly", 0, 0, 0, "generic", "pattern:pattern",
     "Returns the keys matching a glob pattern"},
    {"scan", -2, 8, false, Handler::kScan, "readonly", 0, 0, 0, "generic",
     "cursor:integer;?MATCH=pattern:pattern;?COUNT=count:integer;?TYPE=type",
     "Iterates over the keys, in key order"},
    {"info", -1, 0, false, Handler::kInfo, "loading stale", 0, 0, 0, "server", "?+section",
     "Server, clients, memory, stats, keyspace and cluster figures"},
    {"flushdb", -1, 2, false, Handler::kFlushdb, "write", 0, 0, 0, "server", "?mode",
     "Deletes every key (not atomic: a paged scan and delete)"},
    {"flushall", -1, 2, false, Handler::kFlushdb, "write", 0, 0, 0, "server", "?mode",
     "Deletes every key (same as FLUSHDB)"},
    {"hello", -1, 0, false, Handler::kHello, "fast", 0, 0, 0, "connection", "?protover:integer",
     "HELLO [2]: the server's figures; RESP3 is refused with NOPROTO"},
}};

// Case-insensitive lookup; nullptr when unknown.
const CommandSpec* find_command(std::string_view name);

// nullopt when `words` (name included) fits the spec's arity; otherwise the error text
// ("ERR wrong number of arguments for 'get' command").
std::optional<std::string> check_arity(const CommandSpec& spec, std::size_t words);

// "ERR unknown command 'foo', with args beginning with: 'a' 'b' " as Redis 7 words it.
// REQUIRES: !args.empty().
std::string unknown_command_error(const std::vector<std::string>& args);

// Lower-cased copy (ASCII), for case-insensitive subcommands and keywords.
std::string to_lower(std::string_view s);

}  // namespace clossyne::frontend
