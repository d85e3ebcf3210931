// Zero-shot pruning search on the time-series space (include/micronas/timeseries_zero_shot.hpp).
#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "micronas/timeseries_distribution.hpp"
#include "micronas/timeseries_proxies.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/timeseries_zero_shot.hpp"

namespace micronas::timeseries {
namespace {

enum class Kind { kTrKernel, kTrWidth, kSfBottleneck, kSfBranch, kSfWidth, kSfResidual, kSfSkip };

// One decision and the options still left. Categorical decisions hold their values ascending
// (the cheapest first); binary ones the options {0, 1}: off/on, and for kSfSkip not skipped /
// skipped, so that index 0 is the cheaper option except for the skip.
struct Decision {
  Kind kind;
  int cell = 0;    // index among the Time-Reduce or among the Sensor-Fusion cells
  int branch = 0;  // kSfBranch: index into kBranchKernels
  std::string name;
  std::vector<int> values;
  std::vector<char> alive;

  bool binary() const {
    return kind == Kind::kSfBranch || kind == Kind::kSfResidual || kind == Kind::kSfSkip;
  }
  bool ordered_width() const {
    return kind == Kind::kTrWidth || kind == Kind::kSfBottleneck || kind == Kind::kSfWidth;
  }
  std::vector<int> left() const {
    std::vector<int> out;
    for (std::size_t i = 0; i < alive.size(); ++i)
      if (alive[i]) out.push_back(static_cast<int>(i));
    return out;
  }
  std::string label(int option) const {
    if (!binary()) return std::to_string(values[option]);
    if (kind == Kind::kSfSkip) return option ? "skipped" : "kept";
    return option ? "on" : "off";
  }
  std::string labels(const std::vector<int>& options) const {
    std::string s;
    for (int o : options) s += (s.empty() ? "" : ",") + label(o);
    return s;
  }
};

using State = std::vector<Decision>;

struct Candidate {
  int decision = 0;
  std::vector<int> remove;
};

std::vector<int> iota_values(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}

State initial_state(const Space& space) {
  State s;
  const auto add = [&](Kind kind, int cell, const std::string& name, std::vector<int> values,
                       int branch = 0) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    s.push_back({kind, cell, branch, name, std::move(values), std::vector<char>(n, 1)});
  };
  for (int i = 0; i < space.time_reduce_cells(); ++i) {
    const std::string p = "tr" + std::to_string(i + 1);
    add(Kind::kTrKernel, i, p + ".kernel", space.options().kernels);
    add(Kind::kTrWidth, i, p + ".width", space.time_widths());
  }
  for (int i = 0; i < space.sensor_fusion_cells(); ++i) {
    const std::string p = "sf" + std::to_string(i + 1);
    add(Kind::kSfBottleneck, i, p + ".bottleneck", space.bottleneck_widths());
    for (std::size_t b = 0; b < kBranchKernels.size(); ++b)
      add(Kind::kSfBranch, i, p + ".branch" + std::to_string(kBranchKernels[b]), iota_values(2),
          static_cast<int>(b));
    add(Kind::kSfWidth, i, p + ".width", space.block_widths());
    add(Kind::kSfResidual, i, p + ".residual", iota_values(2));
    if (!space.reduces(i)) add(Kind::kSfSkip, i, p + ".skip", iota_values(2));
  }
  return s;
}

const Decision* skip_of(const State& s, int cell) {
  for (const Decision& d : s)
    if (d.kind == Kind::kSfSkip && d.cell == cell) return &d;
  return nullptr;
}

// A Sensor-Fusion cell that can only be skipped: its other decisions no longer matter.
bool skipped(const State& s, int cell) {
  const Decision* d = skip_of(s, cell);
  return d && !d->alive[0];
}

bool frozen(const State& s, const Decision& d) {
  return d.kind != Kind::kTrKernel && d.kind != Kind::kTrWidth && d.kind != Kind::kSfSkip &&
         skipped(s, d.cell);
}

// Uniform over the options left; a binary choice is "on" with probability (on left) / (left).
ArchDistribution distribution(const Space& space, const State& s) {
  ArchDistribution d = ArchDistribution::uniform(space);
  for (const Decision& x : s) {
    const std::vector<int> left = x.left();
    std::vector<double> p(x.values.size(), 0.0);
    for (int o : left) p[o] = 1.0 / static_cast<double>(left.size());
    switch (x.kind) {
      case Kind::kTrKernel: {
        // The distribution lists the kernels in the space's order.
        const std::vector<int>& order = space.options().kernels;
        std::vector<double>& k = d.time_reduce[x.cell].kernel;
        for (std::size_t i = 0; i < order.size(); ++i)
          k[i] = p[std::find(x.values.begin(), x.values.end(), order[i]) - x.values.begin()];
        break;
      }
      case Kind::kTrWidth: d.time_reduce[x.cell].width = p; break;
      case Kind::kSfBottleneck: d.sensor_fusion[x.cell].bottleneck = p; break;
      case Kind::kSfWidth: d.sensor_fusion[x.cell].width = p; break;
      case Kind::kSfBranch: d.sensor_fusion[x.cell].branch[x.branch] = p[1]; break;
      case Kind::kSfResidual: d.sensor_fusion[x.cell].residual = p[1]; break;
      case Kind::kSfSkip: d.sensor_fusion[x.cell].skip = p[1]; break;
    }
  }
  return d;
}

// The cheapest network of the remaining set: every decision at its cheapest option left (the
// narrowest width, the smallest kernel, no residual, skipped when that is left); the branches
// forced on, or, when none is, the smallest-kernel branch that can be on.
Arch cheapest(const Space& space, const State& s) {
  Arch a = space.smallest();
  for (std::size_t i = 0; i < a.sensor_fusion.size(); ++i) a.sensor_fusion[i].branches = 0;
  for (const Decision& x : s) {
    const int first = x.left().front();
    switch (x.kind) {
      case Kind::kTrKernel: a.time_reduce[x.cell].kernel = x.values[first]; break;
      case Kind::kTrWidth: a.time_reduce[x.cell].width = x.values[first]; break;
      case Kind::kSfBottleneck: a.sensor_fusion[x.cell].bottleneck = x.values[first]; break;
      case Kind::kSfWidth: a.sensor_fusion[x.cell].width = x.values[first]; break;
      case Kind::kSfBranch:
        if (!x.alive[0]) a.sensor_fusion[x.cell].branches |= std::uint8_t(1u << x.branch);
        break;
      case Kind::kSfResidual: a.sensor_fusion[x.cell].residual = !x.alive[0]; break;
      case Kind::kSfSkip: a.sensor_fusion[x.cell].skip = x.alive[1] != 0; break;
    }
  }
  for (std::size_t i = 0; i < a.sensor_fusion.size(); ++i) {
    SensorFusionChoice& c = a.sensor_fusion[i];
    if (c.branches == 0) {
      for (const Decision& x : s)
        if (x.kind == Kind::kSfBranch && x.cell == static_cast<int>(i) && x.alive[1]) {
          c.branches = std::uint8_t(1u << x.branch);
          break;
        }
    }
    if (c.skip) c = SensorFusionChoice{true};
  }
  return a;
}

bool fits(const McuLimits& l, const DeployedCost& c) {
  return c.latency_ms <= l.max_latency_ms && c.peak_sram_kb <= l.max_sram_kb &&
         c.flash_kb <= l.max_flash_kb;
}

// A cell needs a temporal branch: the last branch that can be on must stay able to.
bool valid(const State& s, const Candidate& c) {
  const Decision& d = s[c.decision];
  if (d.kind != Kind::kSfBranch || std::find(c.remove.begin(), c.remove.end(), 1) == c.remove.end())
    return true;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (static_cast<int>(i) != c.decision && s[i].kind == Kind::kSfBranch && s[i].cell == d.cell &&
        s[i].alive[1])
      return true;
  return false;
}

State apply(State s, const Candidate& c) {
  for (int o : c.remove) s[c.decision].alive[o] = 0;
  return s;
}

std::vector<Candidate> candidates(const State& s) {
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const Decision& d = s[i];
    const std::vector<int> left = d.left();
    if (left.size() < 2 || frozen(s, d)) continue;
    const int di = static_cast<int>(i);
    if (d.ordered_width() && left.size() > 3) {
      // Coarse steps: the lower or the upper half of the widths left.
      const std::size_t half = left.size() / 2;
      out.push_back({di, std::vector<int>(left.begin(), left.begin() + half)});
      out.push_back({di, std::vector<int>(left.begin() + half, left.end())});
      continue;
    }
    for (int o : left) {
      Candidate c{di, {o}};
      if (valid(s, c)) out.push_back(c);
    }
  }
  return out;
}

