// ACL users as Redis 7.0 has them, for the client port: who may connect (passwords, on/off), which
// commands they may run (categories and single commands, over the command table's categories) and
// which keys they may touch (glob patterns). Rules are Redis's ACL SETUSER / ACL file words; the
// subset kept: on off nopass resetpass >pw <pw #hash !hash ~pattern allkeys resetkeys &pattern
// allchannels resetchannels allcommands nocommands +@cat -@cat +cmd -cmd reset (and the
// sanitize-payload flags, accepted and ignored). Users are shared_ptrs so that a connection
// authenticated as a user sees ACL SETUSER's changes at once, and sees a deleted user as deleted.
// Not thread-safe (the Server's loop owns the store).
#pragma once
#include <bitset>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command_table.hpp"
#include "password.hpp"

namespace clossyne::frontend {

struct AclUser {
  std::string name;
  bool enabled = false;
  bool nopass = false;
  std::vector<PasswordDigest> passwords;
  bool all_keys = false;
  std::vector<std::string> key_patterns;
  bool all_channels = false;  // channels are kept only to show them (no pub/sub here)
  std::vector<std::string> channel_patterns;
  bool all_commands = false;    // +@all and nothing taken away since (skips the bitset)
  bool rules_from_all = false;  // the last @all rule was +@all (ACL LIST's first command rule)
  std::string command_rules;    // the rules after it, for ACL LIST
  std::bitset<kCommandTable.size()> allowed;  // by index in kCommandTable
  bool acl_self = false;  // ACL WHOAMI and ACL CAT, @slow alone in Redis (ACL itself is @admin)
  // CLIENT LIST (every client's address and command): @admin @dangerous in Redis, while CLIENT's
  // other subcommands here are @connection only.
  bool client_list = false;
  bool deleted = false;  // ACL DELUSER: its connections are closed
};

// The text after "-NOPERM " is returned by check_permission; these are Redis 7.0's words.
inline constexpr std::string_view kNoPermKey =
    "NOPERM this user has no permissions to access one of the keys used as arguments";

// nullopt when `user` may run the command (`args` include its name); otherwise the error text.
std::optional<std::string> check_permission(const AclUser& user, const CommandSpec& spec,
                                            const std::vector<std::string>& args);

// The categories ACL CAT lists (Redis 7.0's, in its order).
const std::vector<std::string_view>& acl_category_names();

class AclStore {
 public:
  // Only the default user: on nopass ~* &* +@all.
  AclStore();

  // ACL SETUSER: creates `name` if absent (off, no password, no keys, no commands) and applies
  // the rules in order, all or nothing. On error returns Redis's reason ("Syntax error", ...) and
  // `bad_rule` names the rule.
  std::optional<std::string> set_user(std::string_view name, const std::vector<std::string>& rules,
                                      std::string* bad_rule = nullptr);
  // Replaces every user with the file's ("user NAME rules..." lines; empty and '#' lines
  // skipped). The default user is "on nopass ~* &* +@all" unless the file defines it. Nothing
  // changes on error; the error names the file and line.
  std::optional<std::string> load_file(const std::string& path);
  // Same, from the file's text (tests, fuzzing). `source` names it in errors.
  std::optional<std::string> load_text(std::string_view text, std::string_view source);
  // True when `name` existed (it is then marked deleted).
  bool delete_user(std::string_view name);

  std::shared_ptr<AclUser> find(std::string_view name) const;
  const std::shared_ptr<AclUser>& default_user() const { return default_; }
  // The enabled user with this name and password (every stored digest is compared, in constant
  // time each); nullptr otherwise.
  std::shared_ptr<AclUser> authenticate(std::string_view name, std::string_view password) const;
  // Redis's authRequired: the default user has a password or is off.
  bool auth_required() const { return !default_->nopass || !default_->enabled; }

  std::vector<std::string> list() const;   // ACL LIST lines, by name
  std::vector<std::string> names() const;  // ACL USERS
  static std::string describe(const AclUser& user);

 private:
  std::map<std::string, std::shared_ptr<AclUser>, std::less<>> users_;
  std::shared_ptr<AclUser> default_;
};

}  // namespace clossyne::frontend
