// Expected latency, peak memory and flash of a time-series network under an ArchDistribution
// (timeseries_distribution.hpp), with their gradients with respect to every entry of the
// distribution: the cost terms of the differentiable search (King et al., §4-5).
//
// The random network draws every choice independently with the distribution's probabilities
// (each temporal branch on or off by itself; the configuration with all three off, which the
// space excludes, counts as a block with no branch conv and no adds, whose output width is still
// the block width). A cell's input channel count is then a random variable whose distribution
// is known exactly:
//   - the window's (1 channel) for the first cell;
//   - after a Time-Reduce cell, its width distribution;
//   - after a reducing Sensor-Fusion cell, its block-width distribution;
//   - after a non-reducing one, (1 - P(skip)) * its block-width distribution
//     + P(skip) * its own input's distribution (a skipped cell passes its input on).
// Every op's output width is a choice of its own cell, independent of its input width, so an
// op's expected cost is exact as a bilinear form w_out' T w_in, T[i][j] = the op's cost at
// Cout = the i-th width option, Cin = the j-th input channel count, weighted by the probability
// that the op exists:
//   - Time-Reduce conv: sum over kernels k of P(k) * w' T_k c_in;
//   - Sensor-Fusion cell (each term times 1 - P(skip) in a non-reducing cell):
//     bottleneck: n' T c_in (n: the bottleneck widths);
//     branch K: P(K on) * b' T_K n (b: the block widths);
//     the add of branch K to the running sum: P(K on) * P(an earlier branch on) * b' a;
//     residual conv: P(residual) * b' T_r c_in;
//     its add: P(residual) * P(any branch on) * b' a;
//   - head conv: T_h' c_in (Cout = classes); the global average pooling and softmax: constants.
// Latency: T = the deployed ops' cycles on the target (estimate_cost's per-op model, interpreter
// overhead included) in ms; the expected latency is the sum over ops. A conv's entry includes
// its batch-norm op (DEPTHWISE_CONV_2D), whose cost depends on Cout alone: T[i][j] = conv(i, j)
// + bn(i), so on distributions (input entries summing to 1) that term is w_out' bn, linear in
// the output-width distribution. Its gradient with respect to the input entries is then the
// constant bn term in every entry, which any parameterisation on the simplex (softmax) cancels. At
// a one-hot distribution it equals estimate_cost(...).network.latency_ms (up to rounding). Flash:
// the same sums with T = the deployed ops' bytes in the model file, plus the fixed part; at a
// one-hot distribution it equals estimate_cost(...).network.flash_bytes. Memory:
// T = the reference's per-op bytes (reference_memory_bytes in timeseries_cost.hpp); a branch conv
// also counts the running sum when an earlier branch is on (P(an earlier branch on)
// * b' s, s = the sum's bytes), the residual conv the block sum when any branch is on. The
// expected peak is the maximum over ops of their expected bytes (the published model's
// definition: the max is taken of the per-op expectations, not the expectation of the max);
// at a one-hot distribution it equals reference_peak_memory_bytes of that architecture. Every
// width enters through its distribution; nothing is an argmax (the published code takes one of
// the previous layer's widths, which has no gradient).
//
// Gradients are analytic partial derivatives with respect to each probability as a free
// variable (the search chains them through its softmax / sigmoid parameterisation): every
// kernel, width and bottleneck entry, each branch, residual and skip probability. The skip
// entry of a reducing cell (always 0) gets 0. The peak's gradient is that of the op attaining
// the maximum (the first one on ties): a subgradient of the max, exact wherever the maximising
// op is unique.
#pragma once

#include <array>
#include <vector>

#include "micronas/mcu.hpp"
#include "micronas/timeseries_distribution.hpp"
#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries {

class ExpectedCost {
 public:
  // Precomputes every op's latency and memory table for this space and target (a few thousand
  // op costs), so that each evaluation is a few hundred multiply-adds. Throws like estimate_cost.
  ExpectedCost(const Space& space, const mcu::TargetProfile& target,
               const mcu::EstimateOptions& options = {});

  // Expected latency in ms; `grad` (may be null) receives d latency / d entry, shaped like `d`.
  // Throws Error(kInvalidArgument) when `d`'s vectors do not have this space's sizes;
  // probabilities are taken as given (ArchDistribution::check validates them).
  double latency_ms(const ArchDistribution& d, ArchDistribution* grad = nullptr) const;
  // Expected peak memory in bytes (the reference's model); `grad` as above.
  double peak_memory_bytes(const ArchDistribution& d, ArchDistribution* grad = nullptr) const;
  // Expected flash of the deployed network in bytes (a sum over ops like the latency, plus the
  // model file's fixed part and the runtime's code); `grad` as above.
  double flash_bytes(const ArchDistribution& d, ArchDistribution* grad = nullptr) const;

 private:
  using Table = std::vector<double>;  // [output width option][input option], row-major
  // One cost (latency, memory or flash) of every op slot. Time-Reduce convs, bottlenecks, residuals
  // and the head conv read a cell input: their columns are channel_values_.
  struct Tables {
    std::vector<std::vector<Table>> time_conv;       // [time cell][kernel]
    std::vector<Table> bottleneck, residual;         // [sensor cell]
    std::vector<std::array<Table, 3>> branch;        // [sensor cell][branch]: columns bottlenecks
    std::vector<std::vector<double>> add, live_sum;  // [sensor cell][block width]
    std::vector<double> head_conv;                   // [channel value]
    std::vector<double> head_fixed;                  // the pooling and the softmax
  };
  // Sum (latency) or max (peak memory) over the op slots; gradients into `grad` when not null.
  double evaluate(const Tables& t, bool max, const ArchDistribution& d,
                  ArchDistribution* grad) const;
  // The value of every op slot; with `grad`, adds the gradient of slot `only` (-1: of all).
  void visit(const Tables& t, const ArchDistribution& d, int only, std::vector<double>* values,
             ArchDistribution* grad) const;
  void check_sizes(const ArchDistribution& d) const;

  Space space_;
  std::vector<int> channel_values_;  // every channel count a cell input can have, ascending
  // Index in channel_values_ of each width option.
  std::vector<int> time_index_, block_index_;
  int input_index_ = 0;  // of the window's single channel
  Tables latency_, memory_, flash_;
  double flash_fixed_bytes_ = 0;
};

}  // namespace micronas::timeseries
