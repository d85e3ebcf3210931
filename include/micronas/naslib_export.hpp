// Sweeps in NAS-Bench-Suite-Zero's JSON shape, the one NASLib's get_zc_benchmark_api() reads:
// {dataset: {"(i0, i1, i2, i3, i4, i5)": {"id": index, "val_accuracy": acc,
//                                           proxy: {"score": s, "time": t}, ...}}},
// keyed by NASLib's NB201 op-index tuple, so NASLib users load our sweeps as they load theirs.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "micronas/arch.hpp"
#include "micronas/benchmark_table.hpp"
#include "micronas/sweep.hpp"

namespace micronas {

// NASLib's op indices of a cell: ops numbered skip_connect 0, none 1, nor_conv_3x3 2,
// nor_conv_1x1 3, avg_pool_3x3 4; edges ordered 1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2 (not the
// string's order). Throws Error(kInvalidArgument) for a state with several ops on an edge.
std::array<int, kNumEdges> naslib_op_indices(const Arch& cell);
// The tuple as NASLib's JSON keys spell it: "(0, 2, 3, 2, 3, 1)".
std::string naslib_arch_key(const Arch& cell);

// The rows as NAS-Bench-Suite-Zero JSON for `dataset` (its name in NASLib: cifar10, cifar100,
// ImageNet16-120). Proxies, each with the row's seconds as "time": "tenas_ntk" (score −κ, so that
// higher predicts better, as NASLib's proxies are read), "tenas_linear_regions", "flops",
// "params", "mcu_latency" (score −latency in ms). "val_accuracy" is the table's
// `accuracy_column` (nb201.csv holds test accuracies) and "id" the NB201 index; both are left
// out without a table. Throws Error(kInvalidArgument) for an unknown accuracy column.
std::string naslib_zero_cost_json(const std::vector<SweepRow>& rows, Dataset dataset,
                                  const BenchmarkTable* table, const std::string& accuracy_column);

}  // namespace micronas
