// An exclusive lock on a file for the whole run of a verb, so that two runs never write the same
// results file or checkpoint at once.
#pragma once

#include <string>

namespace micronas::cli {

class FileLock {
 public:
  // Opens (creating it when absent, empty) and locks `path` with a non-blocking exclusive
  // flock(2). When another process holds the lock, throws Error(kIoError) with one sentence
  // naming the file, `option` and, when the system tells it, the holder's PID; the file is left
  // as it was. The lock is released when the object is destroyed or the process ends.
  FileLock(const std::string& path, const std::string& option);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace micronas::cli
