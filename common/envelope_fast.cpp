// The fast path of decode(): the hot envelopes (batches of single-key ops, and their replies) read
// straight from the bytes with MsgpackReader, instead of msgpack-c building an object tree that is
// then walked and copied (about a fifth of the broker's CPU under a pipelined load). Anything else
// — other fields, other types, malformed input — returns false and goes to the full decoder, which
// alone decides errors; a unit test checks that both agree wherever the fast path answers.
#include "envelope_fast.hpp"

#include "msgpack_reader.hpp"
#include "protocol.hpp"

namespace clossyne {
namespace {

namespace f = proto::f;

bool opt_bytes(MsgpackReader& r, std::optional<std::string>& out) {
  if (r.nil()) {
    out.reset();
    return true;
  }
  std::string_view s;
  if (!r.bytes(s)) return false;
  out.emplace(s);
  return true;
}

bool fast_op(MsgpackReader& r, Op& op, int depth);

bool fast_op_field(MsgpackReader& r, std::string_view k, Op& op, int depth) {
  uint64_t u = 0;
  std::string_view s;
  if (k == f::kV) {
    if (!r.uint(u) || u != static_cast<uint64_t>(proto::kVersion)) return false;
    op.version = proto::kVersion;
    return true;
  }
  if (k == f::kId) return r.uint(op.id);
  if (k == f::kOp) return r.bytes(s) && (op.op.assign(s), true);
  if (k == f::kKey) return opt_bytes(r, op.key);
  if (k == f::kValue) return opt_bytes(r, op.value);
  if (k == f::kEnd) return opt_bytes(r, op.end);
  if (k == f::kLimit) return r.nil() || (r.uint(u) && (op.limit = u, true));
  if (k == f::kShard) return r.uint(u) && u <= UINT32_MAX && (op.shard = uint32_t(u), true);
  if (k == f::kEpoch) return r.uint(op.epoch);
  if (k == "seq") return r.uint(u) && (op.seq = u, true);      // replicated writes
  if (k == "now") return op.now.emplace(0), r.int64(*op.now);  // expiry decisions
  if (k == f::kStream) return r.boolean(op.stream);
  if (k == f::kOps) {
    uint32_t n = 0;
    if (depth > 0 || !r.array(n) || n > proto::kMaxBatchOps || n > r.remaining()) return false;
    op.batch.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      if (!fast_op(r, op.batch[i], depth + 1)) return false;
    }
    return true;
  }
  return false;  // keys, pairs, shards, worker, unknown fields: the full decoder
}

// Reads a map whose keys are strings, handing each field to field(r, name).
template <typename Fn>
bool read_fields(MsgpackReader& r, Fn field) {
  uint32_t n = 0;
  if (!r.map(n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view k;
    if (!r.bytes(k) || !field(r, k)) return false;
  }
  return true;
}

bool fast_op(MsgpackReader& r, Op& op, int depth) {
  auto field = [&](MsgpackReader& in, std::string_view k) {
    return fast_op_field(in, k, op, depth);
  };
  return read_fields(r, field) && op.version == proto::kVersion && !op.op.empty();
}

bool fast_reply(MsgpackReader& r, Reply& reply, int depth);

bool fast_reply_field(MsgpackReader& r, std::string_view k, Reply& reply, int depth) {
  uint64_t u = 0;
  std::string_view s;
  if (k == f::kV) return r.uint(u);  // not checked by the full decoder either
  if (k == f::kId) return r.uint(reply.id);
  if (k == f::kOk) return r.boolean(reply.ok);
  if (k == f::kError) return r.bytes(s) && (reply.error.assign(s), true);
  if (k == f::kCode) return r.bytes(s) && (reply.code = error_code_from_name(s), true);
  if (k == f::kValue) return opt_bytes(r, reply.value) && (reply.has_value = true);
  if (k == f::kN) {
    int64_t v = 0;
    return r.int64(v) && (reply.n = v, true);
  }
  if (k == f::kPartial) return r.boolean(reply.partial);
  if (k == f::kReplies) {
    uint32_t n = 0;
    if (depth > 0 || !r.array(n) || n > r.remaining()) return false;
    reply.is_batch = true;
    reply.replies.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      if (!fast_reply(r, reply.replies[i], depth + 1)) return false;
    }
    return true;
  }
  return false;  // values, items, where, control fields, unknown fields: the full decoder
}

bool fast_reply(MsgpackReader& r, Reply& reply, int depth) {
  auto field = [&](MsgpackReader& in, std::string_view k) {
    return fast_reply_field(in, k, reply, depth);
  };
  if (!read_fields(r, field)) return false;
  normalize_error_code(reply);
  return true;
}

}  // namespace

bool decode_fast(std::string_view body, Op& out) {
  MsgpackReader r(body);
  return fast_op(r, out, 0);
}

bool decode_fast(std::string_view body, Reply& out) {
  MsgpackReader r(body);
  return fast_reply(r, out, 0);
}

}  // namespace clossyne
