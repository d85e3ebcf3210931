// The pruning search's rounds as JSON, both ways: written into --json output and checkpoints,
// read back from a checkpoint to resume an interrupted search.
#pragma once

#include <nlohmann/json.hpp>

#include "micronas/pruning_search.hpp"

namespace micronas::cli {

nlohmann::ordered_json round_to_json(const SearchRound& round);
// Inverse of round_to_json; throws Error(kParseError) naming the missing or malformed field.
SearchRound round_from_json(const nlohmann::json& j);

}  // namespace micronas::cli
