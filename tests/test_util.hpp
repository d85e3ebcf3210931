// Shared helpers for the test suites.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "micronas/random.hpp"

namespace micronas::test {

// Path of a file under the shared reference data folder.
inline std::string data_path(const std::string& relative) {
  return std::string(MICRONAS_DATA_DIR) + "/" + relative;
}

// n standard-normal floats from the library's seeded PRNG.
inline std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.normal());
  return v;
}

struct CliResult {
  int status;          // as returned by pclose: 0 on success
  std::string output;  // stdout and stderr together
};

// Runs the built `micronas` program with `args` (shell-quoted by the caller).
inline CliResult run_cli(const std::string& args) {
  std::string cmd = std::string(MICRONAS_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  CliResult r{-1, ""};
  if (!pipe) return r;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  r.status = pclose(pipe);
  return r;
}

}  // namespace micronas::test
