// The Clossyne seed dialect (the original Scala server's protocol): SET:key value, GET:key,
// DEL:key, RNG:a b, EXT. A malformed request is answered NS, as the seed did; EXT closes the
// connection without a reply; a request the parser refused whole (req.refused) is answered
// `-ERR <why>`. Replies are raw text (see reply_format). Framing: see RequestParser.
#pragma once
#include "action.hpp"
#include "request.hpp"

namespace clossyne::frontend {

// REQUIRES: req.dialect == Dialect::kSeed (args = {VERB, rest}).
Action handle_seed_request(Request& req);

}  // namespace clossyne::frontend
