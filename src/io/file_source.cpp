// Opening a file someone named: the one place every reader opens files (FileSource::open,
// read_text_file). docs/reliability.md, "Hangs".
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/gguf.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

} // namespace

std::expected<FileSource, Error> FileSource::open(const std::string& path) {
  auto fail = [&](const std::string& what) { return std::unexpected(Error{ErrorCode::io, path + ": " + what}); };
  // O_NONBLOCK: opening a FIFO (or a device) with no writer would wait forever; with it the
  // open returns at once and fstat refuses whatever is not a regular file before any read.
  // O_NOCTTY: a terminal device never becomes the controlling terminal.
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

} // namespace vramcalc::io
