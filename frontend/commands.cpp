#include "commands.hpp"

#include "auth.hpp"
#include "cluster_commands.hpp"
#include "command_stats.hpp"
#include "command_table.hpp"
#include "flush_job.hpp"
#include "info_job.hpp"
#include "introspection.hpp"
#include "key_scan_job.hpp"
#include "lcs.hpp"
#include "randomkey_job.hpp"
#include "resp_writer.hpp"
#include "seed_dialect.hpp"

namespace clossyne::frontend {
namespace {

Action error(std::string_view msg) {
  std::string out;
  resp_error(out, msg);
  return Action::local(std::move(out));
}

bool is_local(Handler h) {
  return h < Handler::kSet;
}

bool is_job(Handler h) {
  return h >= Handler::kKeys;
}

Action start_job(Handler h, std::vector<std::string>& args, CommandContext& ctx) {
  switch (h) {
    case Handler::kKeys:
      return build_keys(args);
    case Handler::kScan:
      return build_scan(args, ctx.cursors);
    case Handler::kInfo:
      return build_info(args, ctx.server, ctx.intro ? &ctx.intro->stats : nullptr);
    case Handler::kFlushdb:
      return build_flushdb(args);
    case Handler::kLcs:
      return build_lcs(args);
    case Handler::kRandomkey:
      return build_randomkey();
    default:
      return error("internal error: not a job");
  }
}

Action rejected(Action a) {
  a.rejected = true;
  return a;
}

Action run_command(const CommandSpec& spec, Request& req, CommandContext& ctx) {
  if (auto err = check_arity(spec, req.args.size())) return rejected(error(*err));
  if (auto refused = check_access(spec, req.args, ctx)) return rejected(std::move(*refused));
  if (is_local(spec.handler)) return run_local_command(spec.handler, req.args, ctx);
  if (is_job(spec.handler)) return start_job(spec.handler, req.args, ctx);
  return build_cluster_command(spec.handler, req.args);
}

}  // namespace

Action handle_request(Request& req, CommandContext& ctx) {
  if (req.dialect == Dialect::kSeed) {
    if (auto refused = check_seed_access(req, ctx)) return std::move(*refused);
    return handle_seed_request(req);
  }
  const CommandSpec* spec = find_command(req.args[0]);
  if (spec == nullptr) return error(unknown_command_error(req.args));
  // Set first, as Redis does, so that CLIENT LIST shows itself as its caller's command.
  ctx.client.last_cmd = CommandStats::key_of(spec->name, req.args);
  Action action = run_command(*spec, req, ctx);
  action.spec = spec;
  return action;
}

}  // namespace clossyne::frontend
