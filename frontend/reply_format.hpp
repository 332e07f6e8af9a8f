// Turns the cluster's Reply to one request into the bytes its client expects: RESP for RESP and
// inline requests, the seed's raw text (OK, NS, the value, NIL) for the Clossyne dialect, with the
// request's line ending. Pure functions.
#pragma once
#include <string>
#include <string_view>

#include "action.hpp"
#include "common/envelope.hpp"

namespace clossyne::frontend {

// A reply with ok=false becomes an error (see format_error).
std::string format_reply(const ReplyFormat& format, const Reply& reply);

// RESP: -ERR msg\r\n. Seed: -ERR msg plus the request's line ending.
std::string format_error(const ReplyFormat& format, std::string_view msg);

}  // namespace clossyne::frontend
