#include "worker_registry.hpp"

namespace clossyne::broker {

bool WorkerRegistry::touch_alive(const std::string& id, int64_t now) {
  auto& w = workers_[id];
  bool revived = !w.alive;
  w.alive = true;
  w.last_seen_ms = now;
  return revived;
}

void WorkerRegistry::mark_dead(const std::string& id) {
  if (auto it = workers_.find(id); it != workers_.end()) it->second.alive = false;
}

bool WorkerRegistry::seen(const std::string& id, int64_t now) {
  auto it = workers_.find(id);
  if (it == workers_.end() || !it->second.alive) return false;
  it->second.last_seen_ms = now;
  return true;
}

std::vector<std::string> WorkerRegistry::expire(int64_t now, int64_t liveness_ms) {
  std::vector<std::string> dead;
  for (auto& [id, w] : workers_) {
    if (w.alive && now - w.last_seen_ms > liveness_ms) {
      w.alive = false;
      dead.push_back(id);
    }
  }
  return dead;
}

bool WorkerRegistry::alive(const std::string& id) const {
  auto it = workers_.find(id);
  return it != workers_.end() && it->second.alive;
}

bool WorkerRegistry::draining(const std::string& id) const {
  auto it = workers_.find(id);
  return it != workers_.end() && it->second.draining;
}

void WorkerRegistry::set_draining(const std::string& id, bool on) {
  auto it = workers_.find(id);
  if (it != workers_.end()) it->second.draining = on;
}

std::vector<std::string> WorkerRegistry::alive_ids() const {
  std::vector<std::string> out;
  for (const auto& [id, w] : workers_) {
    if (w.alive) out.push_back(id);
  }
  return out;
}

void WorkerRegistry::note_report(const std::string& id, uint64_t rss, const std::string& fsync) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  it->second.rss = rss;
  it->second.fsync = fsync;
}

void WorkerRegistry::set_zone(const std::string& id, const std::string& zone) {
  if (auto it = workers_.find(id); it != workers_.end()) it->second.zone = zone;
}

std::string WorkerRegistry::zone(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? std::string() : it->second.zone;
}

}  // namespace clossyne::broker
