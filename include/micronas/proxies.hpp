// TE-NAS's zero-cost proxies: the condition number of the neural tangent kernel (trainability)
// and the number of linear regions (expressivity), exactly as defined in TE-NAS, computed with
// one batched backward pass for the Jacobian and a hash of activation patterns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "micronas/network.hpp"

namespace micronas {

// --- NTK -----------------------------------------------------------------------------------

// J[i, :] = ∂(Σ_c logits[i, c]) / ∂θ over the parameters whose name contains "weight" (conv
// weights, BN γ, classifier weight), columns in registration (state_dict) order. With BN in
// training mode row i depends on every sample of the batch.
struct Jacobian {
  int rows = 0;
  std::int64_t cols = 0;
  std::vector<float> values;  // [rows, cols] row-major, fp32 as TE-NAS
  std::vector<int> params;    // parameter ids whose values form the columns, in order
};

// Forward in training mode on `batch` inputs, then one backward pass carrying all `batch`
// cotangents e_i ⊗ 1 at once.
Jacobian compute_jacobian(Network<float>& net, const float* inputs, int batch);
// The same into *out, with *gradients as the B x P gradient scratch: both keep their storage
// between calls, so a search's evaluations allocate them once.
void compute_jacobian(Network<float>& net, const float* inputs, int batch, Jacobian* out,
                      std::vector<float>* gradients);

// K = J Jᵀ accumulated in fp64 ([rows, rows], row-major). Deterministic.
std::vector<double> ntk_gram(const Jacobian& jacobian);

struct NtkCondition {
  std::vector<double> eigenvalues;  // ascending, fp64
  double lambda_min = 0, lambda_max = 0;
  // λ_max/λ_min when valid; NaN otherwise.
  double condition = 0;
  bool valid = false;
  std::string invalid_reason;  // e.g. "λ_min = -3.1e-9 <= 0 (K is numerically singular)"
  // The value TE-NAS reports: λ_max/λ_min as is, NaN -> 1e5 and ±Inf -> ±DBL_MAX
  // (numpy.nan_to_num(..., nan=1e5)).
  double tenas_condition = 0;
};
NtkCondition ntk_condition(const std::vector<double>& gram, int n);
// The same from K's eigenvalues (ascending), and for a K that holds NaN or Inf: what a backend
// that keeps K to itself returns.
NtkCondition ntk_condition_from_eigenvalues(std::vector<double> eigenvalues);
NtkCondition ntk_condition_of_nonfinite_gram();

// --- Linear regions --------------------------------------------------------------------------

// The activation patterns of samples, each kept as a 128-bit hash and, when verifying, also as
// its full bit row: the bookkeeping of every linear-region counter.
class PatternSet {
 public:
  explicit PatternSet(bool verify = false) : verify_(verify) {}
  bool verify() const { return verify_; }
  // One sample's hash and (verify only) its bit row.
  void add(std::uint64_t h0, std::uint64_t h1, std::vector<std::uint64_t> row = {});
  // With verify: throws Error(kInternal) unless the hash count equals the exact count.
  void check() const;
  std::int64_t samples() const { return static_cast<std::int64_t>(hashes_.size()); }
  // Number of distinct patterns among all samples added.
  std::int64_t count() const;
  // Exact count from full bit rows (throws Error(kInvalidArgument) unless verify = true).
  std::int64_t exact_count() const;

 private:
  bool verify_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> hashes_;
  std::vector<std::vector<std::uint64_t>> rows_;
};

// Counts distinct activation patterns over several forward batches of one network (BN statistics
// per batch). Every ReLU of the network contributes bits [pre-activation > 0] in execution
// order; each sample's pattern is folded into a 128-bit hash fused with the ReLU.
class LinearRegionCounter {
 public:
  // verify = true also keeps every sample's full bit row and checks that the exact count equals
  // the hash count (throws Error(kInternal) if not).
  explicit LinearRegionCounter(bool verify = false) : patterns_(verify) {}
  void add_batch(Network<float>& net, const float* inputs, int batch);
  std::int64_t samples() const { return patterns_.samples(); }
  std::int64_t count() const { return patterns_.count(); }
  std::int64_t exact_count() const { return patterns_.exact_count(); }

 private:
  PatternSet patterns_;
};

// Distinct rows among bit rows (each a vector of 64-bit words), by sorting: the exact oracle.
std::int64_t count_distinct_rows(std::vector<std::vector<std::uint64_t>> rows);

}  // namespace micronas
