// Job: a command that needs several cluster round trips (KEYS, SCAN, FLUSHDB, INFO). The Server
// drives it: start() gives the first step; each op's Reply goes to on_reply(), which gives the
// next step; the last step carries the complete reply bytes, which fill the request's reply slot
// (so a job's reply keeps its place among pipelined replies). A job never blocks and never sees
// sockets; it is dropped unfinished when its client leaves. Not thread-safe.
#pragma once
#include <string>

#include "common/envelope.hpp"

namespace clossyne::frontend {

struct JobStep {
  bool done = false;
  Op op;              // !done: the next op for the cluster (its id is assigned when sent)
  std::string reply;  // done: the client's complete reply (RESP)

  static JobStep send(Op op) {
    JobStep s;
    s.op = std::move(op);
    return s;
  }
  static JobStep finish(std::string reply) {
    JobStep s;
    s.done = true;
    s.reply = std::move(reply);
    return s;
  }
};

class Job {
 public:
  virtual ~Job() = default;
  virtual JobStep start() = 0;
  virtual JobStep on_reply(const Reply& reply) = 0;
};

}  // namespace clossyne::frontend
