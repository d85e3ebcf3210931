// Host-side logic of the CUDA backend, tested without a GPU: error wording, launch geometry, the
// workspace plan (buffers disjoint and aligned, gradient buffers shared only between values whose
// gradients are never live at the same time), and the per-element arithmetic the layer kernels
// run (kernels/cuda/layer_math.hpp), here on the CPU: against the double-precision oracles and,
// for the forward, bit for bit against the CPU kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cuda/error_text.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/layer_math.hpp"
#include "kernels/cuda/workspace.hpp"
#include "kernels/reference/reference_kernels.hpp"
#include "micronas/error.hpp"
#include "micronas/graph.hpp"
#include "micronas/network.hpp"
#include "tests/test_util.hpp"

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

// The layer that produces value v.
int step_producer(const Graph& g, int v) {
  for (std::size_t li = 0; li < g.layers.size(); ++li)
    if (g.layers[li].output == v) return static_cast<int>(li);
  return -1;
}

TEST(CudaWorkspace, GradientBuffersOverlapOnlyWhenNeverLiveTogether) {
  for (const Graph& g : sample_graphs()) {
    for (bool input_gradient : {false, true}) {
      const std::int64_t per_element = 8 * 8 * 4;  // T = N = 8, float
      const std::vector<int> fused = fused_relu_layers(g);
      const GradientLayout lay = plan_gradients(g, fused, input_gradient, per_element);
      const std::vector<BackwardStep> steps = backward_schedule(g, fused, input_gradient);
      // Lifetimes from the schedule: a buffer is born at the first step that writes it (the
      // logits' before the first step) and dies after the last step that reads it.
      const int end = static_cast<int>(steps.size());
      std::vector<int> born(g.values.size(), -2), dies(g.values.size(), end);
      born[g.logits] = -1;
      for (int i = 0; i < end; ++i) {
        const BackwardStep& st = steps[i];
        if (st.dx >= 0 && born[st.dx] == -2) born[st.dx] = i;
        dies[st.dy] = i;
        ASSERT_NE(born[st.dy], -2) << "step " << i << " reads a gradient no step wrote";
        ASSERT_LE(born[st.dy], i);
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

// A BN or average-pool output read only by a node sum is a scaled alias: no buffer, no step of
// the sum for it, and its layer reads the node's gradient times 1/k.
TEST(CudaWorkspace, ScaledAliasesReadTheNodeGradient) {
  const Graph g = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse("supernet"));
  const std::vector<int> fused = fused_relu_layers(g);
  const std::vector<BackwardStep> steps = backward_schedule(g, fused, false);
  const GradientLayout lay = plan_gradients(g, fused, false, 4);
  int aliases = 0;
  for (const BackwardStep& st : steps) {
    const Layer& l = g.layers[st.layer];
    if (st.dy == l.output) {
      EXPECT_EQ(st.dy_scale, 1.0);
      continue;
    }
    ++aliases;
    EXPECT_TRUE(l.kind == LayerKind::kBatchNorm || l.kind == LayerKind::kAvgPool);
    EXPECT_EQ(lay.offset[l.output], -1);
    EXPECT_EQ(g.layers[step_producer(g, st.dy)].kind, LayerKind::kWeightedSum);
    EXPECT_GT(st.dy_scale, 0.0);  // 1/k: 1 for a single-op edge or a residual sum
    EXPECT_LE(st.dy_scale, 1.0);
  }
  EXPECT_GT(aliases, 10);  // every mixed edge's BN and pool outputs
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

// --- The layer arithmetic of the kernels, run on the CPU ---

using reference::Vec;

Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

// max |got − want| / max(max |want|, floor).
double rel_error(const std::vector<float>& got, const Vec& want, double floor = 1e-30) {
  double diff = 0, scale = floor;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return got.size() == want.size() ? diff / scale : 1e30;
}

std::size_t differing(const std::vector<float>& a, const std::vector<float>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return a.size() == b.size() ? n : a.size() + b.size();
}

template <int K>
void weight_gradient(const ConvGeometry& g, int batch, const float* dy, const float* x,
                     std::vector<float>* dw) {
  for (int co = 0; co < g.cout; ++co) {
    for (int ci = 0; ci < g.cin; ++ci) {
      float acc[K * K] = {};
      for (std::int64_t p = 0; p < std::int64_t{batch} * g.ho * g.wo; ++p)
        conv_weight_contribution<K, K>(g, p, co, ci, dy, x, acc);
      for (int j = 0; j < K * K; ++j) (*dw)[(co * g.cin + ci) * K * K + j] = acc[j];
    }
  }
}

TEST(CudaLayerMath, ConvolutionMatchesOracleAndCpuForward) {
  struct Case {
    int batch, cin, h, w, cout, k, stride, pad;
  };
  const Case cases[] = {{3, 3, 8, 8, 4, 3, 1, 1},  {2, 5, 7, 7, 3, 1, 1, 0},
                        {2, 4, 8, 8, 6, 3, 2, 1},  {2, 3, 7, 9, 2, 3, 2, 1},
                        {3, 2, 6, 6, 4, 1, 2, 0},  {4, 3, 16, 16, 6, 3, 2, 1},
                        {2, 12, 8, 8, 12, 3, 1, 1}};
  std::uint64_t seed = 100;
  for (const Case& c : cases) {
    const reference::ConvShape s{c.batch, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad};
    const ConvGeometry g = s.geometry();
    const std::size_t nx = static_cast<std::size_t>(c.batch) * c.cin * c.h * c.w;
    const std::size_t ny = static_cast<std::size_t>(c.batch) * c.cout * s.ho() * s.wo();
    const std::size_t nw = static_cast<std::size_t>(c.cout) * c.cin * c.k * c.k;
    const std::vector<float> x = test::gaussian(nx, seed++), w = test::gaussian(nw, seed++),
                             dy = test::gaussian(ny, seed++);
    const std::string name = "k" + std::to_string(c.k) + " s" + std::to_string(c.stride) + " " +
                             std::to_string(c.cin) + "x" + std::to_string(c.h) + "x" +
                             std::to_string(c.w);
    std::vector<float> y(ny), dx(nx), dw(nw), cpu(ny);
    for (std::size_t i = 0; i < ny; ++i) y[i] = conv_forward_at(g, i, x.data(), w.data());
    for (std::size_t i = 0; i < nx; ++i) dx[i] = conv_backward_data_at(g, i, dy.data(), w.data());
    if (c.k == 1)
      weight_gradient<1>(g, c.batch, dy.data(), x.data(), &dw);
    else
      weight_gradient<3>(g, c.batch, dy.data(), x.data(), &dw);
    Vec rx, rw;
    reference::conv2d_backward(s, to_double(x), to_double(w), to_double(dy), &rx, &rw);
    EXPECT_LE(rel_error(y, reference::conv2d_forward(s, to_double(x), to_double(w))), 1e-5) << name;
    EXPECT_LE(rel_error(dx, rx), 1e-5) << name;
    EXPECT_LE(rel_error(dw, rw), 1e-5) << name;
    cpu::conv2d_forward(s.geometry(), c.batch, x.data(), w.data(), cpu.data());
    EXPECT_EQ(differing(y, cpu), 0u) << name << ": the forward is not the CPU's bit for bit";
  }
}

TEST(CudaLayerMath, AveragePoolingMatchesOracleAndCpuForward) {
  const reference::PoolShape shapes[] = {{2, 3, 8, 8, 3, 1, 1},
                                         {2, 3, 8, 8, 2, 2, 0},
                                         {2, 2, 7, 7, 3, 2, 1},
                                         {1, 2, 5, 6, 3, 1, 1},
                                         {2, 2, 9, 9, 2, 2, 0}};
  std::uint64_t seed = 200;
  for (const reference::PoolShape& s : shapes) {
    const PoolGeometry g{s.channels, s.h, s.w, s.k, s.stride, s.pad, s.ho(), s.wo()};
    const std::size_t nx = static_cast<std::size_t>(s.batch) * s.channels * s.h * s.w;
    const std::size_t ny = static_cast<std::size_t>(s.batch) * s.channels * s.ho() * s.wo();
    const std::vector<float> x = test::gaussian(nx, seed++), dy = test::gaussian(ny, seed++);
    std::vector<float> y(ny), dx(nx), cpu(ny);
    for (std::size_t i = 0; i < ny; ++i) y[i] = avg_pool_forward_at(g, i, x.data());
    for (std::size_t i = 0; i < nx; ++i) dx[i] = avg_pool_backward_at(g, i, dy.data(), 1.0f);
    const std::string name = "k" + std::to_string(s.k) + " s" + std::to_string(s.stride) + " p" +
                             std::to_string(s.pad) + " " + std::to_string(s.h);
    EXPECT_LE(rel_error(y, reference::avg_pool_forward(s, to_double(x))), 1e-6) << name;
    EXPECT_LE(rel_error(dx, reference::avg_pool_backward(s, to_double(dy))), 1e-6) << name;
    cpu::avg_pool_forward<float>(
        cpu::PoolGeometry{s.channels, s.h, s.w, s.k, s.stride, s.pad, s.ho(), s.wo()}, s.batch,
        x.data(), cpu.data());
    EXPECT_EQ(differing(y, cpu), 0u) << name;
  }
}

TEST(CudaLayerMath, LinearMatchesOracleAndCpu) {
  const int N = 5, in = 12, out = 7;
  const std::vector<float> x = test::gaussian(N * in, 300), w = test::gaussian(out * in, 301),
                           b = test::gaussian(out, 302), dy = test::gaussian(N * out, 303);
  std::vector<float> y(N * out), dx(N * in), dp(out * in + out), cpu(N * out), cpu_dx(N * in),
      cpu_dw(out * in), cpu_db(out);
  for (int i = 0; i < N * out; ++i)
    y[i] = linear_forward_at(in, out, i, x.data(), w.data(), b.data());
  for (int i = 0; i < N * in; ++i) dx[i] = linear_backward_data_at(in, out, i, dy.data(), w.data());
  for (int e = 0; e < out * in + out; ++e)
    dp[e] = linear_backward_param_at(N, in, out, e, dy.data(), x.data());
  Vec rx, rw, rb;
  reference::linear_backward(N, in, out, to_double(x), to_double(w), to_double(dy), &rx, &rw, &rb);
  EXPECT_LE(
      rel_error(y, reference::linear_forward(N, in, out, to_double(x), to_double(w), to_double(b))),
      1e-6);
  EXPECT_LE(rel_error(dx, rx), 1e-6);
  EXPECT_LE(rel_error(std::vector<float>(dp.begin(), dp.begin() + out * in), rw), 1e-6);
  EXPECT_LE(rel_error(std::vector<float>(dp.begin() + out * in, dp.end()), rb), 1e-6);
  cpu::linear_forward<float>(N, in, out, x.data(), w.data(), b.data(), cpu.data());
  cpu::linear_backward_data<float>(N, in, out, dy.data(), w.data(), cpu_dx.data(), false);
  cpu::linear_backward_params<float>(1, N, in, out, dy.data(), x.data(), cpu_dw.data(),
                                     cpu_db.data(), 0);
  EXPECT_EQ(differing(y, cpu), 0u);
  EXPECT_EQ(differing(dx, cpu_dx), 0u);
  EXPECT_EQ(differing(std::vector<float>(dp.begin(), dp.begin() + out * in), cpu_dw), 0u);
}

// Given the CPU's own fp64 statistics, the kernel's affine map reproduces the CPU's output bit
// for bit; and channel_element visits exactly the elements of one channel.
TEST(CudaLayerMath, BatchNormAffineIsTheCpus) {
  const int N = 16, C = 4, plane = 64;
  std::vector<float> x = test::gaussian(static_cast<std::size_t>(N) * C * plane, 400);
  for (float& v : x) v = 2.0f + 0.7f * v;
  const std::vector<float> gamma = {0.9f, 1.1f, -0.5f, 2.0f}, beta = {0.0f, 0.3f, -0.1f, 1.0f};
  std::vector<float> cpu(x.size()), y(x.size());
  std::vector<double> mean(C), invstd(C);
  cpu::batch_norm_forward<float>(N, C, plane, x.data(), gamma.data(), beta.data(), 1e-5, cpu.data(),
                                 mean.data(), invstd.data());
  std::vector<int> visits(x.size(), 0);
  for (int c = 0; c < C; ++c) {
    float scale, shift;
    batch_norm_affine(mean[c], invstd[c], gamma[c], beta[c], &scale, &shift);
    for (std::int64_t j = 0; j < std::int64_t{N} * plane; ++j) {
      const std::int64_t o = channel_element(j, plane, C, c);
      ASSERT_EQ(o / plane % C, c);
      ++visits[o];
      y[o] = cpu_madd(x[o], scale, shift);
    }
  }
  EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), static_cast<long>(visits.size()));
  EXPECT_EQ(differing(y, cpu), 0u);
}

TEST(CudaLayerMath, CoveringOutputsAreExactlyTheWindowsHoldingAnInput) {
  for (int k : {1, 2, 3, 5})
    for (int s : {1, 2, 3})
      for (int pad = 0; pad < k; ++pad)
        for (int size : {1, 4, 7, 8}) {
          const int outputs = window_output_size(size, k, s, pad);
          if (outputs < 1) continue;
          for (int i = 0; i < size; ++i) {
            int lo, hi;
            covering_outputs(i, k, s, pad, outputs, &lo, &hi);
            for (int o = 0; o < outputs; ++o) {
              int b, e;
              window_extent(o, k, s, pad, size, &b, &e);
              EXPECT_EQ(o >= lo && o <= hi, i >= b && i < e)
                  << "k" << k << " s" << s << " p" << pad << " size " << size << " i " << i << " o "
                  << o;
            }
          }
        }
}

// The hash kernel's rounds, with its warp ballots emulated (bit `lane` of half `h` is element
// 32h + lane of the round), equal the CPU's hash over several layers of widths below, at and
// above one round and not multiples of 64.
TEST(CudaLayerMath, PatternHashRoundsEqualCpuHash) {
  const int N = 5;
  std::vector<std::uint64_t> cpu_hash(2 * N), hash(2 * N);
  cpu::pattern_hash_init(N, cpu_hash.data());
  for (int n = 0; n < N; ++n) {
    hash[2 * n] = pattern_hash::kSeed0;
    hash[2 * n + 1] = pattern_hash::kSeed1;
  }
  EXPECT_EQ(hash, cpu_hash);
  std::uint64_t seed = 500;
  for (std::int64_t per_sample : {9, 64, 100, 2048, 2049, 4187, 6144, 1}) {
    const std::vector<float> x = test::gaussian(N * per_sample, seed++);
    std::vector<float> y(x.size());
    cpu::relu_forward_pattern_hash<float>(N, per_sample, x.data(), y.data(), cpu_hash.data());
    for (int n = 0; n < N; ++n) {
      const float* xs = x.data() + n * per_sample;
      for (std::int64_t base = 0; base < per_sample; base += kHashRound) {
        unsigned halves[2 * kHashRoundWords];
        for (int half = 0; half < 2 * kHashRoundWords; ++half) {
          unsigned bits = 0;
          for (int lane = 0; lane < 32; ++lane) {
            const std::int64_t e = base + half * 32 + lane;
            if (e < per_sample && xs[e] > 0.0f) bits |= 1u << lane;
          }
          halves[half] = bits;
        }
        absorb_round(halves, per_sample - base, hash.data() + 2 * n);
      }
      pattern_hash::absorb(pattern_hash::segment_end(per_sample), hash.data() + 2 * n);
    }
    EXPECT_EQ(hash, cpu_hash) << "after a layer of " << per_sample;
  }
}

// --- The executor's backward schedule, run on the CPU in the planned gradient memory ---

// Runs backward_schedule with the CPU kernels exactly as the CUDA executor runs it with its
// kernels: gradient buffers at the plan's offsets in one arena (filled with NaN, so a step that
// reads what no step wrote, or adds where it should overwrite, poisons the result), the logits'
// gradient in its own buffer. Returns dparams [T, P]; dinput [T, N, in] when asked for.
std::vector<float> run_schedule(Network<float>& net, int N, const std::vector<float>& dlogits,
                                int T, std::vector<float>* dinput) {
  const Graph& g = net.graph();
  const std::vector<int> fused = fused_relu_layers(g);
  const bool input_gradient = dinput != nullptr;
  const GradientLayout lay =
      plan_gradients(g, fused, input_gradient, std::int64_t{T} * N * sizeof(float));
  std::vector<float> arena(static_cast<std::size_t>(lay.bytes / sizeof(float)), NAN);
  std::vector<float> dl = dlogits;
  auto grad = [&](int v) -> float* {
    if (v == g.logits) return dl.data();
    EXPECT_GE(lay.offset[v], 0) << "value " << v;
    return arena.data() + lay.offset[v] / static_cast<std::int64_t>(sizeof(float));
  };
  const std::int64_t P = g.num_params;
  std::vector<float> dparams(static_cast<std::size_t>(T * P), 0.0f);
  const float* params = net.params();
  bool reached_input = false;
  for (const BackwardStep& step : backward_schedule(g, fused, input_gradient)) {
    const Layer& l = g.layers[step.layer];
    const float* dy = grad(step.dy);  // times step.dy_scale
    float* dx = step.dx >= 0 ? grad(step.dx) : nullptr;
    reached_input = reached_input || step.dx == 0;
    const bool acc = step.accumulate;
    const Shape& out = g.values[l.output];
    const Shape& in = l.inputs.empty() ? out : g.values[l.inputs[0]];
    const float* x = l.inputs.empty() ? nullptr : net.value(l.inputs[0]).data();
    const float* w = l.weight >= 0 ? params + g.params[l.weight].offset : nullptr;
    float* dw = l.weight >= 0 ? dparams.data() + g.params[l.weight].offset : nullptr;
    float* db = l.bias >= 0 ? dparams.data() + g.params[l.bias].offset : nullptr;
    switch (l.kind) {
      case LayerKind::kConv2d: {
        const cpu::ConvGeometry geo{in.c,     in.h,     in.w,  out.c, l.kernel, l.kernel,
                                    l.stride, l.stride, l.pad, l.pad, out.h,    out.w};
        if (step.params) cpu::conv2d_backward_weight<float>(geo, T, N, dy, x, nullptr, dw, P);
        if (dx)
          cpu::conv2d_backward_data<float>(
              geo, T, N, dy, w, step.relu_mask >= 0 ? net.value(step.relu_mask).data() : nullptr,
              dx, acc);
        break;
      }
      case LayerKind::kBatchNorm: {
        std::vector<float> y(net.value(l.output).size());
        std::vector<double> mean(out.c), invstd(out.c);
        cpu::batch_norm_forward<float>(N, out.c, out.h * out.w, x, w,
                                       params + g.params[l.bias].offset, 1e-5, y.data(),
                                       mean.data(), invstd.data());
        cpu::batch_norm_backward<float>(T, N, out.c, out.h * out.w, dy, step.dy_scale, x,
                                        mean.data(), invstd.data(), w, dx, acc, dw, db, P);
        break;
      }
      case LayerKind::kReLU:
        if (dx) cpu::relu_backward<float>(T, N * out.numel(), dy, x, dx, acc);
        break;
      case LayerKind::kAvgPool:
        if (dx)
          cpu::avg_pool_backward<float>(
              cpu::PoolGeometry{in.c, in.h, in.w, l.kernel, l.stride, l.pad, out.h, out.w}, T * N,
              dy, static_cast<float>(step.dy_scale), dx, acc);
        break;
      case LayerKind::kGlobalAvgPool:
        if (dx) cpu::global_avg_pool_backward<float>(T * N, in.c, in.h * in.w, dy, dx, acc);
        break;
      case LayerKind::kLinear: {
        const int n_in = static_cast<int>(in.numel());
        if (step.params) cpu::linear_backward_params<float>(T, N, n_in, out.c, dy, x, dw, db, P);
        if (dx) cpu::linear_backward_data<float>(T * N, n_in, out.c, dy, w, dx, acc);
        break;
      }
      case LayerKind::kWeightedSum:
        if (dx)
          cpu::scaled_add<float>(std::int64_t{T} * N * out.numel(),
                                 1.0f / static_cast<float>(l.divisors[step.input]), dy, dx, acc);
        break;
    }
  }
  if (dinput) {
    const std::size_t n = static_cast<std::size_t>(T) * N * g.values[0].numel();
    if (reached_input)
      dinput->assign(grad(0), grad(0) + n);
    else
      dinput->assign(n, 0.0f);
  }
  return dparams;
}

TEST(CudaBackwardSchedule, RunInPlannedMemoryEqualsCpuBackward) {
  struct Case {
    NetworkConfig config;
    const char* arch;
  };
  NetworkConfig small = NetworkConfig::ntk(Dataset::kCifar10);
  small.input_size = 8;
  std::vector<Case> cases = {
      {small, "supernet"},
      {small, kMixed},
      {small, "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"},
      {small,
       "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|"
       "nor_conv_3x3~2|"},
      {NetworkConfig::linear_regions(Dataset::kCifar10), "supernet-none"},
      {NetworkConfig::linear_regions(Dataset::kCifar10), "supernet"}};
  const int N = 4, T = 3;
  std::uint64_t seed = 600;
  for (const Case& c : cases) {
    Network<float> net(build_graph(c.config, Arch::parse(c.arch)));
    net.initialize(InitMode::kKaimingFanIn, seed++);
    const Graph& g = net.graph();
    const std::int64_t in = g.values[0].numel(), P = g.num_params;
    const int classes = g.values[g.logits].c;
    const std::vector<float> x = test::gaussian(static_cast<std::size_t>(N * in), seed++);
    const std::vector<float> dl = test::gaussian(static_cast<std::size_t>(T) * N * classes, seed++);
    std::vector<float> want_dp(static_cast<std::size_t>(T * P)), want_dx(T * N * in);
    net.forward(x.data(), N);
    net.backward(dl.data(), T, want_dp.data(), want_dx.data());
    for (bool input_gradient : {true, false}) {
      std::vector<float> dx;
      const std::vector<float> dp = run_schedule(net, N, dl, T, input_gradient ? &dx : nullptr);
      for (int t = 0; t < T; ++t) {
        // Some gradients vanish mathematically (β of a BN whose output reaches another BN
        // through sums only: its gradient sums to zero) and hold rounding noise on both sides:
        // errors are measured against the cotangent's largest gradient too.
        double row = 0;
        for (std::int64_t i = 0; i < P; ++i)
          row = std::max(row, std::abs(1.0 * want_dp[t * P + i]));
        for (const Parameter& p : g.params) {
          const Vec want(want_dp.begin() + t * P + p.offset,
                         want_dp.begin() + t * P + p.offset + p.size);
          const std::vector<float> got(dp.begin() + t * P + p.offset,
                                       dp.begin() + t * P + p.offset + p.size);
          EXPECT_LE(rel_error(got, want, 1e-3 * row), 1e-4)
              << c.arch << " cotangent " << t << " " << p.name
              << (input_gradient ? " (with input gradient)" : "");
        }
      }
      if (input_gradient) {
        EXPECT_LE(rel_error(dx, to_double(want_dx)), 1e-4) << c.arch << " input gradient";
      }
    }
  }
}

}  // namespace
}  // namespace micronas::cuda
