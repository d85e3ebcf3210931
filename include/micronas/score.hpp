// Scoring one architecture (a cell or a supernet state) with TE-NAS's proxies: the coarse,
// domain-level entry point that the CLI, the search and other tools call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "micronas/context.hpp"
#include "micronas/data.hpp"
#include "micronas/graph.hpp"
#include "micronas/proxies.hpp"

namespace micronas {

enum class InitScheme {
  // As the published TE-NAS code ran: PyTorch-default weights, the NTK net keeps its weights for
  // every repeat (repeats differ only in the data).
  kReleased,
  // As the paper intends: Kaiming-normal fan_out (NTK net) / fan_in (LR net), biases 0, redrawn
  // every repeat.
  kKaiming,
};
const char* init_scheme_name(InitScheme scheme);
InitScheme init_scheme_from_name(const std::string& name);  // released | kaiming

// The largest sizes ScoreOptions::validate accepts.
inline constexpr int kMaxBatch = 1024;  // B = 1024 is ~200x the work of TE-NAS's 72
inline constexpr int kMaxRepeats = 1000;
inline constexpr int kMaxLrSamples = 100000;  // TE-NAS 1000
inline constexpr int kMaxLrBatches = 1000;

struct ScoreOptions {
  Dataset dataset = Dataset::kCifar10;  // network head, input size
  int batch = 72;                       // NTK batch (TE-NAS 72; MicroNAS 128)
  int repeats = 3;
  InitScheme init = InitScheme::kReleased;
  DataSpec data;  // synthetic by default
  std::uint64_t seed = 0;
  int lr_samples = 1000;  // per linear-region batch (BN statistics per batch)
  int lr_batches = 3;
  bool verify_lr = false;  // also count exact bit rows and check the hash count
  std::string dump_dir;    // non-empty: write inputs, parameters, J, K, eigenvalues (repeat 0)
  ComputeContext context;  // where the proxies are computed (CPU by default)

  void validate() const;  // throws Error(kInvalidArgument) naming the bad option
};

struct RepeatScore {
  NtkCondition ntk;
  std::int64_t linear_regions = 0;
  double ntk_seconds = 0, lr_seconds = 0;  // wall time of this repeat's two parts
};

struct ScoreResult {
  Arch arch;
  std::vector<RepeatScore> repeats;
  // Mean over repeats of TE-NAS's value (NaN -> 1e5), and whether every repeat was valid.
  double ntk_condition = 0;
  bool ntk_valid = true;
  double linear_regions = 0;    // mean over repeats
  ModelSize size;               // NB201's evaluation network (C=16, N=5) for the dataset
  std::int64_t ntk_params = 0;  // Jacobian columns
  double ntk_seconds = 0, lr_seconds = 0;
};

// Scores `arch`: per repeat one NTK batch and lr_batches linear-region batches. Deterministic for
// a seed, backend and thread count. Throws Error for bad options or unreadable data, and
// Error(kUnsupported) when options.context names a backend this build or machine lacks.
ScoreResult score_architecture(const Arch& arch, const ScoreOptions& options);

// The seed from which score_architecture draws the parameters of the NTK network (ntk) or the
// linear-region network: repeat < 0 for the released initialisation's one draw (kept across
// repeats), else the Kaiming draw of that repeat.
std::uint64_t score_init_seed(std::uint64_t seed, bool ntk, int repeat);

// The NTK network's input size for a dataset (32, or 16 for ImageNet16-120).
int ntk_input_size(Dataset dataset);

}  // namespace micronas
