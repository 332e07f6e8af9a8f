#include "command_table.hpp"

#include <cctype>

namespace clossyne::frontend {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const CommandSpec* find_command(std::string_view name) {
  if (name.size() > 16) return nullptr;  // longer than any command name
  const std::string lower = to_lower(name);
  for (const auto& spec : kCommandTable) {
    if (spec.name == lower) return &spec;
  }
  return nullptr;
}

std::optional<std::string> check_arity(const CommandSpec& spec, std::size_t words) {
  const auto n = static_cast<long long>(words);
  bool ok = spec.arity >= 0 ? n == spec.arity : n >= -spec.arity;
  if (spec.max_words > 0 && n > spec.max_words) ok = false;
  if (spec.pairs && (n - 1) % 2 != 0) ok = false;
  if (ok) return std::nullopt;
  return "ERR wrong number of arguments for '" + std::string(spec.name) + "' command";
}

std::string unknown_command_error(const std::vector<std::string>& args) {
  // Redis 7 (processCommand): the name up to 128 bytes, then quoted args while under 128 bytes.
  std::string quoted;
  for (std::size_t i = 1; i < args.size() && quoted.size() < 128; ++i) {
    quoted.push_back('\'');
    quoted.append(std::string_view(args[i]).substr(0, 128 - quoted.size() + 1));
    quoted.append("' ");
  }
  std::string msg = "ERR unknown command '";
  msg.append(std::string_view(args[0]).substr(0, 128));
  msg.append("', with args beginning with: ");
  msg.append(quoted);
  return msg;
}

}  // namespace clossyne::frontend
