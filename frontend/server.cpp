#include "server.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "auth.hpp"
#include "commands.hpp"
#include "common/clock.hpp"
#include "listen_socket.hpp"
#include "resp_writer.hpp"
#include "tls_stream.hpp"

namespace clossyne::frontend {
namespace {

// epoll tags; client connections get ids from kFirstConnId up.
constexpr uint64_t kListenTag = 1;
constexpr uint64_t kWakeTag = 2;
constexpr uint64_t kBrokerTag = 3;
constexpr uint64_t kTimerTag = 4;
constexpr uint64_t kTlsListenTag = 5;
constexpr uint64_t kFirstConnId = 16;

constexpr int kTickMs = 50;  // upper bound on how late a deadline is noticed
constexpr int kMaxEvents = 256;
// Rounds of (send, receive, answer) per turn, so a fast broker's replies and the requests they
// unblock go out now rather than on the next wake-up — bounded so clients are not starved.
constexpr int kMaxRoundsPerTurn = 8;

constexpr std::string_view kMaxClientsError = "-ERR max number of clients reached\r\n";

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      limits_{1024 * 1024, config_.max_value_bytes, config_.query_buffer_limit},
      next_conn_id_(kFirstConnId) {
  // Created first so that stop() works whenever it is called.
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  info_.max_clients = config_.max_clients;
  info_.max_value_bytes = config_.max_value_bytes;
  info_.query_buffer_limit = config_.query_buffer_limit;
  info_.timeout_s = config_.timeout_s;
  info_.start_ms = now_ms();
  info_.slowlog_slower_than_us = config_.slowlog_slower_than_us;
  info_.slowlog_max_len = config_.slowlog_max_len;
  intro_.slowlog.slower_than_us = config_.slowlog_slower_than_us;
  intro_.slowlog.max_len = config_.slowlog_max_len;
  intro_.settings = &info_;
  intro_.client_list = [this](const std::vector<uint64_t>& ids) { return client_list(ids); };
}

Server::~Server() {
  if (http_) http_->stop();
  conns_.clear();
  link_.reset();
  for (int fd : {listen_fd_, tls_listen_fd_, epoll_fd_, wake_fd_, spare_fd_, timer_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

Status Server::start() {
  if (!config_.plain_port && !config_.tls.enabled)
    return Status::Error("no client port: the plain port is off and there is no TLS port");
  if (config_.plain_port) {
    Status st = listen_tcp(config_.host, config_.port, listen_fd_, port_);
    if (!st.ok()) return st;
  }
  if (Status st = start_tls(); !st.ok()) return st;
  if (Status st = load_auth(config_.auth, auth_, info_); !st.ok()) return st;
  try {
    link_ = std::make_unique<BrokerLink>(
        ctx_, config_.broker, config_.request_timeout_ms,
        [this](const Ticket& t, const Reply& r) { on_cluster_reply(t, r); },
        config_.bus_keys ? &*config_.bus_keys : nullptr);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot connect to broker " + config_.broker + ": " + e.what());
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0 ||
      (listen_fd_ >= 0 && !add_to_epoll(listen_fd_, kListenTag, EPOLLIN)) ||
      (tls_listen_fd_ >= 0 && !add_to_epoll(tls_listen_fd_, kTlsListenTag, EPOLLIN)) ||
      !add_to_epoll(wake_fd_, kWakeTag, EPOLLIN) || !add_to_epoll(timer_fd_, kTimerTag, EPOLLIN) ||
      !add_to_epoll(link_->fd(), kBrokerTag, EPOLLIN)) {
    return Status::Error(std::string("cannot set up epoll: ") + std::strerror(errno));
  }
  info_.port = port_;
  if (listen_fd_ >= 0) {
    spdlog::info("listening on {}:{}", config_.host, port_);
  } else {
    spdlog::info("plain-text client port off (--port 0): TLS clients only");
  }
  if (tls_listen_fd_ >= 0) {
    spdlog::info(
        "TLS listening on {}:{}: certificate {} (subject {}, expires {}), client auth {}{}",
        config_.host, tls_port_, config_.tls.cert_file, tls_->subject(), tls_->not_after(),
        to_string(config_.tls.auth_clients),
        config_.tls.ca_cert_file.empty() ? "" : ", CA " + config_.tls.ca_cert_file);
  }
  spdlog::info("broker endpoint {}", config_.broker);
  if (!config_.http.empty()) {
    http_ = std::make_unique<HttpServer>();
    publish_metrics(now_ms());
    if (Status st = http_->start(config_.http); !st.ok()) return st;
    spdlog::info("serving /metrics on {} (port {})", config_.http, http_->port());
  }
  return Status::Ok();
}

Status Server::start_tls() {
  if (!config_.tls.enabled) return Status::Ok();
  if (Status st = TlsContext::create(config_.tls, tls_); !st.ok()) return st;
  return listen_tcp(config_.host, config_.tls.port, tls_listen_fd_, tls_port_);
}

void Server::run() {
  while (!stopping_.load()) turn();
  spdlog::info("stopping: {} connections, {} requests in flight", conns_.size(),
               link_->in_flight());
}

void Server::stop() {
  stopping_.store(true);
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
}

bool Server::add_to_epoll(int fd, uint64_t tag, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Server::turn() {
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents,
                             link_->has_queued() || !dirty_.empty() ? 0 : kTickMs);
  if (n < 0 && errno != EINTR) spdlog::error("epoll_wait: {}", std::strerror(errno));
  for (int i = 0; i < n; ++i) handle_event(events[i].data.u64, events[i].events);
  service_dirty();
  // The DEALER's ZMQ_FD signals edges only, so it is drained after every wake-up and every send.
  for (int round = 0; round < kMaxRoundsPerTurn; ++round) {
    const int64_t now = now_ms();
    link_->flush(now);
    link_->poll();
    link_->expire(now);
    if (dirty_.empty() && !link_->has_queued()) break;
    service_dirty();
  }
  close_idle_clients(now_ms());
  close_stalled_handshakes(now_ms());
  release_free_memory(now_ms());
  publish_metrics(now_ms());
}

// /metrics is rendered here, on the loop that owns the figures, a few times a second; a scrape
// reads the latest page and never waits on the loop.
void Server::publish_metrics(int64_t now) {
  if (!http_ || now < next_publish_ms_) return;
  next_publish_ms_ = now + 250;
  http_->publish("/metrics",
                 HttpPage{"text/plain; version=0.0.4; charset=utf-8",
                          render_frontend_metrics(info_, intro_.stats, now - info_.start_ms)});
}

// A pipelined bulk load leaves megabytes of freed buffers inside the heap; hand them back to the
// OS every couple of seconds (cheap for a heap this size).
void Server::release_free_memory(int64_t now) {
  if (now < next_trim_ms_) return;
  next_trim_ms_ = now + 2000;
  malloc_trim(0);
}

void Server::close_idle_clients(int64_t now) {
  if (info_.timeout_s <= 0 || now < next_idle_sweep_ms_) return;
  next_idle_sweep_ms_ = now + 1000;
  const int64_t idle_ms = static_cast<int64_t>(info_.timeout_s) * 1000;
  std::vector<uint64_t> idle;
  for (const auto& [id, conn] : conns_) {
    if (conn->idle_since(now, idle_ms)) idle.push_back(id);
  }
  for (uint64_t id : idle) close_connection(id);
  if (!idle.empty()) spdlog::debug("closed {} idle client(s)", idle.size());
}

// A client that opened a TLS connection and never finished its handshake holds a descriptor
// and a session: closed after --tls-handshake-timeout-ms, whatever --timeout says.
void Server::close_stalled_handshakes(int64_t now) {
  if (tls_listen_fd_ < 0 || now < next_handshake_sweep_ms_) return;
  next_handshake_sweep_ms_ = now + 250;
  std::vector<uint64_t> stalled;
  for (const auto& [id, conn] : conns_) {
    if (conn->handshaking() && now - conn->client().created_ms >= config_.tls.handshake_timeout_ms)
      stalled.push_back(id);
  }
  for (uint64_t id : stalled) close_connection(id);
  if (!stalled.empty())
    spdlog::debug("closed {} client(s) stuck in a TLS handshake", stalled.size());
}

void Server::handle_event(uint64_t tag, uint32_t events) {
  if (tag == kListenTag) return accept_clients(listen_fd_, false);
  if (tag == kTlsListenTag) return accept_clients(tls_listen_fd_, true);
  if (tag == kWakeTag) {
    uint64_t count = 0;
    (void)!::read(wake_fd_, &count, sizeof count);
    return;
  }
  if (tag == kBrokerTag) return;  // polled every turn
  if (tag == kTimerTag) return on_seed_timer();
  auto it = conns_.find(tag);
  if (it != conns_.end()) on_client_event(*it->second, events);
}

void Server::accept_clients(int listen_fd, bool tls) {
  while (true) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) shed_one_client(listen_fd);
      return;
    }
    ++info_.total_connections;
    if (conns_.size() >= info_.max_clients) {
      ++info_.rejected_connections;
      // A TLS client could not read the plain-text error: it is just closed.
      if (!tls) (void)!::send(fd, kMaxClientsError.data(), kMaxClientsError.size(), MSG_NOSIGNAL);
      ::close(fd);
      continue;
    }
    std::unique_ptr<TlsStream> stream;
    if (tls) {
      stream = std::make_unique<TlsStream>(tls_->get(), fd);
      if (!stream->ok()) {
        spdlog::warn("TLS: cannot set up a session: {}", openssl_errors());
        ::close(fd);
        continue;
      }
    }
    set_nodelay(fd);
    const uint64_t id = next_conn_id_++;
    if (!add_to_epoll(fd, id, EPOLLIN)) {
      ::close(fd);
      continue;
    }
    auto conn = std::make_unique<Connection>(fd, id, limits_, config_.seed);
    conn->count_bytes_in(&info_);
    if (stream) conn->use_tls(std::move(stream));
    conn->registered_events = EPOLLIN;
    // Protected mode (Redis): refused with its error text, closed once that is written.
    if (auto denied = admit_client(conn->client(), auth_)) {
      conn->push_reply(std::move(*denied), /*close_after=*/true);
      dirty_.push_back(id);
    }
    conns_.emplace(id, std::move(conn));
    info_.connected_clients = conns_.size();
    spdlog::debug("client {} connected (fd {})", id, fd);
  }
}

// Out of descriptors, a pending connection would wake the loop forever: free the spare
// descriptor, accept and close the newcomer, and take the spare back.
void Server::shed_one_client(int listen_fd) {
  spdlog::warn("out of file descriptors: refusing a client");
  if (spare_fd_ >= 0) ::close(spare_fd_);
  const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) {
    ++info_.total_connections;
    ++info_.rejected_connections;
    ::close(fd);
  }
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Server::on_client_event(Connection& conn, uint32_t events) {
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) return close_connection(conn.id());
  // A TLS read that waited for the socket to be writable (a handshake message) goes on now.
  const bool readable = (events & EPOLLIN) != 0 || ((events & EPOLLOUT) && conn.read_wants_write());
  if (readable && conn.read_input() == IoStatus::kError) return close_failed(conn);
  dirty_.push_back(conn.id());
}

void Server::service_dirty() {
  std::vector<uint64_t> ids;
  ids.swap(dirty_);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (uint64_t id : ids) {
    auto it = conns_.find(id);
    if (it != conns_.end()) service(*it->second);
  }
}

void Server::service(Connection& conn) {
  // TLS: input already decrypted inside OpenSSL would never wake epoll; read it here.
  if (conn.transport_pending() && conn.can_parse() && conn.read_input() == IoStatus::kError)
    return close_failed(conn);
  parse_requests(conn);
  const bool paused = !conn.can_parse() && conn.has_buffered_input();
  if (conn.flush_output() == IoStatus::kError) return close_failed(conn);
  if (conn.finished()) return close_connection(conn.id());
  update_interest(conn);
  schedule_seed_timer(conn);
  // Parsing paused under backpressure resumes here: the bytes are already read, so no epoll event
  // would ever come for them (nor for TLS input still inside OpenSSL).
  if ((paused || conn.transport_pending()) && conn.can_parse()) dirty_.push_back(conn.id());
}

void Server::parse_requests(Connection& conn) {
  Request req;
  std::string error;
  while (true) {
    const ParseStatus st = conn.next_request(req, error);
    if (st == ParseStatus::kNeedMore) return;
    if (st == ParseStatus::kError) {
      ++info_.protocol_errors;
      spdlog::debug("client {}: {}", conn.id(), error);
      std::string out;
      resp_error(out, error);
      return conn.push_reply(std::move(out), /*close_after=*/true);
    }
    ++info_.total_commands;
    const int64_t start_us = steady_now_us();
    // Cut (bounded) before the command may move its arguments away.
    std::vector<std::string> slow_args;
    if (intro_.slowlog.enabled()) slow_args = SlowLog::cut_args(req.args);
    CommandContext ctx{conn.client(), info_, cursors_, &auth_, &intro_};
    Action action = handle_request(req, ctx);
    if (action.kind == Action::Kind::kLocal) {
      conn.push_reply(std::move(action.bytes), action.close_after);
    } else if (action.kind == Action::Kind::kJob) {
      start_job(conn, std::move(action.job));
    } else {
      const uint64_t slot = conn.push_pending(action.format);
      link_->submit(std::move(action.op), Ticket{conn.id(), slot, 0});
    }
    track(conn, action, start_us, std::move(slow_args));
  }
}

// INFO commandstats, the slow log and CLIENT LIST's cmd= for the request just queued.
void Server::track(Connection& conn, const Action& action, int64_t start_us,
                   std::vector<std::string> slow_args) {
  if (action.spec == nullptr) return;  // unknown command, or the seed dialect
  ClientState& client = conn.client();
  CommandStats::Entry& entry = intro_.stats.entry(client.last_cmd);  // set by handle_request
  client.last_ms = start_us / 1000;  // the steady clock, as now_ms()
  if (action.rejected) return CommandStats::reject(entry);
  conn.track_last(intro_, entry, start_us, std::move(slow_args));
}

std::string Server::client_list(const std::vector<uint64_t>& ids) const {
  std::vector<const Connection*> shown;
  for (const auto& [id, conn] : conns_) {
    if (ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end())
      shown.push_back(conn.get());
  }
  std::sort(shown.begin(), shown.end(),
            [](const Connection* a, const Connection* b) { return a->id() < b->id(); });
  const int64_t now = now_ms();
  std::string out;
  for (const Connection* conn : shown) {
    const Connection::Figures f = conn->figures();
    ClientFigures cf;
    cf.qbuf = f.qbuf;
    cf.qbuf_free = f.qbuf_capacity - f.qbuf;
    cf.obl = f.unsent;
    cf.oll = f.pending_replies;
    cf.omem = f.unsent;
    cf.tot_mem = f.total_memory;
    cf.writing = (conn->registered_events & EPOLLOUT) != 0;
    out += client_info_line(conn->client_state(), cf, now) + "\n";
  }
  return out;
}

void Server::start_job(Connection& conn, std::shared_ptr<Job> job) {
  const uint64_t job_id = next_job_id_++;
  const Ticket ticket{conn.id(), conn.push_pending(ReplyFormat{}), job_id};
  JobStep first = job->start();
  jobs_.emplace(job_id, RunningJob{std::move(job), ticket});
  advance_job(job_id, std::move(first));
}

void Server::advance_job(uint64_t job_id, JobStep step) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  const Ticket ticket = it->second.ticket;
  if (!step.done) return link_->submit(std::move(step.op), ticket);
  jobs_.erase(it);
  auto conn = conns_.find(ticket.conn);
  if (conn == conns_.end()) return;
  conn->second->fill_slot_bytes(ticket.slot, std::move(step.reply));
  dirty_.push_back(ticket.conn);
}

