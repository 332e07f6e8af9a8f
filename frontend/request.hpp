// Request: one complete client request as the parser hands it to the command layer.
// RESP and inline requests carry the command name and its arguments (binary safe); a Clossyne
// (seed) dialect request carries its verb and the raw text after the ':' and remembers its line
// ending, because the seed's replies repeat it. Plain value type.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clossyne::frontend {

enum class Dialect : uint8_t { kResp, kInline, kSeed };

// The line ending a seed request arrived with; its reply carries the same one.
enum class Eol : uint8_t { kNone, kLf, kCrLf };

inline std::string_view eol_text(Eol eol) {
  switch (eol) {
    case Eol::kLf:
      return "\n";
    case Eol::kCrLf:
      return "\r\n";
    default:
      return "";
  }
}

struct Request {
  Dialect dialect = Dialect::kResp;
  // RESP/inline: {command, arg1, ...}. Seed: {VERB (upper case: SET, GET, DEL, RNG, EXT), rest}.
  std::vector<std::string> args;
  Eol eol = Eol::kNone;  // seed only
  // Seed only: non-empty when the request was refused whole (too large); nothing of it is run,
  // and its reply is `-ERR <refused>`.
  std::string refused;
};

}  // namespace clossyne::frontend
