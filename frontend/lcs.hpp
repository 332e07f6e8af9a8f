// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common subsequence of
// two values, as Redis 7's lcsCommand computes and words it. The frontend fetches both values
// with one MGET (the keys may live on different shards) and computes here: a read, so no shard
// has to see the other's value. The table costs 4 * (len1 + 1) * (len2 + 1) bytes, bounded as
// Redis bounds it (proto-max-bulk-len, 512 MB); the event loop computes it in one go, as Redis's
// does, so LCS of large values stalls this frontend's other clients as it would stall Redis.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "action.hpp"

namespace clossyne::frontend {

inline constexpr unsigned long long kMaxLcsTableBytes = 512ull * 1024 * 1024;

struct LcsOptions {
  bool len = false;
  bool idx = false;
  bool with_match_len = false;
  long long min_match_len = 0;  // negative is taken as 0, as Redis does
};

// The options in args[3..] (args is the whole command); the error text when one is bad.
std::optional<std::string> parse_lcs_options(const std::vector<std::string>& args, LcsOptions& out);

// The complete RESP reply for values a and b (an absent key is ""): the LCS as a bulk string,
// its length (LEN), or IDX's ["matches", [[[a_start, a_end], [b_start, b_end] (, len)], ...],
// "len", n], the matches from the last to the first.
std::string lcs_reply(std::string_view a, std::string_view b, const LcsOptions& opts);

// REQUIRES: args passed check_arity for "lcs".
Action build_lcs(std::vector<std::string>& args);

}  // namespace clossyne::frontend
