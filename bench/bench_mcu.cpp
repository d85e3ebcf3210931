// Throughput of whole-network NB201 estimates: the O(edges) table and the layer-by-layer model.
// Reports architectures (cells) per second on one thread.
#include <benchmark/benchmark.h>

#include "micronas/mcu.hpp"

namespace {

using micronas::Arch;
using micronas::kNumCells;
using micronas::NetworkConfig;

void BM_mcu_estimate_table(benchmark::State& state) {
  const auto target = micronas::mcu::load_target("stm32f746");
  const micronas::mcu::Nb201CostTable table(target,
                                            NetworkConfig::nb201(micronas::Dataset::kCifar10));
  const std::vector<Arch> cells = micronas::all_cells();
  std::int64_t sum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    auto e = table.estimate(cells[i]);
    sum += e.cycles + e.peak_sram_bytes;
    if (++i == cells.size()) i = 0;
  }
  benchmark::DoNotOptimize(sum);
  state.counters["cells/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_mcu_estimate_table)->Name("BM_mcu_estimate/nb201_table/stm32f746");

void BM_mcu_estimate_layers(benchmark::State& state) {
  const auto target = micronas::mcu::load_target("stm32f746");
  const NetworkConfig config = NetworkConfig::nb201(micronas::Dataset::kCifar10);
  int id = 0;
  for (auto _ : state) {
    auto e = micronas::mcu::estimate_network(target, config, Arch::from_cell_id(id));
    benchmark::DoNotOptimize(e.cycles);
    id = (id + 1) % kNumCells;
  }
  state.counters["cells/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_mcu_estimate_layers)->Name("BM_mcu_estimate/layer_model/stm32f746");

}  // namespace

BENCHMARK_MAIN();
