// BrokerClient: a blocking request/reply client of the broker's client endpoint (one DEALER),
// for the operator CLI. Not thread-safe; one per thread.
#pragma once
#include <chrono>
#include <string>
#include <zmq.hpp>

#include "common/cluster_keys.hpp"
#include "common/envelope.hpp"

namespace clossyne::admin {

class BrokerClient {
 public:
  // `curve`: the admin key pair and the broker's key (--cluster-keys), or none.
  BrokerClient(const std::string& endpoint, std::chrono::milliseconds timeout,
               const CurveClientKeys* curve = nullptr);
  // Sends `op` and waits for its reply. A timeout gives an error Status.
  Status call(Op op, Reply& reply);

 private:
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  std::chrono::milliseconds timeout_;
  uint64_t next_id_ = 1;
};

}  // namespace clossyne::admin
