#include "acl.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "glob_match.hpp"

namespace clossyne::frontend {
namespace {

constexpr std::string_view kUnknownCommand = "Unknown command or category name in ACL";

bool known_category(std::string_view cat) {
  const auto& all = acl_category_names();
  return std::find(all.begin(), all.end(), cat) != all.end();
}

bool in_category(const CommandSpec& spec, std::string_view cat) {
  for (std::string_view c : acl_categories(spec)) {
    if (c == cat) return true;
  }
  return false;
}

void append_rule(AclUser& u, std::string_view rule) {
  if (!u.command_rules.empty()) u.command_rules.push_back(' ');
  u.command_rules.append(rule);
}

// A user as ACL SETUSER creates one (Redis 7.0 with acl-pubsub-default resetchannels).
AclUser fresh_user(std::string_view name) {
  AclUser u;
  u.name = std::string(name);
  return u;
}

std::optional<std::string> apply_command_rule(AclUser& u, std::string_view rule) {
  const bool add = rule[0] == '+';
  const std::string_view what = rule.substr(1);
  if (what == "@all") {
    u.all_commands = add;
    u.rules_from_all = add;
    u.acl_self = add;
    u.client_list = add;
    if (add) {
      u.allowed.set();
    } else {
      u.allowed.reset();
    }
    u.command_rules.clear();
    return std::nullopt;
  }
  if (!what.empty() && what[0] == '@') {
    const std::string cat = to_lower(what.substr(1));
    if (!known_category(cat)) return std::string(kUnknownCommand);
    for (std::size_t i = 0; i < kCommandTable.size(); ++i) {
      if (in_category(kCommandTable[i], cat)) u.allowed.set(i, add);
    }
    if (cat == "slow") u.acl_self = add;
    if (cat == "admin" || cat == "dangerous") u.client_list = add;
  } else {
    const CommandSpec* spec =
        what.find('|') == std::string_view::npos ? find_command(what) : nullptr;
    if (spec == nullptr) return std::string(kUnknownCommand);
    u.allowed.set(static_cast<std::size_t>(spec - kCommandTable.data()), add);
    if (spec->handler == Handler::kAcl) u.acl_self = add;
    if (spec->handler == Handler::kClient) u.client_list = add;
  }
  // +something on top of every command changes nothing (Redis drops it from ACL LIST too).
  if (add && u.all_commands) return std::nullopt;
  if (!add) u.all_commands = false;
  append_rule(u, to_lower(rule));
  return std::nullopt;
}

// Redis refuses patterns with spaces or NULs (ACL LIST and the ACL file split rules at spaces).
bool has_spaces(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return c == '\0' || std::isspace(static_cast<unsigned char>(c)) != 0;
  });
}

