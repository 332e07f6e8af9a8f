#include "log_record.hpp"

#include <xxhash.h>

#include <cstring>

namespace clossyne {
namespace {

constexpr uint64_t kHeaderSeed = 0x436c6f7373796e65ull;   // "Clossyne"
constexpr uint64_t kPayloadSeed = 0x4d6e656d6f73796eull;  // "Mnemosyn"

uint32_t checksum(std::string_view bytes, uint64_t seed) {
  return static_cast<uint32_t>(XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed));
}

void put_u8(std::string& out, uint8_t v) {
  out.push_back(static_cast<char>(v));
}

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 4);
}

void put_u64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reserves the header, lets `fill` append the payload, then writes the header in place.
template <typename Fill>
void frame(std::string& out, Fill&& fill) {
  const std::size_t start = out.size();
  out.append(kRecordHeaderBytes, '\0');
  fill();
  const std::string_view payload(out.data() + start + kRecordHeaderBytes,
                                 out.size() - start - kRecordHeaderBytes);
  std::string header;
  put_u32(header, static_cast<uint32_t>(payload.size()));
  put_u32(header, checksum(std::string_view(header.data(), 4), kHeaderSeed));
  put_u32(header, checksum(payload, kPayloadSeed));
  std::memcpy(out.data() + start, header.data(), kRecordHeaderBytes);
}

// A bounds-checked reader over a payload.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes) {}
  bool u8(uint8_t& v) {
    if (p_.size() < 1) return false;
    v = static_cast<uint8_t>(p_[0]);
    p_.remove_prefix(1);
    return true;
  }
  bool u32(uint32_t& v) {
    if (p_.size() < 4) return false;
    v = get_u32(p_.data());
    p_.remove_prefix(4);
    return true;
  }
  bool u64(uint64_t& v) {
    if (p_.size() < 8) return false;
    v = get_u64(p_.data());
    p_.remove_prefix(8);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& v) {
    if (p_.size() < n) return false;
    v = p_.substr(0, n);
    p_.remove_prefix(n);
    return true;
  }
  bool sized(std::string_view& v) {
    uint32_t n = 0;
    return u32(n) && bytes(n, v);
  }
  std::string_view rest() {
    std::string_view r = p_;
    p_ = {};
    return r;
  }
  bool done() const { return p_.empty(); }

 private:
  std::string_view p_;
};

// The replicas of a shard record: u32 n, then n sized worker ids (n bounded by the payload, so a
// damaged count cannot make it allocate).
bool read_replicas(Reader& r, uint32_t payload_len, std::vector<std::string>& out) {
  uint32_t n = 0;
  if (!r.u32(n) || n == 0 || n > payload_len / 4) return false;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view id;
    if (!r.sized(id)) return false;
    out.emplace_back(id);
  }
  return true;
}

}  // namespace

void append_set_record(std::string& out, uint32_t shard, std::string_view key,
                       std::string_view value) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kSet));
    put_u32(out, shard);
    put_u32(out, static_cast<uint32_t>(key.size()));
    out.append(key);
    out.append(value);
  });
}

void append_del_record(std::string& out, uint32_t shard, std::string_view key) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kDel));
    put_u32(out, shard);
    out.append(key);
  });
}

void append_expire_record(std::string& out, uint32_t shard, std::string_view key, int64_t at) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kExpire));
    put_u32(out, shard);
    put_u64(out, static_cast<uint64_t>(at));
    out.append(key);
  });
}

void append_shard_record(std::string& out, const ShardInfo& info) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kShard));
    put_u32(out, info.id);
    put_u64(out, info.epoch);
    put_u64(out, info.seed);
    put_u32(out, static_cast<uint32_t>(info.lo.size()));
    out.append(info.lo);
    put_u8(out, info.hi ? 1 : 0);
    if (info.hi) {
      put_u32(out, static_cast<uint32_t>(info.hi->size()));
      out.append(*info.hi);
    }
    // Only when set, so records of ordinary shards read the same as before flags existed.
    const auto flags = static_cast<uint8_t>((info.importing ? kShardFlagImporting : 0) |
                                            (info.replicas.empty() ? 0 : kShardFlagReplicas));
    if (flags != 0) put_u8(out, flags);
    if (!info.replicas.empty()) {
      put_u32(out, static_cast<uint32_t>(info.replicas.size()));
      for (const std::string& r : info.replicas) {
        put_u32(out, static_cast<uint32_t>(r.size()));
        out.append(r);
      }
    }
  });
}

void append_drop_record(std::string& out, uint32_t shard) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kDrop));
    put_u32(out, shard);
  });
}

