// A small RFC-4180 CSV reader and writer (quoted fields, "" escapes, CRLF) for the benchmark tables
// and measured-operator files. Internal to the library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micronas {

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() fields
  std::vector<int> lines;                      // 1-based file line of each row, for messages

  // Column position, or -1.
  int column(const std::string& name) const;
  // Column position; throws Error(kIoError) naming the file and the missing column.
  int require_column(const std::string& name) const;
  // Field as a number; throws Error(kIoError) naming file, line and column when not numeric.
  double number(std::size_t row, int column) const;
  long long integer(std::size_t row, int column) const;
};

// What a file of a given kind can legally hold: larger inputs are refused before they are read
// whole (so that /dev/zero or a wrong file cannot exhaust memory).
struct CsvLimits {
  std::uint64_t max_bytes;
  std::size_t max_rows;
  const char* what;  // "a benchmark table", for messages
};

// Reads a whole CSV file with a header line. Throws Error(kIoError) when the file cannot be
// read, is not a regular file or a pipe, exceeds the limits, is empty, or a row's field count
// differs from the header's (naming file and line).
CsvTable read_csv(const std::string& path, const CsvLimits& limits);
CsvTable parse_csv(const std::string& text, const std::string& path, const CsvLimits& limits);

// One record of a single line (no line breaks inside fields), RFC-4180 quoting. Throws
// Error(kParseError) for an unterminated quoted field.
std::vector<std::string> split_csv_record(const std::string& line);

// The one CSV writer: a field quoted when it holds a comma, a quote or a line break (quotes
// doubled), and a record of such fields ending in '\n'.
std::string csv_field(const std::string& text);
std::string csv_record(const std::vector<std::string>& fields);

}  // namespace micronas
