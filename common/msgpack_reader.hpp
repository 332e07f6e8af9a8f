// MsgpackReader: a pull reader for the few msgpack types hot envelopes use (maps, arrays, str/bin,
// integers, booleans, nil), reading in place with no allocation. Every call checks bounds and
// returns false on anything else, leaving the caller to fall back to msgpack-c's full decoder,
// which stays the reference (and gives the precise error). See envelope_fast.cpp for why.
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>

namespace clossyne {

class MsgpackReader {
 public:
  explicit MsgpackReader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

  bool map(uint32_t& n) { return header(0x80, 0xde, 0xdf, n); }
  bool array(uint32_t& n) { return header(0x90, 0xdc, 0xdd, n); }

  // A str or bin; the view points into the input.
  bool bytes(std::string_view& out) {
    if (p_ >= end_) return false;
    const uint8_t b = byte();
    uint32_t n = 0;
    bool ok = false;
    if ((b & 0xe0) == 0xa0) {
      advance(1);
      n = b & 0x1f;
      ok = true;
    } else if (b == 0xd9 || b == 0xc4) {
      ok = length(1, n);
    } else if (b == 0xda || b == 0xc5) {
      ok = length(2, n);
    } else if (b == 0xdb || b == 0xc6) {
      ok = length(4, n);
    }
    if (!ok || n > remaining()) return false;
    out = std::string_view(p_, n);
    p_ += n;
    return true;
  }

  // A non-negative integer (as msgpack-c decodes it: positive fixint or uint8..uint64, or a signed
  // encoding of a value >= 0).
  bool uint(uint64_t& out) {
    int64_t i = 0;
    const char* start = p_;
    if (!integer(i, out)) return false;
    if (!unsigned_ && i < 0) return p_ = start, false;
    if (!unsigned_) out = static_cast<uint64_t>(i);
    return true;
  }

  // Any integer that fits int64_t.
  bool int64(int64_t& out) {
    uint64_t u = 0;
    const char* start = p_;
    if (!integer(out, u)) return false;
    if (unsigned_) {
      if (u > static_cast<uint64_t>(INT64_MAX)) return p_ = start, false;
      out = static_cast<int64_t>(u);
    }
    return true;
  }

  bool boolean(bool& out) {
    if (p_ >= end_ || (byte() != 0xc2 && byte() != 0xc3)) return false;
    out = byte() == 0xc3;
    return advance(1), true;
  }

  // Consumes a nil if one is next.
  bool nil() {
    if (p_ >= end_ || byte() != 0xc0) return false;
    return advance(1), true;
  }

 private:
  uint8_t byte() const { return static_cast<uint8_t>(*p_); }
  void advance(std::size_t n) { p_ += n; }

  // Big-endian unsigned of `width` bytes after the type byte.
  bool big_endian(std::size_t width, uint64_t& out) {
    if (remaining() < 1 + width) return false;
    out = 0;
    for (std::size_t i = 1; i <= width; ++i) out = (out << 8) | static_cast<uint8_t>(p_[i]);
    p_ += 1 + width;
    return true;
  }
  bool length(std::size_t width, uint32_t& n) {
    uint64_t v = 0;
    if (!big_endian(width, v)) return false;
    n = static_cast<uint32_t>(v);
    return true;
  }

  // A map or array header: the fix form (4-bit count in the type byte), 16- or 32-bit count.
  bool header(uint8_t fix, uint8_t with16, uint8_t with32, uint32_t& n) {
    if (p_ >= end_) return false;
    const uint8_t b = byte();
    if ((b & 0xf0) == fix) return advance(1), n = b & 0x0f, true;
    if (b == with16) return length(2, n);
    if (b == with32) return length(4, n);
    return false;
  }

  // Reads any integer: into `u` (unsigned_ = true) or `i` (unsigned_ = false).
  bool integer(int64_t& i, uint64_t& u) {
    if (p_ >= end_) return false;
    const uint8_t b = byte();
    unsigned_ = true;
    if (b <= 0x7f) return advance(1), u = b, true;
    if (b == 0xcc) return big_endian(1, u);
    if (b == 0xcd) return big_endian(2, u);
    if (b == 0xce) return big_endian(4, u);
    if (b == 0xcf) return big_endian(8, u);
    unsigned_ = false;
    if (b >= 0xe0) return advance(1), i = static_cast<int8_t>(b), true;
    uint64_t raw = 0;
    if (b == 0xd0 && big_endian(1, raw)) return i = static_cast<int8_t>(raw), true;
    if (b == 0xd1 && big_endian(2, raw)) return i = static_cast<int16_t>(raw), true;
    if (b == 0xd2 && big_endian(4, raw)) return i = static_cast<int32_t>(raw), true;
    if (b == 0xd3 && big_endian(8, raw)) return i = static_cast<int64_t>(raw), true;
    return false;
  }

  const char* p_;
  const char* end_;
  bool unsigned_ = true;
};

}  // namespace clossyne
