#include "auth.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "local_commands.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {

// Copied from Redis 7.0.15's networking.c, typo included, so tools that match it keep working.
const std::string_view kProtectedModeError =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. If you want to connect from external computers to Redis you may adopt "
    "one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    "SET protected-mode no' from the loopback interface by connecting to Redis from the same "
    "host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need to "
    "do one of the above things in order for the server to start accepting connections from the "
    "outside.\r\n";

namespace {

using Args = std::vector<std::string>;

Action error(std::string_view msg) {
  std::string out;
  resp_error(out, msg);
  return Action::local(std::move(out));
}

// An error with its own code (NOAUTH, WRONGPASS, NOPERM): no "ERR " before it, one line.
Action coded_error(std::string_view msg) {
  std::string out = "-";
  for (char c : msg) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
  return Action::local(std::move(out));
}

Action ok() {
  return Action::local("+OK\r\n");
}

Action string_array(const std::vector<std::string>& items) {
  std::string out;
  resp_array(out, items.size());
  for (const auto& s : items) resp_bulk(out, s);
  return Action::local(std::move(out));
}

Action wrong_arity(std::string_view sub) {
  return error("ERR wrong number of arguments for 'acl|" + std::string(sub) + "' command");
}

Action acl_cat(const Args& args) {
  if (args.size() == 2) {
    const auto& names = acl_category_names();
    return string_array(std::vector<std::string>(names.begin(), names.end()));
  }
  const std::string cat = to_lower(args[2]);
  const auto& names = acl_category_names();
  if (std::find(names.begin(), names.end(), cat) == names.end())
    return error("ERR Unknown category '" + args[2].substr(0, 128) + "'");
  std::vector<std::string> cmds;
  for (const auto& spec : kCommandTable) {
    for (std::string_view c : acl_categories(spec)) {
      if (c == cat) cmds.emplace_back(spec.name);
    }
  }
  return string_array(cmds);
}

Action acl_setuser(const Args& args, AclStore& acl) {
  std::string bad = "?";
  if (auto err = acl.set_user(args[2], Args(args.begin() + 3, args.end()), &bad)) {
    if (bad.empty()) return error("ERR " + *err);  // the user name itself
    return error("ERR Error in ACL SETUSER modifier '" + bad.substr(0, 128) + "': " + *err);
  }
  return ok();
}

Action acl_deluser(const Args& args, AclStore& acl) {
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "default") return error("ERR The 'default' user cannot be removed");
  }
  int64_t deleted = 0;
  for (std::size_t i = 2; i < args.size(); ++i) deleted += acl.delete_user(args[i]) ? 1 : 0;
  std::string out;
  resp_int(out, deleted);
  return Action::local(std::move(out));
}

// Space-separated patterns with their sigil ("~a* ~b*"), as ACL GETUSER shows them.
std::string joined_patterns(char sigil, bool all, const std::vector<std::string>& patterns) {
  std::string out;
  if (all) return out.append(1, sigil).append("*");
  for (const auto& p : patterns) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(sigil);
    out.append(p);
  }
  return out;
}

// Redis 7.0's reply shape: flags, passwords (SHA-256 hex), commands, keys, channels, selectors.
Action acl_getuser(const Args& args, const AclStore& acl) {
  const auto u = acl.find(args[2]);
  if (u == nullptr || u->deleted) return Action::local("$-1\r\n");
  std::string out;
  resp_array(out, 12);
  resp_bulk(out, "flags");
  resp_array(out, u->nopass ? 2 : 1);
  resp_bulk(out, u->enabled ? "on" : "off");
  if (u->nopass) resp_bulk(out, "nopass");
  resp_bulk(out, "passwords");
  resp_array(out, u->passwords.size());
  for (const auto& d : u->passwords) resp_bulk(out, digest_hex(d));
  resp_bulk(out, "commands");
  std::string rules = u->rules_from_all ? "+@all" : "-@all";
  if (!u->command_rules.empty()) rules += " " + u->command_rules;
  resp_bulk(out, rules);
  resp_bulk(out, "keys");
  resp_bulk(out, joined_patterns('~', u->all_keys, u->key_patterns));
  resp_bulk(out, "channels");
  resp_bulk(out, joined_patterns('&', u->all_channels, u->channel_patterns));
  resp_bulk(out, "selectors");
  resp_array(out, 0);
  return Action::local(std::move(out));
}

// A random password from OpenSSL's generator: `bits` (default 256) rounded up to hex digits.
Action acl_genpass(const Args& args) {
  long long bits = 256;
  if (args.size() == 3) {
    const std::string& a = args[2];
    const auto [end, ec] = std::from_chars(a.data(), a.data() + a.size(), bits);
    if (ec != std::errc() || end != a.data() + a.size())
      return error("ERR value is not an integer or out of range");
    if (bits <= 0 || bits > 4096)
      return error(
          "ERR ACL GENPASS argument must be the number of bits for the output password, a "
          "positive number up to 4096");
  }
  unsigned char raw[512];
  if (RAND_bytes(raw, sizeof raw) != 1) return error("ERR no random bytes from OpenSSL");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string pass;
  for (std::size_t i = 0; pass.size() < static_cast<std::size_t>((bits + 3) / 4); ++i) {
    pass.push_back(kHex[raw[i] >> 4]);
    pass.push_back(kHex[raw[i] & 15]);
  }
  pass.resize(static_cast<std::size_t>((bits + 3) / 4));
  std::string out;
  resp_bulk(out, pass);
  return Action::local(std::move(out));
}

}  // namespace

