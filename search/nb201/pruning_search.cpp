#include "micronas/pruning_search.hpp"

#include <chrono>
#include <cmath>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "runtime/proxy_evaluator.hpp"

namespace micronas {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct NtkValue {
  double condition = 0;  // TE-NAS's value (NaN -> 1e5), what the deltas use
  bool valid = true;
};

Arch remove_none(const Arch& start) {
  Arch state = start;
  for (int e = 0; e < kNumEdges; ++e) {
    if (state.has(e, Op::kNone)) state = state.without(e, Op::kNone);
    if (state.num_active(e) == 0)
      throw Error(Status::kInvalidArgument, "the start state " + start.to_string() +
                                                " has no op "
                                                "other than none on edge " +
                                                std::to_string(e));
  }
  return state;
}

void validate(const SearchOptions& o) {
  o.proxies.validate();
  if (o.precision < 0 || o.precision > 15)
    throw Error(Status::kInvalidArgument, "--precision must be in 0..15 decimals");
  if (!(o.flops_weight >= 0) || !(o.latency_weight >= 0) || o.flops_weight + o.latency_weight > 1)
    throw Error(Status::kInvalidArgument,
                "--flops-weight and --latency-weight must be >= 0 with a sum <= 1");
  o.limits.validate();
}

// The NTK and linear-region networks of one state, and how their weights are drawn. Released
// init: one draw per round (TE-NAS builds the supernet once per round and its re-initialisation
// never ran); the LR net is drawn anew per candidate under the per-candidate policy. Kaiming:
// a fresh draw for every (candidate, repeat) stream. Draws are deterministic in their labels, so
// re-initialising gives the same values again.
class RoundContext {
 public:
  RoundContext(const SearchOptions& o, ProxyEvaluator& evaluator, const Arch& state, int round)
      : o_(o),
        seed_(derive_seed(o.proxies.seed, static_cast<std::uint64_t>(round))),
        ntk_(evaluator.network(NetworkConfig::ntk(o.proxies.dataset), state)),
        lr_(evaluator.network(NetworkConfig::linear_regions(o.proxies.dataset), state)) {}

  // Initialises the supernet's networks for `repeat` of the stream `stream` (the candidate's
  // index under the per-candidate policy, -1 for the shared one).
  void initialize(int stream, int repeat) {
    const bool released = o_.proxies.init == InitScheme::kReleased;
    const bool per_candidate = o_.batches == BatchPolicy::kPerCandidate;
    std::uint64_t ntk_seed = derive_seed(seed_, "ntk-init");
    std::uint64_t lr_seed = derive_seed(seed_, "lr-init");
    if (per_candidate) lr_seed = derive_seed(lr_seed, static_cast<std::uint64_t>(stream + 1));
    if (!released) {
      const auto key = static_cast<std::uint64_t>(stream + 1) * 1000003u + repeat;
      ntk_seed = derive_seed(ntk_seed, key);
      lr_seed = derive_seed(lr_seed, key);
    }
    if (!ntk_ready_ || ntk_seed != ntk_seed_) {
      ntk_.initialize(released ? InitMode::kPyTorchDefault : InitMode::kKaimingFanOut, ntk_seed);
      ntk_seed_ = ntk_seed;
      ntk_ready_ = true;
    }
    if (!lr_ready_ || lr_seed != lr_seed_) {
      lr_.initialize(released ? InitMode::kPyTorchDefault : InitMode::kKaimingFanIn, lr_seed);
      lr_seed_ = lr_seed;
      lr_ready_ = true;
    }
  }

  ProxyNetwork& ntk() { return ntk_; }
  ProxyNetwork& lr() { return lr_; }

 private:
  const SearchOptions& o_;
  std::uint64_t seed_;
  ProxyNetwork ntk_, lr_;
  std::uint64_t ntk_seed_ = 0, lr_seed_ = 0;
  bool ntk_ready_ = false, lr_ready_ = false;
};

struct RepeatInputs {
  ImageBatch ntk;
  std::vector<ImageBatch> lr;
};

class Searcher {
 public:
  explicit Searcher(const SearchOptions& o)
      : o_(o),
        costs_(mcu::load_target(o.target), NetworkConfig::nb201(o.proxies.dataset), o.mcu),
        checker_(costs_, o.limits),
        evaluator_(o.proxies.context),
        ntk_data_(o.proxies.data, derive_seed(o.proxies.seed, "ntk-data")),
        lr_data_(o.proxies.data, derive_seed(o.proxies.seed, "lr-data")) {}

