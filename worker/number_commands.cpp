// INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT, as Redis's t_string.c: the value rewritten in place
// (an existing key keeps its TTL), a float formatted as Redis's ld2string in its human mode.
#include <climits>
#include <cmath>
#include <cstdio>
#include <string>

#include "worker/string_command_util.hpp"

namespace clossyne::strcmd {
namespace {

// Redis's incrDecrCommand.
Reply incr_by(Ctx& c, int64_t incr) {
  const std::optional<std::string_view> cur = c.key.get();
  int64_t v = 0;
  if (cur && !parse_ll(*cur, v)) return not_integer();
  if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) || (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
    return error("ERR increment or decrement would overflow");
  }
  v += incr;
  write_back(c.key, cur.has_value(), std::to_string(v));
  return integer(v);
}

// Redis's ld2string(LD_STR_HUMAN): 17 decimals, trailing zeros and a bare '.' cut, no "-0".
std::string human_float(long double v) {
  char buf[5 * 1024];  // MAX_LONG_DOUBLE_CHARS: holds any finite long double in %.17Lf
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", v);
  if (n <= 0 || static_cast<size_t>(n) + 1 > sizeof buf) return "";
  std::string s(buf, static_cast<size_t>(n));
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace

Reply cmd_incr(Ctx& c) {
  return incr_by(c, 1);
}

Reply cmd_decr(Ctx& c) {
  return incr_by(c, -1);
}

Reply cmd_incrby(Ctx& c) {
  int64_t incr = 0;
  if (!parse_ll(c.args[0], incr)) return not_integer();
  return incr_by(c, incr);
}

Reply cmd_decrby(Ctx& c) {
  int64_t decr = 0;
  if (!parse_ll(c.args[0], decr)) return not_integer();
  if (decr == LLONG_MIN) return error("ERR decrement would overflow");  // -decr would overflow
  return incr_by(c, -decr);
}

Reply cmd_incrbyfloat(Ctx& c) {
  const std::optional<std::string_view> cur = c.key.get();
  long double v = 0;
  long double incr = 0;
  // Redis reads the key's value before the increment.
  if ((cur && !parse_ld(*cur, v)) || !parse_ld(c.args[0], incr)) {
    return error("ERR value is not a valid float");
  }
  v += incr;
  if (std::isnan(v) || std::isinf(v)) return error("ERR increment would produce NaN or Infinity");
  std::string s = human_float(v);
  write_back(c.key, cur.has_value(), s);
  return bulk(std::move(s));
}

}  // namespace clossyne::strcmd
