// The CUDA backend: a Graph compiled into an executor whose parameters, activations, Jacobian,
// Gram matrix and pattern hashes live in device memory planned once (workspace.hpp). Inputs and
// parameters go in; logits, eigenvalues and counts (and, for dumps and tests, copies of J, K and
// the gradients) come out.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dense.hpp"
#include "kernels/cuda/device_context.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/pattern_count.hpp"
#include "kernels/cuda/workspace.hpp"
#include "micronas/error.hpp"
#include "runtime/backend.hpp"

namespace micronas {
namespace cuda {
namespace {

constexpr double kBatchNormEps = 1e-5;

ConvGeometry conv_geometry(const Graph& g, const Layer& l) {
  const Shape& in = g.values[l.inputs[0]];
  const Shape& out = g.values[l.output];
  return {in.c,     in.h,     in.w,  out.c, l.kernel, l.kernel,
          l.stride, l.stride, l.pad, l.pad, out.h,    out.w};
}

PoolGeometry pool_geometry(const Graph& g, const Layer& l) {
  const Shape& in = g.values[l.inputs[0]];
  const Shape& out = g.values[l.output];
  return {in.c, in.h, in.w, l.kernel, l.stride, l.pad, out.h, out.w};
}

class CudaExecutor final : public GraphExecutor {
 public:
  CudaExecutor(const Graph& graph, std::shared_ptr<DeviceContext> device)
      : graph_(graph),
        device_(std::move(device)),
        memory_(device_),
        patterns_(device_),
        fused_relu_(fused_relu_layers(graph_)),
        columns_(jacobian_columns(graph_)),
        params_(static_cast<std::size_t>(graph_.num_params), 0.0f) {
    if (graph_.logits < 0) throw Error(Status::kInvalidArgument, "the graph has no logits");
    schedule_[0] = backward_schedule(graph_, fused_relu_, false);
    schedule_[1] = backward_schedule(graph_, fused_relu_, true);
    for (const Layer& l : graph_.layers)
      if (l.kind == LayerKind::kConv2d && l.kernel != 1 && l.kernel != 3 && l.kernel != 5 &&
          l.kernel != 7)
        throw Error(Status::kUnsupported, "the CUDA backend has no " + std::to_string(l.kernel) +
                                              "x" + std::to_string(l.kernel) + " convolution");
  }

  ~CudaExecutor() override {
    // The workspace is freed on the device it lives on.
    cudaSetDevice(device_->device());
  }

  const Graph& graph() const override { return graph_; }

  void set_parameters(const float* params) override {
    std::memcpy(params_.data(), params, params_.size() * sizeof(float));
    if (memory_.data()) {
      device_->activate();
      upload_parameters();
    }
  }

  void forward(const float* inputs, int batch, bool record_patterns) override {
    if (batch < 1) throw Error(Status::kInvalidArgument, "batch must be >= 1");
    check_inputs(inputs, batch);
    device_->activate();
    ensure_workspace(batch, std::max(1, plan_.request.cotangents), plan_.request.input_gradient);
    run_forward(inputs, batch, record_patterns);
    if (record_patterns) {
      patterns_.append(at<std::uint64_t>(plan_.hashes), batch, device_->stream());
      recorded_ += batch;
    }
    device_->synchronize();
  }

  std::vector<float> logits() override {
    if (batch_ == 0) throw Error(Status::kInvalidArgument, "logits() needs a forward() first");
    device_->activate();
    std::vector<float> out(static_cast<std::size_t>(batch_) * graph_.values[graph_.logits].c);
    copy_to_host(out.data(), plan_.values[graph_.logits], out.size() * sizeof(float));
    return out;
  }

  void compute_jacobian(const float* inputs, int batch) override {
    if (batch < 1) throw Error(Status::kInvalidArgument, "batch must be >= 1");
    check_inputs(inputs, batch);
    device_->activate();
    ensure_workspace(batch, batch, plan_.request.input_gradient);
    jacobian_rows_ = 0;
    run_forward(inputs, batch, false);
    // Cotangent t selects sample t's logits, all classes: row t is ∂(Σ_c logits[t, c]) / ∂θ.
    jacobian_seed(batch, graph_.values[graph_.logits].c, at<float>(plan_.dlogits),
                  device_->stream());
    run_backward(batch, false);
    gather_jacobian(batch, plan_.jacobian_cols, graph_.num_params, at<float>(plan_.dparams),
                    at<int>(plan_.column_source), at<float>(plan_.jacobian),
                    at<double>(plan_.jacobian64), device_->stream());
    device_->synchronize();
    jacobian_rows_ = batch;
  }

