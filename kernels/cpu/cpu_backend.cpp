// The CPU backend: the OpenMP network executor (network.cpp), the Jacobian and fp64 Gram
// (jacobian.cpp), Jacobi eigenvalues (symmetric_eigenvalues.cpp) and hash counting
// (linear_region_counter.cpp) behind the GraphExecutor interface. Bitwise identical results for
// any thread count.
#include <algorithm>
#include <cmath>

#include "micronas/error.hpp"
#include "micronas/linalg.hpp"
#include "micronas/network.hpp"
#include "micronas/threads.hpp"
#include "runtime/backend.hpp"

namespace micronas {
namespace {

class CpuExecutor final : public GraphExecutor {
 public:
  explicit CpuExecutor(const Graph& graph) : net_(graph) {}

  const Graph& graph() const override { return net_.graph(); }

  void set_parameters(const float* params) override {
    std::copy(params, params + net_.num_params(), net_.params());
  }

  void forward(const float* inputs, int batch, bool record_patterns) override {
    if (record_patterns)
      patterns_.add_batch(net_, inputs, batch);
    else
      net_.forward(inputs, batch);
  }

  std::vector<float> logits() override {
    if (net_.batch() == 0) throw Error(Status::kInvalidArgument, "logits() needs a forward first");
    return net_.value(net_.graph().logits);
  }

  void compute_jacobian(const float* inputs, int batch) override {
    micronas::compute_jacobian(net_, inputs, batch, &jacobian_, &gradients_);
  }

  Jacobian jacobian() override { return jacobian_; }

  NtkSpectrum ntk_spectrum(bool keep_gram) override {
    if (jacobian_.rows == 0)
      throw Error(Status::kInvalidArgument, "ntk_spectrum() needs compute_jacobian() first");
    NtkSpectrum s;
    std::vector<double> gram = ntk_gram(jacobian_);
    s.finite = std::all_of(gram.begin(), gram.end(), [](double v) { return std::isfinite(v); });
    if (s.finite) s.eigenvalues = symmetric_eigenvalues(gram.data(), jacobian_.rows);
    if (keep_gram) s.gram = std::move(gram);
    return s;
  }

  void clear_patterns() override { patterns_ = LinearRegionCounter(); }
  std::int64_t count_patterns() override { return patterns_.count(); }
  std::int64_t recorded_patterns() const override { return patterns_.samples(); }

  void backward(const float* dlogits, int cotangents, float* dparams, float* dinput) override {
    net_.backward(dlogits, cotangents, dparams, dinput);
  }

 private:
  Network<float> net_;
  Jacobian jacobian_;
  std::vector<float> gradients_;  // compute_jacobian's scratch, kept between evaluations
  LinearRegionCounter patterns_;
};

class CpuBackend final : public Backend {
 public:
  // The calling thread runs every parallel region of this backend's computations: it gets the
  // context's thread count, or OpenMP's default, whatever an earlier context set on it.
  explicit CpuBackend(const ComputeContext& context) : context_(context) {
    set_num_threads(context_.cpu_threads());
  }
  const ComputeContext& context() const override { return context_; }
  std::unique_ptr<GraphExecutor> compile(const Graph& graph) override {
    return std::make_unique<CpuExecutor>(graph);
  }

 private:
  ComputeContext context_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const ComputeContext& context) {
  return std::make_unique<CpuBackend>(context);
}

}  // namespace micronas
