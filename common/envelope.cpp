#include "envelope.hpp"

#include <algorithm>
#include <cstring>
#include <msgpack.hpp>

#include "envelope_fast.hpp"
#include "protocol.hpp"

namespace clossyne {
namespace {

// Packs straight into the std::string that encode() returns (no intermediate buffer to copy). The
// packer writes a token at a time, so the string is grown ahead (doubling) and filled by memcpy;
// finish() cuts it to the bytes written.
struct StringSink {
  std::string& out;
  std::size_t len = 0;
  void write(const char* data, std::size_t n) {
    if (out.size() - len < n) out.resize(std::max(out.size() * 2, len + n));
    char* dst = out.data() + len;
    if (n <= 8) {  // type bytes and small headers: cheaper than a call to memcpy
      for (std::size_t i = 0; i < n; ++i) dst[i] = data[i];
    } else {
      std::memcpy(dst, data, n);
    }
    len += n;
  }
  void finish() { out.resize(len); }
};
using Packer = msgpack::packer<StringSink>;
namespace f = proto::f;

void pack_str(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}
void pack_bin(Packer& p, std::string_view s) {
  p.pack_bin(static_cast<uint32_t>(s.size()));
  p.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
}
void pack_opt_bin(Packer& p, const std::optional<std::string>& s) {
  if (s) {
    pack_bin(p, *s);
  } else {
    p.pack_nil();
  }
}

void pack_shard_info(Packer& p, const ShardInfo& s) {
  p.pack_map(6 + (s.seed != 0) + !s.owner.empty() + s.importing + s.busy + !s.replicas.empty() +
             !s.joining.empty() + !s.change.empty() + (s.copied != 0));
  pack_str(p, "id");
  p.pack(s.id);
  pack_str(p, "lo");
  pack_bin(p, s.lo);
  pack_str(p, "hi");
  pack_opt_bin(p, s.hi);
  pack_str(p, "epoch");
  p.pack(s.epoch);
  if (s.seed != 0) pack_str(p, "seed"), p.pack(s.seed);  // 0 (status replies): left out
  pack_str(p, "keys");
  p.pack(s.keys);
  pack_str(p, "bytes");
  p.pack(s.bytes);
  if (!s.owner.empty()) pack_str(p, "owner"), pack_str(p, s.owner);
  if (s.importing) pack_str(p, "importing"), p.pack(true);
  if (s.busy) pack_str(p, "busy"), p.pack(true);
  if (!s.replicas.empty()) {  // unreplicated shards: left out
    pack_str(p, "replicas");
    p.pack_array(static_cast<uint32_t>(s.replicas.size()));
    for (const auto& r : s.replicas) pack_str(p, r);
  }
  if (!s.joining.empty()) pack_str(p, "joining"), pack_str(p, s.joining);  // status replies
  if (!s.change.empty()) pack_str(p, "change"), pack_str(p, s.change);     // status replies
  if (s.copied != 0) pack_str(p, "copied"), p.pack(s.copied);              // status replies
}

void pack_worker_info(Packer& p, const WorkerInfo& w) {
  p.pack_map(5 + (w.bytes != 0) + (w.rss != 0) + w.persistent + !w.fsync.empty() +
             (w.ops_per_sec != 0) + (w.heartbeat_age_ms != 0));
  pack_str(p, "id");
  pack_str(p, w.id);
  pack_str(p, "alive");
  p.pack(w.alive);
  pack_str(p, "keys");
  p.pack(w.keys);
  pack_str(p, "shards");
  p.pack(w.shards);
  pack_str(p, "draining");
  p.pack(w.draining);
  if (w.bytes != 0) pack_str(p, "bytes"), p.pack(w.bytes);
  if (w.rss != 0) pack_str(p, "rss"), p.pack(w.rss);
  if (w.persistent) pack_str(p, "persistent"), p.pack(true);
  if (!w.fsync.empty()) pack_str(p, "fsync"), pack_str(p, w.fsync);
  if (w.ops_per_sec != 0) pack_str(p, "ops_per_sec"), p.pack(w.ops_per_sec);
  if (w.heartbeat_age_ms != 0) pack_str(p, "heartbeat_age_ms"), p.pack(w.heartbeat_age_ms);
}

void pack_shard_list(Packer& p, std::string_view field, const std::vector<ShardInfo>& list) {
  pack_str(p, field);
  p.pack_array(static_cast<uint32_t>(list.size()));
  for (const auto& s : list) pack_shard_info(p, s);
}

void pack_expires(Packer& p, const std::vector<KeyExpiry>& expires) {
  pack_str(p, "expires");
  p.pack_array(static_cast<uint32_t>(expires.size()));
  for (const auto& [k, at] : expires) {
    p.pack_array(2);
    pack_bin(p, k);
    p.pack(at);
  }
}

void pack_op(Packer& p, const Op& op) {
  uint32_t n = 3;  // v, id, op
  n += op.key.has_value() + op.value.has_value() + op.end.has_value() + op.limit.has_value();
  n += !op.keys.empty() + !op.pairs.empty() + !op.batch.empty() + op.shard.has_value();
  n += op.shard.has_value() /* epoch */ + !op.worker.empty() + !op.shards.empty() + op.stream;
  n += !op.cluster.empty() + !op.drops.empty() + op.force + op.seq.has_value();
  n += !op.args.empty() + op.now.has_value() + !op.expires.empty();
  p.pack_map(n);
  pack_str(p, f::kV);
  p.pack(op.version);
  pack_str(p, f::kId);
  p.pack(op.id);
  pack_str(p, f::kOp);
  pack_str(p, op.op);
  if (op.key) pack_str(p, f::kKey), pack_bin(p, *op.key);
  if (op.value) pack_str(p, f::kValue), pack_bin(p, *op.value);
  if (op.end) pack_str(p, f::kEnd), pack_bin(p, *op.end);
  if (op.limit) pack_str(p, f::kLimit), p.pack(*op.limit);
  if (!op.keys.empty()) {
    pack_str(p, f::kKeys);
    p.pack_array(static_cast<uint32_t>(op.keys.size()));
    for (const auto& k : op.keys) pack_bin(p, k);
  }
  if (!op.pairs.empty()) {
    pack_str(p, f::kPairs);
    p.pack_array(static_cast<uint32_t>(op.pairs.size()));
    for (const auto& [k, v] : op.pairs) {
      p.pack_array(2);
      pack_bin(p, k);
      pack_bin(p, v);
    }
  }
  if (!op.batch.empty()) {
    pack_str(p, f::kOps);
    p.pack_array(static_cast<uint32_t>(op.batch.size()));
    for (const auto& sub : op.batch) pack_op(p, sub);
  }
  if (op.shard) {
    pack_str(p, f::kShard);
    p.pack(*op.shard);
    pack_str(p, f::kEpoch);
    p.pack(op.epoch);
  }
  if (!op.worker.empty()) pack_str(p, f::kWorker), pack_str(p, op.worker);
  if (op.stream) pack_str(p, f::kStream), p.pack(true);
  if (!op.shards.empty()) {
    pack_str(p, f::kShards);
    p.pack_array(static_cast<uint32_t>(op.shards.size()));
    for (const auto& s : op.shards) pack_shard_info(p, s);
  }
  if (!op.cluster.empty()) pack_str(p, f::kCluster), pack_str(p, op.cluster);
  if (!op.drops.empty()) pack_shard_list(p, f::kDrops, op.drops);
  if (op.force) pack_str(p, "force"), p.pack(true);
  if (op.seq) pack_str(p, "seq"), p.pack(*op.seq);
  if (!op.args.empty()) {
    pack_str(p, "args");
    p.pack_array(static_cast<uint32_t>(op.args.size()));
    for (const auto& a : op.args) pack_bin(p, a);
  }
  if (op.now) pack_str(p, "now"), p.pack(*op.now);
  if (!op.expires.empty()) pack_expires(p, op.expires);
}

void pack_where(Packer& p, const WhereInfo& w) {
  p.pack_map(5 + !w.members.empty());
  pack_str(p, "shard");
  p.pack(w.shard);
  pack_str(p, "owner");
  pack_str(p, w.owner);
  pack_str(p, "path");
  pack_str(p, w.path);
  pack_str(p, "depth");
  p.pack(w.depth);
  pack_str(p, "found");
  p.pack(w.found);
  if (!w.members.empty()) {
    pack_str(p, "members");
    p.pack_array(static_cast<uint32_t>(w.members.size()));
    for (const auto& m : w.members) pack_str(p, m);
  }
}

void pack_reply(Packer& p, const Reply& r) {
  uint32_t n = 3;  // v, id, ok
  n += 2 * !r.ok + r.has_value + r.n.has_value() + r.values.has_value() + r.items.has_value();
  n += r.where.has_value() + r.is_batch + !r.op.empty() + !r.worker.empty() + !r.shards.empty();
  n += !r.workers.empty() + r.partial + !r.cluster.empty() + !r.handoffs.empty() + r.ephemeral;
  n += r.rss.has_value() + !r.fsync.empty() + !r.zone.empty() + !r.expires.empty();
  p.pack_map(n);
  pack_str(p, f::kV);
  p.pack(proto::kVersion);
  pack_str(p, f::kId);
  p.pack(r.id);
  pack_str(p, f::kOk);
  p.pack(r.ok);
  if (!r.ok) {
    pack_str(p, f::kError), pack_str(p, r.error);
    pack_str(p, f::kCode), pack_str(p, error_code_name(r.code));
  }
  if (r.has_value) pack_str(p, f::kValue), pack_opt_bin(p, r.value);
  if (r.n) pack_str(p, f::kN), p.pack(*r.n);
  if (r.values) {
    pack_str(p, f::kValues);
    p.pack_array(static_cast<uint32_t>(r.values->size()));
    for (const auto& v : *r.values) pack_opt_bin(p, v);
  }
  if (r.items) {
    pack_str(p, f::kItems);
    p.pack_array(static_cast<uint32_t>(r.items->size()));
    for (const auto& [k, v] : *r.items) {
      p.pack_array(2);
      pack_bin(p, k);
      pack_bin(p, v);
    }
  }
  if (!r.expires.empty()) pack_expires(p, r.expires);
  if (r.where) pack_str(p, f::kWhere), pack_where(p, *r.where);
  if (r.is_batch) {
    pack_str(p, f::kReplies);
    p.pack_array(static_cast<uint32_t>(r.replies.size()));
    for (const auto& sub : r.replies) pack_reply(p, sub);
  }
  if (r.partial) pack_str(p, f::kPartial), p.pack(true);
  if (!r.op.empty()) pack_str(p, f::kOp), pack_str(p, r.op);
  if (!r.worker.empty()) pack_str(p, f::kWorker), pack_str(p, r.worker);
  if (!r.shards.empty()) {
    pack_str(p, f::kShards);
    p.pack_array(static_cast<uint32_t>(r.shards.size()));
    for (const auto& s : r.shards) pack_shard_info(p, s);
  }
  if (!r.workers.empty()) {
    pack_str(p, "workers");
    p.pack_array(static_cast<uint32_t>(r.workers.size()));
    for (const auto& w : r.workers) pack_worker_info(p, w);
  }
  if (!r.cluster.empty()) pack_str(p, f::kCluster), pack_str(p, r.cluster);
  if (!r.handoffs.empty()) pack_shard_list(p, f::kHandoffs, r.handoffs);
  if (r.ephemeral) pack_str(p, "ephemeral"), p.pack(true);
  if (r.rss) pack_str(p, "rss"), p.pack(*r.rss);
  if (!r.fsync.empty()) pack_str(p, "fsync"), pack_str(p, r.fsync);
  if (!r.zone.empty()) pack_str(p, "zone"), pack_str(p, r.zone);
}

// ---- decoding -------------------------------------------------------------------------------

using Obj = msgpack::object;

std::string_view as_view(const Obj& o) {
  if (o.type == msgpack::type::STR) return {o.via.str.ptr, o.via.str.size};
  return {o.via.bin.ptr, o.via.bin.size};
}
bool is_bytes(const Obj& o) {
  return o.type == msgpack::type::STR || o.type == msgpack::type::BIN;
}

Status want_bytes(const Obj& o, std::string_view field, std::string& out) {
  if (!is_bytes(o))
    return Status::Error("field '" + std::string(field) + "' must be bytes or string");
  out.assign(as_view(o));
  return Status::Ok();
}
Status want_opt_bytes(const Obj& o, std::string_view field, std::optional<std::string>& out) {
  if (o.type == msgpack::type::NIL) {
    out.reset();
    return Status::Ok();
  }
  out.emplace();
  return want_bytes(o, field, *out);
}
Status want_uint(const Obj& o, std::string_view field, uint64_t& out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER)
    return Status::Error("field '" + std::string(field) + "' must be a non-negative integer");
  out = o.via.u64;
  return Status::Ok();
}
Status want_int(const Obj& o, std::string_view field, int64_t& out) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    out = static_cast<int64_t>(o.via.u64);
  } else if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    out = o.via.i64;
  } else {
    return Status::Error("field '" + std::string(field) + "' must be an integer");
  }
  return Status::Ok();
}
Status want_bool(const Obj& o, std::string_view field, bool& out) {
  if (o.type != msgpack::type::BOOLEAN)
    return Status::Error("field '" + std::string(field) + "' must be a boolean");
  out = o.via.boolean;
  return Status::Ok();
}
Status want_array(const Obj& o, std::string_view field) {
  if (o.type != msgpack::type::ARRAY)
    return Status::Error("field '" + std::string(field) + "' must be an array");
  return Status::Ok();
}