std::optional<std::string> apply_rule(AclUser& u, std::string_view rule) {
  if (rule.empty()) return "Syntax error";
  if ((rule[0] == '~' || rule[0] == '&') && has_spaces(rule)) return "Syntax error";
  const std::string lower = to_lower(rule);
  if (lower == "on") {
    u.enabled = true;
  } else if (lower == "off") {
    u.enabled = false;
  } else if (lower == "nopass") {
    u.nopass = true;
    u.passwords.clear();
  } else if (lower == "resetpass") {
    u.nopass = false;
    u.passwords.clear();
  } else if (rule[0] == '>' || rule[0] == '#') {
    PasswordDigest d{};
    if (rule[0] == '>') {
      d = password_digest(rule.substr(1));
    } else if (auto parsed = digest_from_hex(rule.substr(1))) {
      d = *parsed;
    } else {
      return "The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters";
    }
    u.nopass = false;
    const bool have = std::any_of(u.passwords.begin(), u.passwords.end(),
                                  [&](const PasswordDigest& p) { return digests_equal(p, d); });
    if (!have) u.passwords.push_back(d);
  } else if (rule[0] == '<' || rule[0] == '!') {
    std::optional<PasswordDigest> d;
    if (rule[0] == '<') {
      d = password_digest(rule.substr(1));
    } else {
      d = digest_from_hex(rule.substr(1));
      if (!d)
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    }
    const auto it = std::find_if(u.passwords.begin(), u.passwords.end(),
                                 [&](const PasswordDigest& p) { return digests_equal(p, *d); });
    if (it == u.passwords.end())
      return "The password you are trying to remove from the user does not exist";
    u.passwords.erase(it);
  } else if (rule[0] == '~' || lower == "allkeys") {
    const std::string_view pattern = lower == "allkeys" ? "*" : rule.substr(1);
    if (u.all_keys)
      return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
             "not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    if (pattern == "*") {
      u.all_keys = true;
      u.key_patterns.clear();
    } else if (std::find(u.key_patterns.begin(), u.key_patterns.end(), pattern) ==
               u.key_patterns.end()) {
      u.key_patterns.emplace_back(pattern);
    }
  } else if (lower == "resetkeys") {
    u.all_keys = false;
    u.key_patterns.clear();
  } else if (rule[0] == '&' || lower == "allchannels") {
    const std::string_view pattern = lower == "allchannels" ? "*" : rule.substr(1);
    if (u.all_channels)
      return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
             "does not have any effect. Try 'resetchannels' to start with an empty list of "
             "channels";
    if (pattern == "*") {
      u.all_channels = true;
      u.channel_patterns.clear();
    } else {
      u.channel_patterns.emplace_back(pattern);
    }
  } else if (lower == "resetchannels") {
    u.all_channels = false;
    u.channel_patterns.clear();
  } else if (lower == "allcommands") {
    return apply_command_rule(u, "+@all");
  } else if (lower == "nocommands") {
    return apply_command_rule(u, "-@all");
  } else if (rule[0] == '+' || rule[0] == '-') {
    if (rule.size() < 2) return "Syntax error";
    return apply_command_rule(u, rule);
  } else if (lower == "reset") {
    u = fresh_user(u.name);
  } else if (lower == "sanitize-payload" || lower == "skip-sanitize-payload") {
    // No payloads to sanitize (no RESTORE): accepted for files written for Redis.
  } else {
    return "Syntax error";
  }
  return std::nullopt;
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) words.push_back(std::move(w));
  return words;
}

bool has_subcommands(const CommandSpec& spec) {
  return spec.args.substr(0, 10) == "subcommand";
}

}  // namespace

const std::vector<std::string_view>& acl_category_names() {
  static const std::vector<std::string_view> kNames = {
      "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
      "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
      "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting"};
  return kNames;
}

std::optional<std::string> check_permission(const AclUser& user, const CommandSpec& spec,
                                            const std::vector<std::string>& args) {
  const auto index = static_cast<std::size_t>(&spec - kCommandTable.data());
  bool allowed = user.all_commands || user.allowed.test(index);
  if (spec.handler == Handler::kAcl && args.size() > 1) {
    const std::string sub = to_lower(args[1]);
    if (sub == "whoami" || sub == "cat") allowed = user.all_commands || user.acl_self;
  }
  if (spec.handler == Handler::kClient && args.size() > 1 && to_lower(args[1]) == "list")
    allowed = allowed && (user.all_commands || user.client_list);
  if (!allowed) {
    std::string name(spec.name);
    if (has_subcommands(spec) && args.size() > 1) {
      name.push_back('|');
      name.append(to_lower(args[1]));
    }
    return "NOPERM this user has no permissions to run the '" + name + "' command";
  }
  if (user.all_keys || spec.first_key == 0) return std::nullopt;
  // RNG returns every key between its two bounds: only a user with every key may run it.
  if (spec.handler == Handler::kRng) return std::string(kNoPermKey);
  const long long n = static_cast<long long>(args.size());
  const long long last = spec.last_key < 0 ? n + spec.last_key : spec.last_key;
  for (long long i = spec.first_key; i <= last && i < n; i += spec.key_step) {
    const std::string& key = args[static_cast<std::size_t>(i)];
    const bool ok = std::any_of(user.key_patterns.begin(), user.key_patterns.end(),
                                [&](const std::string& p) { return glob_match(p, key); });
    if (!ok) return std::string(kNoPermKey);
  }
  return std::nullopt;
}

