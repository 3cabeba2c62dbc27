// Opening a file someone named: the one place every reader opens files (FileSource::open,
// read_text_file). docs/reliability.md, "Hangs".
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/io/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace vramcalc::io {

namespace {

// What a path is when it is not a regular file, for messages.
std::string not_regular(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory, not a regular file";
  if (S_ISFIFO(mode)) return "is a FIFO (named pipe), not a regular file";
  if (S_ISCHR(mode)) return "is a character device, not a regular file";
  if (S_ISBLK(mode)) return "is a block device, not a regular file";
  if (S_ISSOCK(mode)) return "is a socket, not a regular file";
  return "is not a regular file";
}

constexpr std::uint64_t max_text_file_bytes = 16 * 1024 * 1024;

// Set once by refuse_file_reads(), never cleared.
std::atomic<bool> files_refused{false};

} // namespace

void refuse_file_reads() { files_refused.store(true); }

bool file_reads_refused() { return files_refused.load(std::memory_order_relaxed); }

std::expected<FileSource, Error> FileSource::open(const std::string& path) {
  auto fail = [&](const std::string& what) { return std::unexpected(Error{ErrorCode::io, path + ": " + what}); };
  // O_NONBLOCK: opening a FIFO (or a device) with no writer would wait forever; with it the
  // open returns at once and fstat refuses whatever is not a regular file before any read.
  // O_NOCTTY: a terminal device never becomes the controlling terminal.
  if (file_reads_refused()) return fail("cannot open: vramcalc serve reads no files a request names");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  FileSource f;
  f.fd_ = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(not_regular(st.st_mode));
  f.source_.size = static_cast<std::uint64_t>(st.st_size);
  f.id_ = {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
  // The descriptor is captured by value, so the function stays valid when the FileSource moves.
  f.source_.read = [fd](std::uint64_t offset, std::uint64_t n, char* out) {
    while (n > 0) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, 1u << 30));
      const ssize_t got = ::pread(fd, out, want, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      const auto g = static_cast<std::uint64_t>(got);
      out += got;
      offset += g;
      n -= g;
    }
    return true;
  };
  return f;
}

FileSource::FileSource(FileSource&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), source_(std::move(other.source_)), id_(other.id_) {}

FileSource& FileSource::operator=(FileSource&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    source_ = std::move(other.source_);
    id_ = other.id_;
  }
  return *this;
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

std::expected<std::string, Error> read_text_file(const std::string& path, ErrorCode code) {
  auto file = FileSource::open(path);
  if (!file) {
    // "PATH: cannot open: reason" -> "cannot read 'PATH': reason"
    std::string why = file.error().message.substr(path.size() + 2);
    if (why.starts_with("cannot open: ")) why.erase(0, 13);
    return std::unexpected(Error{ErrorCode::io, "cannot read '" + path + "': " + why});
  }
  const ByteSource& src = file->source();
  if (src.size > max_text_file_bytes) {
    return std::unexpected(Error{code, path + ": the file is " + std::to_string(src.size) +
                                           " bytes; a spec file is at most 16 MiB"});
  }
  std::string text(static_cast<std::size_t>(src.size), '\0');
  if (!src.read(0, src.size, text.data())) {
    return std::unexpected(Error{ErrorCode::io, "cannot read '" + path + "': " + std::strerror(errno)});
  }
  return text;
}

