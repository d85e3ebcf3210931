#include "search/search_json.hpp"

#include <cmath>
#include <limits>

#include "micronas/error.hpp"
#include "micronas/threads.hpp"

namespace micronas {
namespace {

// Non-finite numbers are written as null (JSON has no NaN) and read back as NaN.
double number_or_nan(const nlohmann::json& v) {
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

nlohmann::ordered_json numbers(const std::vector<double>& values) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (double v : values) out.push_back(json_number(v));
  return out;
}

std::vector<double> numbers_from(const nlohmann::json& j) {
  std::vector<double> out;
  for (const auto& v : j) out.push_back(number_or_nan(v));
  return out;
}

}  // namespace

nlohmann::ordered_json json_number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json limits_json(const McuLimits& l) {
  return {{"max_latency_ms", json_number(l.max_latency_ms)},
          {"max_sram_kb", json_number(l.max_sram_kb)},
          {"max_flash_kb", json_number(l.max_flash_kb)}};
}

void add_rank_fields(nlohmann::ordered_json& j, const RankedCandidate& rank) {
  j["rank_ntk"] = rank.rank_ntk;
  j["rank_regions"] = rank.rank_regions;
  j["rank_flops"] = rank.rank_flops;
  j["rank_latency"] = rank.rank_latency;
  j["score"] = rank.score;
  j["order"] = rank.order;
}

nlohmann::ordered_json cost_json(const mcu::Nb201CostTable::Estimate& cost,
                                 const std::string& target, const mcu::EstimateOptions& options) {
  return {{"target", target},
          {"runtime", mcu::runtime_name(options.runtime)},
          {"latency_model", mcu::latency_model_name(options.latency_model)},
          {"latency_ms", cost.latency_ms},
          {"cycles", cost.cycles},
          {"peak_sram_kb", static_cast<double>(cost.peak_sram_bytes) / 1024.0},
          {"flash_kb", static_cast<double>(cost.flash_bytes) / 1024.0}};
}

nlohmann::ordered_json random_search_cell_json(const RandomSearchCell& cell,
                                               const std::string& target,
                                               const mcu::EstimateOptions& options) {
  nlohmann::ordered_json j;
  j["arch"] = cell.score.arch.to_string();
  j["ntk_condition"] = json_number(cell.score.ntk_condition);
  j["ntk_valid"] = cell.score.ntk_valid;
  j["linear_regions"] = cell.score.linear_regions;
  j["proxy_flops"] = cell.proxy_flops;
  j["mcu"] = cost_json(cell.cost, target, options);
  add_rank_fields(j, cell.rank);
  return j;
}

nlohmann::ordered_json network_totals_json(const Arch& arch, Dataset dataset,
                                           const mcu::TargetProfile& target,
                                           const mcu::EstimateOptions& options,
                                           const mcu::NetworkEstimate& est) {
  nlohmann::ordered_json out;
  out["arch"] = arch.to_string();
  out["target"] = target.name;
  out["clock_mhz"] = est.clock_mhz;
  out["runtime"] = mcu::runtime_name(est.runtime);
  out["dataset"] = dataset_name(dataset);
  out["latency_model"] = mcu::latency_model_name(options.latency_model);
  out["latency_ms"] = est.latency_ms;
  out["analytic_latency_ms"] = est.analytic_latency_ms;
  out["micronas_table_ms"] = est.micronas_table_ms;
  out["peak_sram_kb"] = est.peak_sram_kb();
  out["flash_kb"] = est.flash_kb();
  out["model_flash_kb"] = static_cast<double>(est.model_flash_bytes) / 1024.0;
  out["peak_sram_bytes"] = est.peak_sram_bytes;
  out["arena_plan_bytes"] = est.arena_plan_bytes;
  out["activation_plan_bytes"] = est.activation_plan_bytes;
  out["model_flash_bytes"] = est.model_flash_bytes;
  out["macs"] = est.macs;
  out["cycles"] = est.cycles;
  out["fits_sram"] = est.fits_sram;
  out["fits_flash"] = est.fits_flash;
  return out;
}

nlohmann::ordered_json devices_json() {
  nlohmann::ordered_json out;
  out["cpu"] = {{"threads", default_num_threads()}};
  out["cuda_compiled"] = cuda_compiled();
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const CudaDevice& d : cuda_devices())
    list.push_back({{"index", d.index},
                    {"name", d.name},
                    {"compute_capability",
                     std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor)},
                    {"memory_gib", d.memory_gib}});
  out["cuda_devices"] = list;
  out["auto"] = backend_name(ComputeContext::of(BackendKind::kAuto).resolved().backend);
  return out;
}

