// CPU kernel throughput on NB201 shapes: conv2d (3x3, 1x1, stride-2 reduction) forward, backward
// data and backward weight, and training-mode batch norm. Reports GFLOP/s (2 flops per MAC) or
// GB/s for batch norm (memory bound: bytes read + written per pass).
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "micronas/random.hpp"

namespace micronas {
namespace {

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

// Args: batch, channels in, spatial size, channels out, kernel, stride (NB201: square, padding
// k / 2), or batch, channels in, h, w, channels out, kh, kw, sh, sw (time series: "same").
template <bool kTimeSeries>
cpu::ConvGeometry geometry(const benchmark::State& state) {
  if (kTimeSeries) {
    int a[8];
    for (int i = 0; i < 8; ++i) a[i] = static_cast<int>(state.range(i + 1));
    return same_conv_geometry(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
  }
  int cin = static_cast<int>(state.range(1)), hw = static_cast<int>(state.range(2));
  int cout = static_cast<int>(state.range(3)), k = static_cast<int>(state.range(4));
  int stride = static_cast<int>(state.range(5));
  return square_conv_geometry(cin, hw, hw, cout, k, stride, k / 2);
}

double conv_flops(const cpu::ConvGeometry& g, int batch) {
  return 2.0 * batch * g.cout * g.ho * g.wo * g.cin * g.kh * g.kw;
}

enum class ConvPass { kForward, kBackwardData, kBackwardWeight };

template <ConvPass pass, bool kTimeSeries = false>
void BM_conv2d(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  cpu::ConvGeometry g = geometry<kTimeSeries>(state);
  auto x = random_floats(std::size_t(batch) * g.cin * g.h * g.w, 1);
  auto w = random_floats(std::size_t(g.cout) * g.cin * g.kh * g.kw, 2);
  auto y = random_floats(std::size_t(batch) * g.cout * g.ho * g.wo, 3);
  std::vector<float> dw(w.size());
  for (auto _ : state) {
    if (pass == ConvPass::kForward) cpu::conv2d_forward(g, batch, x.data(), w.data(), y.data());
    if (pass == ConvPass::kBackwardData)
      cpu::conv2d_backward_data<float>(g, 1, batch, y.data(), w.data(), nullptr, x.data(), false);
    if (pass == ConvPass::kBackwardWeight)
      cpu::conv2d_backward_weight<float>(g, 1, batch, y.data(), x.data(), nullptr, dw.data(), 0);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(g, batch) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// NB201 shapes: NTK net (C = 3, 6, 12, batch 72) and evaluation net (C = 16, 32, 64, batch 64).
void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "cin", "hw", "cout", "k", "stride"});
  for (auto [c, hw] : {std::pair{3, 32}, {6, 16}, {12, 8}}) {
    b->Args({72, c, hw, c, 3, 1});
    b->Args({72, c, hw, c, 1, 1});
  }
  for (auto [c, hw] : {std::pair{16, 32}, {32, 16}, {64, 8}}) {
    b->Args({64, c, hw, c, 3, 1});
    b->Args({64, c, hw, c, 1, 1});
  }
  b->Args({64, 16, 32, 32, 3, 2});  // reduction conv_a
  b->Args({64, 32, 16, 64, 3, 2});
}

BENCHMARK(BM_conv2d<ConvPass::kForward>)->Name("BM_conv2d_forward/cpu")->Apply(conv_shapes);
BENCHMARK(BM_conv2d<ConvPass::kBackwardData>)
    ->Name("BM_conv2d_backward_data/cpu")
    ->Apply(conv_shapes);
BENCHMARK(BM_conv2d<ConvPass::kBackwardWeight>)
    ->Name("BM_conv2d_backward_weight/cpu")
    ->Apply(conv_shapes);

// The UCI-HAR supernet's (128 x 9 window, batch 64) conv shapes: a Time-Reduce conv, a
// Sensor-Fusion bottleneck and its 64-channel temporal branches on the 16 x 5 plane.
void ts_conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "cin", "h", "w", "cout", "kh", "kw", "sh", "sw"});
  b->Args({64, 16, 32, 9, 16, 5, 1, 2, 1});
  b->Args({64, 16, 16, 9, 64, 1, 9, 1, 2});
  b->Args({64, 64, 16, 5, 64, 1, 5, 1, 1});  // the non-reducing cells' bottleneck
  for (int k : {3, 5, 7}) b->Args({64, 64, 16, 5, 64, k, 1, 1, 1});
  for (int batch : {8, 16, 32}) b->Args({batch, 32, 25, 3, 32, 5, 1, 1, 1});
}

BENCHMARK(BM_conv2d<ConvPass::kForward, true>)
    ->Name("BM_conv2d_forward/cpu/ts")
    ->Apply(ts_conv_shapes);
BENCHMARK(BM_conv2d<ConvPass::kBackwardData, true>)
    ->Name("BM_conv2d_backward_data/cpu/ts")
    ->Apply(ts_conv_shapes);
