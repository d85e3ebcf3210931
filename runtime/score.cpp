#include "micronas/score.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "micronas/error.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "runtime/proxy_evaluator.hpp"

namespace micronas {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

void ScoreOptions::validate() const {
  // The upper bounds keep a mistyped size from allocating without bound: the NTK's work and its
  // Jacobian grow with batch² and batch, linear-region patterns with the samples.
  auto check = [](int value, int lo, int hi, const std::string& what, const std::string& why) {
    if (value < lo || value > hi)
      throw Error(Status::kInvalidArgument, what + " must be in " + std::to_string(lo) + ".." +
                                                std::to_string(hi) + why + ", got " +
                                                std::to_string(value));
  };
  check(batch, 2, kMaxBatch, "--batch", " (an NTK needs at least two samples)");
  check(repeats, 1, kMaxRepeats, "--repeat", "");
  check(lr_samples, 2, kMaxLrSamples, "linear-region samples per batch", " (batch-statistics BN)");
  check(lr_batches, 1, kMaxLrBatches, "linear-region batches", "");
}

std::uint64_t score_init_seed(std::uint64_t seed, bool ntk, int repeat) {
  const std::uint64_t s = derive_seed(seed, ntk ? "ntk-init" : "lr-init");
  return repeat < 0 ? s : derive_seed(s, static_cast<std::uint64_t>(repeat));
}

namespace {

void dump_parameters(const ProxyNetwork& net, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const Parameter& p : net.graph().params) {
    std::vector<std::int64_t> shape(p.shape.begin(), p.shape.end());
    write_npy((dir / (p.name + ".npy")).string(), shape, net.parameters().data() + p.offset);
  }
}

void dump_ntk(const std::filesystem::path& dir, const ImageBatch& inputs, const ProxyNetwork& net,
              const NtkDump& dump, const NtkCondition& cond) {
  std::filesystem::create_directories(dir);
  const Jacobian& j = dump.jacobian;
  write_npy((dir / "ntk_inputs.npy").string(), {inputs.n, inputs.c, inputs.h, inputs.w},
            inputs.data.data());
  dump_parameters(net, dir / "ntk_params");
  write_npy((dir / "jacobian.npy").string(), {j.rows, j.cols}, j.values.data());
  write_npy((dir / "ntk.npy").string(), {j.rows, j.rows}, dump.gram.data());
  if (!cond.eigenvalues.empty())
    write_npy((dir / "eigenvalues.npy").string(),
              {static_cast<std::int64_t>(cond.eigenvalues.size())}, cond.eigenvalues.data());
}

}  // namespace

const char* init_scheme_name(InitScheme scheme) {
  return scheme == InitScheme::kReleased ? "released" : "kaiming";
}

InitScheme init_scheme_from_name(const std::string& name) {
  if (name == "released") return InitScheme::kReleased;
  if (name == "kaiming") return InitScheme::kKaiming;
  throw Error(Status::kInvalidArgument,
              "unknown init '" + name + "' (expected released or kaiming)");
}

int ntk_input_size(Dataset dataset) { return dataset == Dataset::kImageNet16 ? 16 : 32; }

ScoreResult score_architecture(const Arch& arch, const ScoreOptions& o) {
  o.validate();
  ProxyEvaluator evaluator(o.context);
  return score_architecture(arch, o, evaluator);
}

ScoreResult score_architecture(const Arch& arch, const ScoreOptions& o, ProxyEvaluator& evaluator) {
  o.validate();
  ScoreResult result;
  result.arch = arch;
  result.size = model_size(build_graph(NetworkConfig::nb201(o.dataset), arch));

  ProxyNetwork ntk_net = evaluator.network(NetworkConfig::ntk(o.dataset), arch);
  ProxyNetwork lr_net = evaluator.network(NetworkConfig::linear_regions(o.dataset), arch);
  // Independent streams: changing the LR settings never changes the NTK inputs or weights.
  InputSampler ntk_data(o.data, derive_seed(o.seed, "ntk-data"));
  InputSampler lr_data(o.data, derive_seed(o.seed, "lr-data"));
  const bool released = o.init == InitScheme::kReleased;
  const std::filesystem::path dump = o.dump_dir;

  for (int r = 0; r < o.repeats; ++r) {
    RepeatScore rep;
    auto start = Clock::now();
    if (released && r == 0)
      ntk_net.initialize(InitMode::kPyTorchDefault, score_init_seed(o.seed, true, -1));
    if (!released) ntk_net.initialize(InitMode::kKaimingFanOut, score_init_seed(o.seed, true, r));
    ImageBatch batch = ntk_data.ntk_batch(o.batch, ntk_input_size(o.dataset));
    const bool dumping = !o.dump_dir.empty() && r == 0;
    NtkDump ntk_dump;
    rep.ntk = evaluator.ntk_condition(ntk_net, batch, dumping ? &ntk_dump : nullptr);
    if (dumping) dump_ntk(dump, batch, ntk_net, ntk_dump, rep.ntk);
    rep.ntk_seconds = seconds_since(start);
    result.ntk_seconds += rep.ntk_seconds;

    start = Clock::now();
    if (released && r == 0)
      lr_net.initialize(InitMode::kPyTorchDefault, score_init_seed(o.seed, false, -1));
    if (!released) lr_net.initialize(InitMode::kKaimingFanIn, score_init_seed(o.seed, false, r));
    std::vector<ImageBatch> lr_batches;
    for (int b = 0; b < o.lr_batches; ++b) lr_batches.push_back(lr_data.lr_batch(o.lr_samples));
    rep.linear_regions = evaluator.linear_regions(lr_net, lr_batches, o.verify_lr);
    std::vector<float> all_inputs;
    if (!o.dump_dir.empty() && r == 0)
      for (const ImageBatch& lr : lr_batches)
        all_inputs.insert(all_inputs.end(), lr.data.begin(), lr.data.end());
    if (!o.dump_dir.empty() && r == 0) {
      write_npy((dump / "lr_inputs.npy").string(),
                {static_cast<std::int64_t>(o.lr_batches) * o.lr_samples, 1, 3, 3},
                all_inputs.data());
      dump_parameters(lr_net, dump / "lr_params");
    }
    rep.lr_seconds = seconds_since(start);
    result.lr_seconds += rep.lr_seconds;
    result.repeats.push_back(rep);
  }
  for (const Parameter& p : ntk_net.graph().params)
    if (p.is_weight()) result.ntk_params += p.size;
  double ntk_sum = 0, lr_sum = 0;
  for (const RepeatScore& rep : result.repeats) {
    ntk_sum += rep.ntk.tenas_condition;
    lr_sum += static_cast<double>(rep.linear_regions);
    result.ntk_valid = result.ntk_valid && rep.ntk.valid;
  }
  result.ntk_condition = ntk_sum / o.repeats;
  result.linear_regions = lr_sum / o.repeats;
  return result;
}

}  // namespace micronas
