// WorkerRegistry: the workers the broker knows, by stable id, with their liveness (Paranoid
// Pirate: a heartbeat about every second, dead after ~3 missed). Single-threaded.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace clossyne::broker {

struct WorkerState {
  bool alive = false;
  int64_t last_seen_ms = 0;  // any message from the worker counts
  bool draining = false;     // shards are being moved off; no new ones land here
  // As the worker last reported them, registering or in a heartbeat (status only): resident set
  // size, --fsync mode ("" when the worker keeps nothing on disk).
  uint64_t rss = 0;
  std::string fsync;
  std::string zone;  // --zone, as registered: members of a shard go to distinct zones
};

class WorkerRegistry {
 public:
  // Marks the worker alive (registering it if new). Returns true if it was not alive before.
  bool touch_alive(const std::string& id, int64_t now);
  // Notes a message from a known worker; false if the id is unknown or dead (it must register).
  bool seen(const std::string& id, int64_t now);
  // Marks every worker silent for longer than `liveness_ms` dead and returns their ids.
  std::vector<std::string> expire(int64_t now, int64_t liveness_ms);

  // Marks the worker dead (a refused registration): it must register again to count.
  void mark_dead(const std::string& id);
  // Removes the worker for good (clossyne-admin forget): should it register again, it is new.
  void forget(const std::string& id) { workers_.erase(id); }
  bool alive(const std::string& id) const;
  bool known(const std::string& id) const { return workers_.count(id) > 0; }
  bool draining(const std::string& id) const;
  void set_draining(const std::string& id, bool on);
  // Notes what a register or heartbeat says of the worker itself (unknown ids are ignored).
  void note_report(const std::string& id, uint64_t rss, const std::string& fsync);
  void set_zone(const std::string& id, const std::string& zone);
  std::string zone(const std::string& id) const;
  std::vector<std::string> alive_ids() const;  // sorted
  const std::map<std::string, WorkerState>& all() const { return workers_; }

 private:
  std::map<std::string, WorkerState> workers_;
};

}  // namespace clossyne::broker
