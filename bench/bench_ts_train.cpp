// One training step of the UCI-HAR-shaped time-series supernet (window 128 x 9, 6 classes, the
// reference's widths, uniform distribution, batch 64, Dropout2d 0.3): forward, NLL, backward to
// the parameters and mixing inputs, Adam update. bench/compare_ts_train_pytorch.py runs the same
// step in PyTorch beside it. Counters: samples/s and the forward MACs per sample. The branch
// convs run by Winograd along time and the sensor convs as lowered products (the default,
// /fast), or every conv on the direct kernels (/direct).
#include <benchmark/benchmark.h>

#include <vector>

#include "micronas/optimizer.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/training_graph.hpp"

namespace micronas {
namespace {

void BM_ts_train_step(benchmark::State& state, bool fast) {
  const int batch = static_cast<int>(state.range(0));
  const timeseries::Space space(128, 9, 6);
  const training::TrainingGraph g = timeseries::supernet(space);
  const training::MixingValues mixing =
      timeseries::supernet_mixing(space, g, timeseries::ArchDistribution::uniform(space));
  std::vector<float> params = g.initial_parameters(1), running = g.initial_state();
  std::vector<float> x(static_cast<std::size_t>(batch) * 128 * 9), grads(params.size());
  Rng rng(2);
  for (float& v : x) v = static_cast<float>(rng.normal());
  std::vector<int> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = i % 6;
  training::TrainingExecutor<float> ex(g);
  training::Adam adam(g.parameter_count(), {});
  std::vector<float> dout(static_cast<std::size_t>(batch) * 6);
  training::MixingGradients dmixing;
  std::uint64_t step = 0;
  const auto train_step = [&] {
    training::ExecutionOptions o;
    o.dropout_seed = step++;
    o.fast_paths = fast;
    const std::vector<float>& out =
        ex.forward(params.data(), running.data(), mixing, x.data(), batch, o);
    training::nll_loss<float>(batch, 6, out.data(), labels.data(), dout.data());
    ex.backward(params.data(), mixing, dout.data(), grads.data(), &dmixing);
    adam.step(params.data(), grads.data(), 1e-3);
    benchmark::DoNotOptimize(params.data());
  };
  // One untimed step first, as training runs many: the first one allocates the activations and
  // gradients and faults their pages in (about a fifth of its time), every later one reuses them.
  train_step();
  for (auto _ : state) train_step();
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * batch,
                                                   benchmark::Counter::kIsRate);
  state.counters["MACs/sample"] = static_cast<double>(g.macs());
}
// Named BM_ts_train_step/<convs>/uci_har_supernet/64.
BENCHMARK_CAPTURE(BM_ts_train_step, fast, true)
    ->Name("BM_ts_train_step/fast/uci_har_supernet")
    ->Arg(64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ts_train_step, direct, false)
    ->Name("BM_ts_train_step/direct/uci_har_supernet")
    ->Arg(64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace micronas

BENCHMARK_MAIN();