void Server::on_job_reply(const Ticket& ticket, const Reply& reply) {
  auto it = jobs_.find(ticket.job);
  if (it == jobs_.end()) return;
  if (conns_.count(ticket.conn) == 0) {
    jobs_.erase(it);  // the client left: stop walking for it
    return;
  }
  advance_job(ticket.job, it->second.job->on_reply(reply));
}

void Server::on_cluster_reply(const Ticket& ticket, const Reply& reply) {
  if (ticket.job != 0) return on_job_reply(ticket, reply);
  auto it = conns_.find(ticket.conn);
  if (it == conns_.end()) return;  // the client left; its answer has nowhere to go
  it->second->fill_slot(ticket.slot, reply);
  dirty_.push_back(ticket.conn);
}

void Server::update_interest(Connection& conn) {
  const uint32_t wanted = conn.wanted_events();
  if (wanted == conn.registered_events) return;
  epoll_event ev{};
  ev.events = wanted;
  ev.data.u64 = conn.id();
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn.fd(), &ev) == 0) conn.registered_events = wanted;
}

void Server::schedule_seed_timer(Connection& conn) {
  const int64_t deadline = conn.seed_deadline_us();
  if (deadline == 0 || deadline == conn.timer_us) return;
  conn.timer_us = deadline;
  seed_timers_.emplace(deadline, conn.id());
  if (armed_us_ == 0 || deadline < armed_us_) arm_timer(deadline);
}

