// Device memory of a CUDA executor, planned on the host before any of it is allocated: one
// allocation holds every activation, BN statistic, gradient buffer, the parameter gradients,
// J (fp32 and fp64), K, the eigenvalues, the eigensolver's workspace and the pattern hashes of
// one batch. The plan is a pure function of the graph and the request, unit-tested on the CPU
// (tests/test_cuda_host.cpp). The executor takes the block once, and again only for a larger
// batch, from its device context's cache of given-back blocks (device_context.hpp), so no
// evaluation loop calls cudaMalloc.
#pragma once

#include <cstdint>
#include <vector>

#include "micronas/graph.hpp"

namespace micronas::cuda {

// Every buffer starts at a multiple of this (cuBLAS and vector loads like 256-byte alignment).
constexpr std::int64_t kAlignment = 256;
inline std::int64_t align_up(std::int64_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

struct WorkspaceRequest {
  int batch = 1;                  // samples of a forward pass
  int cotangents = 1;             // cotangents of a backward pass (a Jacobian: the batch)
  bool input_gradient = false;    // the gradient of the network input is wanted (tests)
  std::int64_t solver_bytes = 0;  // cuSOLVER's workspace for a T x T eigenproblem
};

// Byte offsets into the one allocation; -1 where a buffer does not exist.
struct WorkspacePlan {
  WorkspaceRequest request;
  std::int64_t total_bytes = 0;
  std::int64_t params = -1;             // float [P]
  std::int64_t dlogits = -1;            // float [T, batch, classes]: the backward's seed
  std::vector<std::int64_t> values;     // per value: float [batch, shape]; value 0 = the input
  std::vector<std::int64_t> bn_mean;    // per layer: double [C] for BN layers
  std::vector<std::int64_t> bn_invstd;  // per layer: double [C] for BN layers
  std::vector<std::int64_t> grads;      // per value: float [T, batch, shape], shared by lifetime
  std::int64_t grad_bytes = 0;          // the gradient arena (peak of the live gradients)
  std::int64_t dparams = -1;            // float [T, P]
  std::int64_t jacobian_cols = 0;       // columns of J: the sizes of the `weight` parameters
  std::int64_t jacobian = -1;           // float [T, cols]
  std::int64_t jacobian64 = -1;         // double [T, cols]: what the fp64 Gram reads
  std::int64_t column_source = -1;      // int [cols]: J column j = dparams column source[j]
  std::int64_t gram = -1;               // double [T, T]
  std::int64_t eigenvalues = -1;        // double [T]
  std::int64_t solver = -1;             // solver_bytes
  std::int64_t flags = -1;              // int [2]: eigensolver info, non-finite K flag
  std::int64_t hashes = -1;             // uint64 [batch, 2]: pattern hashes of the batch
};

// Per layer: for a conv whose input is a ReLU output read by nothing else (and not the logits),
// that ReLU layer, whose backward the conv's data gradient then applies as a mask; else -1.
std::vector<int> fused_relu_layers(const Graph& graph);

// One step of the backward pass. The executor runs the steps in order (the layers in reverse);
// a layer is one step, except a node sum: one step per input that needs one, each scaled by its
// 1/divisor. The layer's output gradient is dy_scale times the gradient buffer of value `dy`:
// a BN or average-pool output read only by a node sum is a scaled alias, whose layer reads the
// node's gradient with the factor instead of a scaled copy (as the CPU does), so the sum has no
// step for it and it has no buffer of its own.
struct BackwardStep {
  int layer = -1;
  int input = 0;            // kWeightedSum: the input this step serves (-1: a sum of nothing)
  int dy = -1;              // the value whose gradient buffer holds the layer's output gradient
  double dy_scale = 1.0;    // ... times this factor (!= 1 for BN and average pool only)
  int dx = -1;              // the value whose gradient this step writes; -1: none is wanted
  bool accumulate = false;  // add into dx's gradient: another reader has written it
  int relu_mask = -1;       // kConv2d with a fused ReLU: the ReLU's input, whose sign masks dx
  bool params = false;      // this step also computes the layer's parameter gradients
};
// The steps of a backward pass from the logits: layers whose output no gradient reaches (and
// ReLUs fused into the conv that reads them) have none; the network input's gradient is
// computed only with input_gradient.
std::vector<BackwardStep> backward_schedule(const Graph& graph, const std::vector<int>& fused_relu,
                                            bool input_gradient);

// Per value: the backward_schedule gives value v a gradient buffer iff offset[v] >= 0 (a value
// that no step writes and that is not the logits, such as a scaled alias, has none). A buffer
// lives from the step that first writes it to the last step that reads it as dy; buffers never
// live at the same time share memory (first fit, in the order of the steps). `bytes_per_element` is
// what one element of a per-sample shape costs (T · batch · 4).
struct GradientLayout {
  std::vector<std::int64_t> offset;
  std::int64_t bytes = 0;
};
GradientLayout plan_gradients(const Graph& graph, const std::vector<int>& fused_relu,
                              bool input_gradient, std::int64_t bytes_per_element);

// Source index in the flat parameter vector of each Jacobian column: the parameters with
// is_weight(), in parameter order.
std::vector<int> jacobian_columns(const Graph& graph);

// The plan for `request`; throws Error(kInvalidArgument) for a batch or cotangent count < 1.
WorkspacePlan plan_workspace(const Graph& graph, const WorkspaceRequest& request);

}  // namespace micronas::cuda