// The inputs of one repeat: the NTK batch and the points of the linear-region segment.
struct Inputs {
  std::vector<float> ntk, lr;
  int batch = 0;
};

Inputs draw_inputs(const Dataset& train, const ZeroShotOptions& o, std::uint64_t seed) {
  Rng rng(seed);
  const std::size_t window = static_cast<std::size_t>(train.length) * train.dims;
  std::vector<int> order = iota_values(train.cases);
  // A partial Fisher-Yates shuffle: distinct windows (a repeated row would make K singular).
  const int take = std::min(train.cases, std::max(o.ntk_batch, 2));
  for (int i = 0; i < take; ++i)
    std::swap(order[i], order[i + static_cast<int>(rng.below(train.cases - i))]);
  Inputs in;
  in.batch = std::min(o.ntk_batch, train.cases);
  for (int i = 0; i < in.batch; ++i)
    in.ntk.insert(in.ntk.end(), train.values.begin() + order[i] * window,
                  train.values.begin() + (order[i] + 1) * window);
  const float* a = train.values.data() + order[0] * window;
  const float* b = train.values.data() + order[1] * window;
  in.lr.resize(window * o.lr_samples);
  for (int k = 0; k < o.lr_samples; ++k) {
    const float t = static_cast<float>(o.lr_segment * k / static_cast<double>(o.lr_samples - 1));
    for (std::size_t j = 0; j < window; ++j) in.lr[k * window + j] = a[j] + t * (b[j] - a[j]);
  }
  return in;
}

