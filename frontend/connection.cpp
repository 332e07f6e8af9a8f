#include "connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "common/clock.hpp"
#include "introspection.hpp"
#include "reply_format.hpp"
#include "tls_stream.hpp"

namespace clossyne::frontend {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// One busy client must not starve the others: read at most this much per loop turn.
constexpr std::size_t kMaxReadPerTurn = 4u * 1024 * 1024;
// Written bytes are dropped from the front of the output once they are this many (and half).
constexpr std::size_t kCompactOutputAt = 1024 * 1024;

// "ip:port" of the peer (or of our end), for CLIENT LIST; "?" when unknown.
std::string socket_address(int fd, bool local) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((local ? ::getsockname(fd, sa, &len) : ::getpeername(fd, sa, &len)) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  } else if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

Connection::Connection(int fd, uint64_t id, ParserLimits limits, SeedFraming framing)
    : fd_(fd),
      id_(id),
      max_query_bytes_(limits.max_query_bytes),
      last_input_ms_(now_ms()),
      parser_(limits, framing) {
  client_.id = id;
  client_.fd = fd;
  client_.addr = socket_address(fd, false);
  client_.laddr = socket_address(fd, true);
  client_.created_ms = last_input_ms_;
}

Connection::~Connection() {
  tls_.reset();  // its close_notify goes out before the socket closes
  ::close(fd_);
}

void Connection::use_tls(std::unique_ptr<TlsStream> tls) {
  tls_ = std::move(tls);
}

bool Connection::handshaking() const {
  return tls_ != nullptr && !tls_->handshake_done();
}

bool Connection::read_wants_write() const {
  return tls_ != nullptr && tls_->read_wants_write();
}

bool Connection::transport_pending() const {
  return tls_ != nullptr && tls_->pending();
}

ssize_t Connection::recv_some(char* buf, std::size_t len) {
  return tls_ ? tls_->recv(buf, len) : ::recv(fd_, buf, len, 0);
}

ssize_t Connection::send_some(const char* buf, std::size_t len) {
  return tls_ ? tls_->send(buf, len) : ::send(fd_, buf, len, MSG_NOSIGNAL);
}

std::string_view Connection::unparsed() const {
  return std::string_view(in_).substr(in_off_);
}

IoStatus Connection::read_input() {
  // Drop consumed input; at most as much as remains, so compaction is amortized O(1) per byte.
  if (in_off_ == in_.size()) {
    in_.clear();
    in_off_ = 0;
    burst_start_ = 0;
  } else if (in_off_ > 0 && in_off_ >= in_.size() / 2) {
    in_.erase(0, in_off_);
    burst_start_ = burst_start_ > in_off_ ? burst_start_ - in_off_ : 0;
    in_off_ = 0;
  }
  burst_end_ = false;
  char buf[kReadChunk];
  for (std::size_t total = 0; total < kMaxReadPerTurn;) {
    const ssize_t n = recv_some(buf, sizeof buf);
    if (n > 0) {
      if (total == 0) burst_start_ = in_.size();
      in_.append(buf, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      if (counters_ != nullptr) counters_->net_input_bytes += static_cast<uint64_t>(n);
      last_data_us_ = steady_now_us();
      last_input_ms_ = last_data_us_ / 1000;  // the same clock as now_ms()
      // A short read drained the socket. When it ends a line, no unterminated request waits on
      // the end of the burst, so the second recv (just to hear EAGAIN) is skipped; epoll is
      // level-triggered, so later bytes still wake the loop. Otherwise the pause must be seen.
      // (Not with TLS: SSL_read returns one record at most, so a short read proves nothing.)
      if (tls_ == nullptr && static_cast<std::size_t>(n) < sizeof buf && buf[n - 1] == '\n') {
        burst_end_ = true;
        drained_us_ = last_data_us_;
        return IoStatus::kOk;
      }
    } else if (n == 0) {
      read_eof_ = burst_end_ = true;
      return IoStatus::kEof;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      burst_end_ = true;
      drained_us_ = steady_now_us();
      return IoStatus::kOk;
    } else if (errno != EINTR) {
      return IoStatus::kError;
    }
  }
  return IoStatus::kOk;
}

ParseStatus Connection::next_request(Request& out, std::string& error) {
  if (!can_parse() || (in_off_ == in_.size() && !parser_.discarding()))
    return ParseStatus::kNeedMore;
  InputTiming timing;
  timing.last_input_us = last_data_us_;
  timing.drained = burst_end_;
  timing.drained_us = drained_us_;
  timing.eof = read_eof_;
  timing.one_read = in_off_ >= burst_start_;
  ParseResult r = parser_.parse(unparsed(), timing, out);
  in_off_ += r.consumed;
  if (r.status == ParseStatus::kNeedMore && unparsed().size() > max_query_bytes_) {
    r.status = ParseStatus::kError;
    r.error = "Protocol error: unanswered input exceeds the client query buffer limit";
  }
  if (r.status == ParseStatus::kError) error = std::move(r.error);
  return r.status;
}

void Connection::push_reply(std::string bytes, bool close_after) {
  Slot& s = slots_.emplace_back();
  s.filled = true;
  s.close_after = close_after;
  s.bytes = std::move(bytes);
  if (close_after) stop_parsing_ = true;
}

uint64_t Connection::push_pending(ReplyFormat format) {
  slots_.emplace_back().format = format;
  return head_seq_ + slots_.size() - 1;
}

void Connection::fill_slot(uint64_t seq, const Reply& reply) {
  if (seq < head_seq_ || seq - head_seq_ >= slots_.size()) return;
  Slot& s = slots_[seq - head_seq_];
  if (s.filled) return;
  s.bytes = format_reply(s.format, reply);
  s.filled = true;
}

void Connection::fill_slot_bytes(uint64_t seq, std::string bytes) {
  if (seq < head_seq_ || seq - head_seq_ >= slots_.size()) return;
  Slot& s = slots_[seq - head_seq_];
  if (s.filled) return;
  s.bytes = std::move(bytes);
  s.filled = true;
}

void Connection::track_last(Introspection& intro, CommandStats::Entry& entry, int64_t start_us,
                            std::vector<std::string> slow_args) {
  intro_ = &intro;
  Slot& s = slots_.back();
  s.stat = &entry;
  s.start_us = start_us;
  s.slow_args = std::move(slow_args);
}

void Connection::record(Slot& s, int64_t now_us) {
  const auto us = static_cast<uint64_t>(std::max<int64_t>(0, now_us - s.start_us));
  CommandStats::record(*s.stat, us, !s.bytes.empty() && s.bytes[0] == '-');
  if (intro_->slowlog.is_slow(us) && !s.slow_args.empty())
    intro_->slowlog.add(std::move(s.slow_args), us, client_.addr, client_.name, std::time(nullptr));
}

Connection::Figures Connection::figures() const {
  return Figures{in_.size() - in_off_, in_.capacity(), unsent(), slots_.size(),
                 in_.capacity() + out_.capacity() + slots_.size() * sizeof(Slot)};
}

void Connection::collect_filled_slots() {
  int64_t now_us = 0;
  while (!slots_.empty() && slots_.front().filled) {
    Slot& s = slots_.front();
    if (s.stat != nullptr) {
      if (now_us == 0) now_us = steady_now_us();
      record(s, now_us);
    }
    if (out_.empty()) {
      out_ = std::move(s.bytes);
    } else {
      out_.append(s.bytes);
    }
    if (s.close_after) close_when_flushed_ = true;
    slots_.pop_front();
    ++head_seq_;
  }
}

IoStatus Connection::flush_output() {
  collect_filled_slots();
  while (unsent() > 0) {
    const ssize_t n = send_some(out_.data() + out_off_, unsent());
    if (n > 0) {
      out_off_ += static_cast<std::size_t>(n);
      if (counters_ != nullptr) counters_->net_output_bytes += static_cast<uint64_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else if (n < 0 && errno != EINTR) {
      return IoStatus::kError;
    }
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ >= kCompactOutputAt && out_off_ >= out_.size() / 2) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  return IoStatus::kOk;
}

bool Connection::can_parse() const {
  return !stop_parsing_ && slots_.size() < kMaxPendingSlots && unsent() < kMaxUnsentBytes;
}

uint32_t Connection::wanted_events() const {
  bool in = can_parse() && !read_eof_;
  bool out = unsent() > 0;
  // A TLS read or write blocked on the other direction waits for that one only: asking for the
  // direction that is ready (a writable socket, say) would wake the loop again and again.
  if (tls_ != nullptr && tls_->read_wants_write()) {
    in = false;
    out = true;
  } else if (tls_ != nullptr && tls_->write_wants_read() && out) {
    in = !read_eof_;
    out = false;
  }
  return (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u);
}

bool Connection::finished() const {
  if (unsent() > 0) return false;
  if (close_when_flushed_) return true;
  // The peer finished sending and every request it sent has been answered.
  return read_eof_ && slots_.empty();
}

bool Connection::idle_since(int64_t now, int64_t idle_ms) const {
  return slots_.empty() && unsent() == 0 && now - last_input_ms_ >= idle_ms;
}

}  // namespace clossyne::frontend
