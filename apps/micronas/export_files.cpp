// Output files of `micronas export`, created only when absent (see export_files.hpp).
#include "export_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

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

// Creates `path` only if it does not exist yet, and writes `data` whole.
void write_new_file(const std::string& option, const std::string& path, const void* data,
                    std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    throw Error(Status::kIoError,
                option + ": cannot create '" + path + "': " +
                    (errno == EEXIST ? "it exists (never overwritten)" : std::strerror(errno)));
  const char* p = static_cast<const char*>(data);
  std::size_t done = 0;
  bool ok = true;
  while (done < size) {
    const ssize_t n = ::write(fd, p + done, size - done);
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) ok = false;
  if (!ok) {
    const std::string why = std::strerror(errno);
    ::unlink(path.c_str());
    throw Error(Status::kIoError, option + ": cannot write '" + path + "': " + why);
  }
}

void write_model_files(const tflite::ExportedModel& model, const std::string& out,
                       const std::string& c_array, const std::string& description) {
  write_new_file("--out", out, model.bytes.data(), model.bytes.size());
  if (!c_array.empty()) {
    const std::string source =
        tflite::c_array_source(model.bytes, "g_model", "TFLite model: " + description);
    write_new_file("--c-array", c_array, source.data(), source.size());
  }
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