nlohmann::ordered_json score_json(const ScoreResult& r, const ScoreOptions& o) {
  nlohmann::ordered_json out;
  out["arch"] = r.arch.to_string();
  out["is_cell"] = r.arch.is_cell();
  out["dataset"] = dataset_name(o.dataset);
  out["data"] = o.data.to_string();
  out["seed"] = o.seed;
  out["batch"] = o.batch;
  out["repeats"] = o.repeats;
  out["init"] = init_scheme_name(o.init);
  out["backend"] = o.context.describe();
  out["threads"] = o.context.cpu_threads();
  out["ntk_condition"] = json_number(r.ntk_condition);
  out["ntk_valid"] = r.ntk_valid;
  out["linear_regions"] = r.linear_regions;
  out["flops_m"] = r.size.flops_m();
  out["params_m"] = r.size.params_m();
  out["ntk_jacobian_columns"] = r.ntk_params;
  nlohmann::ordered_json reps = nlohmann::ordered_json::array();
  for (const RepeatScore& rep : r.repeats) {
    nlohmann::ordered_json j;
    j["ntk_condition"] = json_number(rep.ntk.condition);
    j["ntk_condition_tenas"] = json_number(rep.ntk.tenas_condition);
    j["ntk_valid"] = rep.ntk.valid;
    if (!rep.ntk.valid) j["ntk_invalid_reason"] = rep.ntk.invalid_reason;
    j["lambda_min"] = json_number(rep.ntk.lambda_min);
    j["lambda_max"] = json_number(rep.ntk.lambda_max);
    j["linear_regions"] = rep.linear_regions;
    j["seconds"] = {{"ntk", rep.ntk_seconds}, {"linear_regions", rep.lr_seconds}};
    reps.push_back(j);
  }
  out["per_repeat"] = reps;
  out["seconds"] = {{"ntk", r.ntk_seconds}, {"linear_regions", r.lr_seconds}};
  return out;
}

nlohmann::ordered_json round_to_json(const SearchRound& r) {
  nlohmann::ordered_json out;
  out["round"] = r.round;
  out["state"] = r.state.to_string();
  out["supernet_ntk_conditions"] = numbers(r.ntk_conditions);
  out["supernet_linear_regions"] = numbers(r.linear_regions);
  nlohmann::ordered_json cands = nlohmann::ordered_json::array();
  for (const CandidateResult& c : r.candidates) {
    nlohmann::ordered_json j;
    j["edge"] = c.edge;
    j["op"] = op_name(c.op);
    j["ntk_delta"] = json_number(c.deltas.ntk);
    j["regions_delta"] = json_number(c.deltas.regions);
    j["flops_delta"] = json_number(c.deltas.flops);
    j["latency_delta"] = json_number(c.deltas.latency);
    j["ntk_conditions"] = numbers(c.ntk_conditions);
    j["ntk_valid"] = c.ntk_valid;
    j["linear_regions"] = c.linear_regions;
    j["ntk_deltas"] = numbers(c.ntk_deltas);
    j["regions_deltas"] = numbers(c.regions_deltas);
    add_rank_fields(j, c.rank);
    j["pruned"] = c.pruned;
    j["blocked_by_limits"] = c.blocked_by_limits;
    cands.push_back(j);
  }
  out["candidates"] = cands;
  out["pruned_state"] = r.pruned_state.to_string();
  if (r.feasible_cells >= 0) out["feasible_cells"] = r.feasible_cells;
  out["seconds"] = r.seconds;
  return out;
}

SearchRound round_from_json(const nlohmann::json& j) {
  try {
    SearchRound r;
    r.round = j.at("round").get<int>();
    r.state = Arch::parse(j.at("state").get<std::string>());
    r.ntk_conditions = numbers_from(j.at("supernet_ntk_conditions"));
    r.linear_regions = numbers_from(j.at("supernet_linear_regions"));
    for (const auto& cj : j.at("candidates")) {
      CandidateResult c;
      c.edge = cj.at("edge").get<int>();
      c.op = op_from_name(cj.at("op").get<std::string>());
      c.deltas.ntk = number_or_nan(cj.at("ntk_delta"));
      c.deltas.regions = number_or_nan(cj.at("regions_delta"));
      c.deltas.flops = number_or_nan(cj.at("flops_delta"));
      c.deltas.latency = number_or_nan(cj.at("latency_delta"));
      c.ntk_conditions = numbers_from(cj.at("ntk_conditions"));
      c.ntk_valid = cj.at("ntk_valid").get<bool>();
      c.linear_regions = cj.at("linear_regions").get<std::vector<std::int64_t>>();
      c.ntk_deltas = numbers_from(cj.at("ntk_deltas"));
      c.regions_deltas = numbers_from(cj.at("regions_deltas"));
      c.rank.rank_ntk = cj.at("rank_ntk").get<int>();
      c.rank.rank_regions = cj.at("rank_regions").get<int>();
      c.rank.rank_flops = cj.at("rank_flops").get<int>();
      c.rank.rank_latency = cj.at("rank_latency").get<int>();
      c.rank.score = cj.at("score").get<double>();
      c.rank.order = cj.at("order").get<int>();
      c.pruned = cj.at("pruned").get<bool>();
      c.blocked_by_limits = cj.at("blocked_by_limits").get<bool>();
      r.candidates.push_back(std::move(c));
    }
    r.pruned_state = Arch::parse(j.at("pruned_state").get<std::string>());
    r.feasible_cells = j.contains("feasible_cells") ? j["feasible_cells"].get<std::int64_t>() : -1;
    r.seconds = j.at("seconds").get<double>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(Status::kParseError, std::string("malformed search round: ") + e.what());
  }
}

}  // namespace micronas
