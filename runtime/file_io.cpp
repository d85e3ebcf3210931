#include "runtime/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "micronas/error.hpp"

namespace micronas {
namespace {

constexpr const char* kExists =
    "exists already (never overwritten: remove it or choose another name)";

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

OutputFile::OutputFile(const std::string& path, Mode mode, const std::string& name)
    : path_(name.empty() ? path : name) {
  if (path.empty()) fail("(empty path)", "no file name given");
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC |
                    (mode == Mode::kAppend      ? O_APPEND
                     : mode == Mode::kCreateNew ? O_EXCL
                                                : O_TRUNC);
  fd_ = ::open(path.c_str(), flags, 0666);
  if (fd_ < 0) {
    const int error = errno;
    if (error == EEXIST && mode == Mode::kCreateNew) fail(path_, kExists);
    struct stat st {};
    if (error == EISDIR || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
      fail(path_, "is a directory, not a file");
    fail(path_, "cannot open for writing: " + system_error_text(error));
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

void OutputFile::sync() {
  if (fd_ < 0) fail(path_, "write after close");
  // EINVAL / EROFS: a device or pipe, which has no disk copy to wait for.
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS)
    fail(path_, "write failed: " + system_error_text(errno));
}

void OutputFile::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(path_, "write failed on close: " + system_error_text(errno));
}

namespace {

// A name beside `path` that nothing holds yet, created empty (O_EXCL) so that it stays ours.
std::string create_temporary_beside(const std::string& path, const std::string& shown) {
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string name = path + ".partial-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1));
    const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      return name;
    }
    if (errno != EEXIST) fail(shown, "cannot create: " + system_error_text(errno));
  }
  fail(shown, "cannot create: every temporary name beside it exists");
}

}  // namespace

StagedOutput::StagedOutput(const std::string& path, Publish mode) : path_(path), mode_(mode) {
  if (path.empty()) fail("(empty path)", "no file name given");
  struct stat st {};
  const bool present = ::lstat(path.c_str(), &st) == 0;
  if (present && mode == Publish::kCreateNew) fail(path, kExists);
  std::string target = path;  // where the finished file goes
  if (present && S_ISLNK(st.st_mode)) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    const bool followed = resolved != nullptr && ::stat(resolved, &st) == 0;
    if (followed) target = resolved;
    std::free(resolved);
    if (!followed) st.st_mode = 0;  // a dangling link: written in place below
  }
  if (present && S_ISDIR(st.st_mode)) fail(path, "is a directory, not a file");
  if (present && !S_ISREG(st.st_mode)) {
    file_ = std::make_unique<OutputFile>(path, OutputFile::Mode::kTruncate);
    return;
  }
  target_ = target;
  temporary_ = create_temporary_beside(target, path);
  // A replaced file keeps its permissions.
  if (present) ::chmod(temporary_.c_str(), st.st_mode & 07777);
  try {
    file_ = std::make_unique<OutputFile>(temporary_, OutputFile::Mode::kTruncate, path);
  } catch (...) {
    ::unlink(temporary_.c_str());
    throw;
  }
}

StagedOutput::~StagedOutput() {
  file_.reset();
  if (!published_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

void StagedOutput::publish() {
  if (published_) return;
  if (!temporary_.empty()) file_->sync();
  file_->close();
  if (!temporary_.empty()) {
    if (mode_ == Publish::kCreateNew)
      rename_no_replace(temporary_, target_, path_);
    else if (::rename(temporary_.c_str(), target_.c_str()) != 0)
      fail(path_, "cannot rename the finished file into place: " + system_error_text(errno));
  }
  published_ = true;
}

void write_output_file(const std::string& path, const std::string& text, Publish mode) {
  StagedOutput out(path, mode);
  out.write(text);
  out.publish();
}

void rename_no_replace(const std::string& from, const std::string& to, const std::string& shown) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  const int error = errno;
  if (error == EEXIST) fail(shown.empty() ? to : shown, kExists);
  if (error != EINVAL && error != ENOSYS && error != ENOTSUP && error != EOPNOTSUPP)
    fail(shown.empty() ? to : shown,
         "cannot rename " + from + " to it: " + system_error_text(error));
  // This file system cannot refuse to replace: reserve the name, then replace the reservation.
  struct stat st {};
  const bool directory = ::stat(from.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const int reserved = directory
                           ? ::mkdir(to.c_str(), 0755)
                           : ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (reserved < 0) {
    if (errno == EEXIST) fail(shown.empty() ? to : shown, kExists);
    fail(shown.empty() ? to : shown, "cannot create: " + system_error_text(errno));
  }
  if (!directory) ::close(reserved);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int rename_error = errno;
    if (directory)
      ::rmdir(to.c_str());
    else
      ::unlink(to.c_str());
    fail(shown.empty() ? to : shown,
         "cannot rename " + from + " to it: " + system_error_text(rename_error));
  }
}

}  // namespace micronas
