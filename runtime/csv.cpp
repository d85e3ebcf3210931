#include "runtime/csv.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "micronas/error.hpp"

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

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, 0, "cannot open file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, 0, "read error");

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

}  // namespace micronas
