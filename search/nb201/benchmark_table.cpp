#include "micronas/benchmark_table.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "micronas/error.hpp"
#include "runtime/csv.hpp"

namespace micronas {

namespace {

// Whether a field is written as a number (even one out of range): a column with such a field is
// a column of numbers, one without is a column of text (e.g. NASLib's op-index tuples).
bool written_as_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// A field of a column of numbers: a finite number, or empty (or "nan") where the table has no
// value. Anything else, such as "50abc", " 50 " or an overflowing "1e400", is a malformed table,
// never a value that is quietly missing.
double table_value(const std::string& s, const std::string& where, const std::string& column) {
  if (s.empty() || s == "nan" || s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
    throw Error(Status::kIoError, where + ": column '" + column + "': '" + s +
                                      "' is not a finite number (an empty field means no value)");
  return v;
}

}  // namespace

BenchmarkTable BenchmarkTable::load(const std::string& path) {
  // NB201 has 15,625 cells; nb201.csv is about 5 MB. The bounds leave room for other tables of
  // the same form and stop a wrong file (or /dev/zero) long before memory runs out.
  CsvTable csv = read_csv(path, {256u << 20, 1'000'000, "an NB201 benchmark table"});
  int index_col = csv.require_column("index");
  int arch_col = csv.require_column("arch");

  BenchmarkTable t;
  t.path_ = path;
  std::vector<int> value_cols;
  for (std::size_t c = 0; c < csv.header.size(); ++c) {
    if (static_cast<int>(c) == index_col || static_cast<int>(c) == arch_col) continue;
    t.columns_.push_back(csv.header[c]);
    value_cols.push_back(static_cast<int>(c));
  }
  // Columns of text have no values (NaN throughout); see written_as_number.
  std::vector<bool> numeric(value_cols.size(), false);
  for (std::size_t k = 0; k < value_cols.size(); ++k)
    for (std::size_t r = 0; r < csv.rows.size() && !numeric[k]; ++r)
      numeric[k] = written_as_number(csv.rows[r][value_cols[k]]);
  t.values_.assign(value_cols.size(),
                   std::vector<double>(csv.rows.size(), std::numeric_limits<double>::quiet_NaN()));
  t.row_of_cell_.assign(kNumCells, -1);
  auto where = [&](std::size_t r) { return path + ":" + std::to_string(csv.lines[r]); };
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    long long index = csv.integer(r, index_col);
    if (index < 0 || index > 10'000'000)
      throw Error(Status::kIoError, path + ":" + std::to_string(csv.lines[r]) + ": index " +
                                        std::to_string(index) + " is out of range");
    Arch arch;
    try {
      arch = Arch::parse(csv.rows[r][arch_col]);
    } catch (const Error& e) {
      throw Error(Status::kIoError,
                  path + ":" + std::to_string(csv.lines[r]) + ": column 'arch': " + e.what());
    }
    t.indices_.push_back(static_cast<int>(index));
    t.archs_.push_back(arch);
    if (static_cast<std::size_t>(index) >= t.row_of_index_.size())
      t.row_of_index_.resize(index + 1, -1);
    if (t.row_of_index_[index] >= 0)
      throw Error(Status::kIoError, path + ":" + std::to_string(csv.lines[r]) + ": index " +
                                        std::to_string(index) + " appears twice");
    t.row_of_index_[index] = static_cast<int>(r);
    if (arch.is_cell()) {
      int& row = t.row_of_cell_[arch.cell_id()];
      if (row >= 0)
        throw Error(Status::kIoError, where(r) + ": the cell of index " + std::to_string(index) +
                                          " is already at line " + std::to_string(csv.lines[row]) +
                                          " (index " + std::to_string(t.indices_[row]) + ")");
      row = static_cast<int>(r);
    }
    for (std::size_t k = 0; k < value_cols.size(); ++k)
      if (numeric[k])
        t.values_[k][r] = table_value(csv.rows[r][value_cols[k]], where(r), t.columns_[k]);
  }
  return t;
}

std::optional<std::size_t> BenchmarkTable::find(const Arch& arch) const {
  if (!arch.is_cell()) return std::nullopt;
  int row = row_of_cell_[arch.cell_id()];
  if (row < 0) return std::nullopt;
  return static_cast<std::size_t>(row);
}

std::optional<std::size_t> BenchmarkTable::find_index(int index) const {
  if (index < 0 || static_cast<std::size_t>(index) >= row_of_index_.size()) return std::nullopt;
  int row = row_of_index_[index];
  if (row < 0) return std::nullopt;
  return static_cast<std::size_t>(row);
}

double BenchmarkTable::value(std::size_t row, const std::string& column) const {
  for (std::size_t k = 0; k < columns_.size(); ++k)
    if (columns_[k] == column) return values_[k].at(row);
  return std::numeric_limits<double>::quiet_NaN();
}

std::string BenchmarkTable::accuracy_column(Dataset dataset) {
  return std::string(dataset_name(dataset)) + "_test";
}

}  // namespace micronas