  Jacobian jacobian() override {
    require_jacobian("jacobian()");
    device_->activate();
    Jacobian j;
    j.rows = jacobian_rows_;
    j.cols = plan_.jacobian_cols;
    for (std::size_t p = 0; p < graph_.params.size(); ++p)
      if (graph_.params[p].is_weight()) j.params.push_back(static_cast<int>(p));
    j.values.resize(static_cast<std::size_t>(j.rows) * j.cols);
    copy_to_host(j.values.data(), plan_.jacobian, j.values.size() * sizeof(float));
    return j;
  }

  NtkSpectrum ntk_spectrum(bool keep_gram) override {
    require_jacobian("ntk_spectrum()");
    device_->activate();
    const int n = jacobian_rows_;
    double* gram = at<double>(plan_.gram);
    int* flags = at<int>(plan_.flags);
    gram_fp64(device_->cublas(), device_->stream(), n, plan_.jacobian_cols,
              at<double>(plan_.jacobian64), gram, flags + 1);
    NtkSpectrum s;
    int non_finite = 0;
    copy_to_host(&non_finite, plan_.flags + static_cast<std::int64_t>(sizeof(int)), sizeof(int));
    if (keep_gram) {
      s.gram.resize(static_cast<std::size_t>(n) * n);
      copy_to_host(s.gram.data(), plan_.gram, s.gram.size() * sizeof(double));
    }
    if (non_finite) {
      s.finite = false;
      return s;
    }
    // The eigensolver overwrites K: a kept copy was taken above.
    symmetric_eigenvalues(device_->cusolver(), n, gram, at<double>(plan_.eigenvalues),
                          at<char>(plan_.solver), plan_.request.solver_bytes, flags);
    int info = 0;
    copy_to_host(&info, plan_.flags, sizeof(int));
    if (info != 0)
      throw Error(
          Status::kNumericalError,
          "cusolverDnDsyevd on the " + std::to_string(n) + " x " + std::to_string(n) +
              " NTK matrix failed: info = " + std::to_string(info) +
              (info > 0 ? " (off-diagonal elements did not converge)" : " (invalid argument)"));
    s.eigenvalues.resize(static_cast<std::size_t>(n));
    copy_to_host(s.eigenvalues.data(), plan_.eigenvalues, s.eigenvalues.size() * sizeof(double));
    return s;
  }

  void clear_patterns() override {
    patterns_.clear();
    recorded_ = 0;
  }

  std::int64_t count_patterns() override {
    device_->activate();
    return patterns_.count_distinct(device_->stream());
  }

  std::int64_t recorded_patterns() const override { return recorded_; }

  void backward(const float* dlogits, int cotangents, float* dparams, float* dinput) override {
    if (batch_ == 0) throw Error(Status::kInvalidArgument, "backward() needs a forward() first");
    if (cotangents < 1) throw Error(Status::kInvalidArgument, "cotangents must be >= 1");
    device_->activate();
    const bool input_gradient = dinput != nullptr;
    if (ensure_workspace(batch_, cotangents, input_gradient || plan_.request.input_gradient)) {
      const std::vector<float> inputs = last_inputs_;  // the new workspace has no activations
      run_forward(inputs.data(), static_cast<int>(inputs.size() / graph_.values[0].numel()), false);
    }
    const std::int64_t N = batch_, T = cotangents, P = graph_.num_params;
    const std::int64_t nlogits = N * graph_.values[graph_.logits].c;
    MICRONAS_CUDA_CHECK(cudaMemcpyAsync(at<float>(plan_.dlogits), dlogits,
                                        T * nlogits * sizeof(float), cudaMemcpyHostToDevice,
                                        device_->stream()));
    const bool reached = run_backward(cotangents, input_gradient);
    if (dparams) copy_to_host(dparams, plan_.dparams, T * P * sizeof(float));
    if (dinput) {
      const std::int64_t n = T * N * graph_.values[0].numel();
      if (reached)
        copy_to_host(dinput, plan_.grads[0], n * sizeof(float));
      else
        std::fill(dinput, dinput + n, 0.0f);
    }
    device_->synchronize();
  }