struct Scores {
  double ntk = 0, regions = 0;
};

// One executor per batch size, reused across every network scored.
struct Executors {
  training::TrainingExecutor<float> ntk, regions;
  explicit Executors(const training::TrainingGraph& net) : ntk(net), regions(net) {}
};

Scores score(const Space& space, const training::TrainingGraph& net,
             const std::vector<float>& params, const State& s, const Inputs& in,
             const ZeroShotOptions& o, Executors& ex) {
  const training::MixingValues mixing = supernet_mixing(space, net, distribution(space, s));
  Scores r;
  r.ntk = network_ntk(net, params, mixing, in.ntk.data(), in.batch, &ex.ntk).tenas_condition;
  ReluPatternCounter counter;
  counter.add_batch(net, params, mixing, in.lr.data(), o.lr_samples, &ex.regions);
  r.regions = static_cast<double>(counter.count());
  return r;
}

// The space the proxies are computed on: every width divided by the largest divisor up to
// `divisor` that divides every width option, so each width decision keeps its number of options
// (option i of the search's space is option i of this one) at a fraction of the compute.
Space proxy_space(const Space& space, int divisor) {
  const SpaceOptions& so = space.options();
  int d = std::max(1, divisor);
  const auto divides = [&](int k) {
    for (int v : {so.time_width_step, so.time_width_max, so.bottleneck_step, so.bottleneck_max,
                  so.block_width_step, so.block_width_max})
      if (v % k != 0) return false;
    return true;
  };
  while (d > 1 && !divides(d)) --d;
  SpaceOptions p = so;
  p.time_width_step /= d, p.time_width_max /= d;
  p.bottleneck_step /= d, p.bottleneck_max /= d;
  p.block_width_step /= d, p.block_width_max /= d;
  Space proxy(space.length(), space.sensors(), space.classes(), p);
  if (proxy.time_widths().size() != space.time_widths().size() ||
      proxy.bottleneck_widths().size() != space.bottleneck_widths().size() ||
      proxy.block_widths().size() != space.block_widths().size())
    throw Error(Status::kInternal, "zero-shot search: the proxy space has other width options");
  return proxy;
}