Status want_u32(const Obj& o, std::string_view field, uint32_t& out) {
  uint64_t u = 0;
  Status st = want_uint(o, field, u);
  if (st.ok() && u > UINT32_MAX) st = Status::Error("field '" + std::string(field) + "' too large");
  out = static_cast<uint32_t>(u);
  return st;
}

// Calls fn(name, value) for each string-named field of a map (others are skipped), stopping at the
// first error.
template <typename Fn>
Status for_each_field(const Obj& o, std::string_view what, Fn fn) {
  if (o.type != msgpack::type::MAP) return Status::Error(std::string(what) + " must be a map");
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (!is_bytes(kv.key)) continue;
    if (Status st = fn(as_view(kv.key), kv.val); !st.ok()) return st;
  }
  return Status::Ok();
}

Status want_bytes_array(const Obj& o, std::string_view field, std::vector<std::string>& out) {
  if (auto st = want_array(o, field); !st.ok()) return st;
  out.resize(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    if (auto st = want_bytes(o.via.array.ptr[i], field, out[i]); !st.ok()) return st;
  }
  return Status::Ok();
}

Status decode_shard_info(const Obj& o, ShardInfo& s) {
  return for_each_field(o, "shard entry", [&s](std::string_view k, const Obj& v) {
    if (k == "id") return want_u32(v, k, s.id);
    if (k == "lo") return want_bytes(v, k, s.lo);
    if (k == "hi") return want_opt_bytes(v, k, s.hi);
    if (k == "epoch") return want_uint(v, k, s.epoch);
    if (k == "seed") return want_uint(v, k, s.seed);
    if (k == "keys") return want_uint(v, k, s.keys);
    if (k == "bytes") return want_uint(v, k, s.bytes);
    if (k == "owner") return want_bytes(v, k, s.owner);
    if (k == "importing") return want_bool(v, k, s.importing);
    if (k == "busy") return want_bool(v, k, s.busy);
    if (k == "replicas") return want_bytes_array(v, k, s.replicas);
    if (k == "joining") return want_bytes(v, k, s.joining);
    if (k == "change") return want_bytes(v, k, s.change);
    if (k == "copied") return want_uint(v, k, s.copied);
    return Status::Ok();
  });
}

