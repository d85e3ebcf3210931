#include "options_json.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>

#include "micronas/error.hpp"

namespace micronas::c_api {

namespace {

// A value for an error message: a scalar as JSON, shortened; an array or object by its kind
// only, so that a deeply nested or huge value is never written out (dump() recurses).
std::string describe(const nlohmann::json& v) {
  if (v.is_structured()) return std::string("a JSON ") + v.type_name();
  std::string text = v.dump();
  constexpr std::size_t kMax = 64;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

// Whether the JSON integer v fits T without wrapping.
template <class T>
bool fits(const nlohmann::json& v) {
  if (v.is_number_unsigned())
    return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  const std::int64_t i = v.get<std::int64_t>();
  if constexpr (std::is_signed_v<T>)
    return i >= std::numeric_limits<T>::min() && i <= std::numeric_limits<T>::max();
  else
    return i >= 0 && static_cast<std::uint64_t>(i) <= std::numeric_limits<T>::max();
}

}  // namespace

OptionsJson::OptionsJson(const char* text) : json_(nlohmann::json::object()) {
  if (!text || !*text) return;
  try {
    json_ = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(Status::kParseError, std::string("options are not valid JSON: ") + e.what());
  }
  if (!json_.is_object())
    throw Error(Status::kParseError, "options must be a JSON object, got " + describe(json_));
}

template <class T>
bool OptionsJson::get(const char* key, T* out) {
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) return false;
  used_.insert(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!it->is_number_integer() || !fits<T>(*it))
      throw Error(Status::kInvalidArgument,
                  std::string("option '") + key + "' must be an integer in " +
                      std::to_string(std::numeric_limits<T>::min()) + ".." +
                      std::to_string(std::numeric_limits<T>::max()) + ", got " + describe(*it));
  }
  try {
    *out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(Status::kInvalidArgument,
                std::string("option '") + key + "' has the wrong type: " + describe(*it));
  }
  return true;
}

Dataset OptionsJson::dataset() {
  std::string name = "cifar10";
  get("dataset", &name);
  return dataset_from_name(name);
}

std::string OptionsJson::target() {
  std::string name = "stm32f746";
  get("target", &name);
  return name;
}

ScoreOptions OptionsJson::network() {
  ScoreOptions o;
  o.dataset = dataset();
  std::string text;
  if (get("init", &text)) o.init = init_scheme_from_name(text);
  get("seed", &o.seed);
  return o;
}

ScoreOptions OptionsJson::score() {
  ScoreOptions o = network();
  std::string text;
  if (get("data", &text)) o.data = DataSpec::parse(text);
  get("batch", &o.batch);
  get("repeat", &o.repeats);
  get("lr_samples", &o.lr_samples);
  get("lr_batches", &o.lr_batches);
  get("verify_lr", &o.verify_lr);
  o.validate();
  return o;
}

mcu::EstimateOptions OptionsJson::estimate() {
  mcu::EstimateOptions o;
  std::string text;
  if (get("runtime", &text)) o.runtime = mcu::runtime_from_name(text);
  if (get("latency_table", &text)) o.latency_model = mcu::latency_model_from_name(text);
  if (get("clock_mhz", &o.clock_mhz) && !(o.clock_mhz > 0))
    throw Error(Status::kInvalidArgument, "option 'clock_mhz' must be > 0");
  return o;
}

std::map<std::string, std::vector<std::int64_t>> OptionsJson::parameter_shapes() {
  std::map<std::string, std::vector<std::int64_t>> shapes;
  auto it = json_.find("param_shapes");
  if (it == json_.end() || it->is_null()) return shapes;
  used_.insert("param_shapes");
  auto bad = [](const std::string& what) {
    throw Error(Status::kInvalidArgument, "option 'param_shapes' " + what);
  };
  if (!it->is_object()) bad("must be an object of name: [dimensions], got " + describe(*it));
  for (auto p = it->begin(); p != it->end(); ++p) {
    if (!p->is_array()) bad("'" + p.key() + "' must be an array of dimensions");
    std::vector<std::int64_t>& dims = shapes[p.key()];
    for (const nlohmann::json& d : *p) {
      if (!d.is_number_integer() || !fits<std::int32_t>(d) || d.get<std::int64_t>() < 0)
        bad("'" + p.key() + "' has a dimension that is not a non-negative integer: " + describe(d));
      dims.push_back(d.get<std::int64_t>());
    }
  }
  return shapes;
}

void OptionsJson::read_limits(McuLimits* limits) {
  get("max_latency_ms", &limits->max_latency_ms);
  get("max_sram_kb", &limits->max_sram_kb);
  get("max_flash_kb", &limits->max_flash_kb);
  limits->validate();
}

SearchOptions OptionsJson::search() {
  SearchOptions o;
  o.proxies = score();
  std::string text;
  if (get("batches", &text)) o.batches = batch_policy_from_name(text);
  get("precision", &o.precision);
  if (get("ties", &text)) o.ties = rank_ties_from_name(text);
  get("flops_weight", &o.flops_weight);
  get("latency_weight", &o.latency_weight);
  o.target = target();
  o.mcu = estimate();
  read_limits(&o.limits);
  if (get("start", &text)) o.start = Arch::parse(text);
  return o;
}

RandomSearchOptions OptionsJson::random_search() {
  RandomSearchOptions o;
  o.proxies = score();
  get("samples", &o.samples);
  get("flops_weight", &o.flops_weight);
  get("latency_weight", &o.latency_weight);
  o.target = target();
  o.mcu = estimate();
  read_limits(&o.limits);
  return o;
}

void OptionsJson::require_all_used() const {
  for (auto it = json_.begin(); it != json_.end(); ++it)
    if (!used_.count(it.key()) && !it->is_null())
      throw Error(Status::kInvalidArgument, "unknown option '" + it.key() + "' for this call");
}

}  // namespace micronas::c_api