 private:
  template <class T>
  T* at(std::int64_t offset) const {
    return reinterpret_cast<T*>(memory_.data() + offset);
  }

  void copy_to_host(void* dst, std::int64_t offset, std::size_t bytes) {
    if (bytes == 0) return;
    MICRONAS_CUDA_CHECK(cudaMemcpyAsync(dst, memory_.data() + offset, bytes, cudaMemcpyDeviceToHost,
                                        device_->stream()));
    device_->synchronize();
  }

  void upload_parameters() {
    MICRONAS_CUDA_CHECK(cudaMemcpyAsync(at<float>(plan_.params), params_.data(),
                                        params_.size() * sizeof(float), cudaMemcpyHostToDevice,
                                        device_->stream()));
    device_->synchronize();
  }

  void require_jacobian(const char* what) const {
    if (jacobian_rows_ == 0)
      throw Error(Status::kInvalidArgument,
                  std::string(what) + " needs a compute_jacobian() first");
  }

  // The CPU's check and wording: the first non-finite element names its sample.
  void check_inputs(const float* inputs, int batch) const {
    const std::int64_t in_numel = graph_.values[0].numel();
    for (int n = 0; n < batch; ++n)
      for (std::int64_t i = 0; i < in_numel; ++i)
        if (!std::isfinite(inputs[n * in_numel + i]))
          throw Error(Status::kNumericalError, "input sample " + std::to_string(n) +
                                                   " holds a non-finite value at element " +
                                                   std::to_string(i));
  }

  // Grows the workspace to hold a batch of `batch`, `cotangents` cotangents and (optionally)
  // the input's gradient; returns true if it was reallocated (activations are then lost).
  bool ensure_workspace(int batch, int cotangents, bool input_gradient) {
    const WorkspaceRequest& have = plan_.request;
    if (memory_.data() && batch <= have.batch && cotangents <= have.cotangents &&
        (!input_gradient || have.input_gradient))
      return false;
    WorkspaceRequest want;
    want.batch = memory_.data() ? std::max(batch, have.batch) : batch;
    want.cotangents = memory_.data() ? std::max(cotangents, have.cotangents) : cotangents;
    want.input_gradient = input_gradient || (memory_.data() && have.input_gradient);
    want.solver_bytes = device_->eigen_workspace_bytes(want.cotangents);
    WorkspacePlan plan = plan_workspace(graph_, want);
    memory_.reset();
    plan_ = WorkspacePlan{};
    memory_.allocate(static_cast<std::size_t>(plan.total_bytes),
                     "the CUDA workspace of a batch of " + std::to_string(want.batch) + " with " +
                         std::to_string(want.cotangents) + " cotangents");
    plan_ = std::move(plan);
    upload_parameters();
    MICRONAS_CUDA_CHECK(cudaMemcpyAsync(at<int>(plan_.column_source), columns_.data(),
                                        columns_.size() * sizeof(int), cudaMemcpyHostToDevice,
                                        device_->stream()));
    device_->synchronize();
    batch_ = 0;
    jacobian_rows_ = 0;
    return true;
  }

