#include "commands.hpp"

#include "auth.hpp"
#include "cluster_commands.hpp"
#include "command_table.hpp"
#include "flush_job.hpp"
#include "info_job.hpp"
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
      return build_info(args, ctx.server);
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

}  // namespace

Action handle_request(Request& req, CommandContext& ctx) {
  if (req.dialect == Dialect::kSeed) {
    if (auto refused = check_seed_access(req, ctx)) return std::move(*refused);
    return handle_seed_request(req);
  }
  const CommandSpec* spec = find_command(req.args[0]);
  if (spec == nullptr) return error(unknown_command_error(req.args));
  if (auto err = check_arity(*spec, req.args.size())) return error(*err);
  if (auto refused = check_access(*spec, req.args, ctx)) return std::move(*refused);
  if (is_local(spec->handler)) return run_local_command(spec->handler, req.args, ctx);
  if (is_job(spec->handler)) return start_job(spec->handler, req.args, ctx);
  return build_cluster_command(spec->handler, req.args);
}

}  // namespace clossyne::frontend
