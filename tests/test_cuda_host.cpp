// Host-side logic of the CUDA backend, tested without a GPU: error wording, launch geometry and
// the workspace plan (buffers disjoint and aligned, gradient buffers shared only between values
// whose gradients are never live at the same time).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/error_text.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/workspace.hpp"
#include "micronas/error.hpp"
#include "micronas/graph.hpp"

namespace micronas::cuda {
namespace {

const char* kMixed =
    "|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1/avg_pool_3x3~0|none~1|+|"
    "skip_connect/nor_conv_1x1/nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|";

std::vector<Graph> sample_graphs() {
  std::vector<Graph> graphs;
  const NetworkConfig ntk = NetworkConfig::ntk(Dataset::kCifar10);
  graphs.push_back(build_graph(ntk, Arch::parse("supernet")));
  graphs.push_back(build_graph(ntk, Arch::parse(kMixed)));
  graphs.push_back(build_graph(ntk, Arch::from_cell_id(1234)));
  graphs.push_back(build_graph(NetworkConfig::nb201(Dataset::kCifar100), Arch::from_cell_id(77)));
  graphs.push_back(
      build_graph(NetworkConfig::linear_regions(Dataset::kCifar10), Arch::parse("supernet-none")));
  graphs.push_back(
      build_graph(NetworkConfig::ntk(Dataset::kImageNet16), Arch::from_cell_id(15624)));
  return graphs;
}

TEST(CudaErrorText, FormatsBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(std::int64_t{3} << 30), "3.00 GiB");
  EXPECT_EQ(format_bytes(std::int64_t{5} << 40), "5.00 TiB");
}

TEST(CudaErrorText, NamesTheCallAndTheStatus) {
  const std::string m = call_failure_message("cudaMemcpyAsync(dst, src, n, kind, stream)", "CUDA",
                                             1, "cudaErrorInvalidValue", "invalid argument");
  EXPECT_EQ(m,
            "cudaMemcpyAsync(dst, src, n, kind, stream) failed: CUDA status 1 "
            "cudaErrorInvalidValue (invalid argument)");
  // A library whose status has a name but no separate description.
  EXPECT_EQ(
      call_failure_message("cublasDsyrk(...)", "cuBLAS", 7, "CUBLAS_STATUS_INVALID_VALUE", ""),
      "cublasDsyrk(...) failed: cuBLAS status 7 CUBLAS_STATUS_INVALID_VALUE");
}

TEST(CudaErrorText, OutOfMemoryNamesNeededAndFreeBytes) {
  const std::string m =
      out_of_memory_message("the CUDA workspace of a batch of 128", 0, std::int64_t{3} << 29,
                            std::int64_t{1} << 29, std::int64_t{80} << 30);
  EXPECT_EQ(m,
            "cannot allocate 1.50 GiB (1610612736 bytes) for the CUDA workspace of a batch of 128 "
            "on cuda:0: 512.00 MiB free of 80.00 GiB");
}

TEST(CudaLaunch, ElementwiseCoversEveryElementPerCotangent) {
  Launch l = elementwise_launch(1000, 7);
  EXPECT_EQ(l.block, 256u);
  EXPECT_EQ(l.grid_x, 4u);  // 4 x 256 >= 1000
  EXPECT_EQ(l.grid_y, 7u);
  l = elementwise_launch(0);
  EXPECT_EQ(l.grid_x, 1u);  // a launch always has a block; kernels bound-check
  // Beyond the cap a grid-stride loop covers the rest.
  l = elementwise_launch(std::int64_t{1} << 40);
  EXPECT_EQ(l.grid_x, static_cast<unsigned>(kMaxGridX));
  l = elementwise_launch(257, 1, 128);
  EXPECT_EQ(l.grid_x, 3u);
}

TEST(CudaLaunch, RejectsImpossibleConfigurations) {
  EXPECT_THROW(elementwise_launch(10, 0), Error);
  EXPECT_THROW(elementwise_launch(10, kMaxGridY + 1), Error);
  EXPECT_THROW(elementwise_launch(10, 1, 100), Error);   // not a multiple of a warp
  EXPECT_THROW(elementwise_launch(10, 1, 2048), Error);  // above the block limit
  EXPECT_THROW(elementwise_launch(-1), Error);
  EXPECT_THROW(reduction_launch(0), Error);
  try {
    elementwise_launch(10, 70000);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("70000 cotangents"), std::string::npos);
  }
}

