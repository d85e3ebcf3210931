#include "micronas/naslib_export.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "micronas/error.hpp"

namespace micronas {
namespace {

// NASLib's op numbering (naslib/search_spaces/nasbench201/conversions.py).
int naslib_op(Op op) {
  switch (op) {
    case Op::kSkipConnect: return 0;
    case Op::kNone: return 1;
    case Op::kConv3x3: return 2;
    case Op::kConv1x1: return 3;
    case Op::kAvgPool3x3: return 4;
  }
  return -1;
}

// NASLib's edge order in terms of the string's edge numbers (0: 1<-0, 1: 2<-0, 2: 2<-1,
// 3: 3<-0, 4: 3<-1, 5: 3<-2).
constexpr std::array<int, kNumEdges> kNaslibEdges = {0, 1, 3, 2, 4, 5};

const char* naslib_dataset_name(Dataset d) {
  switch (d) {
    case Dataset::kCifar10: return "cifar10";
    case Dataset::kCifar100: return "cifar100";
    case Dataset::kImageNet16: return "ImageNet16-120";
  }
  return "?";
}

nlohmann::ordered_json proxy(double score, double seconds) {
  return {{"score", std::isfinite(score) ? nlohmann::ordered_json(score) : nullptr},
          {"time", seconds}};
}

}  // namespace

std::array<int, kNumEdges> naslib_op_indices(const Arch& cell) {
  if (!cell.is_cell())
    throw Error(Status::kInvalidArgument, "NASLib keys name single cells; '" + cell.to_string() +
                                              "' has several ops on an edge");
  std::array<int, kNumEdges> out{};
  for (int i = 0; i < kNumEdges; ++i) out[i] = naslib_op(cell.ops(kNaslibEdges[i]).front());
  return out;
}

std::string naslib_arch_key(const Arch& cell) {
  const std::array<int, kNumEdges> ops = naslib_op_indices(cell);
  std::string key = "(";
  for (int i = 0; i < kNumEdges; ++i) key += (i ? ", " : "") + std::to_string(ops[i]);
  return key + ")";
}

std::string naslib_zero_cost_json(const std::vector<SweepRow>& rows, Dataset dataset,
                                  const BenchmarkTable* table, const std::string& accuracy_column) {
  if (table) {
    const auto& columns = table->columns();
    if (std::find(columns.begin(), columns.end(), accuracy_column) == columns.end())
      throw Error(Status::kInvalidArgument, "the benchmark table " + table->path() +
                                                " has no column '" + accuracy_column + "'");
  }
  nlohmann::ordered_json archs = nlohmann::ordered_json::object();
  for (const SweepRow& row : rows) {
    nlohmann::ordered_json entry;
    if (table) {
      if (auto r = table->find(row.arch)) {
        entry["id"] = table->index(*r);
        const double acc = table->value(*r, accuracy_column);
        entry["val_accuracy"] = std::isfinite(acc) ? nlohmann::ordered_json(acc) : nullptr;
      }
    }
    const double seconds = row.ntk_seconds + row.lr_seconds;
    entry["tenas_ntk"] = proxy(-row.ntk_condition, row.ntk_seconds);
    entry["tenas_linear_regions"] = proxy(row.linear_regions, row.lr_seconds);
    entry["flops"] = proxy(row.flops_m, seconds);
    entry["params"] = proxy(row.params_m, seconds);
    entry["mcu_latency"] = proxy(-row.latency_ms, seconds);
    archs[naslib_arch_key(row.arch)] = entry;
  }
  nlohmann::ordered_json out;
  out[naslib_dataset_name(dataset)] = archs;
  return out.dump() + "\n";
}

}  // namespace micronas
