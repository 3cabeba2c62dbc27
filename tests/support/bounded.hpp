// Runs a piece of work in a child process under a wall-clock and a memory bound, for the
// hostile-input tests (tests/unit/test_hostile.cpp): a hang, a quadratic blow-up or a
// memory amplification fails the test instead of stalling the suite. Works under ASan
// (no RLIMIT_AS, which ASan's shadow memory cannot live with): the child reports how much
// its resident set grew, and the parent kills it at the deadline.
#pragma once

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

namespace vramcalc::test {

struct Bounded {
  std::string failure;          // empty: the work succeeded within the bounds
  double seconds = 0;           // wall clock of the child
  std::uint64_t grown_kib = 0;  // peak resident set minus the resident set at the start
};

inline std::uint64_t resident_kib() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

// VmHWM: the peak resident set since the start, or since the last reset.
inline std::uint64_t peak_resident_kib() {
  std::uint64_t kib = 0;
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      unsigned long long v = 0;
      if (std::sscanf(line, "VmHWM: %llu kB", &v) == 1) kib = v;
    }
    std::fclose(f);
  }
  return kib;
}

// `work` returns "" on success or what went wrong. It runs in a forked child: it must not
// use Catch2's assertions (the parent checks the result).
inline Bounded run_bounded(const std::function<std::string()>& work, double max_seconds, std::uint64_t max_mib) {
  Bounded out;
  int fds[2];
  if (::pipe(fds) != 0) {
    out.failure = "pipe failed";
    return out;
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
#if defined(__GLIBC__)
    ::malloc_trim(0); // memory the parent freed is returned, so the child's growth is its own
#endif
    // Reset the peak resident set to the current one (Linux: "5" to clear_refs).
    if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
      std::fputs("5", f);
      std::fclose(f);
    }
    const std::uint64_t before = resident_kib();
    std::string result;
    try {
      result = work();
    } catch (const std::exception& e) {
      result = std::string("exception: ") + e.what();
    }
    const std::uint64_t peak = peak_resident_kib();
    const std::string msg = std::to_string(peak > before ? peak - before : 0) + "\n" + result;
    std::size_t done = 0;
    while (done < msg.size()) {
      const ssize_t n = ::write(fds[1], msg.data() + done, msg.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0); // no atexit handlers (the leak checker would look at the parent's objects)
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    out.failure = "fork failed";
    return out;
  }
  int status = 0;
  bool finished = false;
  while (!finished) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) finished = true;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!finished && out.seconds > max_seconds) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(fds[0]);
      out.failure = "took more than " + std::to_string(max_seconds) + " s (killed)";
      return out;
    }
    if (!finished) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string msg;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out.failure = "the child died (status " + std::to_string(status) + ")";
    return out;
  }
  const auto nl = msg.find('\n');
  if (nl == std::string::npos) {
    out.failure = "the child reported nothing";
    return out;
  }
  out.grown_kib = std::stoull(msg.substr(0, nl));
  out.failure = msg.substr(nl + 1);
  if (out.failure.empty() && out.grown_kib > max_mib * 1024) {
    out.failure = "grew by " + std::to_string(out.grown_kib / 1024) + " MiB, more than " + std::to_string(max_mib);
  }
  return out;
}

} // namespace vramcalc::test
