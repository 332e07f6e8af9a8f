// decode()'s fast path for the hot envelopes (see envelope_fast.cpp). Returns false when it cannot
// decode `body` by itself: `out` may then be partly filled, and the caller decodes again from a
// fresh value with the full decoder. Exposed for the test that checks both paths agree.
#pragma once
#include <string_view>

#include "envelope.hpp"

namespace clossyne {

bool decode_fast(std::string_view body, Op& out);
bool decode_fast(std::string_view body, Reply& out);

// The full decoder alone: decode() without its fast path.
Status decode_full(std::string_view body, Op& out);
Status decode_full(std::string_view body, Reply& out);

}  // namespace clossyne