int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace

void ZeroShotOptions::validate() const {
  if (ntk_batch < 2 || ntk_batch > 4096)
    throw Error(Status::kInvalidArgument, "ntk_batch must be in [2, 4096]");
  if (lr_samples < 2 || lr_samples > 1000000)
    throw Error(Status::kInvalidArgument, "lr_samples must be in [2, 1000000]");
  if (repeats < 1 || repeats > 1000)
    throw Error(Status::kInvalidArgument, "repeats must be in [1, 1000]");
  if (precision < 0 || precision > 15)
    throw Error(Status::kInvalidArgument, "precision must be in [0, 15]");
  if (!(lr_segment > 0.0 && lr_segment <= 1.0))
    throw Error(Status::kInvalidArgument, "lr_segment must be in (0, 1]");
  if (width_divisor < 1 || width_divisor > 64)
    throw Error(Status::kInvalidArgument, "width_divisor must be in [1, 64]");
}

ZeroShotResult zero_shot_search(const Space& space, const Dataset& train, const McuLimits& limits,
                                const mcu::TargetProfile& target, const ZeroShotOptions& o,
                                const std::function<void(int, int, int)>& progress) {
  o.validate();
  limits.validate();
  if (train.length != space.length() || train.dims != space.sensors())
    throw Error(Status::kInvalidArgument, "zero-shot search: the training windows are not " +
                                              std::to_string(space.length()) + " x " +
                                              std::to_string(space.sensors()));
  if (train.cases < 2)
    throw Error(Status::kInvalidArgument, "zero-shot search needs at least two training cases");
  // Fails with the closest achievable value when even the cheapest network does not fit.
  repair_to_limits(space, cheapest_arch(space), ArchDistribution::uniform(space), limits, target);

  const Space proxy = proxy_space(space, o.width_divisor);
  const training::TrainingGraph net = supernet(proxy, NetworkOptions{0.0, false});
  const int threads = std::max(1, num_threads());
  std::vector<std::unique_ptr<Executors>> pool(static_cast<std::size_t>(threads));
  State state = initial_state(space);
  const auto feasible = [&](const State& s) {
    return fits(limits, deployed_cost(space, cheapest(space, s), target));
  };
  if (!feasible(state))
    throw Error(Status::kInternal, "zero-shot search: the cheapest network does not fit");
  ZeroShotResult result;
  const std::uint64_t base = derive_seed(o.seed, "zero-shot");
  for (int round = 0;; ++round) {
    const std::vector<Candidate> cands = candidates(state);
    if (cands.empty()) break;
    const std::uint64_t round_seed = derive_seed(base, static_cast<std::uint64_t>(round));
    const std::vector<float> params = net.initial_parameters(derive_seed(round_seed, "weights"));
    std::vector<Inputs> inputs;
    ZeroShotRound r;
    r.candidates = static_cast<int>(cands.size());
    for (int k = 0; k < o.repeats; ++k)
      inputs.push_back(
          draw_inputs(train, o, derive_seed(round_seed, static_cast<std::uint64_t>(k))));
    // Networks this small leave the threads idle inside each kernel: the networks are scored in
    // parallel instead (one executor pair per thread; the kernels inside then run on one thread,
    // and their results do not depend on the thread count).
    const int items = static_cast<int>(cands.size() + 1) * o.repeats;  // the current set first
    std::vector<Scores> scores(static_cast<std::size_t>(items));
    std::exception_ptr failure;
    int finished = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int item = 0; item < items; ++item) {
      try {
        const int c = item / o.repeats - 1, k = item % o.repeats;
        std::unique_ptr<Executors>& ex = pool[static_cast<std::size_t>(thread_index())];
        if (!ex) ex = std::make_unique<Executors>(net);
        scores[item] =
            score(proxy, net, params, c < 0 ? state : apply(state, cands[c]), inputs[k], o, *ex);
      } catch (...) {
#pragma omp critical(zero_shot_failure)
        if (!failure) failure = std::current_exception();
      }
      if (item % o.repeats == o.repeats - 1 && item >= o.repeats) {
#pragma omp critical(zero_shot_progress)
        {
          ++finished;
          if (progress) progress(round, finished, static_cast<int>(cands.size()));
        }
      }
    }
    if (failure) std::rethrow_exception(failure);
    for (int k = 0; k < o.repeats; ++k) {
      r.ntk += scores[k].ntk / o.repeats;
      r.regions += scores[k].regions / o.repeats;
    }
    result.evaluations += static_cast<int>(cands.size()) + 1;
    std::vector<RankInputs> ranks(cands.size());
    for (std::size_t c = 0; c < cands.size(); ++c) {
      for (int k = 0; k < o.repeats; ++k) {
        const Scores& now = scores[k];
        const Scores& s = scores[(c + 1) * o.repeats + k];
        ranks[c].ntk += rounded_relative_change(now.ntk, s.ntk, o.precision) / o.repeats;
        ranks[c].regions +=
            rounded_relative_change(now.regions, s.regions, o.precision) / o.repeats;
      }
    }
    const std::vector<RankedCandidate> ranked = rank_candidates(ranks, 0.0, 0.0, o.ties);
    std::vector<std::size_t> by_order(cands.size());
    for (std::size_t c = 0; c < cands.size(); ++c) by_order[ranked[c].order] = c;
    // Per decision, the first-ranked candidate that keeps a fitting network in the set; the
    // decisions are pruned one after the other in that order, each seeing the ones before.
    std::vector<char> done(state.size(), 0), passed(state.size(), 0);
    for (std::size_t pos = 0; pos < by_order.size(); ++pos) {
      const Candidate& c = cands[by_order[pos]];
      if (done[c.decision]) continue;
      const State next = apply(state, c);
      if (!valid(state, c)) continue;
      if (!feasible(next)) {
        passed[c.decision] = 1;
        continue;
      }
      const Decision& d = state[c.decision];
      ZeroShotPrune p;
      p.decision = d.name;
      p.removed = d.labels(c.remove);
      p.left = next[c.decision].labels(next[c.decision].left());
      p.delta_ntk = ranks[by_order[pos]].ntk;
      p.delta_regions = ranks[by_order[pos]].regions;
      p.rank = static_cast<int>(pos);
      p.passed_over = passed[c.decision] != 0;
      r.pruned.push_back(p);
      state = next;
      done[c.decision] = 1;
    }
    if (r.pruned.empty())
      throw Error(Status::kInternal, "zero-shot search: no candidate of round " +
                                         std::to_string(round + 1) + " keeps the limits");
    result.rounds.push_back(std::move(r));
  }
  result.arch = cheapest(space, state);
  space.check(result.arch);
  result.cost = deployed_cost(space, result.arch, target);
  if (!fits(limits, result.cost))
    throw Error(Status::kInternal, "zero-shot search: the result " + result.arch.to_string() +
                                       " does not fit the limits");
  return result;
}

}  // namespace micronas::timeseries
