// The HTTP side of vramcalc serve (serve.hpp): cpp-httplib's Server with fixed routes, the
// limits of docs/serve.md ("Limits") and JSON error documents for every refusal.
#include "serve.hpp"

#include "page_files.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/render.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>

namespace vramcalc::serve {

namespace {

using Clock = std::chrono::steady_clock;

// The error document (docs/json-output.md) of a refusal the server makes itself.
std::string error_body(const std::string& message) {
  return render_error_json(Error{ErrorCode::invalid_argument, message});
}

// A request's bytes are read through this stream: each read waits at most the read timeout,
// and the whole request must arrive before its deadline, so a client that sends a byte now
// and then (slowloris) holds a worker for at most --timeout.
class DeadlineStream final : public httplib::Stream {
public:
  DeadlineStream(int sock, std::chrono::milliseconds io_timeout) : sock_(sock), io_timeout_(io_timeout) {}

  void restart(Clock::time_point deadline) {
    deadline_ = deadline;
    expired_ = false;
    written_ = 0;
    head_bytes_ = 0;
    head_state_ = 0;
  }
  [[nodiscard]] bool expired() const { return expired_; }
  [[nodiscard]] std::size_t written() const { return written_; }
  [[nodiscard]] bool buffered() const { return off_ < end_; }

  bool is_readable() const override { return buffered() || wait(POLLIN, true); }
  bool is_writable() const override { return wait(POLLOUT, false); }

  ssize_t read(char* ptr, std::size_t size) override {
    if (!buffered()) {
      if (!wait(POLLIN, true)) return -1;
      const ssize_t n = ::recv(sock_, buffer_, sizeof buffer_, 0);
      if (n <= 0) return n;
      off_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    std::size_t n = std::min(size, end_ - off_);
    if (head_state_ < 4) n = head(n);
    if (n == 0) return -1; // the request line and headers are over max_head_bytes
    std::copy_n(buffer_ + off_, n, ptr);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (!wait(POLLOUT, false)) return -1;
    const ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    if (n > 0) written_ += static_cast<std::size_t>(n);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(false, ip, port); }
  socket_t socket() const override { return sock_; }

private:
  // The request line and the headers together are at most 64 KiB (cpp-httplib 0.11 bounds a
  // line, not their number): of the next `n` bytes, how many may be read before the blank
  // line that ends the headers (state: how much of "\r\n\r\n" was just seen); 0 past the bound.
  static constexpr std::size_t max_head_bytes = 64 * 1024;
  std::size_t head(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (++head_bytes_ > max_head_bytes) return i;
      const char c = buffer_[off_ + i];
      const bool cr = head_state_ % 2 == 0;
      head_state_ = c == (cr ? '\r' : '\n') ? head_state_ + 1 : (c == '\r' ? 1 : 0);
      if (head_state_ == 4) return i + 1;
    }
    return n;
  }

  // Waits for the socket, at most the I/O timeout and, for reads, until the deadline.
  bool wait(short events, bool reading) const {
    auto limit = Clock::now() + io_timeout_;
    if (reading && deadline_ < limit) limit = deadline_;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now()).count();
      if (left <= 0) {
        if (reading && Clock::now() >= deadline_) expired_ = true;
        return false;
      }
      pollfd p{sock_, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  void address(bool remote, std::string& ip, int& port) const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    auto* sa = reinterpret_cast<sockaddr*>(&a);
    if ((remote ? ::getpeername(sock_, sa, &len) : ::getsockname(sock_, sa, &len)) != 0) return;
    char host[NI_MAXHOST];
    char serv[NI_MAXSERV];
    if (::getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) return;
    ip = host;
    port = std::atoi(serv);
  }

  int sock_;
  std::chrono::milliseconds io_timeout_;
  Clock::time_point deadline_ = Clock::now();
  mutable bool expired_ = false;
  std::size_t written_ = 0;
  char buffer_[4096];
  std::size_t off_ = 0, end_ = 0;
  std::size_t head_bytes_ = 0;
  unsigned head_state_ = 0; // 4: the headers ended
};

// Set on the accepting thread while it turns a connection away (the queue is full).
thread_local bool overloaded = false;
// When the request being served started, for the access log.
thread_local Clock::time_point request_start;

// A fixed pool of workers with a bounded queue of connections: when it is full, the
// connection is answered 503 at once instead of waiting without bound.
class BoundedPool final : public httplib::TaskQueue {
public:
  BoundedPool(std::size_t threads, std::size_t queue, const std::function<void()>& start) : capacity_(queue) {
    for (std::size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this, start] {
        if (start) start();
        work();
      });
    }
  }
  ~BoundedPool() override { shutdown(); }
  BoundedPool(const BoundedPool&) = delete;
  BoundedPool& operator=(const BoundedPool&) = delete;

