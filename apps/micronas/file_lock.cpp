#include "file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "micronas/error.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {
namespace {

// The PID holding a flock(2) lock on the file, from Linux's /proc/locks ("1: FLOCK  ADVISORY
// WRITE 4242 08:01:1234 0 EOF"); 0 when it cannot be told.
long lock_holder(const struct stat& st) {
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream in(line);
    std::string id, kind, mode, access, device;
    long pid = 0;
    if (!(in >> id >> kind)) continue;
    if (kind == "->") in >> kind;  // a waiting request
    if (!(in >> mode >> access >> pid >> device) || kind != "FLOCK") continue;
    unsigned major_id = 0, minor_id = 0;
    unsigned long long inode = 0;
    if (std::sscanf(device.c_str(), "%x:%x:%llu", &major_id, &minor_id, &inode) != 3) continue;
    if (major_id == major(st.st_dev) && minor_id == minor(st.st_dev) &&
        inode == static_cast<unsigned long long>(st.st_ino) && pid != ::getpid())
      return pid;
  }
  return 0;
}

}  // namespace

FileLock::FileLock(const std::string& path, const std::string& option) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int error = errno;
    struct stat st {};
    if (error == EISDIR || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
      throw Error(Status::kIoError, option + ": '" + path + "' is a directory, not a file");
    throw Error(Status::kIoError,
                option + ": cannot open '" + path + "': " + system_error_text(error));
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw Error(Status::kIoError, option + ": '" + path + "' is not a regular file");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  const int error = errno;
  const long holder = error == EWOULDBLOCK ? lock_holder(st) : 0;
  ::close(fd_);
  fd_ = -1;
  if (error != EWOULDBLOCK)
    throw Error(Status::kIoError,
                option + ": cannot lock '" + path + "': " + system_error_text(error));
  throw Error(Status::kIoError,
              option + ": '" + path + "' is in use: another micronas run" +
                  (holder > 0 ? " (PID " + std::to_string(holder) + ")" : std::string()) +
                  " holds its lock; wait for it to finish or stop it (the file is left as it is)");
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace micronas::cli