  void run_forward(const float* inputs, int batch, bool record_patterns) {
    const Graph& g = graph_;
    const cudaStream_t s = device_->stream();
    const std::int64_t in_numel = g.values[0].numel();
    last_inputs_.assign(inputs, inputs + batch * in_numel);
    MICRONAS_CUDA_CHECK(cudaMemcpyAsync(at<float>(plan_.values[0]), inputs,
                                        batch * in_numel * sizeof(float), cudaMemcpyHostToDevice,
                                        s));
    std::uint64_t* hashes = at<std::uint64_t>(plan_.hashes);
    if (record_patterns) pattern_hash_init(batch, hashes, s);
    const float* params = at<float>(plan_.params);
    for (std::size_t li = 0; li < g.layers.size(); ++li) {
      const Layer& l = g.layers[li];
      const Shape& out_shape = g.values[l.output];
      float* out = at<float>(plan_.values[l.output]);
      const float* x = l.inputs.empty() ? nullptr : at<float>(plan_.values[l.inputs[0]]);
      const float* w = l.weight >= 0 ? params + g.params[l.weight].offset : nullptr;
      const float* b = l.bias >= 0 ? params + g.params[l.bias].offset : nullptr;
      const Shape& in_shape = l.inputs.empty() ? out_shape : g.values[l.inputs[0]];
      const std::int64_t out_numel = batch * out_shape.numel();
      switch (l.kind) {
        case LayerKind::kConv2d: conv2d_forward(conv_geometry(g, l), batch, x, w, out, s); break;
        case LayerKind::kBatchNorm:
          batch_norm_forward(batch, out_shape.c, out_shape.h * out_shape.w, x, w, b, kBatchNormEps,
                             out, at<double>(plan_.bn_mean[li]), at<double>(plan_.bn_invstd[li]),
                             s);
          break;
        case LayerKind::kReLU:
          if (record_patterns)
            relu_forward_pattern_hash(batch, out_shape.numel(), x, out, hashes, s);
          else
            relu_forward(out_numel, x, out, s);
          break;
        case LayerKind::kAvgPool: avg_pool_forward(pool_geometry(g, l), batch, x, out, s); break;
        case LayerKind::kGlobalAvgPool:
          global_avg_pool_forward(batch, in_shape.c, in_shape.h * in_shape.w, x, out, s);
          break;
        case LayerKind::kLinear:
          linear_forward(batch, static_cast<int>(in_shape.numel()), out_shape.c, x, w, b, out, s);
          break;
        case LayerKind::kWeightedSum:
          if (l.inputs.empty())
            MICRONAS_CUDA_CHECK(cudaMemsetAsync(out, 0, out_numel * sizeof(float), s));
          for (std::size_t k = 0; k < l.inputs.size(); ++k)
            scaled_add(out_numel, 1.0f / static_cast<float>(l.divisors[k]),
                       at<float>(plan_.values[l.inputs[k]]), out, k > 0, s);
          break;
      }
    }
    batch_ = batch;
  }

