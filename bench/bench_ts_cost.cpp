// Throughput of the time-series cost model: the expectations the differentiable search evaluates
// every step (expected latency and peak memory with their gradients, UCI-HAR space), building
// their tables once per (space, target), and the exact cost of one architecture.
#include <benchmark/benchmark.h>

#include "micronas/mcu.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_expected_cost.hpp"

namespace {

namespace ts = micronas::timeseries;

void BM_ts_expected_cost_step(benchmark::State& state) {
  const ts::Space har(128, 9, 6);
  const ts::ExpectedCost cost(har, micronas::mcu::load_target("stm32l552"));
  const ts::ArchDistribution d = ts::ArchDistribution::uniform(har);
  ts::ArchDistribution d_latency, d_memory;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cost.latency_ms(d, &d_latency));
    benchmark::DoNotOptimize(cost.peak_memory_bytes(d, &d_memory));
  }
  state.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ts_expected_cost_step)
    ->Name("BM_ts_expected_cost/latency_and_memory_with_gradients/uci_har/stm32l552");

void BM_ts_expected_cost_tables(benchmark::State& state) {
  const ts::Space har(128, 9, 6);
  const micronas::mcu::TargetProfile target = micronas::mcu::load_target("stm32l552");
  for (auto _ : state) {
    const ts::ExpectedCost cost(har, target);
    benchmark::DoNotOptimize(&cost);
  }
}
BENCHMARK(BM_ts_expected_cost_tables)->Name("BM_ts_expected_cost/tables/uci_har/stm32l552");

void BM_ts_cost_one_arch(benchmark::State& state) {
  const ts::Space har(128, 9, 6);
  const micronas::mcu::TargetProfile target = micronas::mcu::load_target("stm32l552");
  micronas::Rng rng(1);
  std::vector<ts::Arch> archs;
  for (int i = 0; i < 256; ++i) archs.push_back(har.sample(rng));
  std::size_t i = 0;
  for (auto _ : state) {
    const ts::CostEstimate c = ts::estimate_cost(target, ts::lower(har, archs[i]));
    benchmark::DoNotOptimize(c.network.cycles);
    if (++i == archs.size()) i = 0;
  }
  state.counters["archs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ts_cost_one_arch)->Name("BM_ts_cost/lower_and_estimate/uci_har/stm32l552");

}  // namespace

BENCHMARK_MAIN();
