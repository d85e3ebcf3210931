// Command-line options and JSON pieces shared by the search verbs (search, random-search):
// proxy settings, the microcontroller cost model, hard limits and the benchmark lookup.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "backend_options.hpp"
#include "micronas/benchmark_table.hpp"
#include "micronas/mcu.hpp"
#include "micronas/mcu_limits.hpp"
#include "micronas/ranking.hpp"
#include "micronas/score.hpp"
#include "search/search_json.hpp"

namespace micronas::cli {

struct ProxyCliOptions {
  std::string dataset = "cifar10", data = "synthetic", init = "released";
  std::uint64_t seed = 0;
  int batch = 72, repeats = 3;
  BackendCliOptions backend;
  void add_to(CLI::App* cmd);
  ScoreOptions to_score_options() const;  // also resolves the backend
};

struct CostCliOptions {
  std::string target = "stm32f746", runtime = "tflm", latency_table = "model";
  double flops_weight = 0, latency_weight = 0;
  McuLimits limits;
  void add_to(CLI::App* cmd);
  mcu::EstimateOptions to_estimate_options() const;
};

// The cell's row of the benchmark: official index and every numeric column; null when absent.
nlohmann::ordered_json benchmark_json(const BenchmarkTable* table, const Arch& cell);

}  // namespace micronas::cli
