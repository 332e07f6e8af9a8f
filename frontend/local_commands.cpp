#include "local_commands.hpp"

#include <sys/time.h>

#include "auth.hpp"
#include "command_docs.hpp"
#include "common/clock.hpp"
#include "config_table.hpp"
#include "info_format.hpp"
#include "introspection.hpp"
#include "latency_command.hpp"
#include "resp_parser.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

using Args = std::vector<std::string>;

Action simple(std::string_view s) {
  std::string out;
  resp_simple(out, s);
  return Action::local(std::move(out));
}
Action error(std::string_view s) {
  std::string out;
  resp_error(out, s);
  return Action::local(std::move(out));
}
Action bulk(std::string_view s) {
  std::string out;
  resp_bulk(out, s);
  return Action::local(std::move(out));
}
Action integer(int64_t n) {
  std::string out;
  resp_int(out, n);
  return Action::local(std::move(out));
}
Action unknown_subcommand(std::string_view command, const std::string& sub) {
  return error("unknown subcommand '" + sub.substr(0, 128) + "'. Try " + std::string(command) +
               " HELP.");
}

Action ping(const Args& args) {
  return args.size() > 1 ? bulk(args[1]) : simple("PONG");
}

Action select(const Args& args) {
  long long index = 0;
  if (!parse_int64(args[1], index)) return error("value is not an integer or out of range");
  if (index != 0) return error("DB index is out of range");
  return simple("OK");
}

// Redis refuses names with spaces, newlines or other special characters.
bool valid_client_name(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

Action client_setname(const Args& args, ClientState& state) {
  if (args.size() != 3) return error("wrong number of arguments for 'client|setname' command");
  if (!valid_client_name(args[2]))
    return error("Client names cannot contain spaces, newlines or special characters.");
  state.name = args[2];
  return simple("OK");
}

// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]: every client of this frontend
// (all are normal clients).
Action client_list(const Args& args, CommandContext& ctx) {
  std::vector<uint64_t> ids;
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string opt = to_lower(args[i]);
    if (opt == "type" && i + 1 < args.size()) {
      const std::string type = to_lower(args[++i]);
      if (type != "normal" && type != "master" && type != "replica" && type != "pubsub")
        return error("Unknown client type '" + args[i].substr(0, 128) + "'");
      if (type != "normal") return bulk("");
    } else if (opt == "id" && i + 1 < args.size()) {
      for (++i; i < args.size(); ++i) {
        long long id = 0;
        if (!parse_int64(args[i], id) || id <= 0) return error("Invalid client ID");
        ids.push_back(static_cast<uint64_t>(id));
      }
      if (ids.empty()) return bulk("");
    } else {
      return error("syntax error");
    }
  }
  if (ctx.intro == nullptr || !ctx.intro->client_list)
    return bulk(client_info_line(ctx.client, {}, now_ms()) + "\n");
  return bulk(ctx.intro->client_list(ids));
}

Action client_info(CommandContext& ctx) {
  if (ctx.intro == nullptr || !ctx.intro->client_list)
    return bulk(client_info_line(ctx.client, {}, now_ms()) + "\n");
  return bulk(ctx.intro->client_list({ctx.client.id}));
}

Action client(const Args& args, CommandContext& ctx) {
  ClientState& state = ctx.client;
  const std::string sub = to_lower(args[1]);
  if (sub == "setname") return client_setname(args, state);
  if (sub == "getname") return state.name.empty() ? Action::local("$-1\r\n") : bulk(state.name);
  if (sub == "id") return integer(static_cast<int64_t>(state.id));
  if (sub == "info") return client_info(ctx);
  if (sub == "list") return client_list(args, ctx);
  if (sub == "setinfo" || sub == "no-evict" || sub == "no-touch") return simple("OK");
  return unknown_subcommand("CLIENT", args[1]);
}

Action config(const Args& args, CommandContext& ctx) {
  const std::string sub = to_lower(args[1]);
  if (sub == "get") {
    if (args.size() < 3) return error("wrong number of arguments for 'config|get' command");
    return Action::local(config_get_reply(ctx.server, Args(args.begin() + 2, args.end())));
  }
  Introspection* intro = ctx.intro;
  if (sub == "resetstat") {
    if (intro != nullptr) intro->stats.reset();
    return simple("OK");
  }
  if (sub == "set" && intro != nullptr && intro->settings != nullptr) {
    std::string reply = config_set_reply(*intro->settings, args);
    intro->slowlog.slower_than_us = intro->settings->slowlog_slower_than_us;
    intro->slowlog.max_len = intro->settings->slowlog_max_len;
    intro->slowlog.trim();
    return Action::local(std::move(reply));
  }
  if (sub == "set" || sub == "rewrite")
    return error("CONFIG " + to_lower(args[1]) +
                 " is not supported: settings are command-line flags");
  return unknown_subcommand("CONFIG", args[1]);
}

Action slowlog(const Args& args, CommandContext& ctx) {
  if (ctx.intro == nullptr) return error("SLOWLOG is not available here");
  return Action::local(slowlog_command(ctx.intro->slowlog, args));
}

Action time_now() {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  std::string out;
  resp_array(out, 2);
  resp_bulk(out, std::to_string(tv.tv_sec));
  resp_bulk(out, std::to_string(tv.tv_usec));
  return Action::local(std::move(out));
}

