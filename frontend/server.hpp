// Server: the frontend's event loop. One thread, one epoll set holding the listening socket,
// every client socket, the broker DEALER's ZMQ_FD and a wake-up eventfd. Each turn it reads the
// clients that have input, parses their requests, answers local commands at once, sends the
// turn's cluster ops to the broker as one batch, takes in the broker's replies, expires overdue
// requests, and writes every reply that is ready, in request order per connection. Commands that
// need several cluster round trips run as Jobs: each step's reply comes back here and the job's
// next op is sent, until its final reply fills the request's slot. With --timeout, idle clients
// are closed by a sweep once a second. A seed request with no line ending is complete only after
// a pause in its client's sending (see RequestParser): a timerfd wakes the loop at the earliest
// such deadline, and the connections due are read once more and parsed again.
//
// Usage: Server s(config); if (s.start().ok()) s.run();  — stop() may be called from any thread
// or a signal handler (it only stores a flag and writes to an eventfd); run() then returns.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "auth.hpp"
#include "broker_link.hpp"
#include "common/http_server.hpp"
#include "common/status.hpp"
#include "connection.hpp"
#include "cursor_table.hpp"
#include "frontend_metrics.hpp"
#include "introspection.hpp"
#include "job.hpp"
#include "server_info.hpp"
#include "tls_context.hpp"

namespace clossyne::frontend {

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 4297;    // 0: any free port (see Server::port())
  bool plain_port = true;  // false (--port 0): no plain-text listener, TLS only
  TlsConfig tls;           // --tls-port and friends
  std::string broker = "tcp://127.0.0.1:4298";
  std::optional<CurveClientKeys> bus_keys;  // --cluster-keys: CurveZMQ to the broker
  std::size_t max_clients = 10000;
  std::size_t max_value_bytes = 512u * 1024 * 1024;
  std::size_t query_buffer_limit = 1024u * 1024 * 1024;  // --client-query-buffer-limit
  int timeout_s = 0;                                     // --timeout: idle clients; 0 = never
  int request_timeout_ms = 8000;
  SeedFraming seed;  // --seed-pause-ms, --seed-small-pause-us, --seed-small-bytes
  AuthConfig auth;   // --requirepass, --aclfile, --protected-mode, --seed-dialect-loopback
  int64_t slowlog_slower_than_us = 10000;  // --slowlog-log-slower-than (negative: off)
  uint64_t slowlog_max_len = 128;          // --slowlog-max-len
  std::string http;                        // --http HOST:PORT: serve /metrics there (empty: off)
};

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens, connects the DEALER. Call once, before run().
  Status start();
  // The port actually listened on (useful with config.port == 0). Valid after start().
  uint16_t port() const { return port_; }
  // The TLS port actually listened on (0: none). Valid after start().
  uint16_t tls_port() const { return tls_port_; }
  // The --http port actually listened on (0: none). Valid after start().
  int http_port() const { return http_ ? http_->port() : 0; }
  // Runs the loop until stop(). REQUIRES: start() succeeded.
  void run();
  // Async-signal-safe and thread-safe.
  void stop();

 private:
  void turn();
  void handle_event(uint64_t tag, uint32_t events);
  Status start_tls();
  void accept_clients(int listen_fd, bool tls);
  void shed_one_client(int listen_fd);
  void close_stalled_handshakes(int64_t now);
  void on_client_event(Connection& conn, uint32_t events);
  void service(Connection& conn);
  void parse_requests(Connection& conn);
  void track(Connection& conn, const Action& action, int64_t start_us,
             std::vector<std::string> slow_args);
  std::string client_list(const std::vector<uint64_t>& ids) const;
  void on_cluster_reply(const Ticket& ticket, const Reply& reply);
  void start_job(Connection& conn, std::shared_ptr<Job> job);
  void advance_job(uint64_t job_id, JobStep step);
  void on_job_reply(const Ticket& ticket, const Reply& reply);
  void close_idle_clients(int64_t now);
  void release_free_memory(int64_t now);
  void publish_metrics(int64_t now);
  void service_dirty();
  void update_interest(Connection& conn);
  void schedule_seed_timer(Connection& conn);
  void on_seed_timer();
  void arm_timer(int64_t deadline_us);
  void close_connection(uint64_t id);
  void close_failed(Connection& conn);
  bool add_to_epoll(int fd, uint64_t tag, uint32_t events);

  ServerConfig config_;
  ParserLimits limits_;
  zmq::context_t ctx_;
  std::unique_ptr<BrokerLink> link_;
  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  int tls_listen_fd_ = -1;
  std::unique_ptr<TlsContext> tls_;
  uint16_t tls_port_ = 0;
  int64_t next_handshake_sweep_ms_ = 0;
  int wake_fd_ = -1;
  int spare_fd_ = -1;  // held in reserve for when descriptors run out
  int timer_fd_ = -1;  // seed pauses: armed at the earliest deadline in seed_timers_
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  uint64_t next_conn_id_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<uint64_t> dirty_;  // connections with new replies or input this turn
  struct RunningJob {
    std::shared_ptr<Job> job;
    Ticket ticket;  // where its final reply goes (ticket.job is its own id)
  };
  std::unordered_map<uint64_t, RunningJob> jobs_;
  uint64_t next_job_id_ = 1;
  ServerInfo info_;  // CONFIG SET changes max_clients, timeout_s and the slow log's settings
  Introspection intro_;
  std::unique_ptr<HttpServer> http_;  // --http: /metrics, published from the loop
  int64_t next_publish_ms_ = 0;
  CursorTable cursors_;
  Auth auth_;  // the client port's users and settings
  // (deadline µs, connection id), earliest first; stale entries are harmless (one extra read).
  using SeedTimer = std::pair<int64_t, uint64_t>;
  std::priority_queue<SeedTimer, std::vector<SeedTimer>, std::greater<>> seed_timers_;
  int64_t armed_us_ = 0;  // when timer_fd_ fires next (0: disarmed)
  int64_t next_idle_sweep_ms_ = 0;
  int64_t next_trim_ms_ = 0;
};

}  // namespace clossyne::frontend