Status load_auth(const AuthConfig& config, Auth& out, ServerInfo& info) {
  out.config = config;
  if (!config.aclfile.empty()) {
    if (auto err = out.acl.load_file(config.aclfile)) return Status::Error(*err);
  }
  if (!config.requirepass.empty()) {
    if (!config.aclfile.empty() && !out.acl.default_user()->nopass)
      return Status::Error("--requirepass and a password for user default in --aclfile: keep one");
    (void)out.acl.set_user("default", {"resetpass", ">" + config.requirepass});
  }
  info.requirepass_set = !config.requirepass.empty();
  info.protected_mode = config.protected_mode;
  const auto names = out.acl.names();
  spdlog::info("client port: {} ACL user(s){}{}; default user {}; protected mode {}", names.size(),
               config.aclfile.empty() ? "" : " from ", config.aclfile,
               out.acl.auth_required() ? "needs a password (AUTH)" : "needs no password",
               config.protected_mode ? "yes" : "no");
  if (out.acl.auth_required())
    spdlog::info("Clossyne dialect: {}", config.seed_loopback
                                             ? "served without AUTH from loopback only"
                                             : "refused (it has no AUTH)");
  return Status::Ok();
}

bool is_loopback_address(std::string_view addr) {
  std::string_view host = addr;
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos)
    host = host.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  // Redis 7.0 compares the peer's text with these exactly (127.0.0.2 is not local to it).
  return host == "127.0.0.1" || host == "::1" || host == "::ffff:127.0.0.1";
}

std::optional<std::string> admit_client(ClientState& client, const Auth& auth) {
  const auto& def = auth.acl.default_user();
  client.user = def;
  client.authenticated = def->nopass && def->enabled;
  client.loopback = is_loopback_address(client.addr);
  if (auth.config.protected_mode && def->nopass && !client.loopback)
    return std::string(kProtectedModeError);
  return std::nullopt;
}

std::optional<Action> check_access(const CommandSpec& spec, const Args& args, CommandContext& ctx) {
  if (ctx.auth == nullptr) return std::nullopt;
  ClientState& c = ctx.client;
  // Redis's no-auth commands: neither authentication nor the ACL applies to them.
  if (spec.handler == Handler::kAuth || spec.handler == Handler::kHello ||
      spec.handler == Handler::kQuit)
    return std::nullopt;
  if (!c.authenticated && ctx.auth->acl.auth_required()) return coded_error(kNoAuthError);
  const AclUser* user = c.user ? c.user.get() : ctx.auth->acl.default_user().get();
  // Redis closes the connections of a deleted user.
  if (user->deleted) return Action::local("", /*close_after=*/true);
  if (user->all_commands && user->all_keys) return std::nullopt;
  if (auto denied = check_permission(*user, spec, args)) return coded_error(*denied);
  return std::nullopt;
}

std::optional<Action> check_seed_access(const Request& req, CommandContext& ctx) {
  if (ctx.auth == nullptr || req.args.empty() || req.args[0] == "EXT") return std::nullopt;
  const ClientState& c = ctx.client;
  const AclUser* user = c.user.get();
  const bool as_user = (c.authenticated || !ctx.auth->acl.auth_required()) && user != nullptr &&
                       !user->deleted && user->all_commands && user->all_keys;
  if (as_user || (ctx.auth->config.seed_loopback && c.loopback)) return std::nullopt;
  return Action::local(
      "-NOAUTH the Clossyne dialect has no AUTH and a password is set: use RESP and AUTH" +
      std::string(eol_text(req.eol)));
}

Action auth_command(const Args& args, CommandContext& ctx) {
  if (args.size() > 3) return error("ERR syntax error");
  if (ctx.auth == nullptr) return coded_error(kWrongPassError);
  const AclStore& acl = ctx.auth->acl;
  if (args.size() == 2 && acl.default_user()->nopass)
    return error(
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
  const std::string& name = args.size() == 2 ? std::string("default") : args[1];
  if (auto denied = hello_auth(name, args.back(), ctx)) return std::move(*denied);
  return ok();
}

std::optional<Action> hello_auth(const std::string& user, const std::string& password,
                                 CommandContext& ctx) {
  if (ctx.auth == nullptr) return coded_error(kWrongPassError);
  auto found = ctx.auth->acl.authenticate(user, password);
  if (!found) return coded_error(kWrongPassError);
  ctx.client.user = std::move(found);
  ctx.client.authenticated = true;
  return std::nullopt;
}

Action acl_command(const Args& args, CommandContext& ctx) {
  const std::string sub = to_lower(args[1]);
  static AclStore no_auth;  // without an Auth (unit tests): the default user alone
  AclStore& acl = ctx.auth != nullptr ? ctx.auth->acl : no_auth;
  const std::size_t n = args.size();
  if (sub == "whoami") {
    if (n != 2) return wrong_arity(sub);
    std::string out;
    resp_bulk(out, ctx.client.user ? ctx.client.user->name : "default");
    return Action::local(std::move(out));
  }
  if (sub == "list") return n == 2 ? string_array(acl.list()) : wrong_arity(sub);
  if (sub == "users") return n == 2 ? string_array(acl.names()) : wrong_arity(sub);
  if (sub == "setuser") return n >= 3 ? acl_setuser(args, acl) : wrong_arity(sub);
  if (sub == "deluser") return n >= 3 ? acl_deluser(args, acl) : wrong_arity(sub);
  if (sub == "cat") return n <= 3 ? acl_cat(args) : wrong_arity(sub);
  if (sub == "getuser") return n == 3 ? acl_getuser(args, acl) : wrong_arity(sub);
  if (sub == "genpass") {
    if (n > 3)
      return error(
          "ERR unknown subcommand or wrong number of arguments for 'genpass'. Try ACL HELP.");
    return acl_genpass(args);
  }
  return error("ERR unknown subcommand '" + args[1].substr(0, 128) + "'. Try ACL HELP.");
}

}  // namespace clossyne::frontend
