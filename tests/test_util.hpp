// Shared helpers for the test suites.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "micronas/random.hpp"

namespace micronas::test {

// Path of a file under the shared reference data folder: $MICRONAS_DATA_DIR if set, else the
// folder CMake was configured with (../shared/data beside the checkout by default).
inline std::string data_path(const std::string& relative) {
  const char* dir = std::getenv("MICRONAS_DATA_DIR");
  return std::string(dir && *dir ? dir : MICRONAS_DATA_DIR) + "/" + relative;
}

// First statement of a test that reads a reference data file: without the file (a checkout with
// no data folder beside it) the test is skipped and says which file it wanted.
#define MICRONAS_REQUIRE_DATA(relative)                                                      \
  do {                                                                                       \
    const std::string micronas_data_file = ::micronas::test::data_path(relative);            \
    if (!std::filesystem::exists(micronas_data_file))                                        \
      GTEST_SKIP() << "reference data not found: " << micronas_data_file                     \
                   << " (set MICRONAS_DATA_DIR, or configure with -DMICRONAS_DATA_DIR=...)"; \
  } while (0)

// A fresh, empty folder under the test temporary folder, named micronas_NAME.
inline std::string temp_dir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("micronas_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A file's whole content ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
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

// Runs a shell command line (environment assignments, launchers such as mpirun) with
// `redirects` (default: stdout and stderr together).
inline CliResult run_shell(const std::string& command, const std::string& redirects = "2>&1") {
  FILE* pipe = popen((command + " " + redirects).c_str(), "r");
  CliResult r{-1, ""};
  if (!pipe) return r;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  r.status = pclose(pipe);
  return r;
}

// Runs the built `micronas` program with `args` (shell-quoted by the caller); `redirects` (e.g.
// "2>&1 >/dev/full") replaces the default of capturing stdout and stderr together.
inline CliResult run_cli(const std::string& args, const std::string& redirects = "2>&1") {
  return run_shell(std::string(MICRONAS_CLI) + " " + args, redirects);
}

// The program's exit status (-1 when it did not exit normally).
inline int exit_status(const CliResult& r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

// One line "micronas: error: ..." holding `needle`, and the exit status `status`.
inline void expect_error_line(const CliResult& r, int status, const std::string& needle) {
  EXPECT_EQ(exit_status(r), status) << r.output;
  EXPECT_EQ(r.output.rfind("micronas: error: ", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos)
      << "expected '" << needle << "' in " << r.output;
}

}  // namespace micronas::test