Status decode_worker_info(const Obj& o, WorkerInfo& w) {
  return for_each_field(o, "worker entry", [&w](std::string_view k, const Obj& v) {
    if (k == "id") return want_bytes(v, k, w.id);
    if (k == "alive") return want_bool(v, k, w.alive);
    if (k == "keys") return want_uint(v, k, w.keys);
    if (k == "shards") return want_u32(v, k, w.shards);
    if (k == "draining") return want_bool(v, k, w.draining);
    if (k == "bytes") return want_uint(v, k, w.bytes);
    if (k == "rss") return want_uint(v, k, w.rss);
    if (k == "persistent") return want_bool(v, k, w.persistent);
    if (k == "fsync") return want_bytes(v, k, w.fsync);
    if (k == "ops_per_sec") return want_uint(v, k, w.ops_per_sec);
    if (k == "heartbeat_age_ms") return want_uint(v, k, w.heartbeat_age_ms);
    return Status::Ok();
  });
}

Status decode_shards(const Obj& o, std::vector<ShardInfo>& out) {
  if (auto st = want_array(o, f::kShards); !st.ok()) return st;
  out.resize(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    if (auto st = decode_shard_info(o.via.array.ptr[i], out[i]); !st.ok()) return st;
  }
  return Status::Ok();
}

