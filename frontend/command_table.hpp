// The command table: every RESP/inline command the frontend knows, with its Redis-style arity
// (positive = exactly that many words including the name, negative = at least -arity), an upper
// bound where Redis's own handler has one, and the handler kind. Arity is checked here, in one
// place; handlers never count their own arguments. Errors are worded as Redis 7 words them.
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
  // forwarded to the cluster
  kSet,
  kGet,
  kDel,
  kExists,
  kMget,
  kMset,
  kDbsize,
  kRng,
  kWhere,
};

struct CommandSpec {
  std::string_view name;  // lower case, as Redis reports it in errors
  int arity;
  int max_words;  // 0: no upper bound
  bool pairs;     // the words after the name come in pairs (MSET)
  Handler handler;
};

inline constexpr std::array<CommandSpec, 16> kCommandTable = {{
    {"ping", -1, 2, false, Handler::kPing},
    {"echo", 2, 0, false, Handler::kEcho},
    {"quit", -1, 0, false, Handler::kQuit},
    {"command", -1, 0, false, Handler::kCommand},
    {"select", 2, 0, false, Handler::kSelect},
    {"client", -2, 0, false, Handler::kClient},
    {"config", -2, 0, false, Handler::kConfig},
    {"set", -3, 0, false, Handler::kSet},
    {"get", 2, 0, false, Handler::kGet},
    {"del", -2, 0, false, Handler::kDel},
    {"exists", -2, 0, false, Handler::kExists},
    {"mget", -2, 0, false, Handler::kMget},
    {"mset", -3, 0, true, Handler::kMset},
    {"dbsize", 1, 0, false, Handler::kDbsize},
    {"rng", -3, 0, false, Handler::kRng},
    {"where", 2, 0, false, Handler::kWhere},
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