void append_end_record(std::string& out, uint64_t count) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kEnd));
    put_u64(out, count);
  });
}

void append_split_record(std::string& out, uint32_t shard, std::string_view key, uint32_t left_id,
                         uint64_t left_epoch, uint32_t right_id, uint64_t right_epoch) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kSplit));
    put_u32(out, shard);
    put_u32(out, left_id);
    put_u64(out, left_epoch);
    put_u32(out, right_id);
    put_u64(out, right_epoch);
    out.append(key);
  });
}

void append_join_record(std::string& out, uint32_t shard, uint64_t epoch,
                        const std::vector<uint32_t>& pieces) {
  frame(out, [&] {
    put_u8(out, static_cast<uint8_t>(RecordType::kJoin));
    put_u32(out, shard);
    put_u64(out, epoch);
    put_u32(out, static_cast<uint32_t>(pieces.size()));
    for (uint32_t id : pieces) put_u32(out, id);
  });
}

FrameCheck check_frame(std::string_view bytes, std::size_t* total) {
  if (bytes.size() < kRecordHeaderBytes) return FrameCheck::kShort;
  const uint32_t len = get_u32(bytes.data());
  if (get_u32(bytes.data() + 4) != checksum(bytes.substr(0, 4), kHeaderSeed) ||
      len > kMaxRecordPayload)
    return FrameCheck::kBadHeader;
  if (bytes.size() - kRecordHeaderBytes < len) return FrameCheck::kShort;
  if (get_u32(bytes.data() + 8) != checksum(bytes.substr(kRecordHeaderBytes, len), kPayloadSeed))
    return FrameCheck::kBadPayload;
  if (total) *total = kRecordHeaderBytes + len;
  return FrameCheck::kOk;
}

Status decode_record(std::string_view frame_bytes, RecordView& out) {
  const uint32_t len = get_u32(frame_bytes.data());
  Reader r(frame_bytes.substr(kRecordHeaderBytes, len));
  uint8_t type = 0;
  if (!r.u8(type)) return Status::Error("empty record");
  out = RecordView{};
  bool ok = true;
  switch (static_cast<RecordType>(type)) {
    case RecordType::kSet: {
      uint32_t klen = 0;
      ok = r.u32(out.shard) && r.u32(klen) && r.bytes(klen, out.key);
      out.value = r.rest();
      break;
    }
    case RecordType::kDel:
      ok = r.u32(out.shard);
      out.key = r.rest();
      break;
    case RecordType::kExpire: {
      uint64_t at = 0;
      ok = r.u32(out.shard) && r.u64(at);
      out.at = static_cast<int64_t>(at);
      out.key = r.rest();
      break;
    }
    case RecordType::kShard: {
      std::string_view lo;
      uint8_t has_hi = 0;
      ok = r.u32(out.info.id) && r.u64(out.info.epoch) && r.u64(out.info.seed) && r.sized(lo) &&
           r.u8(has_hi);
      if (ok) out.info.lo.assign(lo);
      if (ok && has_hi) {
        std::string_view hi;
        ok = r.sized(hi);
        if (ok) out.info.hi.emplace(hi);
      }
      if (ok && !r.done()) {
        uint8_t flags = 0;
        ok = r.u8(flags) && (flags & ~(kShardFlagImporting | kShardFlagReplicas)) == 0;
        out.info.importing = (flags & kShardFlagImporting) != 0;
        if (ok && (flags & kShardFlagReplicas)) ok = read_replicas(r, len, out.info.replicas);
      }
      ok = ok && r.done();
      break;
    }
    case RecordType::kSplit:
      ok = r.u32(out.shard) && r.u32(out.left_id) && r.u64(out.left_epoch) && r.u32(out.right_id) &&
           r.u64(out.right_epoch);
      out.key = r.rest();
      break;
    case RecordType::kJoin: {
      uint32_t n = 0;
      ok = r.u32(out.shard) && r.u64(out.left_epoch) && r.u32(n) && n <= len / 4;
      for (uint32_t i = 0; ok && i < n; ++i) ok = r.u32(out.pieces.emplace_back());
      ok = ok && r.done();
      break;
    }
    case RecordType::kDrop:
      ok = r.u32(out.shard) && r.done();
      break;
    case RecordType::kEnd:
      ok = r.u64(out.count) && r.done();
      break;
    default:
      return Status::Error("unknown record type " + std::to_string(type));
  }
  out.type = static_cast<RecordType>(type);
  if (!ok) return Status::Error("malformed record of type " + std::to_string(type));
  return Status::Ok();
}

}  // namespace clossyne
