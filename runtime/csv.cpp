#include "runtime/csv.hpp"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "micronas/error.hpp"
#include "runtime/file_io.hpp"

namespace micronas {
namespace {

[[noreturn]] void fail(const std::string& path, int line, const std::string& what) {
  std::ostringstream msg;
  msg << path;
  if (line > 0) msg << ":" << line;
  msg << ": " << what;
  throw Error(Status::kIoError, msg.str());
}

}  // namespace

int CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

int CsvTable::require_column(const std::string& name) const {
  int c = column(name);
  if (c < 0) fail(path, 1, "missing column '" + name + "'");
  return c;
}

double CsvTable::number(std::size_t row, int col) const {
  const std::string& s = rows.at(row).at(col);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE)
    fail(path, lines.at(row), "column '" + header.at(col) + "': '" + s + "' is not a number");
  return v;
}

long long CsvTable::integer(std::size_t row, int col) const {
  const std::string& s = rows.at(row).at(col);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE)
    fail(path, lines.at(row), "column '" + header.at(col) + "': '" + s + "' is not an integer");
  return v;
}

CsvTable read_csv(const std::string& path, const CsvLimits& limits) {
  const std::string text = read_input_file(path, limits.max_bytes, limits.what);
  return parse_csv(text, path, limits);
}

CsvTable parse_csv(const std::string& text, const std::string& path, const CsvLimits& limits) {
  CsvTable table;
  table.path = path;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1, record_line = 1;
  auto end_record = [&]() {
    record.push_back(field);
    field.clear();
    field_started = false;
    bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (table.header.empty()) {
        table.header = record;
      } else {
        if (record.size() != table.header.size())
          fail(path, record_line,
               "expected " + std::to_string(table.header.size()) + " fields, found " +
                   std::to_string(record.size()) + " (truncated or malformed row)");
        if (table.rows.size() >= limits.max_rows)
          fail(path, record_line,
               "more than " + std::to_string(limits.max_rows) + " rows, more than " + limits.what +
                   " can have");
        table.rows.push_back(record);
        table.lines.push_back(record_line);
      }
    }
    record.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\n') {
      end_record();
      record_line = ++line;
    } else if (c != '\r') {
      field += c;
      field_started = true;
    }
  }
  if (quoted) fail(path, record_line, "unterminated quoted field");
  if (field_started || !record.empty()) end_record();
  if (table.header.empty()) fail(path, 0, "empty file (no header line)");
  return table;
}

std::vector<std::string> split_csv_record(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, field_started = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
      field_started = false;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) throw Error(Status::kParseError, "unterminated quoted field");
  fields.push_back(field);
  return fields;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string csv_record(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
  return line + "\n";
}

}  // namespace micronas
