// Output files created only when absent, and all or none left behind (see export_files.hpp).
#include "export_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "micronas/error.hpp"

namespace micronas::cli {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void refuse_existing(const std::string& option, const std::string& path) {
  if (exists(path))
    throw Error(Status::kIoError, option + ": '" + path +
                                      "' exists (never overwritten; remove it or choose another)");
}

namespace {

// The paths an export has created, removed again (a directory with what was written into it)
// unless keep() is called: a failure part-way through leaves nothing that a rerun would refuse
// to overwrite.
class NewPaths {
 public:
  NewPaths() = default;
  NewPaths(const NewPaths&) = delete;
  NewPaths& operator=(const NewPaths&) = delete;
  ~NewPaths() {
    for (const File& f : files_) {
      if (f.fd >= 0) ::close(f.fd);
      if (!kept_) ::unlink(f.path.c_str());
    }
    std::error_code ignored;
    if (!kept_)
      for (const std::string& dir : directories_) std::filesystem::remove_all(dir, ignored);
  }

  // Creates `path` only if nothing is there yet; returns the handle write() takes.
  std::size_t create_file(const std::string& option, const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
      const int error = errno;
      throw Error(Status::kIoError, option + ": cannot create '" + path + "': " + why(path, error));
    }
    files_.push_back({option, path, fd});
    return files_.size() - 1;
  }

  void create_directory(const std::string& option, const std::string& path) {
    if (::mkdir(path.c_str(), 0755) != 0) {
      const int error = errno;
      throw Error(Status::kIoError,
                  option + ": cannot create directory '" + path + "': " + why(path, error));
    }
    directories_.push_back(path);
  }

  // Writes `data` whole to a file of create_file() and closes it.
  void write(std::size_t file, const void* data, std::size_t size) {
    File& f = files_[file];
    const char* p = static_cast<const char*>(data);
    std::size_t done = 0;
    bool ok = true;
    while (ok && done < size) {
      const ssize_t n = ::write(f.fd, p + done, size - done);
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    const int write_error = errno;
    const bool closed = ::close(f.fd) == 0;
    f.fd = -1;
    if (!ok || !closed)
      throw Error(Status::kIoError, f.option + ": cannot write '" + f.path +
                                        "': " + std::strerror(ok ? errno : write_error));
  }

  void keep() { kept_ = true; }

 private:
  struct File {
    std::string option, path;
    int fd;
  };

  // Why `path` could not be created; it exists either way, or is one of this export's own
  // outputs (--c-array naming the --out file).
  std::string why(const std::string& path, int error) const {
    if (error != EEXIST) return std::strerror(error);
    struct stat st, mine;
    if (::stat(path.c_str(), &st) == 0)
      for (const File& f : files_)
        if (f.fd >= 0 && ::fstat(f.fd, &mine) == 0 && mine.st_dev == st.st_dev &&
            mine.st_ino == st.st_ino)
          return "it is the " + f.option + " file";
    return "it exists (never overwritten)";
  }

  std::vector<File> files_;
  std::vector<std::string> directories_;
  bool kept_ = false;
};

}  // namespace

void write_new_file(const std::string& option, const std::string& path, const void* data,
                    std::size_t size) {
  NewPaths created;
  created.write(created.create_file(option, path), data, size);
  created.keep();
}

void write_model_files(const tflite::ExportedModel& model, const std::string& out,
                       const std::string& c_array, const std::string& description,
                       const ReferenceOutput& reference) {
  const std::string source =
      c_array.empty()
          ? ""
          : tflite::c_array_source(model.bytes, "g_model", "TFLite model: " + description);
  // Every output is created before any is written, so that a clash (--c-array naming the --out
  // file) or an unwritable place fails with nothing written.
  NewPaths paths;
  const std::size_t model_file = paths.create_file("--out", out);
  const std::size_t array_file = c_array.empty() ? 0 : paths.create_file("--c-array", c_array);
  if (!reference.dir.empty()) paths.create_directory("--reference", reference.dir);
  paths.write(model_file, model.bytes.data(), model.bytes.size());
  if (!c_array.empty()) paths.write(array_file, source.data(), source.size());
  if (!reference.dir.empty()) reference.write(reference.dir);
  paths.keep();

  std::cout << "wrote " << out << ": " << model.bytes.size() << " bytes, " << model.num_operators
            << " operators (";
  bool first = true;
  for (const auto& [name, count] : model.operator_counts) {
    std::cout << (first ? "" : ", ") << count << " " << name;
    first = false;
  }
  std::cout << ")\n";
}

}  // namespace micronas::cli