TEST(CudaLaunch, ReductionBlocks) {
  EXPECT_EQ(reduction_block(1), 32);
  EXPECT_EQ(reduction_block(33), 64);
  EXPECT_EQ(reduction_block(256), 256);
  EXPECT_EQ(reduction_block(1 << 20), 1024);
  Launch l = reduction_launch(12, 128, 512);
  EXPECT_EQ(l.grid_x, 12u);
  EXPECT_EQ(l.grid_y, 128u);
  EXPECT_EQ(l.block, 512u);
}

// [offset, offset + bytes) of every fixed buffer of a plan (gradients excluded).
std::vector<std::pair<std::int64_t, std::int64_t>> fixed_buffers(const Graph& g,
                                                                 const WorkspacePlan& p) {
  const std::int64_t N = p.request.batch, T = p.request.cotangents, P = g.num_params;
  std::vector<std::pair<std::int64_t, std::int64_t>> b;
  b.push_back({p.params, P * 4});
  b.push_back({p.dlogits, T * N * g.values[g.logits].numel() * 4});
  for (std::size_t v = 0; v < g.values.size(); ++v)
    b.push_back({p.values[v], N * g.values[v].numel() * 4});
  for (std::size_t li = 0; li < g.layers.size(); ++li) {
    if (g.layers[li].kind != LayerKind::kBatchNorm) continue;
    b.push_back({p.bn_mean[li], g.values[g.layers[li].output].c * 8});
    b.push_back({p.bn_invstd[li], g.values[g.layers[li].output].c * 8});
  }
  b.push_back({p.dparams, T * P * 4});
  b.push_back({p.jacobian, T * p.jacobian_cols * 4});
  b.push_back({p.jacobian64, T * p.jacobian_cols * 8});
  b.push_back({p.column_source, p.jacobian_cols * 4});
  b.push_back({p.gram, T * T * 8});
  b.push_back({p.eigenvalues, T * 8});
  b.push_back({p.solver, p.request.solver_bytes});
  b.push_back({p.flags, 8});
  b.push_back({p.hashes, N * 16});
  return b;
}

TEST(CudaWorkspace, FixedBuffersAreAlignedDisjointAndInside) {
  for (const Graph& g : sample_graphs()) {
    WorkspaceRequest r;
    r.batch = 24;
    r.cotangents = 16;
    r.solver_bytes = 12345;
    const WorkspacePlan p = plan_workspace(g, r);
    auto b = fixed_buffers(g, p);
    // The gradient arena is one more buffer.
    std::int64_t arena_lo = -1;
    for (std::int64_t o : p.grads)
      if (o >= 0) arena_lo = arena_lo < 0 ? o : std::min(arena_lo, o);
    ASSERT_GE(arena_lo, 0);
    b.push_back({arena_lo, p.grad_bytes});
    std::sort(b.begin(), b.end());
    for (std::size_t i = 0; i < b.size(); ++i) {
      EXPECT_GE(b[i].first, 0);
      EXPECT_EQ(b[i].first % kAlignment, 0) << i;
      EXPECT_LE(b[i].first + b[i].second, p.total_bytes);
      if (i > 0) {
        EXPECT_LE(b[i - 1].first + b[i - 1].second, b[i].first) << i;
      }
    }
    std::int64_t weights = 0;
    for (const Parameter& q : g.params)
      if (q.is_weight()) weights += q.size;
    EXPECT_EQ(p.jacobian_cols, weights);
    EXPECT_EQ(static_cast<std::int64_t>(jacobian_columns(g).size()), weights);
  }
}

// Step of the reverse walk at which layer li runs its backward.
int step_of(const Graph& g, std::size_t li) { return static_cast<int>(g.layers.size() - 1 - li); }

