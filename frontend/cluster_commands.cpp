#include "cluster_commands.hpp"

#include <cstdint>

#include "common/protocol.hpp"
#include "resp_parser.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

using Args = std::vector<std::string>;
namespace op = proto::op;

Action error(std::string_view msg) {
  std::string out;
  resp_error(out, msg);
  return Action::local(std::move(out));
}

Op make_op(std::string_view name) {
  Op o;
  o.op = std::string(name);
  return o;
}

// Every word after the name is a key (DEL, EXISTS, MGET).
Action keys_op(std::string_view name, Args& args, ReplyKind kind) {
  Op o = make_op(name);
  o.keys.reserve(args.size() - 1);
  for (std::size_t i = 1; i < args.size(); ++i) o.keys.push_back(std::move(args[i]));
  return Action::remote(std::move(o), {kind});
}

Action mset(Args& args) {
  Op o = make_op(op::kMset);
  o.pairs.reserve(args.size() / 2);
  for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
    o.pairs.emplace_back(std::move(args[i]), std::move(args[i + 1]));
  }
  return Action::remote(std::move(o), {ReplyKind::kOk});
}

// SET k v: the original op (+OK). With options the worker parses them as Redis does and answers
// +OK, nil (NX/XX not met) or the old value (GET).
Action set(Args& args) {
  Op o = make_op(op::kSet);
  o.key = std::move(args[1]);
  o.value = std::move(args[2]);
  if (args.size() == 3) return Action::remote(std::move(o), {ReplyKind::kOk});
  o.args.reserve(args.size() - 3);
  for (std::size_t i = 3; i < args.size(); ++i) o.args.push_back(std::move(args[i]));
  return Action::remote(std::move(o), {ReplyKind::kAuto});
}

// A single-key op named as the command (common/keyed_ops.hpp): the worker checks the words
// after the key and answers as Redis does.
Action keyed(Args& args) {
  Op o = make_op(to_lower(args[0]));
  o.key = std::move(args[1]);
  o.args.reserve(args.size() - 2);
  for (std::size_t i = 2; i < args.size(); ++i) o.args.push_back(std::move(args[i]));
  return Action::remote(std::move(o), {ReplyKind::kAuto});
}

// MSETNX: set every pair or none; the broker makes it atomic across shards.
Action msetnx(Args& args) {
  Action a = mset(args);
  a.op.op = "msetnx";
  a.format = {ReplyKind::kInteger};
  return a;
}

// RENAME / RENAMENX src dst: the broker moves the value and its expiry atomically.
Action rename(std::string_view name, Args& args, ReplyKind kind) {
  Op o = make_op(name);
  o.keys = {std::move(args[1]), std::move(args[2])};
  return Action::remote(std::move(o), {kind});
}

// COPY src dst [DB n] [REPLACE], parsed as Redis 7's copyCommand; there is one database, so any
// DB but 0 is out of range.
Action copy(Args& args) {
  bool replace = false;
  for (std::size_t j = 3; j < args.size(); ++j) {
    const std::string opt = to_lower(args[j]);
    if (opt == "replace") {
      replace = true;
    } else if (opt == "db" && j + 1 < args.size()) {
      long long db = 0;
      if (!parse_int64(args[j + 1], db) || db < INT32_MIN || db > INT32_MAX)
        return error("value is not an integer or out of range");
      if (db != 0) return error("DB index is out of range");
      ++j;
    } else {
      return error("syntax error");
    }
  }
  if (args[1] == args[2]) return error("source and destination objects are the same");
  Op o = make_op("copy");
  o.keys = {std::move(args[1]), std::move(args[2])};
  if (replace) o.args.emplace_back("REPLACE");
  return Action::remote(std::move(o), {ReplyKind::kInteger});
}

Action single_key(std::string_view name, Args& args, ReplyKind kind) {
  Op o = make_op(name);
  o.key = std::move(args[1]);
  return Action::remote(std::move(o), {kind});
}

// RNG start end [LIMIT n]
Action rng(Args& args) {
  Op o = make_op(op::kRng);
  if (args.size() != 3 && (args.size() != 5 || to_lower(args[3]) != "limit")) {
    return error("syntax error");
  }
  if (args.size() == 5) {
    long long n = 0;
    if (!parse_int64(args[4], n) || n < 0) return error("value is not an integer or out of range");
    o.limit = static_cast<uint64_t>(n);
  }
  o.key = std::move(args[1]);
  o.end = std::move(args[2]);
  return Action::remote(std::move(o), {ReplyKind::kItems});
}

}  // namespace

Action build_cluster_command(Handler handler, Args& args) {
  switch (handler) {
    case Handler::kSet:
      return set(args);
    case Handler::kGet:
      return single_key(op::kGet, args, ReplyKind::kBulk);
    case Handler::kDel:
      return keys_op(op::kDel, args, ReplyKind::kInteger);
    case Handler::kExists:
      return keys_op(op::kExists, args, ReplyKind::kInteger);
    case Handler::kMget:
      return keys_op(op::kMget, args, ReplyKind::kValues);
    case Handler::kMset:
      return mset(args);
    case Handler::kDbsize:
      return Action::remote(make_op(op::kDbsize), {ReplyKind::kInteger});
    case Handler::kRng:
      return rng(args);
    case Handler::kWhere:
      return single_key(op::kWhere, args, ReplyKind::kWhere);
    case Handler::kType:
      return keys_op(op::kExists, args, ReplyKind::kType);
    case Handler::kKeyed:
      return keyed(args);
    case Handler::kMsetnx:
      return msetnx(args);
    case Handler::kRename:
      return rename("rename", args, ReplyKind::kOk);
    case Handler::kRenamenx:
      return rename("renamenx", args, ReplyKind::kInteger);
    case Handler::kCopy:
      return copy(args);
    default:
      return error("internal error: not a cluster command");
  }
}

}  // namespace clossyne::frontend
