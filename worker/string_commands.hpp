// The single-key string and expiry commands of common/keyed_ops.hpp, with Redis 7.2's semantics
// (t_string.c, expire.c, bitops.c): the same replies, the same error words, the same order of
// checks. The Shard keeps "get", "del", "exists" and "where"; it runs every other keyed op here,
// over a KeyAccess that hides its treap and expiry table.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/envelope.hpp"

namespace clossyne {

// What a command sees of its one key, and may do to it (the Shard implements it over its treap
// and its expiry table). An expired key is absent for every method.
class KeyAccess {
 public:
  virtual ~KeyAccess() = default;
  virtual std::optional<std::string_view> get() = 0;  // nullopt: absent
  virtual std::optional<int64_t> expiry() = 0;  // absolute ms since epoch; nullopt: none or absent
  // Sets the value. keep_ttl=false removes any TTL (as a plain SET does). The commands pass
  // keep_ttl=true only for a key that exists (never to revive an expired key's TTL).
  virtual void put(std::string_view value, bool keep_ttl) = 0;
  // Sets (at) or removes (nullopt) the TTL of an existing key. Callers never pass a time <= now:
  // for such times they call erase() (Redis deletes a key given a past expiry).
  virtual void set_expiry(std::optional<int64_t> at) = 0;
  virtual bool erase() = 0;  // true if the key existed
};

// Runs one op of common/keyed_ops.hpp (all except "get", "del", "exists", "where", which the Shard
// keeps) on `key`. `value` is Op::value (only "set" and "xset" use it), `args` the words after the
// key (for "set": its options after the value), `now_ms` the op's time (ms since epoch). Reply
// conventions: integer -> reply.n; bulk -> reply.has_value = true and reply.value (nullopt = nil);
// +OK -> no field set; error -> Reply::Error(0, "<Redis's exact text>") e.g. "ERR value is not an
// integer or out of range", "ERR syntax error", "ERR invalid expire time in 'set' command", "ERR
// increment or decrement would overflow", "ERR value is not a valid float", "ERR increment would
// produce NaN or Infinity", "ERR string exceeds maximum allowed size (proto-max-bulk-len)", "ERR
// bit offset is not an integer or out of range", "ERR bit is not an integer or out of range", "ERR
// NX and XX, GT or LT options at the same time are not compatible", etc. Unknown op:
// Reply::Error(0, "ERR unknown op '<op>'").
Reply run_string_command(std::string_view op, const std::optional<std::string>& value,
                         const std::vector<std::string>& args, int64_t now_ms, KeyAccess& key);
// True when run_string_command handles `op`.
bool is_string_command(std::string_view op);

}  // namespace clossyne
