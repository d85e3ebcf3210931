// Reading and writing files with every failure reported: inputs are bounded by what their
// format can legally need, outputs are checked on every write and on close. Internal to the
// library and the `micronas` program. Every error is Error(kIoError, "PATH: problem in words").
#pragma once

#include <cstdint>
#include <string>

namespace micronas {

// An input file opened for reading. Directories, devices and sockets are refused; a pipe (FIFO,
// e.g. /dev/stdin or process substitution) is accepted only when `allow_stream` is true, since
// it can be read only once.
class InputFile {
 public:
  InputFile(const std::string& path, bool allow_stream);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  bool regular() const { return regular_; }
  // Size of a regular file (0 for a pipe).
  std::uint64_t size() const { return size_; }
  // Reads up to `n` bytes; fewer only at the end of the file.
  std::size_t read(char* buffer, std::size_t n);

 private:
  std::string path_;
  int fd_ = -1;
  bool regular_ = false;
  std::uint64_t size_ = 0;
};

// The whole content of an input of at most `max_bytes` bytes; `what` names the format in the
// message of a file that is larger ("a benchmark table"). Pipes are read with the same bound.
std::string read_input_file(const std::string& path, std::uint64_t max_bytes, const char* what,
                            bool allow_stream = true);

// A digest of a regular file's contents (64-bit FNV-1a, as 16 hex digits), read in chunks: tells
// whether a file under the same path still holds the same data.
std::string file_digest(const std::string& path);

// An output file: every write and the close are checked.
class OutputFile {
 public:
  // kCreateNew: the file must not exist yet (results that are never overwritten).
  enum class Mode { kTruncate, kAppend, kCreateNew };
  explicit OutputFile(const std::string& path, Mode mode = Mode::kTruncate);
  ~OutputFile();  // closes without checking: call close() to know that the data arrived
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const char* data, std::size_t n);
  void write(const std::string& text) { write(text.data(), text.size()); }
  void close();

 private:
  std::string path_;
  int fd_ = -1;
};

// Writes `text` to `path` (created or truncated) and closes it, checking every step.
void write_output_file(const std::string& path, const std::string& text);

// "No space left on device" for an errno value.
std::string system_error_text(int error);

}  // namespace micronas
