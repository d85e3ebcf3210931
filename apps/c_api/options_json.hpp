// The C ABI's options: a JSON object whose keys are the command-line options' names (with '_'
// for '-'), read into the library's option structs. A key that the call does not take is refused
// by name, so a misspelt option never passes silently.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "micronas/mcu.hpp"
#include "micronas/pruning_search.hpp"
#include "micronas/random_search.hpp"
#include "micronas/score.hpp"

namespace micronas::c_api {

class OptionsJson {
 public:
  // Parses `text` (NULL or empty: no options). Throws Error(kParseError) for malformed JSON or
  // a value that is not an object.
  explicit OptionsJson(const char* text);

  ScoreOptions score();
  // Only what draws a network's parameters: dataset, seed, init.
  ScoreOptions network();
  SearchOptions search();
  RandomSearchOptions random_search();
  mcu::EstimateOptions estimate();
  std::string target();
  Dataset dataset();
  // "param_shapes": {"name": [d0, d1, ...], ...}, the shapes of the caller's parameters, each
  // checked against the network's (empty when not given).
  std::map<std::string, std::vector<std::int64_t>> parameter_shapes();

  // Throws Error(kInvalidArgument) naming the first key that no getter above consumed.
  void require_all_used() const;

 private:
  template <class T>
  bool get(const char* key, T* out);
  void read_limits(McuLimits* limits);

  nlohmann::json json_;
  std::set<std::string> used_;
};

}  // namespace micronas::c_api
