// Trainable networks of the time-series space (timeseries_space.hpp) as training graphs
// (training_graph.hpp): the exact network of one architecture, and the supernet that mixes every
// architecture by an ArchDistribution (the reference's §3 weight sharing).
//
// Both use the same names, so the weights of an architecture are a slice of the supernet's:
//   conv "trI.conv_kK" (Time-Reduce kernel K), "sfI.bottleneck", "sfI.branchK", "sfI.residual",
//   "head.conv" (parameters NAME.weight [cout, cin, kh, kw] and NAME.bias [cout]); each cell conv
//   is followed by ReLU and batch norm "NAME.bn" (NAME.bn.gamma, NAME.bn.beta); the head conv by
//   ReLU, then global average pooling and log-softmax over the classes.
// Dropout2d after every cell draws from stream = the cell's index, so a one-hot supernet drops
// the same channels as the exact network.
//
// The supernet has the widest widths everywhere and these mixing inputs:
//   "trI.kernel" (one weight per kernel), "trI.width" (mask, max time width values),
//   "sfI.bottleneck" (mask), "sfI.branch" (P(on) of the 3, 5, 7 branches), "sfI.width" (mask),
//   "sfI.residual" (P(residual)), and in non-reducing cells "sfI.skip" ([P(skip), 1 - P(skip)]).
// A width mask holds P(width > c) for channel c. Time-Reduce cell: Σ_k P(k)·BN(ReLU(conv_k(x))),
// masked. Sensor-Fusion cell: bottleneck → mask; Σ_k P(on_k)·branch_k + P(res)·residual(x),
// masked; Dropout2d; in a non-reducing cell P(skip)·x + (1 - P(skip))·cell.
#pragma once

#include <vector>

#include "micronas/timeseries_distribution.hpp"
#include "micronas/timeseries_space.hpp"
#include "micronas/training_graph.hpp"

namespace micronas::timeseries {

struct NetworkOptions {
  double dropout = 0.3;  // Dropout2d after every cell, as in the reference
  // false: the network ends at the globally average-pooled class scores (the logits), as the
  // zero-cost proxies differentiate them (timeseries_proxies.hpp).
  bool log_softmax = true;
};

// The network of `arch` with its exact widths (throws like Space::check).
training::TrainingGraph exact_network(const Space& space, const Arch& arch,
                                      const NetworkOptions& options = {});
// The supernet of `space`.
training::TrainingGraph supernet(const Space& space, const NetworkOptions& options = {});
// The supernet's mixing values for a distribution (checked with ArchDistribution::check).
training::MixingValues supernet_mixing(const Space& space, const training::TrainingGraph& net,
                                       const ArchDistribution& distribution);
// The chain rule back through supernet_mixing: dL/d(distribution) from the gradients of the
// supernet's mixing inputs (TrainingExecutor::backward's dmixing). A width mask holds
// mask[c] = Σ_{i: width_i > c} p_i, so dL/dp_i = Σ_{c < width_i} dL/dmask[c]; the skip input
// [P(skip), 1 − P(skip)] gives dL/dP(skip) = dL/dm[0] − dL/dm[1]; kernel, branch and residual
// probabilities are mixing values themselves. A reducing cell's skip entry gets 0. Throws
// Error(kInvalidArgument) when `dmixing` is not shaped like the network's mixing inputs.
ArchDistribution supernet_mixing_backward(const Space& space, const training::TrainingGraph& net,
                                          const training::MixingGradients& dmixing);

// The parameters and running statistics of `exact` (an exact network) cut from the supernet's:
// every tensor of exact is the leading block of the supernet tensor with the same name.
void slice_supernet(const training::TrainingGraph& net, const std::vector<float>& params,
                    const std::vector<float>& state, const training::TrainingGraph& exact,
                    std::vector<float>* exact_params, std::vector<float>* exact_state);

}  // namespace micronas::timeseries
