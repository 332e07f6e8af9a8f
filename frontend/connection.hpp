// Connection: one client socket's state — input bytes and their parser, the reply slots of the
// requests in flight (in request order), and the output not yet written. A slot is filled when
// its reply is known; only the contiguous filled slots at the head are moved to the output, so
// pipelined requests are answered in request order whatever order the cluster answers in.
// Owns the socket (closed on destruction). Not thread-safe; the Server's loop drives it.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "action.hpp"
#include "command_stats.hpp"
#include "common/envelope.hpp"
#include "local_commands.hpp"
#include "request_parser.hpp"

namespace clossyne::frontend {

class TlsStream;
struct Introspection;

// Backpressure: stop reading a client with this many unanswered requests or unsent bytes.
inline constexpr std::size_t kMaxPendingSlots = 10000;
inline constexpr std::size_t kMaxUnsentBytes = 64u * 1024 * 1024;

enum class IoStatus { kOk, kEof, kError };

class Connection {
 public:
  Connection(int fd, uint64_t id, ParserLimits limits, SeedFraming framing = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads and writes go through `tls` from now on (a client of the TLS port; before any I/O).
  void use_tls(std::unique_ptr<TlsStream> tls);
  TlsStream* tls() const { return tls_.get(); }
  // A TLS client whose handshake has not finished (closed after --tls-handshake-timeout-ms).
  bool handshaking() const;
  // TLS: the last read waits for the socket to be writable; read again on EPOLLOUT.
  bool read_wants_write() const;
  // TLS: decrypted input waits inside OpenSSL, where epoll cannot see it.
  bool transport_pending() const;

  int fd() const { return fd_; }
  uint64_t id() const { return id_; }
  ClientState& client() { return client_; }
  const ClientState& client_state() const { return client_; }

  // Reads what the socket holds (up to a fair share per turn). kEof: the peer finished sending.
  IoStatus read_input();

  // Parses the next buffered request. kError: `error` holds the protocol error; the caller
  // answers it with close_after set.
  ParseStatus next_request(Request& out, std::string& error);
  // After next_request said kNeedMore: when (steady µs) a buffered seed request with no line
  // ending is complete if no byte arrives before; 0 when none waits. At that time the caller
  // reads the socket (read_input) and parses again.
  int64_t seed_deadline_us() const { return parser_.seed_deadline_us(); }

  // A slot answered at once. close_after: close once it is written (nothing after it is read).
  void push_reply(std::string bytes, bool close_after);
  // A slot waiting for the cluster; returns its sequence number for fill_slot.
  uint64_t push_pending(ReplyFormat format);
  // Fills a pending slot with the cluster's reply. Unknown sequence numbers are ignored.
  void fill_slot(uint64_t seq, const Reply& reply);
  // Fills a pending slot with ready reply bytes (a finished Job).
  void fill_slot_bytes(uint64_t seq, std::string bytes);

  // Times the newest slot for INFO commandstats and the slow log: from `start_us` (steady µs,
  // when the request was parsed) to when its reply moves to the output. `slow_args`
  // (SlowLog::cut_args, or empty when the slow log is off) go to the slow log if it was slow.
  void track_last(Introspection& intro, CommandStats::Entry& entry, int64_t start_us,
                  std::vector<std::string> slow_args);

  // CLIENT LIST's figures of this connection: unparsed input, its buffer's capacity, unsent
  // output bytes, replies not yet written, and total buffer memory.
  struct Figures {
    std::size_t qbuf, qbuf_capacity, unsent, pending_replies, total_memory;
  };
  Figures figures() const;
  // Bytes read and written are added to info->net_input_bytes and net_output_bytes from now on.
  void count_bytes_in(ServerInfo* info) { counters_ = info; }

  // Moves filled head slots to the output and writes what the socket takes.
  IoStatus flush_output();

  // True while more requests may be parsed (not closing, under the backpressure limits).
  bool can_parse() const;
  // True while received bytes wait to be parsed (e.g. parsing paused under backpressure).
  bool has_buffered_input() const { return in_off_ < in_.size() || transport_pending(); }
  // The epoll events this connection wants now.
  uint32_t wanted_events() const;
  // True when the connection has nothing left to do and should be closed.
  bool finished() const;
  // True when nothing is in flight or unsent and no byte has arrived for `idle_ms` (--timeout).
  bool idle_since(int64_t now, int64_t idle_ms) const;

  uint32_t registered_events = 0;  // what the Server last told epoll
  int64_t timer_us = 0;            // the seed deadline the Server has a timer for (0: none)

 private:
  struct Slot {
    bool filled = false;
    bool close_after = false;
    ReplyFormat format;
    std::string bytes;
    CommandStats::Entry* stat = nullptr;  // null: not timed
    int64_t start_us = 0;
    std::vector<std::string> slow_args;  // for the slow log, when it is on
  };

  void record(Slot& s, int64_t now_us);

  std::string_view unparsed() const;
  void collect_filled_slots();
  std::size_t unsent() const { return out_.size() - out_off_; }
  ssize_t recv_some(char* buf, std::size_t len);
  ssize_t send_some(const char* buf, std::size_t len);

  int fd_;
  std::unique_ptr<TlsStream> tls_;  // null: plain TCP
  uint64_t id_;
  std::size_t max_query_bytes_;
  int64_t last_input_ms_;
  RequestParser parser_;
  ClientState client_;
  std::string in_;
  std::size_t in_off_ = 0;
  bool burst_end_ = false;       // the last read drained the socket
  int64_t last_data_us_ = 0;     // steady µs of the last read that brought bytes
  int64_t drained_us_ = 0;       // steady µs of the last read that found the socket empty
  std::size_t burst_start_ = 0;  // offset in in_ of the first byte of the latest read burst
  bool read_eof_ = false;
  bool stop_parsing_ = false;  // a close_after slot was pushed
  bool close_when_flushed_ = false;
  std::deque<Slot> slots_;
  uint64_t head_seq_ = 0;  // sequence number of slots_.front()
  std::string out_;
  std::size_t out_off_ = 0;
  Introspection* intro_ = nullptr;  // set by the first track_last
  ServerInfo* counters_ = nullptr;
};

}  // namespace clossyne::frontend
