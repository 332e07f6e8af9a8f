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

std::vector<std::string_view> acl_categories(const CommandSpec& spec) {
  const auto has = [&](std::string_view flag) {
    const std::string_view f = spec.flags;
    for (std::size_t at = 0; (at = f.find(flag, at)) != std::string_view::npos; at += flag.size()) {
      const bool starts = at == 0 || f[at - 1] == ' ';
      const bool ends = at + flag.size() == f.size() || f[at + flag.size()] == ' ';
      if (starts && ends) return true;
    }
    return false;
  };
  const bool keyspace = spec.group == "generic" || spec.name == "dbsize" ||
                        spec.name == "flushdb" || spec.name == "flushall";
  const bool dangerous = has("admin") || spec.name == "keys" || spec.name == "flushdb" ||
                         spec.name == "flushall" || spec.name == "info";
  // In Redis's order of the categories (acl.c ACLCommandCategories).
  std::vector<std::string_view> out;
  if (keyspace) out.push_back("keyspace");
  if (has("readonly")) out.push_back("read");
  if (has("write")) out.push_back("write");
  if (spec.group == "string" || spec.group == "bitmap") out.push_back(spec.group);
  if (has("admin")) out.push_back("admin");
  out.push_back(has("fast") ? "fast" : "slow");
  if (dangerous) out.push_back("dangerous");
  if (spec.group == "connection" || spec.group == "scripting") out.push_back(spec.group);
  return out;
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