Status decode_expires(const Obj& val, std::vector<KeyExpiry>& out) {
  if (auto st = want_array(val, "expires"); !st.ok()) return st;
  out.resize(val.via.array.size);
  for (uint32_t i = 0; i < val.via.array.size; ++i) {
    const Obj& pair = val.via.array.ptr[i];
    if (pair.type != msgpack::type::ARRAY || pair.via.array.size != 2)
      return Status::Error("field 'expires' must hold [key, ms] arrays");
    if (auto st = want_bytes(pair.via.array.ptr[0], "expires", out[i].first); !st.ok()) return st;
    if (auto st = want_int(pair.via.array.ptr[1], "expires", out[i].second); !st.ok()) return st;
  }
  return Status::Ok();
}

Status decode_op_obj(const Obj& o, Op& op, int depth);

Status decode_op_field(std::string_view k, const Obj& val, Op& op, int depth) {
  uint64_t u = 0;
  if (k == f::kV) {
    Status st = want_uint(val, k, u);
    op.version = static_cast<int>(u);
    return st;
  }
  if (k == f::kId) return want_uint(val, k, op.id);
  if (k == f::kOp) return want_bytes(val, k, op.op);
  if (k == f::kKey) return want_opt_bytes(val, k, op.key);
  if (k == f::kValue) return want_opt_bytes(val, k, op.value);
  if (k == f::kEnd) return want_opt_bytes(val, k, op.end);
  if (k == f::kLimit) {
    if (val.type == msgpack::type::NIL) return Status::Ok();
    Status st = want_uint(val, k, u);
    op.limit = u;
    return st;
  }
  if (k == f::kKeys) return want_bytes_array(val, k, op.keys);
  if (k == f::kPairs) {
    if (auto st = want_array(val, k); !st.ok()) return st;
    op.pairs.resize(val.via.array.size);
    for (uint32_t i = 0; i < val.via.array.size; ++i) {
      const Obj& pair = val.via.array.ptr[i];
      if (pair.type != msgpack::type::ARRAY || pair.via.array.size != 2)
        return Status::Error("field 'pairs' must hold [key, value] arrays");
      if (auto st = want_bytes(pair.via.array.ptr[0], k, op.pairs[i].first); !st.ok()) return st;
      if (auto st = want_bytes(pair.via.array.ptr[1], k, op.pairs[i].second); !st.ok()) return st;
    }
    return Status::Ok();
  }
  if (k == f::kOps) {
    if (auto st = want_array(val, k); !st.ok()) return st;
    if (depth > 0) return Status::Error("batches cannot nest");
    if (val.via.array.size > proto::kMaxBatchOps) return Status::Error("batch too large");
    op.batch.resize(val.via.array.size);
    for (uint32_t i = 0; i < val.via.array.size; ++i) {
      if (auto st = decode_op_obj(val.via.array.ptr[i], op.batch[i], depth + 1); !st.ok())
        return st;
    }
    return Status::Ok();
  }
  if (k == f::kShard) {
    Status st = want_uint(val, k, u);
    op.shard = static_cast<uint32_t>(u);
    return st;
  }
  if (k == f::kEpoch) return want_uint(val, k, op.epoch);
  if (k == f::kStream) return want_bool(val, k, op.stream);
  if (k == f::kWorker) return want_bytes(val, k, op.worker);
  if (k == f::kShards) return decode_shards(val, op.shards);
  if (k == f::kCluster) return want_bytes(val, k, op.cluster);
  if (k == f::kDrops) return decode_shards(val, op.drops);
  if (k == "force") return want_bool(val, k, op.force);
  if (k == "seq") {
    op.seq.emplace();
    return want_uint(val, k, *op.seq);
  }
  if (k == "args") return want_bytes_array(val, k, op.args);
  if (k == "now") {
    op.now.emplace();
    return want_int(val, k, *op.now);
  }
  if (k == "expires") return decode_expires(val, op.expires);
  return Status::Ok();  // unknown fields are ignored, so newer clients can talk to older servers
}

