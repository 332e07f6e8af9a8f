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
  kFunction,
  kAuth,
  kAcl,
  kSlowlog,
  kLatency,
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
  kKeyed,  // a single-key op named as the command (common/keyed_ops.hpp), words after the key in
           // args
  kMsetnx,
  kRename,
  kRenamenx,
  kCopy,
  // jobs: several cluster round trips (see job.hpp)
  kKeys,
  kScan,
  kInfo,
  kFlushdb,
  kLcs,
  kRandomkey,
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

inline constexpr std::array<CommandSpec, 65> kCommandTable = {{
    // The most frequent commands first: lookup is a linear scan.
    {"get", 2, 0, false, Handler::kGet, "readonly fast", 1, 1, 1, "string", "key:key",
     "Returns the value of a key, or nil"},
    {"set", -3, 0, false, Handler::kSet, "write denyoom", 1, 1, 1, "string",
     "key:key;value;?condition;?GET=get:pure-token;?expiration",
     "Sets the value of a key, with NX|XX, GET and EX|PX|EXAT|PXAT|KEEPTTL"},
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
     "subcommand;?+arg", "SETNAME, GETNAME, ID, INFO, LIST (every client of this frontend)"},
    {"config", -2, 0, false, Handler::kConfig, "admin loading stale", 0, 0, 0, "server",
     "subcommand;?+arg", "GET pattern, SET name value, RESETSTAT: the frontend's settings"},
    {"time", 1, 0, false, Handler::kTime, "loading stale fast", 0, 0, 0, "server", "",
     "Returns the server time"},
    {"hello", -1, 0, false, Handler::kHello, "fast", 0, 0, 0, "connection", "?protover:integer",
     "HELLO [2]: the server's figures; RESP3 is refused with NOPROTO"},
    {"slowlog", -2, 0, false, Handler::kSlowlog, "admin loading stale", 0, 0, 0, "server",
     "subcommand;?+arg", "GET [count], LEN, RESET: this frontend's slowest commands"},
    {"latency", -2, 0, false, Handler::kLatency, "admin loading stale", 0, 0, 0, "server",
     "subcommand;?+arg", "HISTOGRAM [command ...]: this frontend's command latencies"},
    {"function", -2, 0, false, Handler::kFunction, "", 0, 0, 0, "scripting", "subcommand;?+arg",
     "FUNCTION FLUSH only (no functions are ever loaded)"},
    {"auth", -2, 0, false, Handler::kAuth, "noscript loading stale fast no-auth", 0, 0, 0,
     "connection", "?username;password", "Authenticates the connection as a user"},
    {"acl", -2, 0, false, Handler::kAcl, "admin noscript loading stale", 0, 0, 0, "server",
     "subcommand;?+arg", "WHOAMI, LIST, USERS, SETUSER, DELUSER, CAT: the client port's users"},
    {"del", -2, 0, false, Handler::kDel, "write", 1, -1, 1, "generic", "+key:key",
     "Deletes keys; returns how many existed"},
    {"unlink", -2, 0, false, Handler::kDel, "write fast", 1, -1, 1, "generic", "+key:key",
     "Deletes keys (same as DEL)"},
    {"exists", -2, 0, false, Handler::kExists, "readonly fast", 1, -1, 1, "generic", "+key:key",
     "Counts the keys that exist"},
    {"touch", -2, 0, false, Handler::kExists, "readonly fast", 1, -1, 1, "generic", "+key:key",
     "Counts the keys that exist (no access times are kept)"},
    {"mget", -2, 0, false, Handler::kMget, "readonly fast", 1, -1, 1, "string", "+key:key",
     "Returns the values of keys"},
    {"mset", -3, 0, true, Handler::kMset, "write denyoom", 1, -1, 2, "string", "+key value",
     "Sets several keys"},
    {"msetnx", -3, 0, true, Handler::kMsetnx, "write denyoom", 1, -1, 2, "string", "+key value",
     "Sets several keys only when none of them exists, atomically across shards"},
    {"setnx", 3, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string",
     "key:key;value", "Sets a key only when it does not exist"},
    {"setex", 4, 0, false, Handler::kKeyed, "write denyoom", 1, 1, 1, "string",
     "key:key;seconds:integer;value", "Sets a key with a time to live in seconds"},
    {"psetex", 4, 0, false, Handler::kKeyed, "write denyoom", 1, 1, 1, "string",
     "key:key;milliseconds:integer;value", "Sets a key with a time to live in milliseconds"},
    {"getset", 3, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string",
     "key:key;value", "Sets a key and returns its old value"},
    {"getdel", 2, 0, false, Handler::kKeyed, "write fast", 1, 1, 1, "string", "key:key",
     "Returns a key's value and deletes the key"},
    {"getex", -2, 0, false, Handler::kKeyed, "write fast", 1, 1, 1, "string", "key:key;?expiration",
     "Returns a key's value and sets or removes its expiry"},
    {"incr", 2, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string", "key:key",
     "Adds 1 to an integer value"},
    {"decr", 2, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string", "key:key",
     "Subtracts 1 from an integer value"},
    {"incrby", 3, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string",
     "key:key;increment:integer", "Adds a number to an integer value"},
    {"decrby", 3, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string",
     "key:key;decrement:integer", "Subtracts a number from an integer value"},
    {"incrbyfloat", 3, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string",
     "key:key;increment:double", "Adds a floating point number to a value"},
    {"append", 3, 0, false, Handler::kKeyed, "write denyoom fast", 1, 1, 1, "string",
     "key:key;value", "Appends to a value; returns the new length"},
    {"strlen", 2, 0, false, Handler::kKeyed, "readonly fast", 1, 1, 1, "string", "key:key",
     "Returns the length of a value"},
    {"getrange", 4, 0, false, Handler::kKeyed, "readonly", 1, 1, 1, "string",
     "key:key;start:integer;end:integer", "Returns a substring of a value"},
    {"substr", 4, 0, false, Handler::kKeyed, "readonly", 1, 1, 1, "string",
     "key:key;start:integer;end:integer", "Returns a substring of a value (same as GETRANGE)"},
    {"setrange", 4, 0, false, Handler::kKeyed, "write denyoom", 1, 1, 1, "string",
     "key:key;offset:integer;value", "Overwrites part of a value from an offset"},
    {"getbit", 3, 0, false, Handler::kKeyed, "readonly fast", 1, 1, 1, "bitmap",
     "key:key;offset:integer", "Returns a bit of a value"},
    {"setbit", 4, 0, false, Handler::kKeyed, "write denyoom", 1, 1, 1, "bitmap",
     "key:key;offset:integer;value:integer", "Sets or clears a bit of a value"},
    {"bitcount", -2, 0, false, Handler::kKeyed, "readonly", 1, 1, 1, "bitmap",
     "key:key;?start:integer;?end:integer;?unit", "Counts the set bits of a value"},
    {"lcs", -3, 0, false, Handler::kLcs, "readonly", 1, 2, 1, "string",
     "key1:key;key2:key;?LEN=len:pure-token;?IDX=idx:pure-token;?MINMATCHLEN=min-match-len:integer;"
     "?WITHMATCHLEN=withmatchlen:pure-token",
     "Longest common subsequence of two values"},
    {"expire", -3, 0, false, Handler::kKeyed, "write fast", 1, 1, 1, "generic",
     "key:key;seconds:integer;?condition", "Sets a key's time to live in seconds"},
    {"pexpire", -3, 0, false, Handler::kKeyed, "write fast", 1, 1, 1, "generic",
     "key:key;milliseconds:integer;?condition", "Sets a key's time to live in milliseconds"},
    {"expireat", -3, 0, false, Handler::kKeyed, "write fast", 1, 1, 1, "generic",
     "key:key;unix-time-seconds:unix-time;?condition", "Sets a key's expiry as a Unix time"},
    {"pexpireat", -3, 0, false, Handler::kKeyed, "write fast", 1, 1, 1, "generic",
     "key:key;unix-time-milliseconds:unix-time;?condition",
     "Sets a key's expiry as a Unix time in milliseconds"},
    {"ttl", 2, 0, false, Handler::kKeyed, "readonly fast", 1, 1, 1, "generic", "key:key",
     "Returns a key's time to live in seconds (-1: none, -2: no key)"},
    {"pttl", 2, 0, false, Handler::kKeyed, "readonly fast", 1, 1, 1, "generic", "key:key",
     "Returns a key's time to live in milliseconds (-1: none, -2: no key)"},
    {"expiretime", 2, 0, false, Handler::kKeyed, "readonly fast", 1, 1, 1, "generic", "key:key",
     "Returns a key's expiry as a Unix time in seconds"},
    {"pexpiretime", 2, 0, false, Handler::kKeyed, "readonly fast", 1, 1, 1, "generic", "key:key",
     "Returns a key's expiry as a Unix time in milliseconds"},
    {"persist", 2, 0, false, Handler::kKeyed, "write fast", 1, 1, 1, "generic", "key:key",
     "Removes a key's expiry"},
    {"rename", 3, 0, false, Handler::kRename, "write", 1, 2, 1, "generic", "key:key;newkey:key",
     "Renames a key, atomically across shards"},
    {"renamenx", 3, 0, false, Handler::kRenamenx, "write fast", 1, 2, 1, "generic",
     "key:key;newkey:key", "Renames a key only when the new name does not exist"},
    {"copy", -3, 0, false, Handler::kCopy, "write denyoom", 1, 2, 1, "generic",
     "source:key;destination:key;?DB=destination-db:integer;?REPLACE=replace:pure-token",
     "Copies a value (and its expiry) to another key"},
    {"randomkey", 1, 0, false, Handler::kRandomkey, "readonly", 0, 0, 0, "generic", "",
     "Returns a random key, or nil when there is none"},
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
     "Server, clients, memory, CPU, stats, keyspace and cluster figures"},
    {"flushdb", -1, 2, false, Handler::kFlushdb, "write", 0, 0, 0, "server", "?mode",
     "Deletes every key (not atomic: a paged scan and delete)"},
    {"flushall", -1, 2, false, Handler::kFlushdb, "write", 0, 0, 0, "server", "?mode",
     "Deletes every key (same as FLUSHDB)"},
}};

// Case-insensitive lookup; nullptr when unknown.
const CommandSpec* find_command(std::string_view name);

// nullopt when `words` (name included) fits the spec's arity; otherwise the error text
// ("ERR wrong number of arguments for 'get' command").
std::optional<std::string> check_arity(const CommandSpec& spec, std::size_t words);

// "ERR unknown command 'foo', with args beginning with: 'a' 'b' " as Redis 7 words it.
// REQUIRES: !args.empty().
std::string unknown_command_error(const std::vector<std::string>& args);

// The ACL categories COMMAND INFO reports and COMMAND LIST FILTERBY ACLCAT matches, without
// the '@' ("keyspace", "read", "fast", ...): derived from the group and flags as Redis assigns
// them.
std::vector<std::string_view> acl_categories(const CommandSpec& spec);

// Lower-cased copy (ASCII), for case-insensitive subcommands and keywords.
std::string to_lower(std::string_view s);

}  // namespace clossyne::frontend
