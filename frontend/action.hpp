// Action: what the frontend does with one parsed request — a reply it can give at once (local),
// an Op for the cluster plus how to turn the cluster's Reply into bytes for this client's dialect
// (remote), or a Job that takes several cluster round trips (job). Value type; a job is shared.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "common/envelope.hpp"
#include "job.hpp"
#include "request.hpp"

namespace clossyne::frontend {

struct CommandSpec;

enum class ReplyKind : uint8_t {
  kOk,       // +OK
  kBulk,     // the value, or nil
  kInteger,  // :n
  kValues,   // array of bulk/nil (MGET)
  kItems,    // flat array k1 v1 k2 v2 ... (RNG)
  kWhere,    // WHERE's 10-element array
  kType,     // +string when the key exists (n > 0), else +none
  kAuto,     // by what the reply holds: values an array, n an integer, a value bulk/nil, else +OK
  kSeedSet,  // seed dialect: OK
  kSeedGet,  // seed dialect: the raw value, or NS
  kSeedDel,  // seed dialect: OK, or NS when nothing was deleted
  kSeedRng,  // seed dialect: "k v" lines joined by '\n', or NIL
};

struct ReplyFormat {
  ReplyKind kind = ReplyKind::kOk;
  Eol eol = Eol::kNone;  // seed kinds: the request's line ending, repeated after the reply
  bool seed() const { return kind >= ReplyKind::kSeedSet; }
};

struct Action {
  enum class Kind : uint8_t { kLocal, kRemote, kJob };
  Kind kind = Kind::kLocal;
  std::string bytes;         // kLocal: the complete reply (may be empty)
  bool close_after = false;  // close once this reply and all before it are written
  Op op;                     // kRemote: the operation (its id is given when it is sent)
  ReplyFormat format;        // kRemote
  std::shared_ptr<Job> job;  // kJob
  // Set by handle_request: the command (null: unknown, or the seed dialect) and whether it was
  // refused before it ran (arity, ACL, authentication), for INFO commandstats.
  const CommandSpec* spec = nullptr;
  bool rejected = false;

  static Action local(std::string bytes, bool close_after = false) {
    Action a;
    a.bytes = std::move(bytes);
    a.close_after = close_after;
    return a;
  }
  static Action remote(Op op, ReplyFormat format) {
    Action a;
    a.kind = Kind::kRemote;
    a.op = std::move(op);
    a.format = format;
    return a;
  }
  static Action start_job(std::shared_ptr<Job> job) {
    Action a;
    a.kind = Kind::kJob;
    a.job = std::move(job);
    return a;
  }
};

}  // namespace clossyne::frontend
