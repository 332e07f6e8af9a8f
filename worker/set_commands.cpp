// SET and its relatives (SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX), as Redis's t_string.c:
// options parsed by one routine for SET and GETEX, the expire time checked before the key is
// looked at, GET's reply taken before the write.
#include <climits>

#include "worker/string_command_util.hpp"

namespace clossyne::strcmd {
namespace {

// Redis's OBJ_* flags of parseExtendedStringArgumentsOrReply.
enum : unsigned {
  kNx = 1 << 0,
  kXx = 1 << 1,
  kEx = 1 << 2,
  kPx = 1 << 3,
  kKeepTtl = 1 << 4,
  kGet = 1 << 5,
  kExat = 1 << 6,
  kPxat = 1 << 7,
  kPersist = 1 << 8,
};
constexpr unsigned kAnyExpire = kEx | kPx | kExat | kPxat;

struct Parsed {
  unsigned flags = 0;
  const std::string* expire = nullptr;  // the word after EX|PX|EXAT|PXAT
};

// The flag `word` sets, or 0 when Redis would call it a syntax error at this point. Each option
// refuses the ones it conflicts with (a repeated EX is allowed: the last one wins).
unsigned option_flag(const std::string& word, unsigned flags, bool is_set, bool has_next) {
  if (is_set && option_is(word, "nx") && !(flags & kXx)) return kNx;
  if (is_set && option_is(word, "xx") && !(flags & kNx)) return kXx;
  if (is_set && option_is(word, "get")) return kGet;
  if (is_set && option_is(word, "keepttl") && !(flags & (kPersist | kAnyExpire))) return kKeepTtl;
  if (!is_set && option_is(word, "persist") && !(flags & (kKeepTtl | kAnyExpire))) return kPersist;
  if (!has_next || (flags & (kKeepTtl | kPersist))) return 0;
  const struct {
    std::string_view name;
    unsigned flag;
  } kTimed[] = {{"ex", kEx}, {"px", kPx}, {"exat", kExat}, {"pxat", kPxat}};
  for (const auto& t : kTimed) {
    if (option_is(word, t.name) && !(flags & (kAnyExpire & ~t.flag))) return t.flag;
  }
  return 0;
}

bool parse_options(const std::vector<std::string>& args, size_t from, bool is_set, Parsed& out) {
  for (size_t j = from; j < args.size(); ++j) {
    const unsigned f = option_flag(args[j], out.flags, is_set, j + 1 < args.size());
    if (f == 0) return false;
    out.flags |= f;
    if (f & kAnyExpire) out.expire = &args[++j];
  }
  return true;
}

// Redis's getExpireMillisecondsOrReply: the absolute expiry in ms, or the error reply.
std::optional<Reply> expire_at(const Ctx& c, const std::string& word, unsigned flags, int64_t& at) {
  if (!parse_ll(word, at)) return not_integer();
  const bool seconds = flags & (kEx | kExat);
  if (at <= 0 || (seconds && at > LLONG_MAX / 1000)) return invalid_expire(c.op);
  if (seconds) at *= 1000;
  if ((flags & (kEx | kPx)) && __builtin_add_overflow(at, c.now_ms, &at)) {
    return invalid_expire(c.op);
  }
  if (at <= 0) return invalid_expire(c.op);
  return std::nullopt;
}

std::optional<std::string> copy(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

// Redis's setGenericCommand once the options are checked.
Reply set_generic(Ctx& c, unsigned flags, const std::string& value, std::optional<int64_t> at,
                  Reply done, Reply aborted) {
  const std::optional<std::string> old = copy(c.key.get());
  const bool found = old.has_value();
  const bool get = flags & kGet;
  if (((flags & kNx) && found) || ((flags & kXx) && !found)) return get ? bulk(old) : aborted;
  if (at && *at <= c.now_ms) {
    c.key.erase();  // EXAT|PXAT in the past: the key is set and at once expired
  } else {
    c.key.put(value, found && (flags & kKeepTtl));
    if (at) c.key.set_expiry(*at);
  }
  return get ? bulk(old) : done;
}

// SETEX and PSETEX: the time first, then the value.
Reply set_with_ttl(Ctx& c, unsigned unit) {
  int64_t at = 0;
  if (auto err = expire_at(c, c.args[0], unit, at)) return *err;
  return set_generic(c, unit, c.args[1], at, ok(), ok());
}

}  // namespace

Reply cmd_set(Ctx& c) {
  Parsed p;
  if (!parse_options(c.args, 0, true, p)) return syntax_error();
  std::optional<int64_t> at;
  if (p.expire) {
    int64_t ms = 0;
    if (auto err = expire_at(c, *p.expire, p.flags, ms)) return *err;
    at = ms;
  }
  return set_generic(c, p.flags, *c.value, at, ok(), bulk(std::nullopt));
}

Reply cmd_setnx(Ctx& c) {
  return set_generic(c, kNx, c.args[0], std::nullopt, integer(1), integer(0));
}

Reply cmd_setex(Ctx& c) {
  return set_with_ttl(c, kEx);
}

Reply cmd_psetex(Ctx& c) {
  return set_with_ttl(c, kPx);
}

Reply cmd_getset(Ctx& c) {
  Reply r = bulk(copy(c.key.get()));
  c.key.put(c.args[0], false);  // GETSET drops the TTL, as SET does
  return r;
}

Reply cmd_getdel(Ctx& c) {
  Reply r = bulk(copy(c.key.get()));
  if (r.value) c.key.erase();
  return r;
}

Reply cmd_getex(Ctx& c) {
  Parsed p;
  if (!parse_options(c.args, 0, false, p)) return syntax_error();
  Reply r = bulk(copy(c.key.get()));
  if (!r.value) return r;  // an absent key answers nil before its expire time is checked
  int64_t at = 0;
  if (p.expire) {
    if (auto err = expire_at(c, *p.expire, p.flags, at)) return *err;
  }
  if ((p.flags & (kExat | kPxat)) && at <= c.now_ms) {
    c.key.erase();
  } else if (p.expire) {
    c.key.set_expiry(at);
  } else if ((p.flags & kPersist) && c.key.expiry()) {
    c.key.set_expiry(std::nullopt);
  }
  return r;
}

}  // namespace clossyne::strcmd
