#include "cli_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "export_files.hpp"
#include "micronas/error.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {

Arch resolve_arch(const std::string& text, const BenchmarkTable* table) {
  bool numeric = !text.empty() && text.size() < 9;
  for (char c : text) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
  if (!numeric) return Arch::parse(text);
  if (!table)
    throw Error(Status::kInvalidArgument,
                "'" + text +
                    "' is an NB201 index; give --benchmark FILE to look it up "
                    "(the index order is a table, not a formula)");
  auto row = table->find_index(std::stoi(text));
  if (!row)
    throw Error(Status::kInvalidArgument,
                "index " + text + " is not in the benchmark table " + table->path());
  return table->arch(*row);
}

std::unique_ptr<BenchmarkTable> load_table(const std::string& path) {
  if (path.empty()) return nullptr;
  return std::make_unique<BenchmarkTable>(BenchmarkTable::load(path));
}

namespace {

std::string in_quotes(const std::string& text) { return "'" + printable(text) + "'"; }

}  // namespace

CLI::Validator integer_in(long long lo, long long hi) {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        std::size_t i = (!text.empty() && text[0] == '-') ? 1 : 0;
        bool digits = i < text.size();
        for (std::size_t k = i; k < text.size(); ++k)
          digits = digits && text[k] >= '0' && text[k] <= '9';
        if (!digits) return in_quotes(text) + " is not a whole number (expected " + range + ")";
        errno = 0;
        const long long v = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == ERANGE || v < lo || v > hi) return in_quotes(text) + " is outside " + range;
        return "";
      },
      "INT in " + range, "integer_in");
}

CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        bool digits = !text.empty();
        for (char c : text) digits = digits && c >= '0' && c <= '9';
        if (!digits)
          return in_quotes(text) + " is not a seed (a whole number in 0..18446744073709551615)";
        const std::string max = std::to_string(std::numeric_limits<std::uint64_t>::max());
        const std::size_t first = std::min(text.find_first_not_of('0'), text.size() - 1);
        const std::string value = text.substr(first);
        if (value.size() > max.size() || (value.size() == max.size() && value > max))
          return in_quotes(text) + " is larger than the largest seed, 18446744073709551615";
        return "";
      },
      "0..2^64-1", "seed");
}

CLI::Validator positive_finite() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size())
          return in_quotes(text) + " is not a number";
        if (!std::isfinite(v) || errno == ERANGE || !(v > 0))
          return in_quotes(text) + " must be a finite number > 0";
        return "";
      },
      "NUMBER > 0", "positive_finite");
}

CLI::Validator output_path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return text.empty() ? "an empty path (give a name, or leave the option out)" : "";
      },
      "PATH", "output_path");
}

nlohmann::ordered_json read_sweep_sidecar_object(const std::string& path) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(read_input_file(path, 1 << 20, "a sweep sidecar"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(Status::kIoError, path + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(Status::kIoError, path + ": not a JSON object");
  return j;
}

void check_new_output(const std::string& option, const std::string& path) {
  refuse_existing(option, path);
  // Creating the file is the one test that covers every reason it may fail (a missing or
  // read-only folder, a name too long); it is removed at once, so an interrupted run leaves
  // nothing behind, and created again, exclusively, when the result is written.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int error = errno;
    throw Error(Status::kIoError,
                option + ": cannot create '" + path + "': " + system_error_text(error));
  }
  ::close(fd);
  ::unlink(path.c_str());
}

void check_empty_folder(const std::string& option, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) return;
  if (!fs::is_directory(status))
    throw Error(Status::kIoError, option + ": '" + path + "' exists and is not a folder");
  const bool empty = fs::is_empty(path, ec);
  if (ec) throw Error(Status::kIoError, option + ": cannot read '" + path + "': " + ec.message());
  if (!empty)
    throw Error(Status::kIoError,
                option + ": '" + path +
                    "' is not empty (its files would mix with this run's; give a new or empty "
                    "folder)");
}

int exit_status(Status status) {
  switch (status) {
    case Status::kOk: return kExitOk;
    case Status::kInvalidArgument:
    case Status::kParseError:
    case Status::kNumericalError:
    case Status::kUnsupported: return kExitUsage;
    case Status::kIoError: return kExitIo;
    case Status::kOutOfMemory: return kExitOutOfMemory;
    case Status::kInfeasible: return kExitInfeasible;
    case Status::kInternal:
    case Status::kCancelled:  // only a library caller cancels; the program never does
      return kExitInternal;
  }
  return kExitInternal;
}

const char* exit_status_help() {
  return "Exit status: 0 success; 1 internal error (a bug); 2 invalid command line or input "
         "(an option, argument or input value that cannot be used); 3 out of memory; 4 no "
         "architecture satisfies the given limits; 5 a file cannot be opened, read, written or "
         "locked, or is not a file of the expected format. Every failure prints one line "
         "'micronas: error: ...' on stderr.";
}

namespace {

// The length of the well-formed UTF-8 sequence starting at s[i], or 0 when there is none (a
// stray continuation byte, a cut sequence, an overlong or out-of-range lead byte).
std::size_t utf8_sequence(const std::string& s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  const std::size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                        : c >= 0xE0 && c <= 0xEF ? 3
                        : c >= 0xF0 && c <= 0xF4 ? 4
                                                 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

}  // namespace

std::string printable(const std::string& message) {
  constexpr std::size_t kLongest = 300, kHead = 160, kTail = 80;
  std::string escaped;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(message[i]);
    if (c == '\n') {
      escaped += "\\n";
    } else if (c == '\t') {
      escaped += "\\t";
    } else if (c == '\r') {
      escaped += "\\r";
    } else if (c >= 0x20 && c < 0x7f) {
      escaped += static_cast<char>(c);
    } else if (const std::size_t n = c >= 0x80 ? utf8_sequence(message, i) : 0; n > 0) {
      escaped.append(message, i, n);  // a whole character in UTF-8
      i += n - 1;
    } else {  // a control character, or a byte that is not part of a UTF-8 character
      const char* hex = "0123456789abcdef";
      escaped += "\\x";
      escaped += hex[c >> 4];
      escaped += hex[c & 15];
    }
  }
  std::string out;
  std::size_t start = 0;
  while (start < escaped.size()) {
    std::size_t end = escaped.find(' ', start);
    if (end == std::string::npos) end = escaped.size();
    const std::size_t len = end - start;
    if (len > kLongest)
      out += escaped.substr(start, kHead) + "...(" + std::to_string(len - kHead - kTail) +
             " characters omitted)..." + escaped.substr(end - kTail, kTail);
    else
      out += escaped.substr(start, len);
    if (end < escaped.size()) out += ' ';
    start = end + 1;
  }
  return out;
}

}  // namespace micronas::cli