  SearchResult run() {
    const auto start = Clock::now();
    Arch state = remove_none(o_.start);
    checker_.require_feasible(state);
    total_ = count_search_candidates(state);
    SearchResult result;
    for (const SearchRound& done : o_.resume_from) {
      const int round = static_cast<int>(result.rounds.size()) + 1;
      if (done.round != round || done.state != state || state.is_cell())
        throw Error(Status::kInvalidArgument,
                    "checkpoint round " + std::to_string(done.round) + " (state " +
                        done.state.to_string() +
                        ") does not continue this search: expected round " + std::to_string(round) +
                        " from " + state.to_string());
      replay_draws(done);
      result.rounds.push_back(done);
      state = done.pruned_state;
    }
    for (int round = static_cast<int>(result.rounds.size()) + 1; !state.is_cell(); ++round) {
      result.rounds.push_back(run_round(state, round));
      if (o_.on_round) o_.on_round(result.rounds.back());
      state = result.rounds.back().pruned_state;
    }
    result.arch = state;
    result.cost = costs_.estimate(state);
    result.size = model_size(build_graph(NetworkConfig::nb201(o_.proxies.dataset), state));
    result.ntk_evaluations = ntk_evaluations_;
    result.lr_evaluations = lr_evaluations_;
    result.seconds = seconds_since(start);
    return result;
  }

 private:
  RepeatInputs draw_inputs() {
    RepeatInputs in;
    in.ntk = ntk_data_.ntk_batch(o_.proxies.batch, ntk_input_size(o_.proxies.dataset));
    for (int b = 0; b < o_.proxies.lr_batches; ++b)
      in.lr.push_back(lr_data_.lr_batch(o_.proxies.lr_samples));
    return in;
  }

  // Advances the input streams and counters past a round completed earlier, so that the rounds
  // after it see the same inputs as in an uninterrupted run.
  void replay_draws(const SearchRound& done) {
    const int repeats = o_.proxies.repeats;
    const bool shared = o_.batches == BatchPolicy::kSharedPerRound;
    const std::size_t draws = shared ? repeats : done.candidates.size() * repeats;
    for (std::size_t i = 0; i < draws; ++i) draw_inputs();
    const int supernet = static_cast<int>(done.ntk_conditions.size());
    ntk_evaluations_ += supernet + static_cast<int>(done.candidates.size()) * repeats;
    lr_evaluations_ += supernet + static_cast<int>(done.candidates.size()) * repeats;
    done_ += static_cast<int>(done.candidates.size());
  }

  NtkValue ntk(ProxyNetwork& net, const ImageBatch& batch) {
    ++ntk_evaluations_;
    const NtkCondition c = evaluator_.ntk_condition(net, batch);
    return {c.tenas_condition, c.valid};
  }
  std::int64_t regions(ProxyNetwork& net, const std::vector<ImageBatch>& batches) {
    ++lr_evaluations_;
    return evaluator_.linear_regions(net, batches);
  }

