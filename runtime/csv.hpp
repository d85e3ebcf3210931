// A small RFC-4180 CSV reader (quoted fields, "" escapes, CRLF) for the benchmark tables and
// measured-operator files. Internal to the library.
#pragma once

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

// Reads a whole CSV file with a header line. Throws Error(kIoError) when the file cannot be
// read, is empty, or a row's field count differs from the header's (naming file and line).
CsvTable read_csv(const std::string& path);

}  // namespace micronas
