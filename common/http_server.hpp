// HttpServer: a small read-only HTTP server (cpp-httplib on its own threads) for pages a process
// publishes: /metrics, /status.json, the cluster page. The process's own loop stays the only owner
// of its state: it renders each page and publishes it here, so a scrape never touches the loop.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "status.hpp"

namespace httplib {
class Server;
}

namespace clossyne {

struct HttpPage {
  std::string content_type;
  std::string body;
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Thread-safe: replaces the page served at `path` (GET; HEAD too).
  void publish(const std::string& path, HttpPage page);
  // Binds HOST:PORT ("127.0.0.1:9100", "[::1]:9100", "0.0.0.0:0" for any free port) and serves on
  // a thread of its own: GET of a published path, 404 for others, 405 for other methods.
  Status start(const std::string& host_port);
  // The bound port (after start), useful with port 0.
  int port() const { return port_; }
  // Stops serving and joins the thread (the destructor calls it too).
  void stop();

 private:
  void serve_get(const std::string& path, std::string& type, std::string& body, int& status);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const HttpPage>> pages_;
  int port_ = 0;
};

// Splits "HOST:PORT" ("[v6]:PORT" too). Returns false when malformed (no port, port > 65535).
bool parse_host_port(const std::string& host_port, std::string& host, int& port);

}  // namespace clossyne