  SearchRound run_round(const Arch& state, int round) {
    const auto start = Clock::now();
    const int repeats = o_.proxies.repeats;
    const bool shared = o_.batches == BatchPolicy::kSharedPerRound;
    SearchRound out;
    out.round = round;
    out.state = state;
    RoundContext super(o_, evaluator_, state, round);

    // Shared policy: the supernet's proxies once per repeat on the round's inputs.
    std::vector<RepeatInputs> inputs;
    std::vector<double> ntk_current, regions_current;
    if (shared) {
      for (int r = 0; r < repeats; ++r) {
        inputs.push_back(draw_inputs());
        super.initialize(-1, r);
        ntk_current.push_back(ntk(super.ntk(), inputs[r].ntk).condition);
        regions_current.push_back(static_cast<double>(regions(super.lr(), inputs[r].lr)));
      }
      out.ntk_conditions = ntk_current;
      out.linear_regions = regions_current;
    }

    const NetworkConfig ntk_config = NetworkConfig::ntk(o_.proxies.dataset);
    const double flops_state = static_cast<double>(model_size(build_graph(ntk_config, state)).macs);
    const double latency_state = costs_.latency_ms(state);
    for (int e = 0; e < kNumEdges; ++e) {
      if (state.num_active(e) < 2) continue;
      for (Op op : state.ops(e)) {
        const int index = static_cast<int>(out.candidates.size());
        const Arch pruned = state.without(e, op);
        CandidateResult c;
        c.edge = e;
        c.op = op;
        ProxyNetwork cand_ntk = evaluator_.network(ntk_config, pruned);
        ProxyNetwork cand_lr =
            evaluator_.network(NetworkConfig::linear_regions(o_.proxies.dataset), pruned);
        double ntk_sum = 0, regions_sum = 0;
        for (int r = 0; r < repeats; ++r) {
          RepeatInputs fresh;
          double ntk_cur, regions_cur;
          super.initialize(shared ? -1 : index, r);
          if (shared) {
            ntk_cur = ntk_current[r];
            regions_cur = regions_current[r];
          } else {
            fresh = draw_inputs();
            ntk_cur = ntk(super.ntk(), fresh.ntk).condition;
            regions_cur = static_cast<double>(regions(super.lr(), fresh.lr));
            out.ntk_conditions.push_back(ntk_cur);
            out.linear_regions.push_back(regions_cur);
          }
          const RepeatInputs& in = shared ? inputs[r] : fresh;
          cand_ntk.copy_parameters_from(super.ntk());
          cand_lr.copy_parameters_from(super.lr());
          const NtkValue k = ntk(cand_ntk, in.ntk);
          const std::int64_t lr = regions(cand_lr, in.lr);
          c.ntk_conditions.push_back(k.condition);
          c.linear_regions.push_back(lr);
          c.ntk_valid = c.ntk_valid && k.valid;
          c.ntk_deltas.push_back(rounded_relative_change(ntk_cur, k.condition, o_.precision));
          c.regions_deltas.push_back(
              rounded_relative_change(regions_cur, static_cast<double>(lr), o_.precision));
          // numpy.mean of a short array: a left-to-right sum divided by the count.
          ntk_sum += c.ntk_deltas.back();
          regions_sum += c.regions_deltas.back();
        }
        c.deltas.ntk = ntk_sum / repeats;
        c.deltas.regions = regions_sum / repeats;
        const double flops = static_cast<double>(model_size(build_graph(ntk_config, pruned)).macs);
        c.deltas.flops = rounded_relative_change(flops_state, flops, o_.precision);
        c.deltas.latency =
            rounded_relative_change(latency_state, costs_.latency_ms(pruned), o_.precision);
        out.candidates.push_back(std::move(c));
        ++done_;
        if (o_.progress) o_.progress(done_, total_, round);
      }
    }
    out.pruned_state = prune(state, out.candidates);
    if (o_.limits.any()) out.feasible_cells = checker_.count_feasible(out.pruned_state);
    out.seconds = seconds_since(start);
    return out;
  }

  // Removes on every edge the first op in the pruning order whose removal keeps a cell that
  // satisfies the limits; records the ranks and decisions in `candidates`.
  Arch prune(const Arch& state, std::vector<CandidateResult>& candidates) const {
    std::vector<RankInputs> inputs;
    for (const CandidateResult& c : candidates) inputs.push_back(c.deltas);
    std::vector<RankedCandidate> ranks =
        rank_candidates(inputs, o_.flops_weight, o_.latency_weight, o_.ties);
    std::vector<int> by_order(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      candidates[i].rank = ranks[i];
      by_order[ranks[i].order] = static_cast<int>(i);
    }
    Arch next = state;
    std::array<bool, kNumEdges> done{};
    for (int i : by_order) {
      CandidateResult& c = candidates[i];
      if (done[c.edge]) continue;
      const Arch trial = next.without(c.edge, c.op);
      if (!checker_.any_feasible(trial)) {
        c.blocked_by_limits = true;
        continue;
      }
      next = trial;
      c.pruned = true;
      done[c.edge] = true;
    }
    return next;
  }

  const SearchOptions& o_;
  mcu::Nb201CostTable costs_;
  FeasibilityChecker checker_;
  ProxyEvaluator evaluator_;
  InputSampler ntk_data_, lr_data_;
  int total_ = 0, done_ = 0;
  int ntk_evaluations_ = 0, lr_evaluations_ = 0;
};

}  // namespace

const char* batch_policy_name(BatchPolicy policy) {
  return policy == BatchPolicy::kSharedPerRound ? "shared" : "per-candidate";
}

BatchPolicy batch_policy_from_name(const std::string& name) {
  if (name == "shared") return BatchPolicy::kSharedPerRound;
  if (name == "per-candidate") return BatchPolicy::kPerCandidate;
  throw Error(Status::kInvalidArgument,
              "unknown batch policy '" + name + "' (expected shared or per-candidate)");
}

int count_search_candidates(const Arch& start) {
  std::array<int, kNumEdges> active{};
  for (int e = 0; e < kNumEdges; ++e)
    active[e] = start.num_active(e) - (start.has(e, Op::kNone) ? 1 : 0);
  int total = 0;
  for (bool more = true; more;) {
    more = false;
    for (int& n : active) {
      if (n < 2) continue;
      total += n--;
      more = more || n > 1;
    }
  }
  return total;
}

SearchResult prune_search(const SearchOptions& options) {
  validate(options);
  Searcher searcher(options);
  return searcher.run();
}

}  // namespace micronas