TEST(CudaWorkspace, GradientBuffersOverlapOnlyWhenNeverLiveTogether) {
  for (const Graph& g : sample_graphs()) {
    for (bool input_gradient : {false, true}) {
      const std::int64_t per_element = 8 * 8 * 4;  // T = N = 8, float
      const std::vector<int> fused = fused_relu_layers(g);
      const GradientLayout lay = plan_gradients(g, fused, input_gradient, per_element);
      // Lifetimes recomputed from the graph: a value's gradient is born at the backward of its
      // last reader (the first one the reverse walk meets) and dies after its producer's.
      const int L = static_cast<int>(g.layers.size());
      std::vector<int> born(g.values.size(), -2), dies(g.values.size(), L);
      born[g.logits] = -1;
      for (std::size_t li = g.layers.size(); li-- > 0;) {
        const Layer& l = g.layers[li];
        if (born[l.output] == -2) continue;
        dies[l.output] = step_of(g, li);
        std::vector<int> targets = l.inputs;
        if (l.kind == LayerKind::kConv2d && fused[li] >= 0)
          targets = {g.layers[fused[li]].inputs[0]};
        for (int v : targets)
          if ((v != 0 || input_gradient) && born[v] == -2) born[v] = step_of(g, li);
      }
      for (std::size_t v = 0; v < g.values.size(); ++v) {
        EXPECT_EQ(lay.offset[v] >= 0, born[v] != -2) << "value " << v;
        if (lay.offset[v] >= 0) {
          EXPECT_LE(lay.offset[v] + g.values[v].numel() * per_element, lay.bytes);
        }
      }
      EXPECT_EQ(lay.offset[0] >= 0, input_gradient);
      for (std::size_t a = 0; a < g.values.size(); ++a) {
        for (std::size_t b = a + 1; b < g.values.size(); ++b) {
          if (lay.offset[a] < 0 || lay.offset[b] < 0) continue;
          const bool live_together = born[a] <= dies[b] && born[b] <= dies[a];
          const bool overlap = lay.offset[a] < lay.offset[b] + g.values[b].numel() * per_element &&
                               lay.offset[b] < lay.offset[a] + g.values[a].numel() * per_element;
          EXPECT_FALSE(live_together && overlap) << "values " << a << " and " << b;
        }
      }
      // Sharing pays: the arena is smaller than one buffer per value.
      std::int64_t separate = 0;
      for (std::size_t v = 0; v < g.values.size(); ++v)
        if (lay.offset[v] >= 0) separate += align_up(g.values[v].numel() * per_element);
      EXPECT_LE(lay.bytes, separate);
    }
  }
}

TEST(CudaWorkspace, FusedReluOutputsGetNoGradient) {
  const Graph g = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse("supernet"));
  const std::vector<int> fused = fused_relu_layers(g);
  const GradientLayout lay = plan_gradients(g, fused, false, 4);
  int count = 0;
  for (std::size_t li = 0; li < g.layers.size(); ++li) {
    if (fused[li] < 0) continue;
    ++count;
    EXPECT_EQ(g.layers[li].kind, LayerKind::kConv2d);
    EXPECT_EQ(g.layers[fused[li]].kind, LayerKind::kReLU);
    EXPECT_EQ(lay.offset[g.layers[fused[li]].output], -1);
  }
  EXPECT_GT(count, 0);  // NB201's ReLU-conv-BN ops
}

TEST(CudaWorkspace, GrowsWithBatchAndRejectsEmptyRequests) {
  const Graph g = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kMixed));
  WorkspaceRequest small, large;
  small.batch = small.cotangents = 8;
  large.batch = large.cotangents = 64;
  EXPECT_LT(plan_workspace(g, small).total_bytes, plan_workspace(g, large).total_bytes);
  WorkspaceRequest bad;
  bad.batch = 0;
  EXPECT_THROW(plan_workspace(g, bad), Error);
  bad.batch = 1;
  bad.cotangents = 0;
  EXPECT_THROW(plan_workspace(g, bad), Error);
}

}  // namespace
}  // namespace micronas::cuda
