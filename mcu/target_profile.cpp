// Target profiles: parsing the JSON format of mcu/targets/targets.json, the built-in copy of
// that file, and writing a (calibrated) profile back.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "mcu/op_cost.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "runtime/file_io.hpp"

namespace micronas::mcu {

extern const char* const kBuiltinTargetsJson;

namespace {

using Json = nlohmann::ordered_json;

// A profile document that is not a valid profile: a file of the wrong format (I/O error, as
// for any other malformed input file).
[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw Error(Status::kIoError, source + ": " + what);
}

const Json& field(const Json& obj, const char* key, const std::string& source) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(source, std::string("target profile lacks field '") + key + "'");
  return *it;
}

double number(const Json& obj, const char* key, const std::string& source) {
  const Json& v = field(obj, key, source);
  if (!v.is_number()) bad(source, std::string("field '") + key + "' must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) bad(source, std::string("field '") + key + "' must be finite");
  return d;
}

// A byte count or alignment: a whole number in [0, 2^30].
int byte_count(const Json& obj, const char* key, const std::string& source) {
  const double d = number(obj, key, source);
  if (d < 0 || d > (1 << 30) || d != std::floor(d))
    bad(source, std::string("field '") + key + "' must be a whole number in 0..2^30");
  return static_cast<int>(d);
}

std::string text(const Json& obj, const char* key, const std::string& source) {
  const Json& v = field(obj, key, source);
  if (!v.is_string()) bad(source, std::string("field '") + key + "' must be a string");
  return v.get<std::string>();
}

// An optional field: `fallback` when absent; of the wrong type, refused like a required one.
std::string optional_text(const Json& obj, const char* key, const std::string& source) {
  return obj.contains(key) ? text(obj, key, source) : std::string();
}
double optional_number(const Json& obj, const char* key, double fallback,
                       const std::string& source) {
  return obj.contains(key) ? number(obj, key, source) : fallback;
}

TargetProfile from_json(const Json& t, const std::string& source) {
  if (!t.is_object()) bad(source, "a target profile must be a JSON object");
  TargetProfile p;
  p.name = text(t, "name", source);
  std::string where = source + " (target '" + p.name + "')";
  p.description = optional_text(t, "description", where);
  p.core = text(t, "core", where);
  p.clock_mhz = number(t, "clock_mhz", where);
  p.sram_kb = number(t, "sram_kb", where);
  p.flash_kb = number(t, "flash_kb", where);
  p.measured_device = optional_text(t, "measured_device", where);
  if (p.clock_mhz <= 0) bad(where, "clock_mhz must be > 0");
  const Json& models = field(t, "instruction_models", where);
  const Json& cpi = field(t, "cpi", where);
  for (int f = 0; f < kNumCostFamilies; ++f) {
    const char* key = cost_family_name(static_cast<CostFamily>(f));
    const Json& m = field(models, key, where + " instruction_models");
    const Json& names = field(m, "features", where);
    const std::vector<std::string>& expected = family_feature_names(static_cast<CostFamily>(f));
    const bool same_features =
        names.is_array() && names.size() == expected.size() &&
        std::equal(expected.begin(), expected.end(), names.begin(),
                   [](const std::string& e, const Json& n) { return n.is_string() && n == e; });
    if (!same_features)
      bad(where, std::string("instruction_models.") + key +
                     ".features does not list this library's features for the family");
    const Json& c = field(m, "coefficients", where);
    if (!c.is_array() || c.size() != expected.size())
      bad(where, std::string("instruction_models.") + key + ".coefficients must have " +
                     std::to_string(expected.size()) + " numbers");
    for (const Json& v : c)
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        bad(where,
            std::string("instruction_models.") + key + ".coefficients must be finite numbers");
    p.instructions[f].coefficients = c.get<std::vector<double>>();
    p.cpi[f] = number(cpi, key, where + " cpi");
    if (p.cpi[f] <= 0) bad(where, std::string("cpi.") + key + " must be > 0");
  }
  p.tflm_op_overhead_cycles = number(t, "tflm_op_overhead_cycles", where);
  // A negative overhead or size would make latencies or memories negative, and a negative
  // latency satisfies any limit.
  if (p.tflm_op_overhead_cycles < 0)
    bad(where, "tflm_op_overhead_cycles must be >= 0 (it is " +
                   std::to_string(p.tflm_op_overhead_cycles) + ")");
  if (p.sram_kb <= 0 || p.flash_kb <= 0) bad(where, "sram_kb and flash_kb must be > 0");
  const Json& arena = field(t, "arena", where);
  p.arena_fixed_bytes = byte_count(arena, "fixed_bytes", where + " arena");
  p.tensor_alignment = byte_count(arena, "tensor_alignment", where + " arena");
  p.add_op_data_bytes = byte_count(arena, "add_op_data_bytes", where + " arena");
  if (p.tensor_alignment < 1) bad(where, "arena.tensor_alignment must be >= 1");
  if (p.arena_fixed_bytes < 0 || p.add_op_data_bytes < 0)
    bad(where, "arena.fixed_bytes and arena.add_op_data_bytes must be >= 0");
  const Json& flash = field(t, "flash", where);
  p.flash_per_out_channel_bytes = number(flash, "per_out_channel_bytes", where + " flash");
  p.flash_model_overhead_bytes = number(flash, "model_overhead_bytes", where + " flash");
  // Optional (0 when absent): profiles written before whole-network flash was measured.
  p.flash_per_op_bytes = optional_number(flash, "per_op_bytes", 0.0, where + " flash");
  p.flash_per_constant_tensor_bytes =
      optional_number(flash, "per_constant_tensor_bytes", 0.0, where + " flash");
  // Optional: kinds not listed (or profiles without the object) take per_op_bytes.
  if (flash.contains("per_op_kind_bytes")) {
    const Json& kinds = flash.at("per_op_kind_bytes");
    if (!kinds.is_object()) bad(where, "flash.per_op_kind_bytes must be an object");
    for (auto it = kinds.begin(); it != kinds.end(); ++it) {
      int k = 0;
      while (k < kNumDeployedOpKinds &&
             it.key() != deployed_op_name(static_cast<DeployedOpKind>(k)))
        ++k;
      if (k == kNumDeployedOpKinds)
        bad(where, "flash.per_op_kind_bytes: unknown op kind '" + it.key() + "'");
      // A fitted term (negative for kinds smaller than the fit's mean): any finite number.
      if (!it.value().is_number() || !std::isfinite(it.value().get<double>()))
        bad(where, "flash.per_op_kind_bytes." + it.key() + " must be a finite number");
      p.flash_per_op_kind_bytes[k] = it.value().get<double>();
    }
  }
  p.runtime_code_kb = number(flash, "runtime_code_kb", where + " flash");
  if (p.flash_per_out_channel_bytes < 0 || p.flash_model_overhead_bytes < 0 ||
      p.runtime_code_kb < 0 || p.flash_per_op_bytes < 0 || p.flash_per_constant_tensor_bytes < 0)
    bad(where,
        "flash.per_out_channel_bytes, model_overhead_bytes, runtime_code_kb, per_op_bytes and "
        "per_constant_tensor_bytes must be >= 0");
  p.document = t.dump();
  return p;
}

Json parse(const std::string& json_text, const std::string& source) {
  try {
    return Json::parse(json_text);
  } catch (const Json::exception& e) {
    bad(source, std::string("malformed JSON: ") + e.what());
  }
}

const Json& builtin_document() {
  static const Json doc = Json::parse(kBuiltinTargetsJson);
  return doc;
}

}  // namespace

std::vector<std::string> builtin_target_names() {
  std::vector<std::string> names;
  for (const Json& t : builtin_document().at("targets")) names.push_back(t.at("name"));
  return names;
}

TargetProfile parse_target_json(const std::string& json_text, const std::string& source) {
  Json doc = parse(json_text, source);
  try {
    if (doc.is_object() && doc.contains("targets")) {
      const Json& list = doc["targets"];
      if (!list.is_array() || list.empty()) bad(source, "'targets' must be a non-empty array");
      return from_json(list[0], source);
    }
    return from_json(doc, source);
  } catch (const Json::exception& e) {
    // Every field is checked before it is read; this is the net under a check that was missed.
    bad(source, std::string("malformed target profile: ") + e.what());
  }
}

TargetProfile load_target(const std::string& name_or_path) {
  for (const Json& t : builtin_document().at("targets"))
    if (t.at("name") == name_or_path) return from_json(t, "built-in targets");
  bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                         name_or_path.find(".json") != std::string::npos;
  std::error_code ec;
  if (!looks_like_path && !std::filesystem::exists(name_or_path, ec)) {
    std::string known;
    for (const std::string& n : builtin_target_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(Status::kInvalidArgument, "unknown target '" + name_or_path +
                                              "' (built-in: " + known + "; or a profile .json)");
  }
  // A profile is a few kilobytes; a megabyte is far beyond any.
  return parse_target_json(read_input_file(name_or_path, 1 << 20, "a target profile"),
                           name_or_path);
}

std::string TargetProfile::to_json() const {
  Json t = document.empty() ? Json::object() : Json::parse(document);
  t["name"] = name;
  t["description"] = description;
  t["core"] = core;
  t["clock_mhz"] = clock_mhz;
  t["sram_kb"] = sram_kb;
  t["flash_kb"] = flash_kb;
  t["measured_device"] = measured_device;
  for (int f = 0; f < kNumCostFamilies; ++f) {
    const char* key = cost_family_name(static_cast<CostFamily>(f));
    t["instruction_models"][key]["features"] = family_feature_names(static_cast<CostFamily>(f));
    t["instruction_models"][key]["coefficients"] = instructions[f].coefficients;
    t["cpi"][key] = cpi[f];
  }
  t["tflm_op_overhead_cycles"] = tflm_op_overhead_cycles;
  t["arena"]["fixed_bytes"] = arena_fixed_bytes;
  t["arena"]["tensor_alignment"] = tensor_alignment;
  t["arena"]["add_op_data_bytes"] = add_op_data_bytes;
  t["flash"]["per_out_channel_bytes"] = flash_per_out_channel_bytes;
  t["flash"]["model_overhead_bytes"] = flash_model_overhead_bytes;
  t["flash"]["per_op_bytes"] = flash_per_op_bytes;
  t["flash"]["per_constant_tensor_bytes"] = flash_per_constant_tensor_bytes;
  Json kinds = Json::object();
  for (int k = 0; k < kNumDeployedOpKinds; ++k)
    if (flash_per_op_kind_bytes[k])
      kinds[deployed_op_name(static_cast<DeployedOpKind>(k))] = *flash_per_op_kind_bytes[k];
  if (kinds.empty())
    t["flash"].erase("per_op_kind_bytes");
  else
    t["flash"]["per_op_kind_bytes"] = kinds;
  t["flash"]["runtime_code_kb"] = runtime_code_kb;
  return t.dump(1) + "\n";
}

double TargetProfile::flash_op_bytes(DeployedOpKind kind) const {
  const std::optional<double>& bytes = flash_per_op_kind_bytes[static_cast<int>(kind)];
  return bytes ? *bytes : flash_per_op_bytes;
}

Runtime runtime_from_name(const std::string& name) {
  if (name == "tflm") return Runtime::kTflm;
  if (name == "codegen") return Runtime::kCodegen;
  throw Error(Status::kInvalidArgument,
              "unknown runtime '" + name + "' (expected tflm or codegen)");
}

LatencyModel latency_model_from_name(const std::string& name) {
  if (name == "model") return LatencyModel::kAnalytic;
  if (name == "micronas") return LatencyModel::kMicronasConstantTable;
  throw Error(Status::kInvalidArgument,
              "unknown latency table '" + name + "' (expected model or micronas)");
}

const char* latency_model_name(LatencyModel model) {
  return model == LatencyModel::kAnalytic ? "model" : "micronas";
}

const char* runtime_name(Runtime runtime) { return runtime == Runtime::kTflm ? "tflm" : "codegen"; }

}  // namespace micronas::mcu