  // Backward of the last forward for `cotangents` cotangents seeded in plan_.dlogits, parameter
  // gradients into plan_.dparams [T, P], following the schedule whose buffers the plan laid
  // out. Returns whether a gradient reached the input (in plan_.grads[0]; only with
  // input_gradient).
  bool run_backward(int cotangents, bool input_gradient) {
    const Graph& g = graph_;
    const cudaStream_t s = device_->stream();
    const int T = cotangents, N = batch_;
    const std::int64_t P = g.num_params;
    float* dparams = at<float>(plan_.dparams);
    // Parameters no gradient reaches have zero gradients, as on the CPU.
    MICRONAS_CUDA_CHECK(cudaMemsetAsync(dparams, 0, T * P * sizeof(float), s));
    const float* params = at<float>(plan_.params);
    auto grad = [&](int v) -> float* {
      if (v == g.logits) return at<float>(plan_.dlogits);
      if (plan_.grads[v] < 0)
        throw Error(Status::kInternal, "value " + std::to_string(v) + " has no gradient buffer");
      return at<float>(plan_.grads[v]);
    };
    bool reached_input = false;
    for (const BackwardStep& step : schedule_[input_gradient ? 1 : 0]) {
      const Layer& l = g.layers[step.layer];
      const float* dy = grad(step.dy);  // times step.dy_scale (BN and average pool only)
      float* dx = step.dx >= 0 ? grad(step.dx) : nullptr;
      reached_input = reached_input || step.dx == 0;
      const bool acc = step.accumulate;
      const Shape& out_shape = g.values[l.output];
      const Shape& in_shape = l.inputs.empty() ? out_shape : g.values[l.inputs[0]];
      const float* x = l.inputs.empty() ? nullptr : at<float>(plan_.values[l.inputs[0]]);
      const float* w = l.weight >= 0 ? params + g.params[l.weight].offset : nullptr;
      float* dw = l.weight >= 0 ? dparams + g.params[l.weight].offset : nullptr;
      float* db = l.bias >= 0 ? dparams + g.params[l.bias].offset : nullptr;
      switch (l.kind) {
        case LayerKind::kConv2d: {
          const ConvGeometry geo = conv_geometry(g, l);
          if (step.params) conv2d_backward_weight(geo, T, N, dy, x, dw, P, s);
          if (dx) {
            const float* mask =
                step.relu_mask >= 0 ? at<float>(plan_.values[step.relu_mask]) : nullptr;
            conv2d_backward_data(geo, T, N, dy, w, mask, dx, acc, s);
          }
          break;
        }
        case LayerKind::kBatchNorm:
          batch_norm_backward(T, N, out_shape.c, out_shape.h * out_shape.w, dy, step.dy_scale, x,
                              at<double>(plan_.bn_mean[step.layer]),
                              at<double>(plan_.bn_invstd[step.layer]), w, dx, acc, dw, db, P, s);
          break;
        case LayerKind::kReLU:
          if (dx) relu_backward(T, N * out_shape.numel(), dy, x, dx, acc, s);
          break;
        case LayerKind::kAvgPool:
          if (dx)
            avg_pool_backward(pool_geometry(g, l), T, N, dy, static_cast<float>(step.dy_scale), dx,
                              acc, s);
          break;
        case LayerKind::kGlobalAvgPool:
          if (dx)
            global_avg_pool_backward(T, N, in_shape.c, in_shape.h * in_shape.w, dy, dx, acc, s);
          break;
        case LayerKind::kLinear: {
          const int in = static_cast<int>(in_shape.numel());
          if (step.params) linear_backward_params(T, N, in, out_shape.c, dy, x, dw, db, P, s);
          if (dx) linear_backward_data(T, N, in, out_shape.c, dy, w, dx, acc, s);
          break;
        }
        case LayerKind::kWeightedSum:
          if (dx)
            scaled_add(std::int64_t{T} * N * out_shape.numel(),
                       1.0f / static_cast<float>(l.divisors[step.input]), dy, dx, acc, s);
          break;
      }
    }
    return reached_input;
  }

  Graph graph_;
  std::shared_ptr<DeviceContext> device_;
  DeviceMemory memory_;  // the workspace, laid out by plan_
  PatternSet patterns_;
  std::vector<int> fused_relu_;
  std::vector<BackwardStep> schedule_[2];  // without and with the input's gradient
  std::vector<int> columns_;
  std::vector<float> params_;       // host copy: uploaded again into a grown workspace
  std::vector<float> last_inputs_;  // the last forward's inputs, to rebuild activations
  WorkspacePlan plan_;
  int batch_ = 0;
  int jacobian_rows_ = 0;
  std::int64_t recorded_ = 0;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const ComputeContext& context)
      : context_(context), device_(std::make_shared<DeviceContext>(context.device)) {}
  const ComputeContext& context() const override { return context_; }
  std::unique_ptr<GraphExecutor> compile(const Graph& graph) override {
    return std::make_unique<CudaExecutor>(graph, device_);
  }

 private:
  ComputeContext context_;
  std::shared_ptr<DeviceContext> device_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend(const ComputeContext& context) {
  if (context.backend == BackendKind::kCpu)
    throw Error(Status::kInvalidArgument, "make_cuda_backend() called with a CPU context");
  const std::vector<CudaDevice> devices = cuda_devices();
  if (devices.empty())
    throw Error(Status::kUnsupported, "the CUDA backend needs a CUDA device; none is visible");
  if (context.device < 0 || context.device >= static_cast<int>(devices.size()))
    throw Error(Status::kInvalidArgument, "CUDA device " + std::to_string(context.device) +
                                              " is not present (" + std::to_string(devices.size()) +
                                              " device" + (devices.size() == 1 ? "" : "s") +
                                              " visible)");
  ComputeContext resolved = ComputeContext::cuda(context.device);
  return std::make_unique<cuda::CudaBackend>(resolved);
}

}  // namespace micronas
