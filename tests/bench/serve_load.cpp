// A bounded load test of `vramcalc serve` on loopback (docs/performance.md, "vramcalc serve"):
// starts the server, sends a fixed number of requests from a fixed number of clients (one
// kept-alive connection each, cpp-httplib's client), stops by itself and prints p50 / p99
// latency, errors (anything but HTTP 200 with the expected body size) and the server's RSS
// (/proc/PID/status VmRSS) once bound, once ready (its workers started and one request
// answered), after a warm-up of 1,000 requests and at the end. Fails on any error, or when
// the server does not exit 0 on SIGTERM.
//
// usage: vramcalc_serve_load VRAMCALC_BINARY [REQUESTS [CLIENTS [PATH]]]
//        (default 100000 requests, 8 clients, /v1/estimate?model=llama3-70b&ctx=128k&kv=fp8&gpu=2xh100)
#include <httplib.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Starts `vramcalc serve --listen 127.0.0.1:0`, its stderr (the port, then the access log)
// into `log`; returns its pid and port.
std::pair<pid_t, int> start_server(const std::string& bin, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args{bin, "serve", "--listen", "127.0.0.1:0"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    std::perror("posix_spawn");
    std::exit(2);
  }
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    if (const auto at = s.find("listening on http://127.0.0.1:"); at != std::string::npos) {
      return {pid, std::atoi(s.c_str() + at + 30)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::cerr << "the server did not start\n";
  kill(pid, SIGTERM);
  std::exit(2);
}

struct Run {
  std::vector<double> latencies_ms;
  std::size_t errors = 0;
  double seconds = 0;
};

// `requests` requests from `clients` threads, each on its own kept-alive connection.
Run load(int port, const std::string& path, std::size_t requests, std::size_t clients, std::size_t body_bytes) {
  Run run;
  std::vector<std::vector<double>> per(clients);
  std::atomic<std::size_t> errors{0};
  std::atomic<std::size_t> next{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_read_timeout(30, 0);
      per[c].reserve(requests / clients + 1);
      while (next.fetch_add(1) < requests) {
        const auto t = Clock::now();
        const auto r = client.Get(path);
        per[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
        if (!r || r->status != 200 || (body_bytes != 0 && r->body.size() != body_bytes)) ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& v : per) run.latencies_ms.insert(run.latencies_ms.end(), v.begin(), v.end());
  std::sort(run.latencies_ms.begin(), run.latencies_ms.end());
  run.errors = errors;
  return run;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: vramcalc_serve_load VRAMCALC_BINARY [REQUESTS [CLIENTS [PATH]]]\n";
    return 2;
  }
  const std::string bin = argv[1];
  const std::size_t requests = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000;
  const std::size_t clients = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 8;
  const std::string path = argc > 4 ? argv[4] : "/v1/estimate?model=llama3-70b&ctx=128k&kv=fp8&gpu=2xh100";
  const std::string log = "/tmp/vramcalc-serve-load-" + std::to_string(getpid()) + ".log";
  const auto [pid, port] = start_server(bin, log);
  const long rss_bound = rss_kib(pid);
  // The expected body: the first answer's size (every answer to the same query is the same).
  httplib::Client probe("127.0.0.1", port);
  const auto first = probe.Get(path);
  // Ready: the workers started (each builds its parser first) and one request answered.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long rss_start = rss_kib(pid);
  if (!first || first->status != 200) {
    std::cerr << "the first request failed: " << (first ? std::to_string(first->status) + " " + first->body : "no answer") << "\n";
    kill(pid, SIGTERM);
    return 1;
  }
  const std::size_t body_bytes = first->body.size();
  const Run warm = load(port, path, std::min<std::size_t>(1000, requests), clients, body_bytes);
  const long rss_warm = rss_kib(pid);
  const Run run = load(port, path, requests, clients, body_bytes);
  const long rss_end = rss_kib(pid);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::remove(log.c_str());
  std::printf("vramcalc serve load: %zu requests (after %zu warm-up), %zu clients, GET %s (%zu-byte answers)\n", requests,
              warm.latencies_ms.size(), clients, path.c_str(), body_bytes);
  std::printf("  %.1f s, %.0f requests/s\n", run.seconds, static_cast<double>(requests) / run.seconds);
  std::printf("  latency p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms (client side: request sent to answer read)\n",
              percentile(run.latencies_ms, 50), percentile(run.latencies_ms, 90), percentile(run.latencies_ms, 99),
              run.latencies_ms.empty() ? 0.0 : run.latencies_ms.back());
  std::printf("  errors %zu\n", run.errors + warm.errors);
  std::printf("  server RSS: %ld KiB once bound, %ld KiB ready (workers started, one request answered), %ld KiB after the "
              "warm-up, %ld KiB at the end (%+ld KiB over the run, %+ld KiB since ready)\n",
              rss_bound, rss_start, rss_warm, rss_end, rss_end - rss_warm, rss_end - rss_start);
  std::printf("  server exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  // The server's own exit status too: under the sanitizers a leak or an error fails it.
  const bool exited_0 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return run.errors + warm.errors == 0 && exited_0 ? 0 : 1;
}