std::expected<std::string, Error> read_standard_input(ErrorCode code) {
  if (file_reads_refused()) return std::unexpected(Error{code, "standard input: vramcalc serve reads none"});
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return std::unexpected(Error{ErrorCode::io, std::string("cannot read standard input: ") + std::strerror(errno)});
    if (got == 0) return text;
    if (text.size() + static_cast<std::size_t>(got) > max_text_file_bytes) {
      return std::unexpected(Error{code, "standard input: more than 16 MiB; a deployment file is at most 16 MiB"});
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

} // namespace vramcalc::io

// ---------------------------------------------------------------------------------------
// Output files

namespace vramcalc::io {

namespace {

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string quoted(const std::string& path) { return "'" + path + "'"; }

} // namespace

std::expected<void, Error> write_output_file(const std::string& path, std::string_view text) {
  const auto refuse = [&](const std::string& what) {
    return std::unexpected(Error{ErrorCode::invalid_argument, quoted(path) + " " + what});
  };
  const auto failed = [&](ErrorCode code, const std::string& what, int error) {
    return std::unexpected(Error{code, "cannot write " + quoted(path) + ": " + what + std::strerror(error)});
  };
  if (file_reads_refused()) return refuse("is not written: vramcalc serve writes no files");
  const std::filesystem::path target(path);
  const std::string name = target.filename().string();
  if (name.empty() || name == "." || name == "..") return refuse("is a directory, not a file");
  const std::filesystem::path parent = target.parent_path();
  const Fd dir(::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0) return failed(ErrorCode::io, "cannot open its directory '" + (parent.empty() ? std::string(".") : parent.string()) + "': ", errno);

  // What is there now: nothing, or a regular file of ours we may write. Anything else is
  // left as it is (a rename would replace a device, a FIFO or a link with our file).
  struct stat st {};
  const bool exists = ::fstatat(dir.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT) return failed(ErrorCode::io, "", errno);
  if (exists) {
    if (S_ISLNK(st.st_mode)) return refuse("is a symbolic link; vramcalc replaces only regular files, never a link");
    if (!S_ISREG(st.st_mode)) return refuse(not_regular(st.st_mode) + "; vramcalc writes only regular files or new paths");
    if (st.st_uid != ::geteuid()) return refuse("belongs to another user; vramcalc replaces only the user's own files");
    if ((st.st_mode & S_IWUSR) == 0) return refuse("is read-only");
  }

  // The temporary file: a fresh name, created exclusively (never an existing file or link).
  std::string tmp;
  int tmp_fd = -1;
  for (unsigned attempt = 0; attempt < 100 && tmp_fd < 0; ++attempt) {
    tmp = "." + name.substr(0, 200) + "." + std::to_string(::getpid()) + "-" + std::to_string(attempt) + ".tmp";
    tmp_fd = ::openat(dir.fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (tmp_fd < 0 && errno != EEXIST) return failed(ErrorCode::io, "", errno);
  }
  if (tmp_fd < 0) return failed(ErrorCode::io, "", EEXIST);
  Fd out(tmp_fd);
  const auto discard = [&](ErrorCode code, int error) {
    ::unlinkat(dir.fd, tmp.c_str(), 0);
    return failed(code, "", error);
  };
  if (exists) (void)::fchmod(out.fd, st.st_mode & 07777); // keep the replaced file's permissions
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(out.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return discard(ErrorCode::output, n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(out.fd) != 0 && errno != EINVAL) return discard(ErrorCode::output, errno);
  const int closing = out.fd;
  out.fd = -1;
  if (::close(closing) != 0) return discard(ErrorCode::output, errno);

  if (!exists) {
    // A new path: link the file there, which fails if something appeared meanwhile.
    if (::linkat(dir.fd, tmp.c_str(), dir.fd, name.c_str(), 0) == 0) {
      ::unlinkat(dir.fd, tmp.c_str(), 0);
      return {};
    }
    // File systems without hard links: a rename, if the path is still free.
    if (errno != EPERM && errno != EOPNOTSUPP) return discard(ErrorCode::io, errno);
    struct stat again {};
    if (::fstatat(dir.fd, name.c_str(), &again, AT_SYMLINK_NOFOLLOW) == 0) {
      ::unlinkat(dir.fd, tmp.c_str(), 0);
      return refuse("appeared while vramcalc wrote it; nothing was written");
    }
    if (::renameat(dir.fd, tmp.c_str(), dir.fd, name.c_str()) != 0) return discard(ErrorCode::io, errno);
    return {};
  }
  // Still the file checked above? Then replace it in one step.
  struct stat now {};
  if (::fstatat(dir.fd, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 || now.st_dev != st.st_dev ||
      now.st_ino != st.st_ino || !S_ISREG(now.st_mode)) {
    ::unlinkat(dir.fd, tmp.c_str(), 0);
    return refuse("changed while vramcalc wrote it; nothing was written");
  }
  if (::renameat(dir.fd, tmp.c_str(), dir.fd, name.c_str()) != 0) return discard(ErrorCode::io, errno);
  return {};
}

} // namespace vramcalc::io
