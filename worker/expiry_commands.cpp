// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST, TTL, PTTL, EXPIRETIME, PEXPIRETIME (expire.c),
// TYPE, and the broker's internal xget/xset. A time at or before now deletes the key, as Redis
// does; a key without a TTL counts as never expiring for GT and LT.
#include <climits>

#include "worker/string_command_util.hpp"

namespace clossyne::strcmd {
namespace {

enum : unsigned { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };

// Redis's parseExtendedExpireArgumentsOrReply over args[1..].
std::optional<Reply> parse_expire_flags(const std::vector<std::string>& args, unsigned& flags) {
  for (size_t j = 1; j < args.size(); ++j) {
    if (option_is(args[j], "nx")) {
      flags |= kNx;
    } else if (option_is(args[j], "xx")) {
      flags |= kXx;
    } else if (option_is(args[j], "gt")) {
      flags |= kGt;
    } else if (option_is(args[j], "lt")) {
      flags |= kLt;
    } else {
      return error("ERR Unsupported option " + std::string(args[j].c_str()));
    }
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt))) {
    return error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((flags & kGt) && (flags & kLt)) {
    return error("ERR GT and LT options at the same time are not compatible");
  }
  return std::nullopt;
}

// Whether NX|XX|GT|LT let `when` replace the key's current expiry `cur` (nullopt: none).
bool flags_allow(unsigned flags, int64_t when, std::optional<int64_t> cur) {
  if ((flags & kNx) && cur) return false;
  if ((flags & kXx) && !cur) return false;
  if ((flags & kGt) && (!cur || when <= *cur)) return false;
  if ((flags & kLt) && cur && when >= *cur) return false;
  return true;
}

// Redis's expireGenericCommand: `basetime` is now for the relative forms, 0 for the absolute.
Reply expire_generic(Ctx& c, int64_t basetime, bool seconds) {
  unsigned flags = 0;
  if (auto err = parse_expire_flags(c.args, flags)) return *err;
  int64_t when = 0;
  if (!parse_ll(c.args[0], when)) return not_integer();
  // Negative times are allowed (they delete the key); only overflow is refused.
  if (seconds) {
    if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) return invalid_expire(c.op);
    when *= 1000;
  }
  if (when > LLONG_MAX - basetime) return invalid_expire(c.op);
  when += basetime;
  if (!c.key.get()) return integer(0);
  if (flags && !flags_allow(flags, when, c.key.expiry())) return integer(0);
  if (when <= c.now_ms) {
    c.key.erase();
  } else {
    c.key.set_expiry(when);
  }
  return integer(1);
}

// Redis's ttlGenericCommand: -2 absent, -1 no TTL; seconds round to the nearest.
Reply ttl_generic(Ctx& c, bool ms, bool absolute) {
  if (!c.key.get()) return integer(-2);
  const std::optional<int64_t> at = c.key.expiry();
  if (!at) return integer(-1);
  int64_t ttl = absolute ? *at : *at - c.now_ms;
  if (ttl < 0) ttl = 0;
  // Unsigned, so an expiry near LLONG_MAX rounds without overflow (as Redis's build answers).
  return integer(ms ? ttl : static_cast<int64_t>((static_cast<uint64_t>(ttl) + 500) / 1000));
}

}  // namespace

Reply cmd_expire(Ctx& c) {
  return expire_generic(c, c.now_ms, true);
}
Reply cmd_pexpire(Ctx& c) {
  return expire_generic(c, c.now_ms, false);
}
Reply cmd_expireat(Ctx& c) {
  return expire_generic(c, 0, true);
}
Reply cmd_pexpireat(Ctx& c) {
  return expire_generic(c, 0, false);
}

Reply cmd_persist(Ctx& c) {
  if (!c.key.get() || !c.key.expiry()) return integer(0);
  c.key.set_expiry(std::nullopt);
  return integer(1);
}

Reply cmd_ttl(Ctx& c) {
  return ttl_generic(c, false, false);
}
Reply cmd_pttl(Ctx& c) {
  return ttl_generic(c, true, false);
}
Reply cmd_expiretime(Ctx& c) {
  return ttl_generic(c, false, true);
}
Reply cmd_pexpiretime(Ctx& c) {
  return ttl_generic(c, true, true);
}

Reply cmd_type(Ctx& c) {
  return integer(c.key.get() ? 1 : 0);
}

Reply cmd_xget(Ctx& c) {
  const std::optional<std::string_view> cur = c.key.get();
  Reply r = bulk(cur ? std::optional<std::string>(std::string(*cur)) : std::nullopt);
  r.n = cur ? c.key.expiry().value_or(0) : 0;
  return r;
}

// xset: value and args[0] = absolute expiry in ms ("0": none), replacing any TTL.
Reply cmd_xset(Ctx& c) {
  int64_t at = 0;
  if (!parse_ll(c.args[0], at)) return not_integer();
  if (at == 0) {
    c.key.put(*c.value, false);
  } else if (at <= c.now_ms) {
    c.key.erase();
  } else {
    c.key.put(*c.value, false);
    c.key.set_expiry(at);
  }
  return ok();
}

}  // namespace clossyne::strcmd