Status decode_op_obj(const Obj& o, Op& op, int depth) {
  if (o.type != msgpack::type::MAP) return Status::Error("envelope must be a msgpack map");
  // Read the id first so that any later error can still be answered to the right request.
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (is_bytes(kv.key) && as_view(kv.key) == f::kId &&
        kv.val.type == msgpack::type::POSITIVE_INTEGER)
      op.id = kv.val.via.u64;
  }
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (!is_bytes(kv.key)) return Status::Error("envelope field names must be strings");
    if (auto st = decode_op_field(as_view(kv.key), kv.val, op, depth); !st.ok()) return st;
  }
  if (op.version != proto::kVersion)
    return Status::Error("unsupported envelope version " + std::to_string(op.version));
  if (op.op.empty()) return Status::Error("missing field 'op'");
  return Status::Ok();
}

Status decode_where(const Obj& o, WhereInfo& w) {
  return for_each_field(o, "field 'where'", [&w](std::string_view k, const Obj& v) {
    if (k == "shard") return want_u32(v, k, w.shard);
    if (k == "owner") return want_bytes(v, k, w.owner);
    if (k == "path") return want_bytes(v, k, w.path);
    if (k == "depth") return want_u32(v, k, w.depth);
    if (k == "found") return want_bool(v, k, w.found);
    if (k == "members") return want_bytes_array(v, k, w.members);
    return Status::Ok();
  });
}