  void enqueue(std::function<void()> fn) override {
    {
      std::unique_lock lock(mutex_);
      if (tasks_.size() < capacity_) {
        tasks_.push_back(std::move(fn));
        ready_.notify_one();
        return;
      }
    }
    overloaded = true;
    fn(); // answers 503 and closes (Server::process_and_close_socket)
    overloaded = false;
  }

  void shutdown() override {
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

private:
  void work() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        fn = std::move(tasks_.front());
        tasks_.pop_front();
      }
      fn();
    }
  }

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

// Writes a whole response with no request read (503, 408), without waiting on the client.
void answer_raw(int sock, int status, std::string_view reason, const std::string& body) {
  const std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                           "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  const std::string all = head + body;
  (void)::send(sock, all.data(), all.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// cpp-httplib's Server with each connection read through a DeadlineStream.
class GuardedServer final : public httplib::Server {
public:
  explicit GuardedServer(std::chrono::seconds timeout) : timeout_(timeout) {}

  // cpp-httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
  // library): more clients connecting at once would wait a second for the SYN to be resent.
  // Listening again on the bound socket sets a longer one (Linux).
  void widen_backlog() { (void)::listen(svr_sock_, 128); }

private:
  bool process_and_close_socket(socket_t sock) override {
    bool ret = false;
    if (overloaded) {
      answer_raw(sock, 503, "Service Unavailable", error_body("the server is busy; try again"));
    } else {
      DeadlineStream strm(sock, std::chrono::milliseconds(timeout_));
      for (std::size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
        if (!strm.buffered() && !idle_wait(sock)) break;
        request_start = Clock::now();
        strm.restart(request_start + timeout_);
        bool closed = false;
        ret = process_request(strm, left == 1, closed, nullptr);
        if (strm.expired() && strm.written() == 0) {
          answer_raw(sock, 408, "Request Timeout",
                     error_body("the request did not arrive within " + std::to_string(timeout_.count()) + " s"));
        }
        if (!ret || closed) break;
      }
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ret;
  }

  // Waits for the next request of a kept-alive connection, at most the keep-alive timeout.
  bool idle_wait(int sock) const {
    pollfd p{sock, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(keep_alive_timeout_sec_ * 1000));
    return r > 0 && (p.revents & POLLIN) != 0;
  }

  std::chrono::seconds timeout_;
};

// A request's path or value in the access log: printable ASCII, bounded.
std::string loggable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"') {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

std::mutex log_mutex;

void log_line(const std::string& line) {
  std::lock_guard lock(log_mutex);
  (void)std::fwrite(line.data(), 1, line.size(), stderr);
  (void)std::fflush(stderr);
}

// How deeply arrays and objects nest in a JSON text (strings skipped), stopping past `limit`:
// refused before any parser recurses into it.
std::size_t json_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// A JSON body of flags, {"ctx": "128k", "gpu": ["h100", "a100"], "ep": true}, as parameters.
std::optional<std::string> flags_from_json(const std::string& body, Query& q) {
  if (json_depth(body, 2) > 2) return "body: a JSON object of flags, {\"ctx\": \"128k\", ...}; nested deeper than 2 levels";
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "body: not a JSON object of flags ({\"ctx\": \"128k\", ...})";
  for (const auto& [key, value] : j.items()) {
    const auto one = [&](const nlohmann::json& v) -> bool {
      if (v.is_string()) q.params.emplace_back(key, v.get<std::string>());
      else if (v.is_boolean()) q.params.emplace_back(key, v.get<bool>() ? "true" : "false");
      else if (v.is_number()) q.params.emplace_back(key, v.dump());
      else return false;
      return true;
    };
    bool ok = true;
    if (value.is_array()) {
      for (const auto& v : value) ok = ok && one(v);
    } else {
      ok = one(value);
    }
    if (!ok) return "body: " + key + ": a string, number, true/false or an array of them";
  }
  return std::nullopt;
}

// A percent-encoded part of a query string, '+' a space.
std::string url_decoded(std::string_view s) {
  std::string out;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The query string's parameters in the order written (never a form body's: a POST body is
// the request's flags as JSON, a config.json or a deployment file).
void query_parameters(std::string_view target, Query& q) {
  const auto mark = target.find('?');
  if (mark == std::string_view::npos) return;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      q.params.emplace_back(url_decoded(pair.substr(0, eq)), eq == std::string_view::npos ? "" : url_decoded(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

// An uploaded GGUF's gguf-file-size parameter (the whole file's size, when the body is its
// header) out of the flags into the query.
std::optional<std::string> gguf_file_size(Query& q) {
  for (auto it = q.params.begin(); it != q.params.end(); ++it) {
    if (it->first != "gguf-file-size") continue;
    const std::string& v = it->second;
    if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "parameter 'gguf-file-size': the GGUF file's size in bytes, e.g. 4920734016";
    }
    q.model_upload_file_bytes = std::stoull(v);
    q.params.erase(it);
    return std::nullopt;
  }
  return std::nullopt;
}

struct Route {
  std::string_view path;
  std::string_view command;
  bool get, post;
};

constexpr Route routes[] = {
    {"/v1/estimate", "", true, true},          {"/v1/check", "check", false, true},
    {"/v1/plan", "plan", true, true},          {"/v1/compare", "compare", true, true},
    {"/v1/models", "list models", true, false}, {"/v1/gpus", "list gpus", true, false},
    {"/v1/formats", "list formats", true, true},
};

std::string_view content_type_of(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const PageFile* page_file(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const PageFile& f : page_files()) {
    if (path == "/" + std::string(f.path)) return &f;
  }
  return nullptr;
}

void json_reply(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

const char* endpoint_list =
    "the endpoints are /v1/estimate, /v1/check, /v1/plan, /v1/compare, /v1/models, /v1/gpus, /v1/formats, /healthz "
    "and the page at /";

// Runs an API request: the query string's parameters, then the body's (flags as JSON, an
// uploaded config.json, a deployment file for check).
void api_request(const Route& route, const httplib::Request& req, httplib::Response& res, const Api& api) {
  Query q;
  q.command = std::string(route.command);
  query_parameters(req.target, q);
  if (req.method == "POST") {
    if (route.command == "check") {
      if (!req.body.empty()) q.check_text = req.body; // else --vllm "..." and the like
    } else if (route.command.empty() && req.body.starts_with("GGUF")) {
      q.model_upload = req.body;
      if (auto e = gguf_file_size(q)) return json_reply(res, 400, error_body(*e));
    } else if (route.command.empty() && json_depth(req.body, 64) <= 64 && io::looks_like_hf_config(req.body)) {
      q.model_upload = req.body;
    } else if (!req.body.empty()) {
      if (auto e = flags_from_json(req.body, q)) return json_reply(res, 400, error_body(*e));
    }
  }
  Answer a = api(q);
  res.set_header("X-Vramcalc-Exit", std::to_string(a.exit_code));
  json_reply(res, http_status(a), a.body);
}

// The routes: everything is answered here, before cpp-httplib's own routing (no regular
// expression meets a request's path) and, for GET, before any body is read; a POST to an
// API path goes on to read its body (at most --max-body) and to the handler.
httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res, const Settings& s,
                                           const Api& api) {
  using R = httplib::Server::HandlerResponse;
  if (s.cors_origin) {
    res.set_header("Access-Control-Allow-Origin", *s.cors_origin);
    res.set_header("Vary", "Origin");
  }
  if (req.has_header("Content-Encoding")) {
    json_reply(res, 415, error_body("Content-Encoding: compressed bodies are not accepted; send it as is"));
    return R::Handled;
  }
  const std::string& path = req.path;
  if (req.method == "OPTIONS" && s.cors_origin) {
    res.status = 204;
    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    res.set_header("Access-Control-Allow-Headers", "Content-Type");
    return R::Handled;
  }
  if (path == "/healthz") {
    if (req.method != "GET" && req.method != "HEAD") {
      json_reply(res, 405, error_body(req.method.substr(0, 16) + " /healthz: use GET"));
    } else {
      json_reply(res, 200, "{\"status\":\"ok\"}");
    }
    return R::Handled;
  }
  for (const Route& r : routes) {
    if (path != r.path) continue;
    if ((req.method == "GET" && r.get) || (req.method == "POST" && r.post)) {
      if (req.method == "POST") {
        // Its body is read, then the Post handler. A body is never a form: curl's
        // --data-binary labels it application/x-www-form-urlencoded, for which cpp-httplib
        // would parse it into parameters and cap it at 8 KiB. The request is the server's own
        // object, handed here as const.
        auto& headers = const_cast<httplib::Headers&>(req.headers); // compares names ignoring case
        const auto [first, last] = headers.equal_range("Content-Type");
        for (auto it = first; it != last; ++it) {
          if (it->second.starts_with("application/x-www-form-urlencoded")) it->second = "application/octet-stream";
        }
        return R::Unhandled;
      }
      api_request(r, req, res, api);
      return R::Handled;
    }
    res.set_header("Allow", r.get && r.post ? "GET, POST" : r.get ? "GET" : "POST");
    json_reply(res, 405, error_body(loggable(req.method.substr(0, 16)) + " " + std::string(r.path) + ": use " +
                                        (r.get && r.post ? "GET or POST" : r.get ? "GET" : "POST")));
    return R::Handled;
  }
  if (const PageFile* f = page_file(path); f != nullptr) {
    if (req.method != "GET" && req.method != "HEAD") {
      json_reply(res, 405, error_body(loggable(req.method.substr(0, 16)) + " " + loggable(path) + ": use GET"));
      return R::Handled;
    }
    res.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'");
    res.set_content(std::string(f->body), std::string(content_type_of(f->path)));
    return R::Handled;
  }
  json_reply(res, 404, error_body("no such path: '" + loggable(path) + "'; " + endpoint_list));
  return R::Handled;
}

// cpp-httplib's own refusals (413 a body over --max-body, 400 a malformed request) as
// error documents.
void error_document(const httplib::Request&, httplib::Response& res, const Settings& s) {
  if (!res.body.empty()) return;
  std::string message = "the request could not be read (HTTP " + std::to_string(res.status) + ")";
  if (res.status == 413) message = "the request body is over " + std::to_string(s.max_body_bytes) + " bytes (--max-body)";
  else if (res.status == 414) message = "the request line is over 8,192 bytes";
  res.set_content(error_body(message), "application/json");
}

std::atomic<GuardedServer*> running{nullptr};

extern "C" void stop_on_signal(int) {
  if (GuardedServer* s = running.load(); s != nullptr) s->stop();
}

} // namespace

std::optional<Error> parse_listen(const std::string& text, Settings& s) {
  const auto bad = [&](const std::string& why) {
    return Error{ErrorCode::invalid_argument, "--listen: '" + text.substr(0, 80) + "' " + why + " (e.g. 127.0.0.1:8080)"};
  };
  std::string host = s.host;
  std::string port = text;
  if (text.starts_with("[")) {
    const auto close = text.find("]:");
    if (close == std::string::npos) return bad("is not [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    if (colon > 0) host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("has no port number");
  }
  const int p = std::stoi(port);
  if (p > 65535) return bad("has a port over 65535");
  in6_addr a6{};
  in_addr a4{};
  if (::inet_pton(AF_INET, host.c_str(), &a4) != 1 && ::inet_pton(AF_INET6, host.c_str(), &a6) != 1 && host != "localhost") {
    return bad("does not name an IP address");
  }
  s.host = host;
  s.port = p;
  return std::nullopt;
}

int http_status(const Answer& a) {
  if (a.exit_code == 0 || a.exit_code == 1) return 200;
  if (a.exit_code == 2) return a.error == ErrorCode::unknown_model ? 404 : 400;
  return 500;
}

int run(const Settings& s, const Api& api) {
  GuardedServer server(s.timeout);
  server.new_task_queue = [&s] { return new BoundedPool(s.threads, s.threads * 8, s.worker_start); };
  server.set_payload_max_length(s.max_body_bytes);
  server.set_read_timeout(s.timeout);
  server.set_write_timeout(s.timeout);
  server.set_keep_alive_max_count(1000);
  server.set_keep_alive_timeout(5);
  server.set_tcp_nodelay(true);
  server.set_default_headers({{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-store"}});
  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) { return pre_route(req, res, s, api); });
  for (const Route& r : routes) {
    if (!r.post) continue;
    server.Post(std::string(r.path), [&api, r](const httplib::Request& req, httplib::Response& res) { api_request(r, req, res, api); });
  }
  server.set_error_handler([&s](const httplib::Request& req, httplib::Response& res) { error_document(req, res, s); });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    json_reply(res, 500, render_error_json(Error{ErrorCode::invalid_argument, "internal error"}));
  });
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - request_start).count();
    char took[32];
    std::snprintf(took, sizeof took, "%.3f", ms);
    log_line(req.remote_addr + " \"" + loggable(req.method) + " " + loggable(req.target) + "\" " + std::to_string(res.status) +
             " " + std::to_string(res.body.size()) + " " + took + "ms\n");
  });
  const int port = s.port == 0 ? server.bind_to_any_port(s.host) : (server.bind_to_port(s.host, s.port) ? s.port : -1);
  if (port < 0) {
    log_line("vramcalc: error: --listen: cannot listen on " + s.host + ":" + std::to_string(s.port) + "\n");
    return 2;
  }
  server.widen_backlog();
  const bool ipv6 = s.host.find(':') != std::string::npos;
  const std::string shown = (ipv6 ? "[" + s.host + "]" : s.host) + ":" + std::to_string(port);
  if (s.host != "127.0.0.1" && s.host != "::1" && s.host != "localhost") {
    log_line("vramcalc serve: warning: listening on " + shown + ", beyond this machine; anyone who can reach it can use it\n");
  }
  log_line("vramcalc serve: listening on http://" + shown + "/\n");
  running = &server;
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, stop_on_signal);
  std::signal(SIGTERM, stop_on_signal);
  const bool ok = server.listen_after_bind();
  running = nullptr;
  return ok ? 0 : 2;
}

} // namespace vramcalc::serve
