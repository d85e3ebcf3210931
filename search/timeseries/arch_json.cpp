// The JSON form of time-series architectures (schema in include/micronas/timeseries_space.hpp).
#include <nlohmann/json.hpp>

#include "micronas/error.hpp"
#include "micronas/timeseries_space.hpp"
#include "search/timeseries/space_check.hpp"

namespace micronas::timeseries {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(Status::kParseError, "time-series architecture JSON: " + path + ": " + what);
}

// Refuses keys other than `allowed`, so a misspelt field is not silently ignored.
void only_keys(const json& j, const std::string& path, std::initializer_list<const char*> allowed) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) fail(path + "." + it.key(), "unknown field");
  }
}

const json& field(const json& j, const std::string& path, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) fail(path + "." + key, "missing");
  return *it;
}

int integer(const json& j, const std::string& path, const char* key) {
  const json& v = field(j, path, key);
  if (!v.is_number_integer()) fail(path + "." + key, "expected an integer, found " + v.dump());
  const auto x = v.get<std::int64_t>();
  if (x < 0 || x > 1000000) fail(path + "." + key, "value " + v.dump() + " out of range");
  return static_cast<int>(x);
}

}  // namespace

std::string Arch::to_json() const {
  nlohmann::ordered_json j;
  j["time_reduce"] = nlohmann::ordered_json::array();
  for (const TimeReduceChoice& t : time_reduce)
    j["time_reduce"].push_back({{"kernel", t.kernel}, {"width", t.width}});
  j["sensor_fusion"] = nlohmann::ordered_json::array();
  for (const SensorFusionChoice& s : sensor_fusion) {
    if (s.skip) {
      j["sensor_fusion"].push_back({{"skip", true}});
      continue;
    }
    std::vector<int> branches;
    for (int i = 0; i < 3; ++i)
      if (s.branches & (1u << i)) branches.push_back(kBranchKernels[i]);
    j["sensor_fusion"].push_back({{"bottleneck", s.bottleneck},
                                  {"branches", branches},
                                  {"width", s.width},
                                  {"residual", s.residual ? "conv" : "none"}});
  }
  return j.dump();
}

Arch Space::parse_json(const std::string& text) const {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(Status::kParseError,
                std::string("malformed time-series architecture JSON: ") + e.what());
  }
  if (!j.is_object()) fail("(top level)", "expected an object");
  only_keys(j, "", {"time_reduce", "sensor_fusion"});
  const json& tr = field(j, "", "time_reduce");
  const json& sf = field(j, "", "sensor_fusion");
  if (!tr.is_array()) fail(".time_reduce", "expected an array");
  if (!sf.is_array()) fail(".sensor_fusion", "expected an array");
  Arch arch;
  for (std::size_t i = 0; i < tr.size(); ++i) {
    const std::string path = ".time_reduce[" + std::to_string(i) + "]";
    if (!tr[i].is_object()) fail(path, "expected an object");
    only_keys(tr[i], path, {"kernel", "width"});
    TimeReduceChoice t{integer(tr[i], path, "kernel"), integer(tr[i], path, "width")};
    const std::string problem = detail::time_problem(*this, t);
    if (!problem.empty()) fail(path, problem);
    arch.time_reduce.push_back(t);
  }
  for (std::size_t i = 0; i < sf.size(); ++i) {
    const std::string path = ".sensor_fusion[" + std::to_string(i) + "]";
    const json& c = sf[i];
    if (!c.is_object()) fail(path, "expected an object");
    SensorFusionChoice s;
    auto skip = c.find("skip");
    if (skip != c.end() && !skip->is_boolean()) fail(path + ".skip", "expected true or false");
    if (skip != c.end() && skip->get<bool>()) {
      only_keys(c, path, {"skip"});
      s.skip = true;
    } else {
      only_keys(c, path, {"skip", "bottleneck", "branches", "width", "residual"});
      s.bottleneck = integer(c, path, "bottleneck");
      s.width = integer(c, path, "width");
      const json& b = field(c, path, "branches");
      if (!b.is_array() || b.empty())
        fail(path + ".branches", "expected a non-empty array of kernel sizes 3, 5, 7");
      s.branches = 0;
      for (const json& k : b) {
        int bit = -1;
        for (int x = 0; x < 3; ++x)
          if (k.is_number_integer() && k.get<std::int64_t>() == kBranchKernels[x]) bit = x;
        if (bit < 0) fail(path + ".branches", "branch " + k.dump() + " is not 3, 5 or 7");
        if (s.branches & (1u << bit)) fail(path + ".branches", "branch " + k.dump() + " repeated");
        s.branches = static_cast<std::uint8_t>(s.branches | (1u << bit));
      }
      const json& r = field(c, path, "residual");
      if (r != "conv" && r != "none")
        fail(path + ".residual", "expected \"conv\" or \"none\", found " + r.dump());
      s.residual = r == "conv";
    }
    if (i < static_cast<std::size_t>(sensor_fusion_cells())) {
      const std::string problem = detail::sensor_problem(*this, static_cast<int>(i), s);
      if (!problem.empty()) fail(path, problem);
    }
    arch.sensor_fusion.push_back(s);
  }
  const std::string problem = detail::count_problem(*this, arch);
  if (!problem.empty()) fail("(cells)", problem);
  return arch;
}

}  // namespace micronas::timeseries
