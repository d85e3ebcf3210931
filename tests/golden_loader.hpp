// Loading the PyTorch golden cases of tests/golden/ (layout in tests/golden/README.md): a case's
// case.json (network config, arch, parameter list in state_dict order), its .npy files, and its
// parameter values into a Network<double> or Network<float>.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "micronas/arch.hpp"
#include "micronas/graph.hpp"
#include "micronas/network.hpp"
#include "micronas/npy.hpp"

namespace micronas::test {

using nlohmann::json;

// Folder of a golden case (or of a group of cases) relative to tests/golden/.
inline std::string golden_dir(const std::string& relative) {
  return std::string(MICRONAS_TEST_DIR) + "/golden/" + relative;
}

inline json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return json::parse(in);
}

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

inline std::vector<std::int64_t> to_shape(const std::vector<int>& dims) {
  return std::vector<std::int64_t>(dims.begin(), dims.end());
}

// Sorted names of the sub-folders of `dir` (each one golden case).
inline std::vector<std::string> subfolders(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// One case folder: its case.json, and the network it describes.
struct GoldenCase {
  std::string dir;
  json meta;
  NetworkConfig config;
  Arch arch;

  explicit GoldenCase(const std::string& folder)
      : dir(folder), meta(read_json(folder + "/case.json")) {
    const json& c = meta.at("config");
    config.channels = c.at("channels");
    config.cells_per_stage = c.at("cells_per_stage");
    config.use_stem = c.at("use_stem");
    config.depth = c.at("depth");
    config.input_channels = c.at("input_channels");
    config.input_size = c.at("input_size");
    config.num_classes = c.at("num_classes");
    arch = Arch::parse(meta.at("arch").get<std::string>());
  }

  Graph graph() const { return build_graph(config, arch); }
  NpyArray load(const std::string& relative) const { return read_npy(dir + "/" + relative); }
};

// Copies the case's parameter values into `net`, after checking that both list the same
// parameters in the same (registration) order: the Jacobian concatenates parameters in that
// order, so an ordering difference is a semantic difference too. Fatal failures abort the
// caller only through ASSERT_NO_FATAL_FAILURE.
template <class Real>
void load_golden_parameters(const GoldenCase& golden, Network<Real>& net) {
  std::vector<std::string> ours, theirs;
  for (const Parameter& p : net.graph().params) ours.push_back(p.name);
  for (const json& e : golden.meta.at("params")) theirs.push_back(e.at("name"));
  for (const std::string& name : ours)
    if (std::find(theirs.begin(), theirs.end(), name) == theirs.end())
      ADD_FAILURE() << "engine parameter '" << name << "' is missing from the reference";
  for (const std::string& name : theirs)
    if (std::find(ours.begin(), ours.end(), name) == ours.end())
      ADD_FAILURE() << "reference parameter '" << name << "' is missing from the engine";
  ASSERT_EQ(ours, theirs) << "parameter names or registration order differ";

  for (const json& e : golden.meta.at("params")) {
    const Parameter& p = net.parameter(e.at("name"));
    NpyArray value = golden.load(e.at("value"));
    ASSERT_EQ(value.shape, to_shape(p.shape)) << "shape of parameter '" << p.name << "'";
    for (std::int64_t i = 0; i < p.size; ++i)
      net.params()[p.offset + i] = static_cast<Real>(value.data[i]);
  }
}

}  // namespace micronas::test