BENCHMARK(BM_conv2d<ConvPass::kBackwardWeight, true>)
    ->Name("BM_conv2d_backward_weight/cpu/ts")
    ->Apply(ts_conv_shapes);

// The training engine's grouped algorithms (its defaults for these convs): forward, and
// backward (both gradients; compare with the sum of the direct data and weight gradients'
// times), on the time-series geometry arguments. GFLOP/s counts the direct convolution's flops,
// so for Winograd it is an effective rate.
template <bool backward, auto kept_size, auto forward_pass, auto backward_pass>
void BM_grouped(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const cpu::ConvGeometry g = geometry<true>(state);
  auto x = random_floats(std::size_t(batch) * g.cin * g.h * g.w, 1);
  auto w = random_floats(std::size_t(g.cout) * g.cin * g.kh * g.kw, 2);
  auto y = random_floats(std::size_t(batch) * g.cout * g.ho * g.wo, 3);
  std::vector<float> kept(kept_size(g, batch)), dx(x.size()), dw(w.size());
  forward_pass(g, batch, x.data(), w.data(), y.data(), kept.data());
  for (auto _ : state) {
    if (backward)
      backward_pass(g, batch, y.data(), kept.data(), w.data(), dx.data(), false, dw.data());
    else
      forward_pass(g, batch, x.data(), w.data(), y.data(), kept.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(g, batch) * (backward ? 2 : 1) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Winograd: the 64-channel temporal branches above, and BasicMotions' (25 x 3 after two
// Time-Reduce cells) at the batches ts-train uses.
void winograd_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "cin", "h", "w", "cout", "kh", "kw", "sh", "sw"});
  for (int k : {3, 5, 7}) b->Args({64, 64, 16, 5, 64, k, 1, 1, 1});
  for (int batch : {8, 16, 32}) b->Args({batch, 32, 25, 3, 32, 5, 1, 1, 1});
}

// Lowered: the Sensor-Fusion bottlenecks.
void lowered_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "cin", "h", "w", "cout", "kh", "kw", "sh", "sw"});
  b->Args({64, 16, 16, 9, 64, 1, 9, 1, 2});
  b->Args({64, 64, 16, 5, 64, 1, 5, 1, 1});
}

template <bool backward>
void BM_winograd(benchmark::State& state) {
  BM_grouped<backward, cpu::winograd_input_size<float>, cpu::winograd_forward<float>,
             cpu::winograd_backward<float>>(state);
}
template <bool backward>
void BM_lowered(benchmark::State& state) {
  BM_grouped<backward, cpu::lowered_input_size<float>, cpu::lowered_conv_forward<float>,
             cpu::lowered_conv_backward<float>>(state);
}

BENCHMARK(BM_winograd<false>)->Name("BM_winograd_forward/cpu/ts")->Apply(winograd_shapes);
BENCHMARK(BM_winograd<true>)->Name("BM_winograd_backward/cpu/ts")->Apply(winograd_shapes);
BENCHMARK(BM_lowered<false>)->Name("BM_lowered_forward/cpu/ts")->Apply(lowered_shapes);
BENCHMARK(BM_lowered<true>)->Name("BM_lowered_backward/cpu/ts")->Apply(lowered_shapes);

template <bool backward>
void BM_batch_norm(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0)), c = static_cast<int>(state.range(1));
  const int plane = static_cast<int>(state.range(2) * state.range(2));
  const std::size_t n = std::size_t(batch) * c * plane;
  auto x = random_floats(n, 1), dy = random_floats(n, 2);
  std::vector<float> y(n), gamma(c, 1.0f), beta(c, 0.0f), dparams(2 * c);
  std::vector<double> mean(c), invstd(c);
  cpu::batch_norm_forward(batch, c, plane, x.data(), gamma.data(), beta.data(), 1e-5, y.data(),
                          mean.data(), invstd.data());
  for (auto _ : state) {
    if (backward)
      cpu::batch_norm_backward(1, batch, c, plane, dy.data(), 1.0, x.data(), mean.data(),
                               invstd.data(), gamma.data(), y.data(), false, dparams.data(),
                               dparams.data() + c, 0);
    else
      cpu::batch_norm_forward(batch, c, plane, x.data(), gamma.data(), beta.data(), 1e-5, y.data(),
                              mean.data(), invstd.data());
    benchmark::ClobberMemory();
  }
  // Forward reads x twice (mean, variance) and once more to write y; backward reads dy and x
  // twice (sums, then dx) and writes dx.
  double bytes = (backward ? 5.0 : 4.0) * n * sizeof(float);
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void bn_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "c", "hw"});
  b->Args({72, 3, 32})->Args({72, 12, 8})->Args({64, 16, 32})->Args({64, 64, 8});
}
BENCHMARK(BM_batch_norm<false>)->Name("BM_batch_norm_forward/cpu")->Apply(bn_shapes);
BENCHMARK(BM_batch_norm<true>)->Name("BM_batch_norm_backward/cpu")->Apply(bn_shapes);

}  // namespace
}  // namespace micronas

BENCHMARK_MAIN();