Status decode_reply_obj(const Obj& o, Reply& r, int depth);

Status decode_reply_field(std::string_view k, const Obj& val, Reply& r, int depth) {
  if (k == f::kId) return want_uint(val, k, r.id);
  if (k == f::kOk) {
    if (val.type != msgpack::type::BOOLEAN) return Status::Error("field 'ok' must be a boolean");
    r.ok = val.via.boolean;
    return Status::Ok();
  }
  if (k == f::kError) return want_bytes(val, k, r.error);
  if (k == f::kCode) {
    std::string name;
    Status st = want_bytes(val, k, name);
    r.code = error_code_from_name(name);
    return st;
  }
  if (k == f::kValue) {
    r.has_value = true;
    return want_opt_bytes(val, k, r.value);
  }
  if (k == f::kN) {
    int64_t n = 0;
    Status st = want_int(val, k, n);
    r.n = n;
    return st;
  }
  if (k == f::kValues) {
    if (auto st = want_array(val, k); !st.ok()) return st;
    r.values.emplace(val.via.array.size);
    for (uint32_t i = 0; i < val.via.array.size; ++i) {
      if (auto st = want_opt_bytes(val.via.array.ptr[i], k, (*r.values)[i]); !st.ok()) return st;
    }
    return Status::Ok();
  }
  if (k == f::kItems) {
    if (auto st = want_array(val, k); !st.ok()) return st;
    r.items.emplace(val.via.array.size);
    for (uint32_t i = 0; i < val.via.array.size; ++i) {
      const Obj& pair = val.via.array.ptr[i];
      if (pair.type != msgpack::type::ARRAY || pair.via.array.size != 2)
        return Status::Error("field 'items' must hold [key, value] arrays");
      if (auto st = want_bytes(pair.via.array.ptr[0], k, (*r.items)[i].first); !st.ok()) return st;
      if (auto st = want_bytes(pair.via.array.ptr[1], k, (*r.items)[i].second); !st.ok()) return st;
    }
    return Status::Ok();
  }
  if (k == f::kWhere) {
    r.where.emplace();
    return decode_where(val, *r.where);
  }
  if (k == f::kReplies) {
    if (auto st = want_array(val, k); !st.ok()) return st;
    if (depth > 0) return Status::Error("batches cannot nest");
    r.is_batch = true;
    r.replies.resize(val.via.array.size);
    for (uint32_t i = 0; i < val.via.array.size; ++i) {
      if (auto st = decode_reply_obj(val.via.array.ptr[i], r.replies[i], depth + 1); !st.ok())
        return st;
    }
    return Status::Ok();
  }
  if (k == f::kOp) return want_bytes(val, k, r.op);
  if (k == f::kPartial) return want_bool(val, k, r.partial);
  if (k == f::kWorker) return want_bytes(val, k, r.worker);
  if (k == f::kShards) return decode_shards(val, r.shards);
  if (k == f::kCluster) return want_bytes(val, k, r.cluster);
  if (k == f::kHandoffs) return decode_shards(val, r.handoffs);
  if (k == "ephemeral") return want_bool(val, k, r.ephemeral);
  if (k == "rss") {
    r.rss.emplace();
    return want_uint(val, k, *r.rss);
  }
  if (k == "fsync") return want_bytes(val, k, r.fsync);
  if (k == "zone") return want_bytes(val, k, r.zone);
  if (k == "expires") return decode_expires(val, r.expires);
  if (k == "workers") {
    if (auto st = want_array(val, k); !st.ok()) return st;
    r.workers.resize(val.via.array.size);
    for (uint32_t i = 0; i < val.via.array.size; ++i) {
      if (auto st = decode_worker_info(val.via.array.ptr[i], r.workers[i]); !st.ok()) return st;
    }
    return Status::Ok();
  }
  return Status::Ok();
}

