#include "cli_util.hpp"

#include <cctype>

#include "micronas/error.hpp"

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

}  // namespace micronas::cli
