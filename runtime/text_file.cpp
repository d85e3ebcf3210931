#include "runtime/text_file.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "micronas/error.hpp"

namespace micronas::detail {

std::string read_text_file(const std::string& path, std::uint64_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(Status::kIoError, path + ": is a directory, not a data file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Status::kIoError, path + ": cannot open file");
  std::string text;
  char buf[1 << 16];
  // Read in chunks rather than by file size: character devices and pipes report no size.
  while (in) {
    in.read(buf, sizeof buf);
    const std::size_t got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    for (std::size_t i = 0; i < got; ++i) {
      if (buf[i] == '\0')
        throw Error(Status::kIoError, path + ": NUL byte at byte " +
                                          std::to_string(text.size() + i + 1) +
                                          ": binary content, not a text file");
    }
    if (text.size() + got > max_bytes)
      throw Error(Status::kIoError,
                  path + ": larger than the limit of " + std::to_string(max_bytes) + " bytes");
    text.append(buf, got);
  }
  if (in.bad()) throw Error(Status::kIoError, path + ": read failed");
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

NumberKind parse_float(std::string_view token, float& out) {
  token = trim(token);
  if (token == "?") return NumberKind::kMissing;
  if (token.size() == 3 && (token[0] == 'n' || token[0] == 'N') &&
      (token[1] == 'a' || token[1] == 'A') && (token[2] == 'n' || token[2] == 'N'))
    return NumberKind::kMissing;
  // from_chars rejects a leading '+', which some writers emit.
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return NumberKind::kInvalid;
  float v = 0.0f;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || end != token.data() + token.size() || !std::isfinite(v))
    return NumberKind::kInvalid;
  out = v;
  return NumberKind::kOk;
}

bool parse_int(std::string_view token, int& out) {
  token = trim(token);
  if (token.empty()) return false;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
  return ec == std::errc() && end == token.data() + token.size();
}

}  // namespace micronas::detail
