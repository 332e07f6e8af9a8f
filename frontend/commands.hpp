// The command layer: one parsed Request in, one Action out. Seed requests go to the seed
// dialect; RESP and inline requests are looked up in the command table, their arity checked
// there, and answered locally, turned into a cluster Op, or started as a Job (KEYS, SCAN, INFO,
// FLUSHDB). Unknown commands and bad arguments give an error reply and leave the connection
// usable.
#pragma once
#include "action.hpp"
#include "local_commands.hpp"
#include "request.hpp"

namespace clossyne::frontend {

// REQUIRES: !req.args.empty(). May move arguments out of `req`.
Action handle_request(Request& req, CommandContext& ctx);

}  // namespace clossyne::frontend
