// Authentication and authorization on the client port, as Redis 7.0 does them: the settings
// (--requirepass, --aclfile, --protected-mode, --seed-dialect-loopback), protected mode at accept
// time, the gate every command passes (NOAUTH before AUTH, then the user's ACL: NOPERM), and the
// AUTH, HELLO ... AUTH and ACL commands. Passwords are never logged.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "acl.hpp"
#include "action.hpp"
#include "common/status.hpp"
#include "request.hpp"
#include "server_info.hpp"

namespace clossyne::frontend {

struct ClientState;
struct CommandContext;

struct AuthConfig {
  std::string requirepass;     // the default user's password (empty: none)
  std::string aclfile;         // users and rules (empty: only the default user)
  bool protected_mode = true;  // refuse non-loopback clients while the default user has no password
  bool seed_loopback = false;  // with a password set, still serve the seed dialect from loopback
};

// The server-wide state: settings and users.
struct Auth {
  AuthConfig config;
  AclStore acl;
};

// Redis 7.0's reply to a client refused by protected mode (networking.c), sent before closing.
extern const std::string_view kProtectedModeError;
inline constexpr std::string_view kNoAuthError = "NOAUTH Authentication required.";
inline constexpr std::string_view kWrongPassError =
    "WRONGPASS invalid username-password pair or user is disabled.";

// Loads the ACL file and the password into `out` and logs what is set (not the passwords).
// Fills `info`'s requirepass/protected-mode settings for CONFIG GET.
Status load_auth(const AuthConfig& config, Auth& out, ServerInfo& info);

// "127.0.0.1", "::1" and "::ffff:127.0.0.1" (the host part of "ip:port" or "[ip]:port").
bool is_loopback_address(std::string_view addr);

// A new connection: its user is the default user (authenticated when it needs no password).
// Returns the protected-mode reply when the client must be refused (then closed).
std::optional<std::string> admit_client(ClientState& client, const Auth& auth);

// The gate before a RESP/inline command runs (after its lookup and arity check): nullopt to run
// it, otherwise the reply (NOAUTH or NOPERM; a deleted user's connection is closed).
std::optional<Action> check_access(const CommandSpec& spec, const std::vector<std::string>& args,
                                   CommandContext& ctx);
// The seed dialect has no AUTH: its requests run only for a connection whose user may run every
// command on every key, or from loopback with --seed-dialect-loopback yes. nullopt: run it.
std::optional<Action> check_seed_access(const Request& req, CommandContext& ctx);

Action auth_command(const std::vector<std::string>& args, CommandContext& ctx);
Action acl_command(const std::vector<std::string>& args, CommandContext& ctx);
// HELLO's AUTH option: nullopt when the client is now `user`, else the WRONGPASS reply. Without
// an Auth (unit tests of other commands) every user/password pair fails.
std::optional<Action> hello_auth(const std::string& user, const std::string& password,
                                 CommandContext& ctx);

}  // namespace clossyne::frontend
