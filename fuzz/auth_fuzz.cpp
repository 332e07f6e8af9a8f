// libFuzzer target for the client port's authentication: ACL file parsing, and AUTH, HELLO and ACL
// commands (parsed from RESP or inline bytes) run through the command gate (check_access) and the
// local commands, on a connection of a server with a password. The first input byte picks the mode:
// even, the rest is an ACL file; odd, the rest is requests. Invariants (abort on violation):
//   - a file that loads lists users that load again, from their ACL LIST lines, into the same
//     ACL LIST (what ACL SAVE and ACL LOAD rely on in Redis); a file that fails changes nothing;
//   - every user made by ACL SETUSER round-trips the same way;
//   - before a successful AUTH / HELLO AUTH, no command but AUTH, HELLO and QUIT gets anything
//     but an error (nothing reaches the cluster);
//   - no reply to AUTH or HELLO holds the password in clear.
// Built and run by fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "frontend/auth.hpp"
#include "frontend/local_commands.hpp"
#include "frontend/request_parser.hpp"
#include "frontend/resp_writer.hpp"

using namespace clossyne::frontend;

namespace {

constexpr std::string_view kPassword = "fuzz-Secret-9";

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void check_round_trip(const AclStore& acl) {
  const std::string listed = joined(acl.list());
  AclStore again;
  check(!again.load_text(listed, "listed"), "ACL LIST lines do not load");
  check(joined(again.list()) == listed, "ACL LIST lines load into other users");
}

void fuzz_file(std::string_view text) {
  AclStore acl;
  (void)acl.set_user("before", {"on", ">p"});
  const std::string before = joined(acl.list());
  if (acl.load_text(text, "fuzz")) {
    check(joined(acl.list()) == before, "a failed load changed the users");
  } else {
    check_round_trip(acl);
  }
}

// handle_request's RESP path without the cluster: lookup, arity, the gate, local commands (a
// command for the cluster that passes the gate answers "(cluster)").
Action run_gated(Request& req, CommandContext& ctx) {
  const CommandSpec* spec = find_command(req.args[0]);
  if (spec == nullptr) return Action::local(resp_error(unknown_command_error(req.args)));
  if (auto err = check_arity(*spec, req.args.size())) return Action::local(resp_error(*err));
  if (auto refused = check_access(*spec, req.args, ctx)) return std::move(*refused);
  if (spec->handler < Handler::kSet) return run_local_command(spec->handler, req.args, ctx);
  return Action::local("+(cluster)\r\n");
}

void fuzz_requests(std::string_view bytes) {
  AuthConfig cfg;
  cfg.requirepass = std::string(kPassword);
  Auth auth;
  ServerInfo info;
  ClientState client;
  client.addr = "10.0.0.9:1000";
  CursorTable cursors;
  if (!load_auth(cfg, auth, info).ok()) std::abort();
  (void)admit_client(client, auth);

  ParserLimits limits;
  limits.max_multibulk = 256;
  limits.max_bulk = 1u << 16;
  limits.max_query_bytes = 1u << 20;
  RequestParser parser(limits);
  InputTiming timing;
  timing.drained = true;
  timing.drained_us = int64_t{1} << 40;
  std::size_t off = 0;
  while (off < bytes.size()) {
    Request req;
    const ParseResult r = parser.parse(bytes.substr(off), timing, req);
    off += r.consumed;
    if (r.status != ParseStatus::kRequest) break;
    if (req.args.empty() || req.dialect == Dialect::kSeed) continue;
    const bool was_authenticated = client.authenticated;
    const std::string name = req.args[0];
    CommandContext ctx{client, info, cursors, &auth};
    const Action a = run_gated(req, ctx);
    if (!was_authenticated) {  // "+(cluster)" would mean a command got through
      const CommandSpec* spec = find_command(name);
      const bool no_auth =
          spec != nullptr && (spec->handler == Handler::kAuth || spec->handler == Handler::kHello ||
                              spec->handler == Handler::kQuit);
      if (!no_auth)
        check(a.kind == Action::Kind::kLocal && !a.bytes.empty() && a.bytes[0] == '-',
              "a command ran before AUTH");
    }
    const std::string lower = to_lower(name);
    if (a.kind == Action::Kind::kLocal && (lower == "auth" || lower == "hello"))
      check(a.bytes.find(kPassword) == std::string::npos, "a reply shows the password");
  }
  check_round_trip(auth.acl);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // load_auth logs a line per run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    fuzz_file(rest);
  } else {
    fuzz_requests(rest);
  }
  return 0;
}