AclStore::AclStore() {
  auto u = std::make_shared<AclUser>(fresh_user("default"));
  for (std::string_view r : {"on", "nopass", "~*", "&*", "+@all"}) (void)apply_rule(*u, r);
  default_ = u;
  users_.emplace("default", u);
}

std::optional<std::string> AclStore::set_user(std::string_view name,
                                              const std::vector<std::string>& rules,
                                              std::string* bad_rule) {
  if (name.empty() || has_spaces(name)) {
    if (bad_rule != nullptr) bad_rule->clear();
    return "Usernames can't contain spaces or null characters";
  }
  auto existing = find(name);
  AclUser copy = existing ? *existing : fresh_user(name);
  for (const auto& rule : rules) {
    if (auto err = apply_rule(copy, rule)) {
      if (bad_rule != nullptr) *bad_rule = rule;
      return err;
    }
  }
  if (existing) {
    *existing = std::move(copy);
  } else {
    users_.emplace(std::string(name), std::make_shared<AclUser>(std::move(copy)));
  }
  return std::nullopt;
}

std::optional<std::string> AclStore::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open ACL file " + path;
  std::ostringstream text;
  text << in.rdbuf();
  return load_text(text.str(), path);
}

std::optional<std::string> AclStore::load_text(std::string_view text, std::string_view source) {
  std::map<std::string, std::shared_ptr<AclUser>, std::less<>> loaded;
  std::size_t line_no = 0;
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    const std::vector<std::string> words = split_words(line);
    if (words.empty() || words[0][0] == '#') continue;
    const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    if (words[0] != "user") return where + "line should start with user keyword";
    if (words.size() < 2) return where + "user name missing";
    if (loaded.count(words[1]) != 0) return where + "duplicate user '" + words[1] + "' found";
    AclUser u = fresh_user(words[1]);
    for (std::size_t i = 2; i < words.size(); ++i) {
      if (auto err = apply_rule(u, words[i]))
        return where + "Error in applying operation '" + words[i] + "': " + *err;
    }
    loaded.emplace(words[1], std::make_shared<AclUser>(std::move(u)));
  }
  if (loaded.count("default") == 0) loaded.emplace("default", AclStore().default_);
  for (auto& [name, user] : users_) user->deleted = true;
  users_ = std::move(loaded);
  default_ = users_.at("default");
  return std::nullopt;
}

bool AclStore::delete_user(std::string_view name) {
  auto it = users_.find(name);
  if (it == users_.end()) return false;
  it->second->deleted = true;
  users_.erase(it);
  return true;
}

std::shared_ptr<AclUser> AclStore::find(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second;
}

std::shared_ptr<AclUser> AclStore::authenticate(std::string_view name,
                                                std::string_view password) const {
  auto user = find(name);
  if (!user || !user->enabled) return nullptr;
  if (user->nopass) return user;
  const PasswordDigest given = password_digest(password);
  bool match = false;
  for (const auto& stored : user->passwords) match |= digests_equal(stored, given);
  return match ? user : nullptr;
}

std::string AclStore::describe(const AclUser& u) {
  std::string out = "user " + u.name + (u.enabled ? " on" : " off");
  if (u.nopass) out += " nopass";
  for (const auto& d : u.passwords) out += " #" + digest_hex(d);
  if (u.all_keys) out += " ~*";
  for (const auto& p : u.key_patterns) out += " ~" + p;
  if (u.all_channels) {
    out += " &*";
  } else {
    out += " resetchannels";
    for (const auto& p : u.channel_patterns) out += " &" + p;
  }
  out += u.rules_from_all ? " +@all" : " -@all";
  if (!u.command_rules.empty()) out += " " + u.command_rules;
  return out;
}

std::vector<std::string> AclStore::list() const {
  std::vector<std::string> out;
  for (const auto& [name, user] : users_) out.push_back(describe(*user));
  return out;
}

std::vector<std::string> AclStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, user] : users_) out.push_back(name);
  return out;
}

}  // namespace clossyne::frontend
