#include "seed_dialect.hpp"

#include "common/protocol.hpp"
#include "reply_format.hpp"

namespace clossyne::frontend {
namespace {

namespace op = proto::op;

Action not_found(Eol eol) {
  return Action::local("NS" + std::string(eol_text(eol)));
}

// "a b c" -> {"a", "b c"}; false if there is no space or the first part is empty.
bool split_first_space(std::string& rest, std::string& first) {
  const std::size_t sp = rest.find(' ');
  if (sp == std::string::npos || sp == 0) return false;
  first = rest.substr(0, sp);
  rest.erase(0, sp + 1);
  return true;
}

Action seed_set(std::string& rest, Eol eol) {
  Op o;
  o.op = std::string(op::kSet);
  std::string key;
  if (!split_first_space(rest, key)) return not_found(eol);
  o.key = std::move(key);
  o.value = std::move(rest);
  return Action::remote(std::move(o), {ReplyKind::kSeedSet, eol});
}

Action seed_key_op(std::string_view name, std::string& rest, Eol eol, ReplyKind kind) {
  if (rest.empty()) return not_found(eol);
  Op o;
  o.op = std::string(name);
  if (name == op::kDel) {
    o.keys.push_back(std::move(rest));
  } else {
    o.key = std::move(rest);
  }
  return Action::remote(std::move(o), {kind, eol});
}

Action seed_rng(std::string& rest, Eol eol) {
  Op o;
  o.op = std::string(op::kRng);
  std::string start;
  if (!split_first_space(rest, start) || rest.empty()) return not_found(eol);
  o.key = std::move(start);
  o.end = std::move(rest);
  return Action::remote(std::move(o), {ReplyKind::kSeedRng, eol});
}

}  // namespace

Action handle_seed_request(Request& req) {
  if (!req.refused.empty())
    return Action::local(format_error({ReplyKind::kSeedSet, req.eol}, req.refused));
  const std::string& verb = req.args[0];
  std::string& rest = req.args[1];
  if (verb == "EXT") return Action::local("", /*close_after=*/true);
  if (verb == "SET") return seed_set(rest, req.eol);
  if (verb == "GET") return seed_key_op(op::kGet, rest, req.eol, ReplyKind::kSeedGet);
  if (verb == "DEL") return seed_key_op(op::kDel, rest, req.eol, ReplyKind::kSeedDel);
  if (verb == "RNG") return seed_rng(rest, req.eol);
  return not_found(req.eol);
}

}  // namespace clossyne::frontend
