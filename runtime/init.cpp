#include <cmath>

#include "micronas/network.hpp"
#include "micronas/random.hpp"

namespace micronas {

void initialize_parameters(const Graph& graph, InitMode mode, std::uint64_t seed, double* params) {
  for (const Parameter& p : graph.params) {
    Rng rng(derive_seed(seed, p.name));
    double* out = params + p.offset;
    switch (p.role) {
      case Parameter::Role::kBatchNormWeight:
        for (std::int64_t i = 0; i < p.size; ++i) out[i] = 1.0;
        break;
      case Parameter::Role::kBatchNormBias:
        for (std::int64_t i = 0; i < p.size; ++i) out[i] = 0.0;
        break;
      case Parameter::Role::kConvWeight:
      case Parameter::Role::kLinearWeight:
      case Parameter::Role::kLinearBias: {
        bool bias = p.role == Parameter::Role::kLinearBias;
        if (mode == InitMode::kPyTorchDefault) {
          // kaiming_uniform_(a=√5) gives bound gain·√(3/fan_in) = √(1/3)·√(3/fan_in) = 1/√fan_in;
          // nn.Linear's bias uses the same bound.
          double bound = 1.0 / std::sqrt(static_cast<double>(p.fan_in));
          for (std::int64_t i = 0; i < p.size; ++i) out[i] = rng.uniform(-bound, bound);
        } else if (bias) {
          for (std::int64_t i = 0; i < p.size; ++i) out[i] = 0.0;
        } else {
          int fan = mode == InitMode::kKaimingFanIn ? p.fan_in : p.fan_out;
          double std = std::sqrt(2.0 / fan);  // ReLU gain √2
          for (std::int64_t i = 0; i < p.size; ++i) out[i] = std * rng.normal();
        }
        break;
      }
    }
  }
}

}  // namespace micronas