// HELLO [2 [SETNAME name] [AUTH user pass]]: RESP2 only; RESP3 gets NOPROTO, as Redis words it.
// Options are parsed as Redis 7.0's helloCommand does: AUTH first, then the NOAUTH check.
Action hello(const Args& args, CommandContext& ctx) {
  ClientState& state = ctx.client;
  if (args.size() > 1) {
    long long ver = 0;
    if (!parse_int64(args[1], ver))
      return error("Protocol version is not an integer or out of range");
    if (ver != 2)
      return Action::local("-NOPROTO sorry, this protocol version is not supported.\r\n");
  }
  const std::string* user = nullptr;
  const std::string* pass = nullptr;
  const std::string* setname = nullptr;
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::size_t more = args.size() - 1 - i;
    const std::string opt = to_lower(args[i]);
    if (opt == "auth" && more >= 2) {
      user = &args[i + 1];
      pass = &args[i + 2];
      i += 2;
    } else if (opt == "setname" && more >= 1) {
      setname = &args[++i];
    } else {
      return error("ERR Syntax error in HELLO option '" + args[i].substr(0, 128) + "'");
    }
  }
  if (user != nullptr) {
    if (auto denied = hello_auth(*user, *pass, ctx)) return std::move(*denied);
  }
  if (!state.authenticated && ctx.auth != nullptr && ctx.auth->acl.auth_required())
    return Action::local(
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
        "protocol version at the same time\r\n");
  if (setname != nullptr) {
    if (!valid_client_name(*setname))
      return error("Client names cannot contain spaces, newlines or special characters.");
    state.name = *setname;
  }
  std::string out;
  resp_array(out, 14);
  for (auto [k, v] : {std::pair<std::string_view, std::string_view>{"server", "redis"},
                      {"version", kRedisVersion}}) {
    resp_bulk(out, k);
    resp_bulk(out, v);
  }
  resp_bulk(out, "proto");
  resp_int(out, 2);
  resp_bulk(out, "id");
  resp_int(out, static_cast<int64_t>(state.id));
  resp_bulk(out, "mode");
  resp_bulk(out, "standalone");
  resp_bulk(out, "role");
  resp_bulk(out, "master");
  resp_bulk(out, "modules");
  resp_array(out, 0);
  return Action::local(std::move(out));
}

// FUNCTION FLUSH [ASYNC|SYNC]: there are never functions to flush (Redis's test runner calls it
// between tests). Every other subcommand is unknown here.
Action function(const Args& args) {
  if (to_lower(args[1]) != "flush") return unknown_subcommand("FUNCTION", args[1]);
  if (args.size() > 3) return error("wrong number of arguments for 'function|flush' command");
  if (args.size() == 3) {
    const std::string mode = to_lower(args[2]);
    if (mode != "sync" && mode != "async")
      return error("FUNCTION FLUSH only supports SYNC|ASYNC option");
  }
  return simple("OK");
}

}  // namespace

std::string client_info_line(const ClientState& c, const ClientFigures& f, int64_t now) {
  const int64_t age = c.created_ms > 0 ? (now - c.created_ms) / 1000 : 0;
  const int64_t last = c.last_ms > 0 ? c.last_ms : c.created_ms;
  const int64_t idle = last > 0 ? (now - last) / 1000 : 0;
  const auto n = [](auto v) { return std::to_string(v); };
  return "id=" + n(c.id) + " addr=" + c.addr + " laddr=" + c.laddr + " fd=" + n(c.fd) +
         " name=" + c.name + " age=" + n(age) + " idle=" + n(idle) +
         " flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=" + n(f.qbuf) +
         " qbuf-free=" + n(f.qbuf_free) + " argv-mem=0 multi-mem=0 rbs=" + n(f.qbuf + f.qbuf_free) +
         " rbp=" + n(f.qbuf) + " obl=" + n(f.obl) + " oll=" + n(f.oll) + " omem=" + n(f.omem) +
         " tot-mem=" + n(f.tot_mem) + " events=" + (f.writing ? "rw" : "r") + " cmd=" + c.last_cmd +
         " user=" + (c.user ? c.user->name : std::string("default")) + " redir=-1 resp=2";
}

Action run_local_command(Handler handler, const Args& args, CommandContext& ctx) {
  switch (handler) {
    case Handler::kPing:
      return ping(args);
    case Handler::kEcho:
      return bulk(args[1]);
    case Handler::kQuit:
      return Action::local("+OK\r\n", /*close_after=*/true);
    case Handler::kCommand:
      return Action::local(command_reply(args));
    case Handler::kSelect:
      return select(args);
    case Handler::kClient:
      return client(args, ctx);
    case Handler::kConfig:
      return config(args, ctx);
    case Handler::kSlowlog:
      return slowlog(args, ctx);
    case Handler::kLatency:
      if (ctx.intro == nullptr) return error("LATENCY is not available here");
      return Action::local(latency_command(ctx.intro->stats, args));
    case Handler::kTime:
      return time_now();
    case Handler::kHello:
      return hello(args, ctx);
    case Handler::kAuth:
      return auth_command(args, ctx);
    case Handler::kAcl:
      return acl_command(args, ctx);
    case Handler::kFunction:
      return function(args);
    default:
      return error("internal error: not a local command");
  }
}

}  // namespace clossyne::frontend
