// Bounded reading of text data files and strict number parsing, shared by the data readers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace micronas::detail {

// The whole file as text. Throws Error(kIoError) naming the file for a directory, a file that
// cannot be opened, one larger than `max_bytes` (checked while reading, so endless streams such as
// /dev/zero stop at the bound) and one holding a NUL byte (binary content, not text).
std::string read_text_file(const std::string& path, std::uint64_t max_bytes);

// The lines of `text` split at '\n', each without a trailing '\r'; a final newline does not start
// an extra line.
std::vector<std::string_view> split_lines(std::string_view text);

// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

enum class NumberKind { kOk, kMissing, kInvalid };
// Parses the whole token (no surrounding text) as a finite float in the C locale, independent of
// the process locale. "?" and "NaN" (any case) are kMissing; "inf", out-of-range values and
// anything else that is not a number are kInvalid.
NumberKind parse_float(std::string_view token, float& out);

// Parses the whole token as a decimal int; false for anything else.
bool parse_int(std::string_view token, int& out);

}  // namespace micronas::detail
