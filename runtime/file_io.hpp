// Reading and writing files with every failure reported: inputs are bounded by what their
// format can legally need, outputs are checked on every write and on close. Internal to the
// library and the `micronas` program. Every error is Error(kIoError, "PATH: problem in words").
#pragma once

#include <cstdint>
#include <memory>
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

// An output file written in place: every write and the close are checked. For a file that must
// never be seen half written, use StagedOutput or write_output_file instead.
class OutputFile {
 public:
  // kCreateNew: the file must not exist yet.
  enum class Mode { kTruncate, kAppend, kCreateNew };
  // `name`: what messages call the file, when not `path`.
  explicit OutputFile(const std::string& path, Mode mode = Mode::kTruncate,
                      const std::string& name = "");
  ~OutputFile();  // closes without checking: call close() to know that the data arrived
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const char* data, std::size_t n);
  void write(const std::string& text) { write(text.data(), text.size()); }
  // Waits until the data written so far is on the disk (a no-op for a device or pipe).
  void sync();
  void close();

 private:
  std::string path_;
  int fd_ = -1;
};

// How a finished output takes its name.
enum class Publish {
  kReplace,    // replacing a file already there
  kCreateNew,  // only where nothing is there: results that are never overwritten
};

// An output that never appears half written: it is written to a temporary file beside its name
// (NAME.partial-PID), flushed to the disk, and renamed to NAME by publish(). An interruption
// leaves at most the temporary; a failure, or destruction before publish(), removes it. A NAME
// that is a device or a pipe (/dev/stdout, /dev/full) is written in place; a symbolic link to a
// file is followed, so that the file it names is replaced.
class StagedOutput {
 public:
  StagedOutput(const std::string& path, Publish mode);
  ~StagedOutput();
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  const std::string& path() const { return path_; }
  void write(const char* data, std::size_t n) { file_->write(data, n); }
  void write(const std::string& text) { file_->write(text); }
  // Error(kIoError) naming the path: a failed write or flush, or (kCreateNew) something that
  // took the name since the output was started ("exists already").
  void publish();

 private:
  std::string path_;       // as given
  std::string target_;     // where the finished file goes: path_, or the file its link names
  std::string temporary_;  // empty when written in place
  Publish mode_;
  std::unique_ptr<OutputFile> file_;
  bool published_ = false;
};

// Writes `text` to `path` as one StagedOutput.
void write_output_file(const std::string& path, const std::string& text,
                       Publish mode = Publish::kReplace);

// Renames `from` (a file or a directory) to `to` only where nothing is at `to`, atomically on
// file systems that can (renameat2's RENAME_NOREPLACE); elsewhere `to` is first created empty as
// a reservation and then replaced. Error(kIoError) naming `to` (or `shown`, when given), "exists
// already" when taken.
void rename_no_replace(const std::string& from, const std::string& to,
                       const std::string& shown = "");

// "No space left on device" for an errno value.
std::string system_error_text(int error);

}  // namespace micronas
