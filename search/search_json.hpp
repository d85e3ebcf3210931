// Results as JSON, shared by the command-line program and the C ABI so that both write the same
// fields: the pruning search's rounds both ways (--json output and checkpoints, read back to
// resume an interrupted search), random-search cells, score results, limits and MCU costs. Internal
// to the library (the JSON library is not part of the public interface).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "micronas/mcu.hpp"
#include "micronas/mcu_limits.hpp"
#include "micronas/pruning_search.hpp"
#include "micronas/random_search.hpp"
#include "micronas/score.hpp"

namespace micronas {

// JSON has no NaN/Inf: non-finite values become null.
nlohmann::ordered_json json_number(double v);
nlohmann::ordered_json limits_json(const McuLimits& limits);
// Adds rank_ntk, rank_regions, rank_flops, rank_latency, score and order to `j`.
void add_rank_fields(nlohmann::ordered_json& j, const RankedCandidate& rank);
// The backends this build has and the devices this machine shows (`micronas devices --json`).
nlohmann::ordered_json devices_json();
// `micronas score --json`: the options, the means, FLOPs/params and every repeat.
nlohmann::ordered_json score_json(const ScoreResult& result, const ScoreOptions& options);

// A searched cell's deployed cost on `target` with the runtime and latency model used.
nlohmann::ordered_json cost_json(const mcu::Nb201CostTable::Estimate& cost,
                                 const std::string& target, const mcu::EstimateOptions& options);
// One sampled cell of a random search: its proxies, proxy FLOPs, cost and ranks.
nlohmann::ordered_json random_search_cell_json(const RandomSearchCell& cell,
                                               const std::string& target,
                                               const mcu::EstimateOptions& options);
// The whole network's totals (`micronas mcu --json` without the per-layer lists).
nlohmann::ordered_json network_totals_json(const Arch& arch, Dataset dataset,
                                           const mcu::TargetProfile& target,
                                           const mcu::EstimateOptions& options,
                                           const mcu::NetworkEstimate& est);

nlohmann::ordered_json round_to_json(const SearchRound& round);
// Inverse of round_to_json; throws Error(kParseError) naming the missing or malformed field.
SearchRound round_from_json(const nlohmann::json& j);

}  // namespace micronas