Status decode_reply_obj(const Obj& o, Reply& r, int depth) {
  if (o.type != msgpack::type::MAP) return Status::Error("envelope must be a msgpack map");
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (!is_bytes(kv.key)) return Status::Error("envelope field names must be strings");
    if (auto st = decode_reply_field(as_view(kv.key), kv.val, r, depth); !st.ok()) return st;
  }
  normalize_error_code(r);
  return Status::Ok();
}

// Limits for untrusted input: no container or string larger than a frame could honestly carry.
msgpack::unpack_limit input_limits(std::size_t body_size) {
  const std::size_t n = std::min<std::size_t>(body_size, 0xffffffffu);
  return msgpack::unpack_limit(n, n, n, n, n, 8);
}

template <typename T, typename Fn>
Status decode_body(std::string_view body, T& out, Fn fn) {
  if (body.size() > proto::kMaxEnvelopeBytes) return Status::Error("envelope too large");
  try {
    // Strings are referenced in `body` (which outlives the object tree), not copied into its zone.
    auto by_reference = [](msgpack::type::object_type, std::size_t, void*) { return true; };
    msgpack::object_handle oh =
        msgpack::unpack(body.data(), body.size(), by_reference, nullptr, input_limits(body.size()));
    return fn(oh.get(), out, 0);
  } catch (const std::exception& e) {
    return Status::Error(std::string("bad msgpack: ") + e.what());
  }
}

}  // namespace

std::string encode(const Op& op) {
  std::string out(256, '\0');
  StringSink sink{out};
  Packer p(sink);
  pack_op(p, op);
  sink.finish();
  return out;
}

std::string encode(const Reply& reply) {
  std::string out(256, '\0');
  StringSink sink{out};
  Packer p(sink);
  pack_reply(p, reply);
  sink.finish();
  return out;
}

Status decode_full(std::string_view body, Op& out) {
  return decode_body(body, out, decode_op_obj);
}
Status decode_full(std::string_view body, Reply& out) {
  return decode_body(body, out, decode_reply_obj);
}

Status decode(std::string_view body, Op& out) {
  if (body.size() <= proto::kMaxEnvelopeBytes && decode_fast(body, out)) return Status::Ok();
  out = Op();
  return decode_full(body, out);
}
Status decode(std::string_view body, Reply& out) {
  if (body.size() <= proto::kMaxEnvelopeBytes && decode_fast(body, out)) return Status::Ok();
  out = Reply();
  return decode_full(body, out);
}

}  // namespace clossyne
