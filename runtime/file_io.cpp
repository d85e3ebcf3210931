#include "runtime/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "micronas/error.hpp"

namespace micronas {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(Status::kIoError, path + ": " + what);
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::string file_digest(const std::string& path) {
  InputFile in(path, /*allow_stream=*/false);
  std::uint64_t h = 0xcbf29ce484222325ull;
  std::vector<char> buffer(1 << 20);
  for (std::size_t n; (n = in.read(buffer.data(), buffer.size())) > 0;)
    for (std::size_t i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(buffer[i]);
      h *= 0x100000001b3ull;
    }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

std::string system_error_text(int error) {
  return error == 0 ? std::string("unknown error") : std::string(std::strerror(error));
}

InputFile::InputFile(const std::string& path, bool allow_stream) : path_(path) {
  if (path.empty()) fail("(empty path)", "no file name given");
  // O_NONBLOCK: opening a FIFO without a writer must not hang; reads are blocking again below.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) fail(path, "cannot open: " + system_error_text(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    fail(path, "cannot read its status: " + system_error_text(error));
  }
  regular_ = S_ISREG(st.st_mode);
  const bool stream = S_ISFIFO(st.st_mode);
  if (!regular_ && !(stream && allow_stream)) {
    const std::string kind = kind_of(st.st_mode);
    ::close(fd_);
    fd_ = -1;
    if (stream)
      fail(path, "is " + kind +
                     ", not a regular file: this input is read more than once, so it must be "
                     "a regular (seekable) file");
    fail(path, "is " + kind + ", not a regular file");
  }
  size_ = regular_ ? static_cast<std::uint64_t>(st.st_size) : 0;
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read(char* buffer, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd_, buffer + done, n - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(path_, "read error: " + system_error_text(errno));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

std::string read_input_file(const std::string& path, std::uint64_t max_bytes, const char* what,
                            bool allow_stream) {
  InputFile file(path, allow_stream);
  const std::string limit = std::to_string(max_bytes) + " bytes";
  if (file.regular() && file.size() > max_bytes)
    fail(path, "is " + std::to_string(file.size()) + " bytes, more than " + what +
                   " can need (at most " + limit + ")");
  std::string text;
  const std::size_t chunk = 1 << 16;
  while (true) {
    const std::size_t old = text.size();
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk, max_bytes + 1 - old));
    text.resize(old + want);
    const std::size_t got = file.read(text.data() + old, want);
    text.resize(old + got);
    if (text.size() > max_bytes)
      fail(path, "holds more than " + limit + ", more than " + what + " can need");
    if (got < want) break;
  }
  return text;
}

OutputFile::OutputFile(const std::string& path, Mode mode) : path_(path) {
  if (path.empty()) fail("(empty path)", "no file name given");
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC |
                    (mode == Mode::kAppend      ? O_APPEND
                     : mode == Mode::kCreateNew ? O_EXCL
                                                : O_TRUNC);
  fd_ = ::open(path.c_str(), flags, 0666);
  if (fd_ < 0) {
    const int error = errno;
    if (error == EEXIST && mode == Mode::kCreateNew)
      fail(path, "exists already (results are never overwritten: choose another name)");
    struct stat st {};
    if (error == EISDIR || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
      fail(path, "is a directory, not a file");
    fail(path, "cannot open for writing: " + system_error_text(error));
  }
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::write(const char* data, std::size_t n) {
  if (fd_ < 0) fail(path_, "write after close");
  std::size_t done = 0;
  while (done < n) {
    const ssize_t put = ::write(fd_, data + done, n - done);
    if (put < 0) {
      if (errno == EINTR) continue;
      fail(path_, "write failed: " + system_error_text(errno));
    }
    done += static_cast<std::size_t>(put);
  }
}

void OutputFile::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(path_, "write failed on close: " + system_error_text(errno));
}

void write_output_file(const std::string& path, const std::string& text) {
  OutputFile f(path);
  f.write(text);
  f.close();
}

}  // namespace micronas
