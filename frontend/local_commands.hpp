// Commands the frontend answers itself, without the cluster: PING, ECHO, QUIT, COMMAND, SELECT,
// CLIENT, CONFIG, TIME, HELLO — enough for redis-cli, redis-benchmark and client libraries to
// feel at home.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "acl.hpp"
#include "action.hpp"
#include "command_table.hpp"
#include "cursor_table.hpp"
#include "server_info.hpp"

namespace clossyne::frontend {

// Per-connection state that commands read and write.
struct ClientState {
  uint64_t id = 0;
  std::string addr;   // the peer, "ip:port"
  std::string laddr;  // our end
  int fd = -1;
  int64_t created_ms = 0;         // steady clock
  std::string name;               // CLIENT SETNAME
  std::string last_cmd = "NULL";  // CLIENT LIST's cmd=, as Redis names it ("client|list")
  int64_t last_ms = 0;            // steady clock: when the last command was parsed
  // The ACL user this connection runs as (null without an Auth: everything allowed), whether
  // it has authenticated (or needed not), and whether its peer is loopback.
  std::shared_ptr<AclUser> user;
  bool authenticated = true;
  bool loopback = true;
};

struct Auth;
struct Introspection;

// What a command may see besides its arguments: its client, the server's settings and counters,
// and the SCAN cursors (shared by every connection). The references outlive the call.
struct CommandContext {
  ClientState& client;
  const ServerInfo& server;
  CursorTable& cursors;
  Auth* auth = nullptr;  // users and settings of the client port (null: no authentication)
  Introspection* intro = nullptr;  // stats, slow log, CONFIG SET, CLIENT LIST (null: none)
};

// A connection's buffers, for CLIENT LIST (zero when unknown).
struct ClientFigures {
  std::size_t qbuf = 0, qbuf_free = 0, obl = 0, oll = 0, omem = 0, tot_mem = 0;
  bool writing = false;  // waiting for the socket to take output
};

// REQUIRES: `handler` is a local handler and `args` passed check_arity.
Action run_local_command(Handler handler, const std::vector<std::string>& args,
                         CommandContext& ctx);

// CLIENT LIST's line for one client, with Redis 7.0's fields (no trailing newline).
std::string client_info_line(const ClientState& client, const ClientFigures& figures,
                             int64_t now_ms);

}  // namespace clossyne::frontend