// A connection whose seed pause is due: read it once more (a byte may have come just now, in
// which case the request goes on) and parse again; the parser decides whether the pause passed.
void Server::on_seed_timer() {
  uint64_t expirations = 0;
  (void)!::read(timer_fd_, &expirations, sizeof expirations);
  armed_us_ = 0;
  const int64_t now = steady_now_us();
  while (!seed_timers_.empty() && seed_timers_.top().first <= now) {
    const auto [deadline, id] = seed_timers_.top();
    seed_timers_.pop();
    auto it = conns_.find(id);
    if (it == conns_.end() || it->second->timer_us != deadline) continue;
    // conn.timer_us keeps this deadline: a parse paused under backpressure reports it again, and
    // it must not be re-armed (the next parse that runs gives a new one, or none).
    Connection& conn = *it->second;
    if (conn.read_input() == IoStatus::kError) {
      close_failed(conn);
      continue;
    }
    dirty_.push_back(id);
  }
  if (!seed_timers_.empty()) arm_timer(seed_timers_.top().first);
}

void Server::arm_timer(int64_t deadline_us) {
  itimerspec spec{};
  spec.it_value.tv_sec = deadline_us / 1'000'000;
  spec.it_value.tv_nsec = (deadline_us % 1'000'000) * 1000;
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  if (::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr) == 0) armed_us_ = deadline_us;
}

// A connection whose socket or TLS session failed: why, for a TLS client (a bad handshake, a
// missing client certificate, plain text on the TLS port), then closed like any other.
void Server::close_failed(Connection& conn) {
  if (const TlsStream* tls = conn.tls(); tls != nullptr && !tls->error().empty())
    spdlog::debug("client {} ({}): TLS: {}", conn.id(), conn.client().addr, tls->error());
  close_connection(conn.id());
}

void Server::close_connection(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second->fd(), nullptr);
  conns_.erase(it);
  info_.connected_clients = conns_.size();
  spdlog::debug("client {} closed", id);
}

}  // namespace clossyne::frontend
