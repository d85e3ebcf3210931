// A NAS-Bench-201 table (CSV with `index,arch,...` columns): the official index <-> string
// mapping, which follows no formula, and per-architecture numbers such as test accuracies.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "micronas/arch.hpp"
#include "micronas/graph.hpp"

namespace micronas {

class BenchmarkTable {
 public:
  // Reads the table; throws Error(kIoError) naming the file and line for a missing file, a
  // missing `index`/`arch` column, a malformed architecture or a truncated row.
  static BenchmarkTable load(const std::string& path);

  const std::string& path() const { return path_; }
  std::size_t size() const { return archs_.size(); }
  // Numeric columns other than index and arch, in file order.
  const std::vector<std::string>& columns() const { return columns_; }

  // Row of a cell, by arch or by official index.
  std::optional<std::size_t> find(const Arch& arch) const;
  std::optional<std::size_t> find_index(int index) const;

  int index(std::size_t row) const { return indices_.at(row); }
  const Arch& arch(std::size_t row) const { return archs_.at(row); }
  // Value of a numeric column; NaN when the column is absent or the field is empty/non-numeric.
  double value(std::size_t row, const std::string& column) const;

  // The test-accuracy column for a dataset in nb201.csv's naming: cifar10_test, ...
  static std::string accuracy_column(Dataset dataset);

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::vector<int> indices_;
  std::vector<Arch> archs_;
  std::vector<std::vector<double>> values_;  // [column][row]
  std::vector<int> row_of_cell_;             // cell id -> row or -1
  std::vector<int> row_of_index_;            // official index -> row or -1
};

}  // namespace micronas
