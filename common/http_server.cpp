#include "http_server.hpp"

#include <httplib.h>

#include <charconv>
#include <chrono>

namespace clossyne {

bool parse_host_port(const std::string& host_port, std::string& host, int& port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return false;  // a bare IPv6 address needs brackets
  const std::string digits = host_port.substr(colon + 1);
  const char* end = digits.data() + digits.size();
  auto [p, ec] = std::from_chars(digits.data(), end, port);
  return !digits.empty() && ec == std::errc() && p == end && port >= 0 && port <= 65535 &&
         !host.empty();
}

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::publish(const std::string& path, HttpPage page) {
  auto shared = std::make_shared<const HttpPage>(std::move(page));
  std::lock_guard lock(mu_);
  pages_[path] = std::move(shared);
}

void HttpServer::serve_get(const std::string& path, std::string& type, std::string& body,
                           int& status) {
  std::shared_ptr<const HttpPage> page;
  {
    std::lock_guard lock(mu_);
    auto it = pages_.find(path);
    if (it != pages_.end()) page = it->second;
  }
  if (!page) {
    status = 404;
    type = "text/plain; charset=utf-8";
    body = "not found\n";
    return;
  }
  status = 200;
  type = page->content_type;
  body = page->body;  // a copy: the page may be replaced while this answer is written
}

Status HttpServer::start(const std::string& host_port) {
  std::string host;
  int port = 0;
  if (!parse_host_port(host_port, host, port))
    return Status::Error("malformed HTTP address '" + host_port + "' (want HOST:PORT)");
  server_ = std::make_unique<httplib::Server>();
  // A connection holds a thread while it is kept alive, so a few browsers' connections must not
  // starve a scrape: 8 threads (the default pool is sized for servers) and idle connections
  // closed after 2 s (a page polling every second keeps its own).
  server_->new_task_queue = [] { return new httplib::ThreadPool(8); };
  server_->set_keep_alive_timeout(2);
  // SO_REUSEADDR alone: cpp-httplib's default adds SO_REUSEPORT, which would let a second process
  // share the port silently instead of failing to bind.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
    std::string type, body;
    int status = 200;
    serve_get(req.path, type, body, status);
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(body), type.c_str());
  });
  auto refuse = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content("method not allowed\n", "text/plain; charset=utf-8");
  };
  server_->Post(".*", refuse);
  server_->Put(".*", refuse);
  server_->Patch(".*", refuse);
  server_->Delete(".*", refuse);
  server_->Options(".*", refuse);
  if (port == 0) {
    port = server_->bind_to_any_port(host);
    if (port < 0) port = 0;
  } else if (!server_->bind_to_port(host, port)) {
    port = 0;
  }
  if (port == 0) {
    server_.reset();
    return Status::Error("cannot listen for HTTP on '" + host_port +
                         "' (address in use or not local)");
  }
  port_ = port;
  thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
  // cpp-httplib's stop() does nothing before the listening loop runs: wait for it (bounded), so
  // a stop() right after start() cannot leave the thread serving forever.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void HttpServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace clossyne
