#include "lcs.hpp"

#include <cstdint>
#include <memory>

#include "command_table.hpp"
#include "common/protocol.hpp"
#include "resp_parser.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

struct Match {
  uint32_t a_start, a_end, b_start, b_end;
};

void write_matches(std::string& out, const std::vector<Match>& matches, bool with_len) {
  resp_array(out, matches.size());
  for (const Match& m : matches) {
    resp_array(out, with_len ? 3 : 2);
    resp_array(out, 2);
    resp_int(out, m.a_start);
    resp_int(out, m.a_end);
    resp_array(out, 2);
    resp_int(out, m.b_start);
    resp_int(out, m.b_end);
    if (with_len) resp_int(out, m.a_end - m.a_start + 1);
  }
}

// Sends MGET key1 key2, then computes.
class LcsJob : public Job {
 public:
  LcsJob(std::string a, std::string b, LcsOptions opts)
      : a_(std::move(a)), b_(std::move(b)), opts_(opts) {}

  JobStep start() override {
    Op o;
    o.op = std::string(proto::op::kMget);
    o.keys = {a_, b_};
    return JobStep::send(std::move(o));
  }

  JobStep on_reply(const Reply& reply) override {
    if (!reply.ok) return JobStep::finish(resp_error(reply.error));
    if (!reply.values || reply.values->size() != 2)
      return JobStep::finish(resp_error("internal error: MGET answered no values"));
    const auto& v = *reply.values;
    return JobStep::finish(lcs_reply(v[0] ? *v[0] : "", v[1] ? *v[1] : "", opts_));
  }

 private:
  std::string a_, b_;
  LcsOptions opts_;
};

}  // namespace

std::optional<std::string> parse_lcs_options(const std::vector<std::string>& args,
                                             LcsOptions& out) {
  for (std::size_t j = 3; j < args.size(); ++j) {
    const std::string opt = to_lower(args[j]);
    const bool more = j + 1 < args.size();
    if (opt == "idx") {
      out.idx = true;
    } else if (opt == "len") {
      out.len = true;
    } else if (opt == "withmatchlen") {
      out.with_match_len = true;
    } else if (opt == "minmatchlen" && more) {
      long long n = 0;
      if (!parse_int64(args[j + 1], n)) return "value is not an integer or out of range";
      out.min_match_len = n < 0 ? 0 : n;
      ++j;
    } else {
      return "syntax error";
    }
  }
  if (out.len && out.idx) return "If you want both the length and indexes, please just use IDX.";
  return std::nullopt;
}

std::string lcs_reply(std::string_view a, std::string_view b, const LcsOptions& opts) {
  if (a.size() >= UINT32_MAX - 1 || b.size() >= UINT32_MAX - 1)
    return resp_error("String too long for LCS");
  const auto alen = static_cast<uint32_t>(a.size());
  const auto blen = static_cast<uint32_t>(b.size());
  const unsigned long long cells = (alen + 1ull) * (blen + 1ull);
  if (cells * sizeof(uint32_t) > kMaxLcsTableBytes)
    return resp_error("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");

  // table(i, j): the LCS length of a[0..i) and b[0..j).
  std::vector<uint32_t> table(cells, 0);
  const auto at = [&](uint32_t i, uint32_t j) -> uint32_t& {
    return table[j + static_cast<std::size_t>(i) * (blen + 1)];
  };
  for (uint32_t i = 1; i <= alen; ++i) {
    for (uint32_t j = 1; j <= blen; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  const uint32_t total = at(alen, blen);
  std::string out;
  if (opts.len && !opts.idx) {
    resp_int(out, total);
    return out;
  }

  // Walk back from the end, as Redis does: the LCS's bytes, and the ranges where both strings
  // match contiguously (emitted from the last to the first).
  std::string result(total, '\0');
  std::vector<Match> matches;
  uint32_t idx = total;
  uint32_t a_start = alen, a_end = 0, b_start = 0, b_end = 0;  // a_start == alen: no range
  uint32_t i = alen, j = blen;
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      result[idx - 1] = a[i - 1];
      if (a_start == alen) {
        a_start = a_end = i - 1;
        b_start = b_end = j - 1;
      } else if (a_start == i && b_start == j) {
        --a_start;  // contiguous: extend the range backwards
        --b_start;
      } else {
        emit = true;
      }
      if (a_start == 0 || b_start == 0) emit = true;  // reached the start of a string
      --idx, --i, --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (a_start != alen) emit = true;
    }
    if (emit) {
      const uint32_t match_len = a_end - a_start + 1;
      if (opts.min_match_len == 0 || match_len >= opts.min_match_len)
        matches.push_back({a_start, a_end, b_start, b_end});
      a_start = alen;
    }
  }
  if (!opts.idx) {
    resp_bulk(out, result);
    return out;
  }
  resp_array(out, 4);  // RESP2's form of Redis's 2-entry map
  resp_bulk(out, "matches");
  write_matches(out, matches, opts.with_match_len);
  resp_bulk(out, "len");
  resp_int(out, total);
  return out;
}

Action build_lcs(std::vector<std::string>& args) {
  LcsOptions opts;
  if (auto err = parse_lcs_options(args, opts)) return Action::local(resp_error(*err));
  return Action::start_job(std::make_shared<LcsJob>(std::move(args[1]), std::move(args[2]), opts));
}

}  // namespace clossyne::frontend
