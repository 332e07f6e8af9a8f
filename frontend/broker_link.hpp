// BrokerLink: the frontend's one DEALER socket to the broker and the bookkeeping of what is in
// flight on it. Ops submitted during one event-loop turn leave together in flush(): one batch
// envelope (several when the turn produced very many or very large ops), or the op alone when it
// is the only one or an operator op (`status`), which the broker does not take inside a batch.
// Every op is answered exactly once through the completion callback: with the broker's reply, with
// "cluster unavailable" when it cannot be sent (ZMQ_IMMEDIATE: nothing is queued while no broker is
// connected), or with a timeout error at its deadline. Replies to unknown or already answered ids
// are dropped. Single-threaded; the callback runs inside flush(), poll() and expire().
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/cluster_keys.hpp"
#include "common/envelope.hpp"
#include "pending_ops.hpp"

namespace clossyne::frontend {

using CompletionFn = std::function<void(const Ticket&, const Reply&)>;

class BrokerLink {
 public:
  // `curve`: the client key pair and the broker's key (--cluster-keys), or none.
  BrokerLink(zmq::context_t& ctx, const std::string& endpoint, int timeout_ms, CompletionFn done,
             const CurveClientKeys* curve = nullptr);
  BrokerLink(const BrokerLink&) = delete;
  BrokerLink& operator=(const BrokerLink&) = delete;

  // The DEALER's ZMQ_FD, for epoll. It signals edges only: call poll() after every wake-up and
  // after every flush().
  int fd() const;

  // Queues `op` (its id is assigned here) for the next flush().
  void submit(Op op, Ticket ticket);

  // Sends everything submitted since the last flush.
  void flush(int64_t now);

  // Receives and dispatches every reply waiting on the socket.
  void poll();

  // Answers every op whose deadline passed with "timeout waiting for the cluster".
  void expire(int64_t now);

  std::size_t in_flight() const { return pending_.ops(); }
  // True when ops wait for the next flush().
  bool has_queued() const { return !queued_.empty(); }

 private:
  void send_envelope(std::vector<Op>& ops, int64_t now);
  void on_reply(Reply& reply);
  void on_batch_reply(Reply& reply);
  void complete(uint64_t id, const Reply& reply);
  void fail(uint64_t id, const std::string& msg);

  zmq::socket_t dealer_;
  int timeout_ms_;
  CompletionFn done_;
  uint64_t next_group_ = 1;
  std::vector<Op> queued_;
  PendingOps pending_;
};

}  // namespace clossyne::frontend
