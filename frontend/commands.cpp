#include "commands.hpp"

#include "cluster_commands.hpp"
#include "command_table.hpp"
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

}  // namespace

Action handle_request(Request& req, ClientState& client) {
  if (req.dialect == Dialect::kSeed) return handle_seed_request(req);
  const CommandSpec* spec = find_command(req.args[0]);
  if (spec == nullptr) return error(unknown_command_error(req.args));
  if (auto err = check_arity(*spec, req.args.size())) return error(*err);
  if (is_local(spec->handler)) return run_local_command(spec->handler, req.args, client);
  return build_cluster_command(spec->handler, req.args);
}

}  // namespace clossyne::frontend
